"""Accounts: API keys for every API client (:mod:`.apikeys`) and all the SQL of staff accounts,
sign-in sessions, API keys and the audit log (:mod:`.data`).

The rules stay flat in :mod:`geomap.auth` (permissions, roles, passwords, session rules) and
:mod:`geomap.audit` (what an audit entry holds); they call :mod:`.data` for the database.
"""
