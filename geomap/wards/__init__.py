"""Loaded wards: ids by slug, lists, boundaries (SQL in :mod:`geomap.wards.data`)."""
