"""The inspections domain: who is due for inspection, the day's routes, route files, on-site results.

- :mod:`~geomap.inspections.risk` — the transparent risk score with its reasons (pure)
- :mod:`~geomap.inspections.routing` — an inspector's day as a VRPTW: OR-Tools, LKH, the checker (pure)
- :mod:`~geomap.inspections.tours` — the order and timing within a route: LKH (elkai), the earliest
  schedule with lunch and windows, local and large-neighbourhood search (pure)
- :mod:`~geomap.inspections.travel` — travel-time models: straight line, street graph (pure)
- :mod:`~geomap.inspections.route_files` — GPX, the printable PDF route sheet, navigation links (pure)
- :mod:`~geomap.inspections.planning` — the services the pages and the command line call
- :mod:`~geomap.inspections.data` — all of the domain's SQL

Dependencies point one way: planning → data and the pure modules; data → risk (its
weights); routing → travel and tours; route_files → routing.
"""
