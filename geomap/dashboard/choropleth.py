"""The dashboard's map: residential groups coloured by one indicator (Folium, no CDN)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from geomap.dashboard import group_indicators
from geomap.dashboard.indicators import BY_KEY, Dashboard, Indicator


def choropleth(board: Dashboard, indicator: str, lang: str = "vi", assets_url: str | None = None):
    """A folium map of residential groups coloured by ``indicator`` (simplified polygons).

    ``assets_url``: where Leaflet is served from (the staff app's own copies, see
    :func:`geomap.map.view.base_map`); the legend is plain HTML, so the map needs no CDN.
    """
    import folium

    from geomap.map import view as mapview

    ind = BY_KEY.get(indicator) or group_indicators.BY_KEY[indicator]
    gdf = board.groups.copy()
    values = board.by_group[indicator].reindex(gdf["id"].astype(int)).to_numpy() if len(gdf) else []
    gdf["value"] = values
    gdf["shown"] = [("—" if pd.isna(v) else (f"{v:.0%}" if ind.kind == "share" else f"{v:.0f}")) for v in values]
    scale, lo, hi = colour_scale(ind, values)
    bounds = tuple(gdf.total_bounds) if len(gdf) else None
    fmap = mapview.base_map(bounds, assets_url=assets_url)
    if gdf.empty:
        return fmap

    def style(feature: dict[str, Any]) -> dict[str, Any]:
        v = feature["properties"]["value"]
        return {"fillColor": NO_DATA if v is None or pd.isna(v) else scale(v), "color": "#424242",
                "weight": 0.6, "fillOpacity": 0.7}

    folium.GeoJson(gdf[["name", "shown", "value", "geometry"]].to_json(na="null"), style_function=style,
                   tooltip=folium.GeoJsonTooltip(fields=["name", "shown"],
                                                 aliases=["Tổ dân phố" if lang != "en" else "Group",
                                                          ind.label(lang)])).add_to(fmap)
    fmap.get_root().html.add_child(folium.Element(legend_html(ind, scale, lo, hi, lang)))
    return fmap


#: the colour of an area without a figure
NO_DATA = "#bdbdbd"


def colour_scale(ind: Indicator, values: Any) -> tuple[Any, float, float]:
    """The colour scale of ``ind`` over ``values`` (red = bad, green = good) and its range (lo, hi):
    0–100 % for a share, 0 to the largest value for a count. Shared by the ward and city maps."""
    import branca.colormap as cm

    finite = [float(v) for v in values if not pd.isna(v)]
    lo, hi = (0.0, 1.0) if ind.kind == "share" else (0.0, max(finite + [1.0]))
    colours = ["#d73027", "#fee08b", "#1a9850"] if ind.higher_is_better else ["#1a9850", "#fee08b", "#d73027"]
    return cm.LinearColormap(colours, vmin=lo, vmax=hi), lo, hi


def legend_html(ind: Indicator, scale: Any, lo: float, hi: float, lang: str) -> str:
    import html

    steps = [lo + (hi - lo) * k / 4 for k in range(5)]
    fmt = (lambda v: f"{v:.0%}") if ind.kind == "share" else (lambda v: f"{v:.0f}")
    swatches = "".join(
        f'<div><span style="display:inline-block;width:14px;height:10px;background:{scale(v)};'
        f'margin-right:4px"></span>{fmt(v)}</div>' for v in steps)
    none = "Không có dữ liệu" if lang != "en" else "No data"
    return (
        '<div class="geomap-legend" style="position:absolute;bottom:24px;right:10px;z-index:1000;background:#fff;'
        'padding:6px 8px;border-radius:4px;font:12px sans-serif;box-shadow:0 1px 4px rgba(0,0,0,.3)">'
        f"<b>{html.escape(ind.label(lang))}</b>{swatches}"
        f'<div><span style="display:inline-block;width:14px;height:10px;background:{NO_DATA};margin-right:4px">'
        f"</span>{none}</div></div>")
