"""Building the staff map: GeoDataFrames per layer in, a ``folium.Map`` out (pure, no I/O).

Everything is driven by the layer registry: a layer's style, palettes, popup fields and
clustering come from its :class:`layers.base.Layer` declaration, so a new layer module is
drawn without changes here.

Why not one ``folium.Marker`` per feature: each marker is a separate Leaflet object with
its own generated JavaScript (about 1 kB each), so 6,000 establishments make a page of
several megabytes that takes seconds to build and to open. Here every point layer is one
compact JSON array (``[lat, lng, colour index, label]`` rows) turned into circle markers by
a few lines of JavaScript in the browser, clustered with Leaflet.markercluster, and drawn on
a canvas renderer; polygons and lines are one GeoJSON document per layer with geometry
simplified to about a metre and coordinates rounded to 6 decimals (~0.1 m), carrying only
a colour index and the popup text.

Every map is made by :func:`base_map` (a :class:`GeomapMap`). Its assets (Leaflet,
Leaflet.markercluster, Leaflet.heat) are pinned versions: the copies vendored in
``static/vendor`` when ``assets_url`` points at them (the staff app serves them itself, so
every map works on a ward intranet without internet access), else the vendored files themselves
as ``file://`` links (a map saved as HTML and opened on this machine); never a CDN.
When the map renders, every JavaScript/CSS link that folium or a plugin declares (its default
CDN links: jQuery, Bootstrap, folium's own heatmap copy ...) is replaced by the pinned copy of
the same name, or dropped when the map's own code does not need it; an asset geomap does not
pin is an error (:class:`UnpinnedAsset`), so a new plugin cannot quietly reach the internet.
Tiles come from :data:`geomap.config.TILE_URL` (OpenStreetMap by default).
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement
from folium.elements import JSCSSMixin
from folium.template import Template

from geomap import config, i18n
from layers.base import Layer

#: (min_lon, min_lat, max_lon, max_lat) in EPSG:4326
BBox = tuple[float, float, float, float]

#: metres per degree of latitude (used to turn a tolerance in metres into degrees)
_M_PER_DEG = 111_320.0
#: coordinate decimals sent to the browser (1e-6 degree is about 0.1 m)
COORD_DECIMALS = 6
#: above this many features a point layer shows a short hover label instead of a full popup
POPUP_LIMIT = 500
#: point layers with at least this many features are clustered even when not declared so
CLUSTER_MIN = 2_000

LEAFLET_VERSION = "1.9.3"
MARKERCLUSTER_VERSION = "1.1.0"
LEAFLET_HEAT_VERSION = "0.2.0"
#: Leaflet.VectorGrid (npm leaflet.vectorgrid, bundled build): draws the city map's vector tiles
VECTORGRID_VERSION = "1.3.0"
#: the app's ``static/`` folder (served by the staff app; see ``.streamlit/config.toml``)
STATIC_DIR = config.PROJECT_DIR / "static"
#: paths of the vendored copies under the app's ``static/`` folder
_LOCAL = {
    "leaflet": f"vendor/leaflet-{LEAFLET_VERSION}/leaflet.js",
    "leaflet_css": f"vendor/leaflet-{LEAFLET_VERSION}/leaflet.css",
    "markercluster": f"vendor/leaflet.markercluster-{MARKERCLUSTER_VERSION}/leaflet.markercluster.js",
    "markercluster_css": f"vendor/leaflet.markercluster-{MARKERCLUSTER_VERSION}/MarkerCluster.css",
    "markercluster_default_css": f"vendor/leaflet.markercluster-{MARKERCLUSTER_VERSION}/MarkerCluster.Default.css",
    "leaflet_heat": f"vendor/leaflet.heat-{LEAFLET_HEAT_VERSION}/leaflet-heat.js",
    "vectorgrid": f"vendor/leaflet.vectorgrid-{VECTORGRID_VERSION}/Leaflet.VectorGrid.bundled.min.js",
}
#: folium's and its plugins' names for the assets geomap pins (folium.plugins.HeatMap: "leaflet-heat.js")
_ALIASES = {"leaflet-heat.js": "leaflet_heat"}
#: assets folium declares by default that geomap's maps never use (jQuery, Bootstrap, awesome-markers,
#: Font Awesome, folium's own CSS): dropped, not fetched
_UNUSED = frozenset({"jquery", "bootstrap", "awesome_markers", "bootstrap_css", "glyphicons_css",
                     "awesome_markers_font_css", "awesome_markers_css", "awesome_rotate_css"})
#: everything the map's JavaScript needs; folium's jQuery / Bootstrap / awesome-markers are not used
_JS = ("leaflet", "markercluster")
_CSS = ("leaflet_css", "markercluster_css", "markercluster_default_css")

_CLUSTER_OPTIONS = {
    "chunkedLoading": True,
    "showCoverageOnHover": False,
    "spiderfyOnMaxZoom": False,
    "disableClusteringAtZoom": 18,
    "maxClusterRadius": 45,
}

STRINGS: dict[str, tuple[str, str]] = {  # loaded by geomap.i18n on first use (i18n.CATALOGS)
    "map.legend.count": ("{n} đối tượng", "{n} features"),
    "map.legend.other": ("Khác", "Other"),
    "map.legend.approximate": ("Vị trí gần đúng (theo địa chỉ)", "Approximate location (from the address)"),
}


def _asset_urls(names: Sequence[str], assets_url: str | None) -> list[tuple[str, str]]:
    """The pinned copies of ``names``: under ``assets_url`` (a served ``static/``), or without one the
    vendored files themselves (``file://``: a map saved as HTML on this machine); never a CDN."""
    if assets_url is None:
        return [(n, (STATIC_DIR / _LOCAL[n]).as_uri()) for n in names]
    base = assets_url.rstrip("/")
    return [(n, f"{base}/{_LOCAL[n]}") for n in names]


class UnpinnedAsset(ValueError):
    """A map element asks for a script or style sheet geomap has no pinned (vendored) copy of."""


def _pinned(links: Sequence[tuple[str, str]], assets_url: str | None) -> list[tuple[str, str]]:
    """``links`` (name, url) with every url replaced by geomap's pinned copy of that name."""
    out = []
    for name, url in links:
        key = _ALIASES.get(name, name)
        if key in _UNUSED:
            continue
        if key not in _LOCAL:
            raise UnpinnedAsset(f"map asset {name!r} ({url}) has no vendored copy in static/vendor; "
                                "vendor it and add it to geomap.map.view._LOCAL")
        out.extend(_asset_urls((key,), assets_url))
    return out


def pin_assets(element: object, assets_url: str | None) -> None:
    """Point every JS/CSS link of ``element`` and its descendants at geomap's pinned copies."""
    for attr in ("default_js", "default_css"):
        links = getattr(element, attr, None)
        if links:
            setattr(element, attr, _pinned(links, assets_url))
    for child in list(getattr(element, "_children", {}).values()):
        pin_assets(child, assets_url)


class GeomapMap(folium.Map):
    """A ``folium.Map`` that, when rendered, loads only geomap's pinned assets (see :func:`pin_assets`)."""

    def __init__(self, *args, assets_url: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.assets_url = assets_url

    def render(self, **kwargs):
        pin_assets(self, self.assets_url)
        super().render(**kwargs)


def vendored_files() -> list[str]:
    """Paths (relative to the app's ``static/`` folder) of the vendored map assets."""
    return list(_LOCAL.values())


def _script_json(value: object) -> str:
    """JSON safe to embed inside a ``<script>`` element (no ``</`` sequence)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")


class _Assets(JSCSSMixin, MacroElement):
    """Declares the JavaScript and CSS the map needs (so they load once, with the base map).

    It also tells Leaflet where its marker images are: Leaflet guesses that from leaflet.css, which
    streamlit-folium may not have applied yet when the first marker is made, and the guess then
    misses the ``images/`` folder (a broken marker icon). And it makes Leaflet's credit a plain link:
    Leaflet's own has an English tooltip ("A JavaScript library for interactive maps") on every map.
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        L.Icon.Default.imagePath = {{ this.image_path_json }};
        if ({{ this._parent.get_name() }}.attributionControl) {
            {{ this._parent.get_name() }}.attributionControl.setPrefix('<a href="https://leafletjs.com">Leaflet</a>');
        }
        {% endmacro %}
    """)

    def __init__(self, assets_url: str | None = None):
        super().__init__()
        self._name = "GeomapAssets"
        self.default_js = _asset_urls(_JS, assets_url)
        self.default_css = _asset_urls(_CSS, assets_url)
        css = self.default_css[0][1]  # leaflet.css, next to its images/ folder
        self.image_path_json = _script_json(css[: css.rindex("/") + 1] + "images/")


class PointLayer(MacroElement):
    """One point layer as a compact array of ``[lat, lng, colour index, label]`` rows."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function () {
            var pal = {{ this.palette_json }};
            var rows = {{ this.rows_json }};
            {%- if this.cluster %}
            var opts = {{ this.cluster_json }};
            opts.iconCreateFunction = function (cl) {
                // a ring showing the share of each colour (status) among the cluster's points
                var ms = cl.getAllChildMarkers(), n = ms.length, by = {}, k, stops = [], acc = 0;
                for (var q = 0; q < n; q++) { k = ms[q].options.fillColor; by[k] = (by[k] || 0) + 1; }
                for (k in by) { stops.push(k + ' ' + (acc * 360 / n) + 'deg ' + ((acc + by[k]) * 360 / n) + 'deg');
                                acc += by[k]; }
                var size = n < 10 ? 30 : n < 100 ? 36 : n < 1000 ? 44 : 52;
                return L.divIcon({
                    html: '<div style="width:' + size + 'px;height:' + size + 'px;margin:0;border-radius:50%;' +
                          'background:conic-gradient(' + stops.join(',') + ');display:flex;align-items:center;' +
                          'justify-content:center"><span style="background:#fff;border-radius:50%;width:' +
                          (size - 12) + 'px;height:' + (size - 12) + 'px;line-height:' + (size - 12) + 'px;' +
                          'font:bold 11px sans-serif;color:#263238;text-align:center">' + n + '</span></div>',
                    className: 'marker-cluster geomap-cluster', iconSize: L.point(size, size)});
            };
            var group = L.markerClusterGroup(opts);
            {%- else %}
            var group = L.featureGroup();
            {%- endif %}
            var markers = new Array(rows.length);
            for (var i = 0; i < rows.length; i++) {
                var r = rows[i], c = pal[r[2]];
                // r[4]: placed approximately from the address: hollow, dashed outline
                var m = L.circleMarker([r[0], r[1]], r[4] ?
                    {radius: {{ this.radius }}, color: c, weight: 2, dashArray: '3 2', fillColor: c,
                     fillOpacity: 0.15} :
                    {radius: {{ this.radius }}, color: c, weight: 1, fillColor: c,
                     fillOpacity: {{ this.fill_opacity }}});
                {%- if this.with_popup %}
                if (r[3]) { m.bindPopup(r[3]); }
                {%- else %}
                if (r[3]) { m.bindTooltip(r[3]); }
                {%- endif %}
                markers[i] = m;
            }
            {%- if this.cluster %}
            group.addLayers(markers);
            {%- else %}
            for (var j = 0; j < markers.length; j++) { group.addLayer(markers[j]); }
            {%- endif %}
            group.addTo({{ this._parent.get_name() }});
            return group;
        })();
        {% endmacro %}
    """)

    def __init__(self, rows: list[list], palette: list[str], *, cluster: bool, radius: float, fill_opacity: float,
                 with_popup: bool):
        super().__init__()
        self._name = "PointLayer"
        self.rows_json = _script_json(rows)
        self.palette_json = _script_json(palette)
        self.cluster = cluster
        self.cluster_json = _script_json(_CLUSTER_OPTIONS)
        self.radius = float(radius)
        self.fill_opacity = float(fill_opacity)
        self.with_popup = with_popup
        self.count = len(rows)


class ShapeLayer(MacroElement):
    """Lines and polygons (and stray points) of one layer as one small GeoJSON document."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function () {
            var pal = {{ this.palette_json }};
            var layer = L.geoJSON({{ this.geojson }}, {
                style: function (f) {
                    var c = pal[f.properties.c];
                    return {color: c, weight: {{ this.weight }}, fill: {{ this.fill }}, fillColor: c,
                            fillOpacity: {{ this.fill_opacity }}};
                },
                pointToLayer: function (f, latlng) {
                    return L.circleMarker(latlng, {radius: {{ this.radius }}});
                },
                onEachFeature: function (f, l) { if (f.properties.t) { l.bindPopup(f.properties.t); } }
            });
            layer.addTo({{ this._parent.get_name() }});
            return layer;
        })();
        {% endmacro %}
    """)

    def __init__(self, geojson: str, palette: list[str], *, weight: float, fill_opacity: float, radius: float):
        super().__init__()
        self._name = "ShapeLayer"
        self.geojson = geojson.replace("</", "<\\/")
        self.palette_json = _script_json(palette)
        self.weight = float(weight)
        self.fill = "true" if fill_opacity > 0 else "false"
        self.fill_opacity = float(fill_opacity)
        self.radius = float(radius)


class Legend(MacroElement):
    """A Leaflet control showing a layer's colours; it comes and goes with its feature group."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function () {
            var fg = {{ this._parent.get_name() }};
            var legend = L.control({position: 'bottomright'});
            legend.onAdd = function () {
                var d = L.DomUtil.create('div', 'geomap-legend');
                d.innerHTML = {{ this.html_json }};
                L.DomEvent.disableClickPropagation(d);
                return d;
            };
            fg.on('add', function () { legend.addTo(fg._map); });
            fg.on('remove', function () { legend.remove(); });
            if (fg._map) { legend.addTo(fg._map); }
        })();
        {% endmacro %}
    """)

    def __init__(self, html_text: str):
        super().__init__()
        self._name = "Legend"
        self.html = html_text
        self.html_json = _script_json(html_text)


@dataclass(frozen=True)
class LegendEntry:
    value: str
    label: str
    color: str
    count: int


def color_field(layer: Layer, color_by: str | None = None) -> str | None:
    """The field ``layer`` is coloured by: ``color_by`` when it has a palette, else the declared default."""
    if color_by and color_by in layer.style.palettes:
        return color_by
    return layer.style.color_by


def legend_entries(layer: Layer, frame: pd.DataFrame, color_by: str | None = None,
                   lang: str = "vi") -> list[LegendEntry]:
    """Colour, label and count of each value of the colouring field (palette order, then others)."""
    by = color_field(layer, color_by)
    if by is None:
        return []
    palette = layer.style.palettes.get(by, {})
    codes = layer.field(by).codes
    counts = status_counts(frame, by)
    entries = [LegendEntry(v, i18n.code_label(codes, v, lang), c, counts.pop(v, 0)) for v, c in palette.items()]
    other = sum(counts.values())
    if other:
        entries.append(LegendEntry("", i18n.t("map.legend.other", lang), layer.style.color, other))
    return entries


def status_counts(frame: pd.DataFrame, field: str) -> dict[str, int]:
    """How many rows have each value of ``field`` (missing values counted under "")."""
    if field not in frame or frame.empty:
        return {}
    counts = frame[field].astype(object).fillna("").value_counts(sort=False)
    return {str(k): int(v) for k, v in counts.items()}


def hollow_mask(layer: Layer, frame: pd.DataFrame) -> np.ndarray:
    """True for the points drawn hollow (placed approximately, see :attr:`layers.base.Style.hollow_field`)."""
    field = layer.style.hollow_field
    if field is None or field not in frame:
        return np.zeros(len(frame), dtype=bool)
    values = frame[field].astype(object)
    return (values.notna() & ~values.astype(str).isin(layer.style.solid_values)).to_numpy()


def legend_html(layer: Layer, frame: pd.DataFrame, color_by: str | None = None, lang: str = "vi") -> str:
    """The legend box of one layer: title, then a swatch, label and count per value."""
    by = color_field(layer, color_by)
    title = html.escape(layer.title(lang))
    # a <details> box: one tap folds it to its title, so a legend never has to cover the map
    parts = ['<details open style="background:#fff;padding:6px 8px;border-radius:4px;font:12px/1.4 sans-serif;'
             'box-shadow:0 1px 4px rgba(0,0,0,.3);max-width:260px;max-height:40vh;overflow:auto">',
             f'<summary style="cursor:pointer"><b>{title}</b></summary>']
    if by is not None:
        parts.append(f'<div style="color:#555">{html.escape(layer.field(by).label(lang))}</div>')
        for e in legend_entries(layer, frame, by, lang):
            parts.append(
                f'<div><span style="display:inline-block;width:10px;height:10px;border-radius:50%;'
                f'background:{e.color};margin-right:5px"></span>{html.escape(e.label)} ({e.count:,})</div>')
    else:
        parts.append(f'<div>{html.escape(i18n.t("map.legend.count", lang).format(n=f"{len(frame):,}"))}</div>')
    approximate = int(hollow_mask(layer, frame).sum())
    if approximate:
        parts.append(
            '<div><span style="display:inline-block;width:8px;height:8px;border-radius:50%;'
            'border:2px dashed #555;margin-right:5px"></span>'
            f'{html.escape(i18n.t("map.legend.approximate", lang))} ({approximate:,})</div>')
    parts.append("</details>")
    return "".join(parts)


def format_value(layer: Layer, name: str, value: object, lang: str = "vi") -> str:
    """One value of field ``name`` as shown to people: code labels, dd/mm/yyyy dates, Có/Không."""
    return str(format_column(layer, name, pd.Series([value], dtype=object), lang).iloc[0])


def format_column(layer: Layer, name: str, values: pd.Series, lang: str = "vi") -> pd.Series:
    """A column of field ``name`` formatted for display (vectorised; missing values become "")."""
    fld = layer.field(name)
    values = values.astype(object)
    missing = values.map(lambda v: v is None or (not isinstance(v, (list, tuple, np.ndarray)) and pd.isna(v)))
    present = values[~missing]
    if fld.kind == "list":
        out = present.map(lambda vs: ", ".join(i18n.code_label(fld.codes, v, lang) for v in vs))
    elif fld.kind == "bool":
        yes, no = ("Có", "Không") if lang == "vi" else ("Yes", "No")
        out = present.map(lambda v: yes if v else no)
    elif fld.codes:
        labels = {v: i18n.code_label(fld.codes, v, lang) for v in present.astype(str).unique()}
        out = present.astype(str).map(labels)
    elif fld.kind in ("date", "datetime"):
        stamps = pd.to_datetime(present, errors="coerce", utc=fld.kind == "datetime")
        if fld.kind == "datetime":
            stamps = stamps.dt.tz_convert("Asia/Ho_Chi_Minh")
        out = stamps.dt.strftime("%d/%m/%Y" if fld.kind == "date" else "%d/%m/%Y %H:%M").fillna("")
    elif fld.kind == "float":
        out = pd.to_numeric(present, errors="coerce").map(lambda v: "" if pd.isna(v) else f"{v:,.1f}")
    else:
        out = present.astype(str)
    result = pd.Series("", index=values.index, dtype=object)
    result[~missing] = out.astype(object)
    return result


def _labels(layer: Layer, frame: pd.DataFrame, lang: str, full: bool) -> list[str]:
    """Escaped popup HTML (``full``) or a one-line hover label (first two popup fields)."""
    names = [n for n in layer.popup if n in frame.columns]
    if not names:
        return [""] * len(frame)
    if not full:
        cols = [format_column(layer, n, frame[n], lang).map(html.escape) for n in names[:2]]
        joined = cols[0]
        if len(cols) > 1:
            joined = (cols[0] + " · " + cols[1]).str.strip(" ·")
        return joined.tolist()
    parts = []
    for n in names:
        label = html.escape(layer.field(n).label(lang))
        text = format_column(layer, n, frame[n], lang)
        parts.append(text.map(lambda v, label=label: f"<b>{label}</b>: {html.escape(v)}" if v else ""))
    rows = zip(*(p.tolist() for p in parts), strict=True)
    return ["<br>".join(x for x in row if x) for row in rows]


def _color_indexes(layer: Layer, frame: pd.DataFrame, by: str | None) -> tuple[np.ndarray, list[str]]:
    """Index into a palette list for every row (the last entry is the layer's plain colour)."""
    palette_map = dict(layer.style.palettes.get(by, {})) if by else {}
    palette = [*palette_map.values(), layer.style.color]
    if not palette_map or by not in frame:
        return np.full(len(frame), len(palette) - 1, dtype=int), palette
    lookup = {v: i for i, v in enumerate(palette_map)}
    idx = frame[by].map(lookup).fillna(len(palette) - 1).astype(int).to_numpy()
    return idx, palette


def _rounded(geoms: np.ndarray) -> np.ndarray:
    return shapely.transform(geoms, lambda c: np.round(c, COORD_DECIMALS))


def point_layer(layer: Layer, frame: gpd.GeoDataFrame, *, color_by: str | None = None, lang: str = "vi",
                popup_limit: int = POPUP_LIMIT) -> PointLayer:
    """The compact point element of ``frame`` (point geometries only)."""
    by = color_field(layer, color_by)
    idx, palette = _color_indexes(layer, frame, by)
    geoms = frame.geometry.to_numpy()
    lat = np.round(shapely.get_y(geoms), COORD_DECIMALS).tolist()
    lng = np.round(shapely.get_x(geoms), COORD_DECIMALS).tolist()
    full = len(frame) <= popup_limit
    labels = _labels(layer, frame, lang, full=full)
    rows = [list(r) for r in zip(lat, lng, idx.tolist(), labels, strict=True)]
    for row, hollow in zip(rows, hollow_mask(layer, frame).tolist(), strict=True):
        if hollow:
            row.append(1)
    cluster = layer.cluster or len(frame) >= CLUSTER_MIN
    return PointLayer(rows, palette, cluster=cluster, radius=layer.style.radius,
                      fill_opacity=layer.style.fill_opacity, with_popup=full)


def shape_layer(layer: Layer, frame: gpd.GeoDataFrame, *, color_by: str | None = None, lang: str = "vi",
                simplify_m: float = 1.0) -> ShapeLayer:
    """The GeoJSON element of ``frame``: simplified (``simplify_m`` metres), rounded, minimal properties."""
    by = color_field(layer, color_by)
    idx, palette = _color_indexes(layer, frame, by)
    geoms = frame.geometry.to_numpy()
    if simplify_m > 0:
        geoms = shapely.simplify(geoms, simplify_m / _M_PER_DEG, preserve_topology=True)
    texts = _labels(layer, frame, lang, full=True)
    features = [
        f'{{"type":"Feature","geometry":{g},"properties":{{"c":{c},"t":{_script_json(t)}}}}}'
        for g, c, t in zip(shapely.to_geojson(_rounded(geoms)).tolist(), idx.tolist(), texts, strict=True)
        if g is not None
    ]
    geojson = '{"type":"FeatureCollection","features":[' + ",".join(features) + "]}"
    return ShapeLayer(geojson, palette, weight=layer.style.weight, fill_opacity=layer.style.fill_opacity,
                      radius=layer.style.radius)


def layer_group(layer: Layer, frame: gpd.GeoDataFrame, *, color_by: str | None = None, lang: str = "vi",
                simplify_m: float = 1.0, legend: bool = True) -> folium.FeatureGroup:
    """One registry layer as a feature group: its points, its shapes and (if coloured by a field) its legend."""
    group = folium.FeatureGroup(name=layer.title(lang), overlay=True, control=False)
    frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty] if len(frame) else frame
    is_point = (frame.geometry.geom_type == "Point").to_numpy() if len(frame) else np.zeros(0, dtype=bool)
    if is_point.any():
        group.add_child(point_layer(layer, frame[is_point], color_by=color_by, lang=lang))
    if (~is_point).any():
        group.add_child(shape_layer(layer, frame[~is_point], color_by=color_by, lang=lang, simplify_m=simplify_m))
    if legend and color_field(layer, color_by) is not None:
        group.add_child(Legend(legend_html(layer, frame, color_by, lang)))
    return group


def layer_groups(layers: Sequence[Layer], frames: Mapping[str, gpd.GeoDataFrame], *, lang: str = "vi",
                 color_by: Mapping[str, str] | None = None, zoom: float | None = None,
                 simplify_m: float = 1.0) -> list[folium.FeatureGroup]:
    """Feature groups of every layer in ``layers`` that has a frame, in drawing order.

    Layers whose ``min_zoom`` is above ``zoom`` are left out (parcels only when zoomed in).
    """
    groups = []
    for layer in sorted(layers, key=lambda lyr: lyr.order):
        frame = frames.get(layer.name)
        if frame is None or (zoom is not None and zoom < layer.min_zoom):
            continue
        groups.append(layer_group(layer, frame, color_by=(color_by or {}).get(layer.name), lang=lang,
                                  simplify_m=simplify_m))
    return groups


def highlight_group(lat: float, lng: float, *, color: str = "#00b8d4") -> folium.FeatureGroup:
    """A ring around the selected feature, so the detail panel and the map point at the same place."""
    group = folium.FeatureGroup(name="selected", control=False)
    folium.CircleMarker([round(lat, COORD_DECIMALS), round(lng, COORD_DECIMALS)], radius=13, color=color, weight=4,
                        fill=False, interactive=False).add_to(group)
    return group


def base_map(bounds: BBox | None = None, *, assets_url: str | None = None, tiles: str | None = None,
             attribution: str | None = None, height: str | int = "100%", zoom_start: int | None = None,
             location: tuple[float, float] | None = None) -> GeomapMap:
    """The empty map fitted to ``bounds``: tiles, scale bar, canvas renderer and the assets the layers need.

    The one way a map is made: whatever is added to it later (folium features, plugins) loads
    only geomap's pinned copies. ``tiles``/``attribution`` default to the configured tile source
    (:data:`geomap.config.TILE_URL`, :data:`geomap.config.TILE_ATTRIBUTION`).
    """
    if tiles is None:
        tiles, attribution = config.TILE_URL, attribution or config.TILE_ATTRIBUTION
    m = GeomapMap(location=location or _center(bounds), zoom_start=zoom_start or _zoom_for(bounds), tiles=tiles,
                  attr=attribution, prefer_canvas=True, control_scale=True, height=height, assets_url=assets_url)
    m.default_js = _asset_urls(("leaflet",), assets_url)
    m.default_css = _asset_urls(("leaflet_css",), assets_url)
    m.add_child(_Assets(assets_url))
    if bounds is not None:
        m.fit_bounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]])
    return m


def build_map(frames: Mapping[str, gpd.GeoDataFrame], *, layers: Mapping[str, Layer] | None = None,
              bounds: BBox | None = None, lang: str = "vi", color_by: Mapping[str, str] | None = None,
              zoom: float | None = None, assets_url: str | None = None, simplify_m: float = 1.0) -> folium.Map:
    """The whole map: every layer of ``layers`` (default: the registry) that has a frame in ``frames``."""
    if layers is None:
        import layers as layer_registry

        layers = layer_registry.registry()
    if bounds is None:
        bounds = frames_bounds(frames.values())
    m = base_map(bounds, assets_url=assets_url)
    for group in layer_groups(list(layers.values()), frames, lang=lang, color_by=color_by, zoom=zoom,
                              simplify_m=simplify_m):
        group.add_to(m)
    return m


def frames_bounds(frames: Sequence[gpd.GeoDataFrame] | object) -> BBox | None:
    """The combined extent of non-empty frames, or None."""
    boxes = [f.total_bounds for f in frames if len(f) and f.geometry.notna().any()]
    if not boxes:
        return None
    arr = np.array(boxes)
    return (float(arr[:, 0].min()), float(arr[:, 1].min()), float(arr[:, 2].max()), float(arr[:, 3].max()))


def payload_bytes(m: folium.Map) -> int:
    """Size in bytes of the page the map renders to (what the browser downloads, assets excluded)."""
    return len(m.get_root().render().encode("utf-8"))


def _center(bounds: BBox | None) -> tuple[float, float]:
    if bounds is None:
        return (16.047, 108.206)  # Đà Nẵng
    return ((bounds[1] + bounds[3]) / 2, (bounds[0] + bounds[2]) / 2)


def _zoom_for(bounds: BBox | None, width_px: int = 900) -> int:
    """A starting zoom showing ``bounds`` in about ``width_px`` pixels (fit_bounds refines it)."""
    if bounds is None:
        return 13
    span = max(bounds[2] - bounds[0], bounds[3] - bounds[1], 1e-6)
    return int(max(1, min(18, math.floor(math.log2(360 * width_px / (256 * span))))))
