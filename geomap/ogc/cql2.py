"""CQL2 filters (OGC API – Features Part 3): ``filter``, ``filter-lang``, ``filter-crs`` read and bounded.

The parsing is pygeofilter's (cql2-text: its Lark grammar; cql2-json: its walker), never ours.
This module only:

- bounds the input before and after parsing: at most :data:`MAX_LENGTH` characters and a
  nesting depth of at most :data:`MAX_DEPTH` (AND/OR chains count once, however long), so a
  hostile filter costs neither the parser's nor the compiler's stack;
- smooths two spots where pygeofilter 0.4 reads CQL2 differently from the standard: the JSON
  ``between`` with three arguments (the standard's form; pygeofilter wants ``[low, high]``) and
  the JSON ``{"bbox": [minx, miny, maxx, maxy]}`` (pygeofilter reads its numbers in another
  order): both are rewritten before its walker sees them; in cql2-text, the standard's function
  form of the temporal operators, ``T_AFTER(updated_at, TIMESTAMP('…'))``, is added to its
  grammar (pygeofilter reads only ``updated_at T_AFTER TIMESTAMP('…')``);
- says where a malformed filter fails (character, line and column for text; the JSON error's
  position or the node for JSON) in an OGC exception (400).

What a filter may name and how it becomes SQL is :func:`geomap.layer_reader.compile_filter`'s
job (the one layer reader): the profile's stored fields and the geometry, bound parameters.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

import lark
from pygeofilter import ast
from pygeofilter.cql2 import TEMPORAL_PREDICATES_MAP
from pygeofilter.parsers.cql2_json import parse as parse_json
from pygeofilter.parsers.cql2_text import parser as text_parser

from geomap import layer_reader
from geomap.ogc.params import OGCError, crs_param
from geomap.users import Profile
from layers.base import Layer

#: the longest filter read (characters, after URL decoding)
MAX_LENGTH = 4_000
#: the deepest nesting read (NOT, parentheses, predicates in predicates; a chain of ANDs or ORs counts once)
MAX_DEPTH = 20
LANGS = ("cql2-text", "cql2-json")
#: the drafts' names, still sent by GDAL's OAPIF driver (its expressions are valid CQL2 text)
LANG_ALIASES = {"cql-text": "cql2-text"}
QUERYABLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/queryables"
SCHEMA_JSON = "application/schema+json"
#: OGC API – Features Part 3 and the CQL2 classes implemented; QGIS pushes a layer's filter to the
#: server only with filter, features-filter, cql2-text and basic-cql2 listed (and reads /queryables).
#: Not listed: temporal-functions (the layers' times are instants: T_BEFORE, T_AFTER, T_EQUALS,
#: T_DURING, T_INTERSECTS and T_DISJOINT are served, the interval-only ones refused), array-functions,
#: arithmetic, property-property beyond comparisons, accent-insensitive-comparison.
CONFORMANCE = (
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/case-insensitive-comparison",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
)
#: the items route's filter parameters as OpenAPI declares them (read from the query string by
#: :func:`filter_param`, which answers a bad value with an OGC exception, not FastAPI's 422)
OPENAPI_PARAMETERS = [
    {"name": "filter", "in": "query", "required": False, "style": "form", "explode": False,
     "description": f"A CQL2 expression on the collection's queryables (see its /queryables), at most "
                    f"{MAX_LENGTH:,} characters and {MAX_DEPTH} levels deep.",
     "schema": {"type": "string", "maxLength": MAX_LENGTH}},
    {"name": "filter-lang", "in": "query", "required": False, "style": "form", "explode": False,
     "description": "The encoding of filter: cql2-text (default) or cql2-json.",
     "schema": {"type": "string", "enum": list(LANGS), "default": "cql2-text"}},
    {"name": "filter-crs", "in": "query", "required": False, "style": "form", "explode": False,
     "description": "The CRS of the filter's geometries (default CRS84; the offered CRSs of /collections).",
     "schema": {"type": "string", "format": "uri"}},
]
_SCHEMA_TYPES = {"text": {"type": "string"}, "int": {"type": "integer"}, "float": {"type": "number"},
                 "bool": {"type": "boolean"}, "date": {"type": "string", "format": "date"},
                 "datetime": {"type": "string", "format": "date-time"},
                 "list": {"type": "array", "items": {"type": "string"}}}
_GEOMETRY_FORMATS = {"Point": "geometry-point", "LineString": "geometry-linestring", "Polygon": "geometry-polygon",
                     "MultiPoint": "geometry-multipoint", "MultiLineString": "geometry-multilinestring",
                     "MultiPolygon": "geometry-multipolygon"}
FILTER_PARAMS = {"filter", "filter-lang", "filter-crs"}

#: the standard's function form of the temporal operators, added to pygeofilter's grammar
_TEMPORAL_FUNCTIONS = """
%extend temporal_predicate: _binary_temporal_predicate_func "(" expression "," expression ")" -> temporal_function
%override SINGLE_QUOTED: "'" /(?:[^']|'')*/ "'"
"""


@lark.v_args(inline=True)
class _Transformer(text_parser.CQLTransformer):
    def temporal_function(self, op: Any, lhs: Any, rhs: Any) -> Any:
        return TEMPORAL_PREDICATES_MAP[str(op).lower()](lhs, rhs)

    def SINGLE_QUOTED(self, token: Any) -> str:  # noqa: N802 (the terminal's name)
        return str(token)[1:-1].replace("''", "'")


def _build_text_parser() -> lark.Lark:
    """pygeofilter's cql2-text grammar (its file, its transformer) plus the temporal function form."""
    folder = os.path.dirname(text_parser.__file__)
    with open(os.path.join(folder, "grammar.lark"), encoding="utf-8") as fh:
        grammar = fh.read()
    return lark.Lark(grammar + _TEMPORAL_FUNCTIONS, parser="lalr", maybe_placeholders=False,
                     transformer=_Transformer(), import_paths=[os.path.dirname(folder)])


#: built when the module is imported, as pygeofilter builds its own (code shipped with the package, no data)
TEXT_PARSER = _build_text_parser()


def _bad(lang: str, where: str) -> OGCError:
    return OGCError(400, "InvalidParameterValue", f"filter ({lang}): {where}")


def _text_depth(text: str) -> int:
    """The deepest parenthesis nesting outside quoted strings (checked before parsing)."""
    depth = deepest = 0
    quote: str | None = None
    for ch in text:
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif ch == ")":
            depth -= 1
    return deepest


def _json_depth(value: Any) -> int:
    """The deepest nesting of a JSON value, without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)
    return deepest


def _ast_depth(node: Any) -> int:
    """Nesting of a parsed expression; a chain of the same AND (or OR) counts as one level."""
    deepest, stack = 0, [(node, 1, None)]
    while stack:
        item, depth, parent = stack.pop()
        if isinstance(item, ast.Combination) and parent is type(item):
            depth -= 1  # a link of the same chain
        deepest = max(deepest, depth)
        if isinstance(item, ast.Node):
            stack.extend((sub, depth + 1, type(item)) for sub in item.get_sub_nodes())
        elif isinstance(item, list):
            stack.extend((sub, depth + 1, None) for sub in item)
    return deepest


def _standard_json(node: Any) -> Any:
    """The standard's JSON forms pygeofilter 0.4 reads otherwise, rewritten (depth already bounded)."""
    if isinstance(node, list):
        return [_standard_json(v) for v in node]
    if not isinstance(node, dict):
        return node
    if set(node) == {"bbox"} and isinstance(node["bbox"], list) and len(node["bbox"]) in (4, 6):
        b = node["bbox"]
        x1, y1, x2, y2 = (b[0], b[1], b[2], b[3]) if len(b) == 4 else (b[0], b[1], b[3], b[4])
        return {"type": "Polygon", "coordinates": [[[x1, y1], [x2, y1], [x2, y2], [x1, y2], [x1, y1]]]}
    out = {k: _standard_json(v) for k, v in node.items()}
    args = out.get("args")
    if out.get("op") == "between" and isinstance(args, list) and len(args) == 3:
        out["args"] = [args[0], [args[1], args[2]]]
    if out.get("op") == "like" and isinstance(args, list) and len(args) == 2 and not isinstance(args[1], str):
        raise _bad("cql2-json", "the pattern of 'like' must be a string.")
    if "op" in out and not isinstance(args, list):
        raise _bad("cql2-json", f"the operator {str(out['op'])[:40]!r} needs 'args' as a list.")
    return out


def parse(raw: str, lang: str | None) -> Any:
    """A ``filter`` parameter as pygeofilter's AST, or an OGC exception (400) saying where it fails."""
    lang = (lang or "cql2-text").strip()
    lang = LANG_ALIASES.get(lang, lang)
    if lang not in LANGS:
        raise OGCError(400, "InvalidParameterValue",
                       f"filter-lang={lang[:40]!r} is not offered; use cql2-text (the default) or cql2-json.")
    if len(raw) > MAX_LENGTH:
        raise _bad(lang, f"{len(raw):,} characters; at most {MAX_LENGTH:,} are read.")
    if not raw.strip():
        raise _bad(lang, "the filter is empty.")
    if lang == "cql2-json":
        try:
            document = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise _bad(lang, f"not JSON at character {exc.pos + 1} (line {exc.lineno}, column {exc.colno}): "
                             f"{exc.msg}.") from None
        if not isinstance(document, dict):
            raise _bad(lang, "the filter is a value, not a condition (a JSON object with 'op' and 'args').")
        if _json_depth(document) > 3 * MAX_DEPTH:  # JSON nests ~3 levels per expression level
            raise _bad(lang, f"nested deeper than {MAX_DEPTH} levels.")
        try:
            node = parse_json(_standard_json(document))
        except OGCError:
            raise
        except Exception as exc:  # noqa: BLE001 (pygeofilter's walker raises many kinds on bad input)
            raise _bad(lang, f"cannot be read: {str(exc)[:200] or type(exc).__name__}.") from None
    else:
        if _text_depth(raw) > MAX_DEPTH:
            raise _bad(lang, f"parentheses nested deeper than {MAX_DEPTH} levels.")
        try:
            node = TEXT_PARSER.parse(raw)
        except lark.exceptions.UnexpectedInput as exc:
            near = raw[max(0, exc.pos_in_stream or 0):][:30] if getattr(exc, "pos_in_stream", None) is not None \
                else ""
            expected = sorted(getattr(exc, "expected", None) or getattr(exc, "allowed", None) or [])[:8]
            raise _bad(lang, f"cannot be read at character {(exc.pos_in_stream or 0) + 1} (line {exc.line}, "
                             f"column {exc.column}), near {near!r}"
                             + (f"; expected one of {', '.join(expected)}." if expected else ".")) from None
        except Exception as exc:  # noqa: BLE001 (a transformer error: a value it cannot take)
            raise _bad(lang, f"cannot be read: {str(exc)[:200] or type(exc).__name__}.") from None
    if not isinstance(node, ast.Node):
        raise _bad(lang, "the filter is a value, not a condition.")
    if _ast_depth(node) > MAX_DEPTH:
        raise _bad(lang, f"nested deeper than {MAX_DEPTH} levels.")
    return node


def filter_param(params: Mapping[str, str], layer: Layer, profile: Profile,
                 offered: Sequence[int]) -> layer_reader.Filter | None:
    """``filter`` (with ``filter-lang`` and ``filter-crs``) compiled for the layer reader, or None without one."""
    raw = params.get("filter")
    if raw is None:
        for name in ("filter-lang", "filter-crs"):
            if name in params:
                raise OGCError(400, "InvalidParameterValue", f"{name} was given without filter.")
        return None
    lang = params.get("filter-lang")
    node = parse(raw, lang)
    srid, lat_lon = crs_param(params, "filter-crs", offered)
    try:
        return layer_reader.compile_filter(layer, profile, node, srid=srid, lat_lon=lat_lon)
    except layer_reader.FilterError as exc:
        raise _bad(lang or "cql2-text", str(exc)) from None


def queryables(url: str, layer: Layer, profile: Profile) -> dict[str, Any]:
    """The collection's queryables (JSON Schema 2020-12): what ``filter`` may name for ``profile``.

    The profile's stored fields (never a personal one in the public profile; the computed statuses
    are filtered with ``name=value`` instead) and the geometry, as ``geometry``."""
    props: dict[str, Any] = {"geometry": {
        "title": "Hình học / Geometry", "x-ogc-role": "primary-geometry",
        "format": _GEOMETRY_FORMATS.get(layer.geometry_type, "geometry-any")}}
    for f in layer_reader.queryable_fields(layer, profile):
        prop: dict[str, Any] = {"title": f"{f.label('vi')} / {f.label('en')}", **_SCHEMA_TYPES.get(f.kind, {})}
        if f.name == layer.temporal_field:
            prop["x-ogc-role"] = "primary-instant"
        if f.name == layer.public_id_field and profile == "public":
            prop["x-ogc-role"] = "id"
        props[f.name] = prop
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": url,
        "type": "object",
        "title": f"{layer.title_vi} / {layer.title_en}",
        "properties": props,
        "additionalProperties": False,
        # the drafts' list, which GDAL's OAPIF driver reads (JSON Schema ignores a keyword it does not know)
        "queryables": [{"id": name} for name in props if name != "geometry"],
    }


def queryables_media_type(accept: str) -> str:
    """``application/schema+json``, or ``application/json`` for a client that accepts only that (GDAL)."""
    wanted = accept.lower()
    if "application/json" in wanted and SCHEMA_JSON not in wanted:
        return "application/json"
    return SCHEMA_JSON
