"""The staff map: which layers and area to read (:mod:`~geomap.map.features`, pure), the
clicked establishment's panel (:mod:`~geomap.map.detail`), the folium builder
(:mod:`~geomap.map.view`, pure) and their reads (:mod:`~geomap.map.data`, the SQL)."""
