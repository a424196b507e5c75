"""The ward dashboard: indicators against the ward's targets, by residential group, map, Excel report.

- :mod:`~geomap.dashboard.indicators`  the indicators and trends, pure (frames and a date in, figures out)
- :mod:`~geomap.dashboard.data`        all of its SQL: :func:`load_frames` (a handful of set-based queries),
  :func:`~geomap.dashboard.data.load_wards_frames` the same for many wards in one pass (the city table)
- :mod:`~geomap.dashboard.choropleth`  the Folium map of residential groups coloured by one indicator
- :mod:`~geomap.dashboard.periods`     reporting periods: month, quarter, half-year, year
- :mod:`~geomap.dashboard.excel`       the Excel report for any period

The staff page (``geomap/ui/pages/dashboard.py``) and the ``geomap dashboard report`` command call
the names below: read with :func:`load_frames`, compute with :func:`compute`, then draw or write.
"""

from geomap.dashboard.choropleth import choropleth
from geomap.dashboard.data import load_frames
from geomap.dashboard.excel import write_report
from geomap.dashboard.indicators import BY_KEY, INDICATORS, Dashboard, Frames, Indicator, compute, trend_table
from geomap.dashboard.periods import Period, parse_period

__all__ = ["BY_KEY", "INDICATORS", "Dashboard", "Frames", "Indicator", "choropleth", "compute", "load_frames",
           "Period", "parse_period", "trend_table", "write_report"]
