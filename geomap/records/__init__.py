"""The records domain: an establishment's data, licences and inspections, kept by hand or checked.

- :mod:`~geomap.records.edit` — the services: reading a record for its form, and every change
  (create, update, close, reopen, move, licences, inspections) with validation, optimistic
  locking and audit
- :mod:`~geomap.records.rules` — the pure date, expiry and follow-up rules the edit forms and
  the importer share
- :mod:`~geomap.records.quality` — the data-quality checks (pure, on one frame)
- :mod:`~geomap.records.data` — all of the domain's SQL
"""
