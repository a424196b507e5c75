"""The city-wide staff view: every loaded ward on one map, the wards' indicators side by side.

- :mod:`~geomap.city.indicators`  each ward's dashboard indicators against its targets (through
  :mod:`geomap.dashboard`), one row per ward, and the ward outlines for the choropleth
- :mod:`~geomap.city.view`        the map (pure): ward choropleth + establishments and land parcels
  drawn in the browser from the public service's vector tiles (Leaflet.VectorGrid, vendored)

The staff page is ``geomap/ui/pages/city.py`` ("Toàn thành phố": the ``view_city`` right, held by the
read-only ``city`` role and administrators). How the page's script reads tiles with the user's own
sign-in, never a key: :mod:`geomap.web.staff_reads`.
"""

from geomap.city.indicators import WardIndicators, ward_indicators, ward_outlines
from geomap.city.view import CITY_LAYERS, city_map

__all__ = ["CITY_LAYERS", "WardIndicators", "city_map", "ward_indicators", "ward_outlines"]
