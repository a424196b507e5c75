"""``GET /q/{code}`` (the page a sticker opens) and ``GET /api/q/{code}`` (the same data as JSON).

A thin adapter over :func:`qr.lookup.lookup` (no SQL here: :mod:`qr.data`). In order, cheapest
first: per-client rate limit (429 + Retry-After), token shape check without any I/O (400), the
app's cache of rendered responses (``app.state.qr.pages``, built by ``create_app``), then one
indexed query. A cached response is only reused after a one-row index probe confirms its code
is still in the same state (active, revoked or unknown), so a revoked or reissued sticker
fails on the very next request; other changes of the establishment's data show within
``GEOMAP_QR_CACHE_SECONDS``. Valid pages may be kept
by browsers and proxies for at most a minute (``max-age=60, must-revalidate``, no
stale-while-revalidate), then revalidate with a strong ``ETag`` / ``Last-Modified`` (304
on a match). ``Vary: Accept-Language, Accept-Encoding`` and gzip when accepted.

Statuses: valid 200; unknown or forged 404 with a warning that the sticker may be fake;
revoked 410; malformed 400; database unreachable 503 (``Retry-After``, ``no-store``) with a
plain message, even for a page in the cache: its validity cannot be re-checked then. The
page is server-rendered Vietnamese (English by ``Accept-Language`` or ``?lang=en``), needs no
JavaScript, loads nothing external and stays well under 20 KB with its inline CSS and
inline-SVG map.

Every answered scan (not a 429 or a 503) is counted in memory by the app's
:class:`qr.scans.ScanCounter` (``app.state.qr.scans``: day, normalised code or ``''`` when
malformed, outcome; never the address or the user agent); the lifespan adds the counts to the
database every minute and at shutdown, so a lookup itself writes nothing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import gc
import gzip
import hashlib
import json
import os
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import jinja2
import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from geomap import i18n, links, replica, text
from geomap.errors import DatabaseUnavailable, LocalizedError
from geomap.web import openapi, outage
from geomap.web.deps import get_engine
from geomap.web.ratelimit import client_key, retry_after_header
from layers import palettes
from qr import codes
from qr import data as qr_data
from qr.lookup import LOCAL_TZ, Lookup, LookupState, establishment_layer, lookup


@contextlib.asynccontextmanager
async def _lifespan(app: Any) -> AsyncIterator[None]:
    """At start-up, derive every establishment's statuses once in the background (see StatusMemo)."""
    gc.freeze()  # start-up objects (modules, templates, registry) leave the collector's generations: shorter pauses
    threading.Thread(target=_prime, args=(app,), daemon=True, name="qr-prime").start()
    app.state.qr.scans.start(lambda: _count_engine(app))  # counted scans added to the database every minute
    yield
    app.state.qr.scans.stop(lambda: _count_engine(app))  # and what is left at shutdown
    app.state.qr.close()


def _count_engine(app: Any) -> sa.Engine:
    from geomap import db

    return db.get_engine(app.state.database_url)


def _prime(app: Any) -> None:
    try:
        from geomap import db

        app.state.qr.prime(db.get_engine(app.state.database_url))
    except Exception:  # the database may be down at start-up; lookups derive on their own then
        pass


router = APIRouter(lifespan=_lifespan)

#: run the lookup (one indexed query, under a millisecond, statement_timeout 2 s) on the event loop rather
#: than in the thread pool: measured 1.6x the throughput and a fifth of the p99 latency (bench_qr), as the
#: thread hop and GIL hand-offs cost more than the query. GEOMAP_QR_INLINE_DB=0 restores the thread pool.
INLINE_DB = os.environ.get("GEOMAP_QR_INLINE_DB", "1") == "1"
#: URLs longer than this are refused before anything else is looked at
MAX_CODE_CHARS = 64

#: a valid page may pass in a browser or proxy cache for at most this minute after a revocation; no
#: stale-while-revalidate: a revoked sticker must not keep passing while a cache refreshes in the background
CACHE_VALID = "public, max-age=60, must-revalidate"
CACHE_NOT_VALID = "public, max-age=60"
CACHE_MALFORMED = "public, max-age=86400"
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # the token must not leak to a map site through Referer
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                               "form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
}

STRINGS: dict[str, tuple[str, str]] = {  # loaded by geomap.i18n on first use (i18n.CATALOGS)
    "qr.service": ("Tra cứu cơ sở kinh doanh", "Business lookup"),
    "qr.valid": ("Mã QR hợp lệ, do {ward} cấp", "Valid QR code issued by {ward}"),
    "qr.check_match": (
        "Hãy kiểm tra tên, địa chỉ và vị trí dưới đây có đúng với nơi bạn đang đứng. Nếu không, tem có thể "
        "đã bị sao chép.",
        "Check that the name, address and location below match where you are standing. If not, the sticker "
        "may have been copied.",
    ),
    "qr.closed": ("Cơ sở này đã ngừng hoạt động.", "This business has stopped operating."),
    "qr.suspended": ("Cơ sở này đang tạm ngừng hoạt động.", "This business is temporarily suspended."),
    "qr.licence": ("Giấy phép kinh doanh", "Business licence"),
    "qr.food_safety": ("An toàn thực phẩm", "Food safety"),
    "qr.inspection": ("Kiểm tra gần nhất", "Last inspection"),
    "qr.no_inspection": ("Chưa có lần kiểm tra nào được ghi nhận.", "No inspection on record."),
    "qr.location": ("Vị trí", "Location"),
    "qr.open_map": ("Mở bản đồ", "Open a map"),
    "qr.approximate": ("Vị trí gần đúng: định vị theo địa chỉ, chưa được ghim tại chỗ.",
                       "Approximate location: placed from the address, not yet pinned on site."),
    "qr.map_alt": ("Vị trí cơ sở trong {context}", "Location within {context}"),
    "qr.report": ("Phản ánh vấn đề", "Report a problem"),
    "qr.sticker": ("Mã tem", "Sticker code"),
    "qr.version": ("lần cấp", "issue"),
    "qr.updated": ("Dữ liệu cập nhật", "Data updated"),
    "qr.number": ("Số", "No."),
    "qr.issued": ("cấp ngày", "issued"),
    "qr.expires": ("hết hạn", "expires"),
    "qr.stall_only": ("Quầy chưa có tiểu thương đăng ký.", "No trader is registered at this stall."),
    "qr.stall": ("Quầy/sạp", "Stall"),
    "qr.invalid_title": ("Mã QR không hợp lệ — tem có thể là giả",
                         "Invalid QR code — the sticker may be fake"),
    "qr.invalid_body": (
        "Mã này không do phường cấp hoặc không còn tồn tại. Đừng tin thông tin in trên tem này và hãy báo cho "
        "phường.",
        "This code was not issued by the ward or no longer exists. Do not trust what this sticker claims; "
        "please tell the ward.",
    ),
    "qr.revoked_title": ("Mã đã bị thu hồi", "This code has been revoked"),
    "qr.revoked_body": (
        "Tem này không còn giá trị từ ngày {date}. Tem có thể là giả hoặc đã hết hiệu lực: đừng tin thông tin "
        "in trên tem. Nếu tem vẫn được dán tại một cơ sở, hãy báo cho phường bằng nút bên dưới.",
        "This sticker is no longer valid since {date}. It may be fake or out of date: do not trust what it "
        "claims. If it is still displayed at a business, please tell the ward with the button below.",
    ),
    "qr.report_sticker": ("Báo cho phường về tem này", "Report this sticker to the ward"),
    "qr.revoked_reason": ("Lý do", "Reason"),
    "qr.malformed_title": ("Mã QR không đúng định dạng", "Malformed QR code"),
    "qr.malformed_body": (
        "Đường dẫn này không phải mã tra cứu của phường. Tem có thể là giả hoặc bị hỏng.",
        "This link is not a ward lookup code. The sticker may be fake or damaged.",
    ),
    "qr.busy_title": ("Quá nhiều yêu cầu", "Too many requests"),
    "qr.busy_body": ("Vui lòng thử lại sau {seconds} giây.", "Please try again in {seconds} seconds."),
    "qr.report_fake": ("Báo tem giả", "Report a fake sticker"),
    "qr.unavailable_title": ("Tạm thời chưa tra cứu được", "Lookup temporarily unavailable"),
    "qr.unavailable_body": (
        "Hệ thống tra cứu của phường đang gián đoạn nên chưa kiểm tra được tem này. Vui lòng thử lại sau ít "
        "phút; trong lúc chờ, đừng coi tem là hợp lệ.",
        "The ward's lookup service is interrupted, so this sticker cannot be checked right now. Please try "
        "again in a few minutes; until then, do not treat the sticker as valid.",
    ),
}

_TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).resolve().parent.parent / "templates"),
    autoescape=True, trim_blocks=True, lstrip_blocks=True, auto_reload=False,
)


@dataclass
class _Rendered:
    status: int
    body: bytes
    media_type: str
    cache_control: str
    etag: str
    last_modified: str | None
    gz: bytes | None = None
    #: the code's state when rendered (``valid``, ``revoked`` or ``unknown``; see qr.data.code_state)
    state: str = ""


# --- language ------------------------------------------------------------------------------


def negotiate_lang(request: Request) -> str:
    """``?lang=`` when given, else the best of vi/en in ``Accept-Language``, else Vietnamese."""
    asked = request.query_params.get("lang")
    if asked in i18n.LANGUAGES:
        return asked
    best, best_q = "vi", 0.0
    for part in request.headers.get("accept-language", "")[:200].split(","):
        bits = part.strip().split(";")
        tag = bits[0].strip().lower()[:2]
        q = 1.0
        for b in bits[1:]:
            if b.strip().startswith("q="):
                try:
                    q = float(b.strip()[2:])
                except ValueError:
                    q = 0.0
        if tag in i18n.LANGUAGES and q > best_q:
            best, best_q = tag, q
    return best


# --- presentation ---------------------------------------------------------------------------

_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def fmt_date(value: Any, lang: str) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        value = dt.date.fromisoformat(value[:10])
    if isinstance(value, dt.datetime):
        value = value.astimezone(LOCAL_TZ).date() if value.tzinfo else value.date()
    return f"{value:%d/%m/%Y}" if lang == "vi" else f"{value.day} {_MONTHS_EN[value.month - 1]} {value.year}"


def _labels(est: dict[str, Any] | None, lang: str) -> dict[str, Any]:
    """Labels of the coded public fields in ``lang`` (lists become lists of labels)."""
    out: dict[str, Any] = {}
    for f in establishment_layer().public_fields:
        if not f.codes or est is None:
            continue
        value = est.get(f.name)
        if isinstance(value, list):
            out[f.name] = [i18n.code_label(f.codes, v, lang) for v in value]
        elif value is not None:
            out[f.name] = i18n.code_label(f.codes, value, lang)
    return out


def _report_url(token: str) -> str:
    return links.report_form(token)


def _map_link(location: dict[str, float] | None) -> str | None:
    if not location:
        return None
    lat, lon = location["lat"], location["lon"]
    return f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=18/{lat}/{lon}"


def _json_default(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)


def render(result: Lookup, token: str, kind: str, lang: str) -> tuple[int, bytes, str]:
    """Body of a lookup outcome as ``html`` or ``json``: (status, bytes, media type)."""
    t = lambda key, **kw: i18n.t(key, lang).format(**kw)  # noqa: E731
    if kind == "json":
        data = dict(result.data) if result.data else {"status": result.status}
        if result.status == "valid":
            data["labels"] = _labels(data.get("establishment"), lang)
            data["report_url"] = _report_url(token)
            data["map_url"] = _map_link(data.get("location"))
        elif result.status == "unknown":
            data["message"] = t("qr.invalid_title")
        elif result.status == "revoked":
            data["message"] = t("qr.revoked_title")
        data["lang"] = lang
        body = json.dumps(data, ensure_ascii=False, default=_json_default, separators=(",", ":"))
        return result.http_status, body.encode(), "application/json"
    layer = establishment_layer()
    context = {
        "lang": lang, "t": t, "other_lang": "en" if lang == "vi" else "vi",
        "other_lang_name": i18n.LANGUAGES["en" if lang == "vi" else "vi"],
        "date": lambda v: fmt_date(v, lang), "label": lambda codes, v: i18n.code_label(codes, v, lang),
        "field": lambda name: layer.field(name).label(lang),
        "colour": lambda name, v: layer.style.palettes.get(name, {}).get(str(v), "#616161"),
        "ink": lambda name, v: palettes.text_on(layer.style.palettes.get(name, {}).get(str(v), "#616161")),
        "group": lambda name: text.with_label(layer.field("residential_group").label(lang), name),
        "d": result.data, "est": (result.data or {}).get("establishment"), "map": result.map,
        "labels": _labels((result.data or {}).get("establishment"), lang),
        "report_url": _report_url(token), "map_link": _map_link((result.data or {}).get("location")),
        "synthetic_notice": i18n.t("app.synthetic_notice", lang),
    }
    name = {"valid": "qr/page.html", "revoked": "qr/revoked.html"}.get(result.status, "qr/invalid.html")
    html = _TEMPLATES.get_template(name).render(context)
    return result.http_status, html.encode(), "text/html; charset=utf-8"


def _notice(kind: str, lang: str, title_key: str, body: str, status: int) -> tuple[int, bytes, str]:
    t = lambda key, **kw: i18n.t(key, lang).format(**kw)  # noqa: E731
    if kind == "json":
        payload = {"status": {400: "malformed", 429: "rate_limited", 503: "unavailable"}.get(status, "error"),
                   "message": t(title_key), "lang": lang}
        return status, json.dumps(payload, ensure_ascii=False).encode(), "application/json"
    html = _TEMPLATES.get_template("qr/notice.html").render(
        lang=lang, t=t, title=t(title_key), body=body, other_lang="en" if lang == "vi" else "vi",
        other_lang_name=i18n.LANGUAGES["en" if lang == "vi" else "vi"], d=None)
    return status, html.encode(), "text/html; charset=utf-8"


# --- HTTP -------------------------------------------------------------------------------------

#: the paths whose refused input (:mod:`geomap.web.guard`) is answered by :func:`refuse`
PREFIXES = ("/q", "/api/q")


def refuse(request: Request, problem: LocalizedError, status: int) -> Response:
    """Input the edge guard refuses: the malformed-code notice (HTML, or JSON under ``/api/q``)."""
    kind = "json" if request.url.path.startswith("/api/") else "html"
    lang = negotiate_lang(request)
    if status == 503:  # the database cannot answer (geomap.web.outage)
        return _unavailable(kind, lang)
    request.app.state.qr.scans.count(None, "malformed")  # a refused code is a malformed scan (no text kept)
    status, body, media = _notice(kind, lang, "qr.malformed_title", i18n.t("qr.malformed_body", lang), status)
    return Response(body, status_code=status, media_type=media,
                    headers={"Cache-Control": "no-store", "Vary": "Accept-Language", **SECURITY_HEADERS})


def _finish(entry: _Rendered, request: Request) -> Response:
    headers = {"Cache-Control": entry.cache_control, "Vary": "Accept-Language, Accept-Encoding", **SECURITY_HEADERS}
    use_gz = len(entry.body) > 600 and "gzip" in request.headers.get("accept-encoding", "")
    if use_gz and entry.gz is None:
        entry.gz = gzip.compress(entry.body, 6, mtime=0)
    etag = entry.etag[:-1] + '-gz"' if use_gz else entry.etag
    headers["ETag"] = etag
    if entry.last_modified:
        headers["Last-Modified"] = entry.last_modified
    if entry.status == 200 and _not_modified(request, etag, entry.last_modified):
        return Response(status_code=304, headers=headers)
    if use_gz:
        headers["Content-Encoding"] = "gzip"
    return Response(entry.gz if use_gz else entry.body, status_code=entry.status, headers=headers,
                    media_type=entry.media_type)


def _not_modified(request: Request, etag: str, last_modified: str | None) -> bool:
    inm = request.headers.get("if-none-match")
    if inm is not None:
        tags = {tag.strip().removeprefix("W/") for tag in inm.split(",")}
        return etag in tags or "*" in tags
    ims = request.headers.get("if-modified-since")
    if ims and last_modified:
        try:
            return email.utils.parsedate_to_datetime(ims) >= email.utils.parsedate_to_datetime(last_modified)
        except (TypeError, ValueError):
            return False
    return False


def _entry(status: int, body: bytes, media_type: str, cache_control: str,
           last_modified: dt.datetime | None) -> _Rendered:
    lm = None
    if last_modified is not None:
        # statuses are derived from today's date: the representation is at least as new as today
        today = dt.datetime.combine(dt.datetime.now(LOCAL_TZ).date(), dt.time(), LOCAL_TZ)
        lm = email.utils.format_datetime(max(last_modified, today).astimezone(dt.UTC), usegmt=True)
    etag = '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
    return _Rendered(status, body, media_type, cache_control, etag, lm)


def _lookup_engine(request: Request, on_replica: bool = False) -> sa.Engine:
    """The app's lookup engine (:func:`qr.data.lookup_engine`) on the primary, or on the read replica
    (:mod:`geomap.replica`), built on first use.

    A connection the server dropped is invalidated on first use and the lookup retried once.
    """
    state: LookupState = request.app.state.qr
    if on_replica:
        if state.replica_engine is None:
            state.replica_engine = qr_data.lookup_engine(request.app.state.reads.replica_engine().url)
        return state.replica_engine
    if state.engine is None:
        # the shared dependency checked the database once (a clear error if it is down)
        state.engine = qr_data.lookup_engine(get_engine(request).url)
    return state.engine


def _query(request: Request, fn: Any, *args: Any) -> Any:
    """``fn(conn, *args)`` on a lookup connection of the read replica when reads go there, else of the primary;
    retried once on a connection the server dropped, and on the primary when the replica failed
    (:func:`geomap.replica.fallback_reason`)."""
    on_replica = request.app.state.reads.use_replica()
    engine = _lookup_engine(request, on_replica)
    for attempt in (1, 2):
        try:
            with engine.connect() as conn:
                return fn(conn, *args)
        except sa.exc.DBAPIError as exc:
            if on_replica and attempt == 1 and (why := replica.fallback_reason(exc)) is not None:
                if why == "lost":
                    request.app.state.reads.failed(exc)
                engine = _lookup_engine(request)
                continue
            if attempt == 2 or not exc.connection_invalidated:
                raise
    raise AssertionError("unreachable")


async def _db(request: Request, fn: Any, *args: Any) -> Any:
    return _query(request, fn, *args) if INLINE_DB else await run_in_threadpool(_query, request, fn, *args)


#: the database is down, unreachable, too slow (statement or pool timeout) or not set up
_DB_DOWN = (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError, DatabaseUnavailable)
#: seconds a phone is asked to wait before trying again while the database is down
RETRY_DOWN_S = 30


def _unavailable(kind: str, lang: str) -> Response:
    """503 while the database cannot answer: never a cached page, whose validity cannot be re-checked."""
    status, body, media = _notice(kind, lang, "qr.unavailable_title", i18n.t("qr.unavailable_body", lang), 503)
    return Response(body, status_code=status, media_type=media,
                    headers={"Retry-After": str(RETRY_DOWN_S), "Cache-Control": "no-store",
                             "Vary": "Accept-Language, Accept-Encoding", **SECURITY_HEADERS})


async def _respond(request: Request, code: str, kind: str) -> Response:
    lang = negotiate_lang(request)
    retry = await request.app.state.limits.hit_async(request, "qr", client_key(request))  # 60/min, burst 30
    if retry > 0:
        status, body, media = _notice(kind, lang, "qr.busy_title",
                                      i18n.t("qr.busy_body", lang).format(seconds=retry_after_header(retry)), 429)
        return Response(body, status_code=status, media_type=media,
                        headers={"Retry-After": retry_after_header(retry), "Cache-Control": "no-store"})
    token = codes.normalize_token(code) if len(code) <= MAX_CODE_CHARS else None
    state: LookupState = request.app.state.qr
    if token is None:
        state.scans.count(None, "malformed")  # counted in memory; no text of the code is kept
        status, body, media = _notice(kind, lang, "qr.malformed_title", i18n.t("qr.malformed_body", lang), 400)
        return _finish(_entry(status, body, media, CACHE_MALFORMED, None), request)
    key = (token, kind, lang)
    entry = state.pages.get(key)  # None when expired or the cache is off
    try:
        if entry is not None and await _db(request, qr_data.code_state, token) != entry.state:
            entry = None  # the code was revoked / reissued (or issued) since it was rendered
        result = await _db(request, lookup, token, state) if entry is None else None
    except _DB_DOWN as exc:
        outage.note(request, exc)  # one line per failure class per minute, no traceback
        return _unavailable(kind, lang)
    if result is not None:
        status, body, media = render(result, token, kind, lang)
        entry = _entry(status, body, media, CACHE_VALID if status == 200 else CACHE_NOT_VALID, result.last_modified)
        entry.state = result.status
        state.pages.put(key, entry)
    state.scans.count(token, entry.state)  # valid / revoked / unknown, in memory (qr.scans)
    return _finish(entry, request)


async def qr_page(request: Request) -> Response:
    """The page a QR sticker opens (a plain Starlette route: the hottest path skips FastAPI's
    parameter machinery, and an HTML page has no place in the OpenAPI document anyway)."""
    return await _respond(request, request.path_params["code"], "html")


router.add_route("/q/{code:path}", qr_page, methods=["GET", "HEAD"], include_in_schema=False)


_REF = "#/components/schemas/"
#: the QR family's error body for the OpenAPI document (:mod:`geomap.web.openapi`): the JSON notice
OPENAPI_FAMILY = openapi.Family("qr", {"application/json": {"schema": {"$ref": _REF + "QRNotice"}}}, {
    "QRNotice": {"type": "object", "required": ["status", "message", "lang"],
                 "properties": {"status": {"enum": ["malformed", "rate_limited", "unavailable", "error"]},
                                "message": {"type": "string"}, "lang": {"enum": list(i18n.LANGUAGES)}}},
    "QRLookup": {"type": "object", "required": ["status", "lang"],
                 "properties": {"status": {"enum": ["valid", "revoked", "unknown"]},
                                "lang": {"enum": list(i18n.LANGUAGES)}, "message": {"type": "string"},
                                "establishment": {"type": "object"}, "report_url": {"type": "string"}}},
})
#: the page's notices (malformed, busy, unavailable) are HTML
_PAGE_FAMILY = openapi.Family("qr-page", openapi.HTML)
#: the sticker's token as the lookup reads it (:func:`qr.codes.normalize_token`: upper case accepted)
TOKEN_PATTERN = f"^[A-Za-z2-7]{{{codes.TOKEN_LENGTH}}}$"
QrCode = Annotated[str, PathParam(pattern=TOKEN_PATTERN, description="The sticker's token (base32, any case).")]
_LANG = {"name": "lang", "in": "query", "required": False, "schema": {"type": "string"},
         "description": "vi or en (another value is ignored: Accept-Language, then Vietnamese)."}


def _lookup_responses(family: openapi.Family, content: dict[str, Any], what: str) -> dict[int | str, Any]:
    return family.responses(
        429, s200={"description": f"A valid code: the establishment's public {what}.", "content": content},
        s304={"description": "Not modified (If-None-Match / If-Modified-Since)."},
        s404={"description": "Unknown or forged code: the sticker may be fake.", "content": content},
        s410={"description": "The code was revoked.", "content": content})


_QR_JSON = {"responses": _lookup_responses(OPENAPI_FAMILY, {"application/json": {"schema": {
    "$ref": _REF + "QRLookup"}}}, "fields"), "openapi_extra": {"x-database": True, "parameters": [_LANG]}}
_QR_PAGE = {
    "summary": "The page a QR sticker opens", "parameters": [
        {"name": "code", "in": "path", "required": True, "description": "The sticker's token (base32, any case).",
         "schema": {"type": "string", "pattern": TOKEN_PATTERN}}, _LANG],
    "responses": {str(k): v for k, v in (_lookup_responses(_PAGE_FAMILY, openapi.HTML, "page")
                                         | _PAGE_FAMILY.responses(400, 413, 503)).items()},
}
#: the HTML page in the OpenAPI document (a plain Starlette route: FastAPI does not describe it)
OPENAPI_PATHS = {"/q/{code}": {"get": {**_QR_PAGE, "operationId": "qr_page_get"},
                               "head": {**_QR_PAGE, "operationId": "qr_page_head"}}}


@router.get("/api/q/{code:path}", **_QR_JSON)
@router.head("/api/q/{code:path}", **_QR_JSON)
async def qr_json(code: QrCode, request: Request) -> Response:
    """The same lookup as JSON (registry-public fields, statuses as codes plus labels)."""
    return await _respond(request, code, "json")
