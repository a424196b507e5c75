"""OGC API – Features over the layer registry, without a web framework.

:mod:`~geomap.ogc.params` parses and checks request parameters (OGC exceptions),
:mod:`~geomap.ogc.api` builds the documents from :func:`geomap.layer_reader.read_page`,
:mod:`~geomap.ogc.cache` holds the app-owned caches (extents, counts, table columns, each
with a TTL). :mod:`geomap.web.routes.ogc` is the HTTP adapter and renders the HTML pages
from ``geomap/web/templates/ogc/``.
"""
