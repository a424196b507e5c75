"""QR codes for establishments and market stalls, and the public lookup behind them.

Layout (pure rules first, I/O at the edges):

- :mod:`qr.codes`    token and short-code rules, URL building, QR fit check (pure, no I/O)
- :mod:`qr.issue`    issue / reissue / revoke codes and select them for printing (services)
- :mod:`qr.lookup`   the public lookup: one indexed query, registry-public fields only, and the
                     :class:`~qr.lookup.LookupState` the serving app owns (page cache, status memo)
- :mod:`qr.scans`    scan statistics: counted in memory per app, added to ``qr_scan_day`` in aggregate;
                     per day / establishment / residential group and the forged-or-revoked alert list
- :mod:`qr.data`     all of their SQL (the lookup's query on the driver's cursor)
- :mod:`qr.images`   PNG and SVG of one code
- :mod:`qr.stickers` A4 PDF sticker sheets (reportlab, embedded font with Vietnamese glyphs)

The web adapter is ``geomap/web/routes/qr.py``, the command line ``geomap/commands/qr.py``
and the staff page ``geomap/ui/pages/qr.py``; all three call the functions here.
"""
