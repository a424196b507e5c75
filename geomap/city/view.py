"""The city-wide map (pure, no I/O): a choropleth of the wards and the registry's points and parcels
drawn in the browser from vector tiles.

Why tiles: the demo city holds 102,001 establishments. Sent as one GeoJSON document (what the ward
map does for 6,000) the page is tens of megabytes and the browser parses and draws every point
before showing anything (``bench/bench_city_view.py`` measures both in one run). Here the page
carries only the ward outlines and a few kilobytes of script; the browser fetches Mapbox Vector
Tiles of the visible area from the public service (``/ogc/collections/{layer}/tiles/WebMercatorQuad``,
made by PostGIS, points counted per cell below zoom 15, parcels from zoom 17) and draws them with
Leaflet.VectorGrid (vendored in ``static/vendor``, pinned like every map asset by
:func:`geomap.map.view.base_map`: no CDN, works with the internet cut off). VectorGrid draws SVG,
so it needs no WebGL (headless Chromium draws it too).

The script fetches tiles ``credentials: "include"``: the browser adds the user's session cookie and
the service answers with the profile the user's role opens (:mod:`geomap.web.staff_reads`); no key
is ever written into the page.

Clicking an establishment opens its detail: name, ward (found in the browser from the ward outlines
the page already holds), licence and food-safety status, and a link to its record in the staff
app. A counted cell (several establishments) says how many and zooms in. The script reports what
it drew in ``window.geomapCity`` (tiles loaded, features drawn, when the first ones showed, tile
errors), which the browser test and the bench read.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping

import folium
import geopandas as gpd
import pandas as pd
from branca.element import MacroElement
from folium.elements import JSCSSMixin
from folium.template import Template

from geomap import i18n, links
from geomap.dashboard.choropleth import NO_DATA, colour_scale, legend_html
from geomap.dashboard.indicators import Indicator
from geomap.map import view as mapview
from layers.base import Layer

#: registry layers drawn from tiles, bottom first (parcels under the points)
CITY_LAYERS = ("land_parcels", "establishments")
#: the tile path of a collection (OGC API – Tiles); {z}/{y}/{x} are filled in by the browser
TILE_PATH = "/ogc/collections/{name}/tiles/WebMercatorQuad/{{z}}/{{y}}/{{x}}"
STRINGS: dict[str, tuple[str, str]] = {  # loaded by geomap.i18n on first use (i18n.CATALOGS)
    "citymap.ward": ("Phường", "Ward"),
    "citymap.cell": ("{n} cơ sở ở gần nhau", "{n} establishments close together"),
    "citymap.zoom_in": ("Phóng to để xem từng cơ sở.", "Zoom in to see each one."),
    "citymap.open_record": ("Mở hồ sơ cơ sở", "Open the record"),
    "citymap.map_note": ("Điểm và thửa đất vẽ từ ô bản đồ vector", "Points and parcels drawn from vector tiles"),
}
#: ward outlines simplified to this many degrees (about 10 m): the page stays small
OUTLINE_TOLERANCE_DEG = 0.0001


def _script_json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")


def _layer_config(layer: Layer, tiles_base: str, lang: str) -> dict[str, object]:
    """What the script needs to draw and describe one layer: its tile URL, style and popup labels."""
    style = layer.style
    palette = dict(style.palettes.get(style.color_by, {})) if style.color_by else {}
    popup = [f for f in layer.popup if f in {x.name for x in layer.fields}]
    return {
        "name": layer.name, "url": tiles_base.rstrip("/") + TILE_PATH.format(name=layer.name),
        "point": layer.geometry_type == "Point", "minZoom": layer.min_zoom, "color": style.color,
        "colorBy": style.color_by, "palette": palette, "radius": style.radius, "weight": style.weight,
        "fillOpacity": style.fill_opacity, "title": layer.title_en if lang == "en" else layer.title_vi,
        "fields": [[f, layer.field(f).label(lang)] for f in popup],
        "dates": [f for f in popup if layer.field(f).kind == "date"],
        "codes": {f: {k: v[1 if lang == "en" else 0] for k, v in i18n.CODES.get(layer.field(f).codes, {}).items()}
                  for f in popup if layer.field(f).codes},
    }


class VectorTiles(JSCSSMixin, MacroElement):
    """The registry layers of :data:`CITY_LAYERS` from vector tiles, the click detail and the drawing report."""

    _template = Template(r"""
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }}, cfg = {{ this.config_json }};
            var report = window.geomapCity = {tiles: 0, features: 0, firstFeaturesMs: null, errors: 0,
                                              clicks: 0, map: map};
            map.createPane('geomapTiles').style.zIndex = 450;
            var wards = {{ this.wards_var }};
            function inRing(pt, ring) {
                var inside = false;
                for (var i = 0, j = ring.length - 1; i < ring.length; j = i++) {
                    var xi = ring[i][0], yi = ring[i][1], xj = ring[j][0], yj = ring[j][1];
                    if ((yi > pt[1]) !== (yj > pt[1]) && pt[0] < (xj - xi) * (pt[1] - yi) / (yj - yi) + xi) {
                        inside = !inside;
                    }
                }
                return inside;
            }
            function wardAt(latlng) {
                var pt = [latlng.lng, latlng.lat], found = null;
                wards.eachLayer(function (l) {
                    var g = l.feature.geometry, polys = g.type === 'Polygon' ? [g.coordinates] : g.coordinates;
                    for (var p = 0; p < polys.length && !found; p++) {
                        if (inRing(pt, polys[p][0])) {
                            var holes = polys[p].slice(1), inHole = false;
                            for (var h = 0; h < holes.length; h++) { if (inRing(pt, holes[h])) { inHole = true; } }
                            if (!inHole) { found = l.feature.properties; }
                        }
                    }
                });
                return found;
            }
            function esc(v) {
                return String(v === null || v === undefined ? '' : v).replace(/[&<>"']/g, function (c) {
                    return {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c]; });
            }
            function styleFor(layer) {
                return function (props, zoom) {
                    var c = layer.colorBy && layer.palette[props[layer.colorBy]] || layer.color;
                    if (layer.point) {
                        if (props.point_count !== undefined) {  // a counted cell (below zoom 15)
                            // cells are 4 px apart on screen (64 of the tile's 4096 units): a density of dots
                            // that leaves the wards' colours readable, darker and larger where more are counted
                            return {radius: Math.min(0.9 + 0.3 * Math.log2(1 + props.point_count), 2.4),
                                    fill: true, fillColor: '#0d47a1', fillOpacity: 0.55, stroke: false, weight: 0,
                                    className: 'geomap-cell'};
                        }
                        return {radius: layer.radius, fill: true, fillColor: c, fillOpacity: layer.fillOpacity,
                                color: c, weight: 1, className: 'geomap-feature geomap-' + layer.name};
                    }
                    return {fill: true, fillColor: c, fillOpacity: layer.fillOpacity, color: c,
                            weight: layer.weight, className: 'geomap-feature geomap-' + layer.name};
                };
            }
            function detail(layer, props, latlng) {
                var t = {{ this.text_json }};
                if (props.point_count !== undefined) {  // a counted cell: how many, and zoom in
                    return (props.point_count > 1 ? '<b>' + esc(t.cell.replace('{n}', props.point_count)) +
                            '</b><br>' : '') + esc(t.zoom_in);
                }
                var ward = wardAt(latlng), rows = [], i, f, v;
                for (i = 0; i < layer.fields.length; i++) {
                    f = layer.fields[i][0]; v = props[f];
                    if (v === undefined || v === null || v === '') { continue; }
                    if (layer.codes[f]) { v = layer.codes[f][v] || v; }
                    if (layer.dates.indexOf(f) >= 0 && /^\d{4}-\d\d-\d\d/.test(v)) {
                        v = v.slice(8, 10) + '/' + v.slice(5, 7) + '/' + v.slice(0, 4);
                    }
                    rows.push('<tr><th style="text-align:left;padding-right:6px">' + esc(layer.fields[i][1]) +
                              '</th><td>' + esc(v) + '</td></tr>');
                }
                if (ward) {
                    rows.splice(layer.name === 'establishments' ? 2 : 0, 0, '<tr><th style="text-align:left;' +
                                'padding-right:6px">' + esc(t.ward) + '</th><td>' + esc(ward.name) + '</td></tr>');
                }
                var out = '<div class="geomap-city-detail"><b>' + esc(layer.title) + '</b><table>' +
                          rows.join('') + '</table>';
                if (layer.name === 'establishments' && props.code && ward) {
                    out += '<a target="_blank" rel="noopener" href="' + esc(t.record_url + '?' +
                           t.code_param + '=' + encodeURIComponent(props.code) + '&' + t.ward_param + '=' +
                           encodeURIComponent(ward.slug)) + '">' + esc(t.open_record) + '</a>';
                }
                return out + '</div>';
            }
            // Leaflet 1.8+ asks a clicked point layer for its position (getLatLng); VectorGrid 1.3.0's points
            // are drawn in tile pixels and have none, so a click threw. Without the method Leaflet takes
            // the mouse position, which is where the point is.
            var Grid = L.VectorGrid.Protobuf.extend({
                _createLayer: function (feat, pxPerExtent, style) {
                    var made = L.VectorGrid.Protobuf.prototype._createLayer.call(this, feat, pxPerExtent, style);
                    if (feat.type === 1) { made.getLatLng = null; }
                    return made;
                }
            });
            cfg.forEach(function (layer) {
                var styles = {};
                styles[layer.name] = styleFor(layer);
                var grid = new Grid(layer.url, {
                    pane: 'geomapTiles', rendererFactory: L.svg.tile, interactive: true, minZoom: layer.minZoom,
                    maxNativeZoom: 22, vectorTileLayerStyles: styles,
                    fetchOptions: {credentials: 'include', mode: 'cors'},
                    getFeatureId: function (f) { return f.properties.id; }
                });
                grid.on('tileload', function (e) {
                    report.tiles += 1;
                    var n = e.tile && e.tile.querySelectorAll ? e.tile.querySelectorAll('path').length : 0;
                    if (n > 0 && report.firstFeaturesMs === null) { report.firstFeaturesMs = performance.now(); }
                    report.features += n;
                });
                grid.on('tileerror', function () { report.errors += 1; });
                grid.on('click', function (e) {
                    report.clicks += 1;
                    var props = e.layer && e.layer.properties || {};
                    if (props.point_count !== undefined && map.getZoom() < 15) {
                        map.setView(e.latlng, Math.min(map.getZoom() + 2, 16));
                    }
                    L.popup({maxWidth: 360}).setLatLng(e.latlng).setContent(detail(layer, props, e.latlng))
                        .openOn(map);
                    L.DomEvent.stop(e);
                });
                grid.addTo(map);
            });
        })();
        {% endmacro %}
    """)

    def __init__(self, config: list[dict[str, object]], text: Mapping[str, str], wards_var: str):
        super().__init__()
        self._name = "VectorTiles"
        self.default_js = [("vectorgrid", "")]  # pinned to the vendored copy when the map renders
        self.config_json = _script_json(config)
        self.text_json = _script_json(dict(text))
        self.wards_var = wards_var


def city_map(outlines: gpd.GeoDataFrame, values: Mapping[str, float | None], indicator: Indicator, *,
             tiles_base: str, staff_base: str, lang: str = "vi", assets_url: str | None = None,
             height: str | int = "100%") -> folium.Map:
    """The city map: ward ``outlines`` (slug, name, geometry) coloured by ``values`` (slug -> figure of
    ``indicator``), and the :data:`CITY_LAYERS` drawn from the tiles of the public service at ``tiles_base``;
    record links go to the staff app at ``staff_base``."""
    import layers as layer_registry

    frame = outlines[["slug", "name", "geometry"]].copy()
    figures = [values.get(s) for s in frame["slug"]]
    scale, lo, hi = colour_scale(indicator, [v for v in figures if v is not None])
    frame["shown"] = [("—" if v is None or pd.isna(v) else (f"{v:.0%}" if indicator.kind == "share" else f"{v:.0f}"))
                      for v in figures]
    frame["fill"] = [NO_DATA if v is None or pd.isna(v) else scale(float(v)) for v in figures]
    bounds = tuple(float(b) for b in frame.total_bounds) if len(frame) else None
    fmap = mapview.base_map(bounds, assets_url=assets_url, height=height)
    wards = folium.GeoJson(
        frame.to_json(na="null"), name="wards",
        style_function=lambda f: {"fillColor": f["properties"]["fill"], "color": "#37474f", "weight": 1.2,
                                  "fillOpacity": 0.5},
        tooltip=folium.GeoJsonTooltip(fields=["name", "shown"],
                                      aliases=[i18n.t("citymap.ward", lang), indicator.label(lang)]))
    wards.add_to(fmap)
    registry = layer_registry.registry()
    config = [_layer_config(registry[name], tiles_base, lang) for name in CITY_LAYERS if name in registry]
    text = {"ward": i18n.t("citymap.ward", lang), "cell": i18n.t("citymap.cell", lang),
            "zoom_in": i18n.t("citymap.zoom_in", lang), "open_record": i18n.t("citymap.open_record", lang),
            "record_url": staff_base.rstrip("/") + "/" + links.RECORDS_PAGE, "code_param": links.CODE_PARAM,
            "ward_param": links.WARD_PARAM}
    fmap.add_child(VectorTiles(config, text, wards.get_name()))
    fmap.get_root().html.add_child(folium.Element(legend_html(indicator, scale, lo, hi, lang)))
    fmap.get_root().html.add_child(folium.Element(
        f'<div class="geomap-city-note" style="position:absolute;top:10px;right:10px;z-index:1000;background:#fff;'
        f'padding:4px 8px;border-radius:4px;font:12px sans-serif;box-shadow:0 1px 4px rgba(0,0,0,.3)">'
        f'{html.escape(i18n.t("citymap.map_note", lang))}</div>'))
    return fmap
