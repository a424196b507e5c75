"""The inspections domain: who is due for inspection, the day's routes, route files, on-site results.

- :mod:`~geomap.inspections.risk` — the transparent risk score with its reasons (pure)
- :mod:`~geomap.inspections.routing` — an inspector's day as a VRPTW: OR-Tools, LKH, the checker (pure)
- :mod:`~geomap.inspections.tours` — the order and timing within a route: LKH (elkai), the earliest
  schedule with lunch and windows, local and large-neighbourhood search (pure)
- :mod:`~geomap.inspections.travel` — travel-time models: straight line, street graph (pure)
- :mod:`~geomap.inspections.route_files` — GPX, the printable PDF route sheet, navigation links (pure)
- :mod:`~geomap.inspections.planning` — the services the pages and the command line call
- :mod:`~geomap.inspections.field` — the field app's services: the inspector's day, a visit sent from the
  phone (applied once per client id, conflicts kept, refusals said)
- :mod:`~geomap.inspections.violations` — the ward's list of violation codes with default severity (pure)
- :mod:`~geomap.inspections.sketch` — a day's route as an inline SVG that draws offline (pure)
- :mod:`~geomap.inspections.data` — all of the domain's SQL

Dependencies point one way: field → planning → data and the pure modules; data → risk (its
weights); routing → travel and tours; route_files → routing.
"""
