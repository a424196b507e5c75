"""Public report intake: ``GET/POST /report`` and the tracking page ``/report/track/{public_id}``.

A small server-rendered page for a phone on a weak connection: no external requests, no
framework JavaScript. Without JavaScript the form still works (latitude/longitude inputs);
with it, ``/report/form.js`` fills them from the phone's position or from a tap on the ward
outline drawn as inline SVG. ``?establishment=<QR token>`` (the link on every QR page)
pre-fills the establishment and its location; a revoked or reissued sticker's code (the
revoked QR page's "report this sticker" button) still sends the report to the ward and
establishment it was issued for, and the report opens by naming the sticker
(:func:`geomap.field_reports.intake.revoked_sticker_note`). Replays within a minute redirect to the
report already made; intake is rate-limited per client (``GEOMAP_REPORT_RATE_PER_MINUTE``).

The form's ward is read from the database on each request, never kept by the process: ``geomap demo
load`` replaces a ward (a new id) while this service runs. A plain report names its ward by slug
(:func:`geomap.field_reports.intake.submit` resolves it in the query that stores the report).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import gzip
import hmac
import json
import re
import secrets
import time
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.engine import Engine

from geomap import config, i18n, links, profiles
from geomap.errors import LocalizedError
from geomap.field_reports import DONE_STATUSES, ReportError, intake, outcomes, photos, reads, retention
from geomap.field_reports.deadlines import LOCAL_TZ
from geomap.models import REPORT_CATEGORIES
from geomap.wards import data as ward_data
from geomap.web import openapi, session
from geomap.web.deps import get_engine
from geomap.web.ratelimit import client_key, retry_after_header
from qr import codes

router = APIRouter()

STRINGS: dict[str, tuple[str, str]] = {  # loaded by geomap.i18n on first use (i18n.CATALOGS)
    "report.title": ("Phản ánh hiện trường", "Report a problem"),
    "report.intro": ("Gửi phản ánh về rác thải, hạ tầng hư hỏng, trật tự đô thị, vệ sinh, an toàn thực phẩm.",
                     "Report garbage, broken infrastructure, urban-order, sanitation or food-safety problems."),
    "report.about": ("Phản ánh về cơ sở", "About the establishment"),
    "report.category": ("Lĩnh vực", "Category"),
    "report.choose": ("— Chọn lĩnh vực —", "— Choose a category —"),
    "report.description": ("Nội dung phản ánh", "Description"),
    "report.photos": ("Ảnh (tối đa 3, mỗi ảnh ≤ 10 MB)", "Photos (up to 3, each ≤ 10 MB)"),
    "report.location": ("Vị trí", "Location"),
    "report.use_gps": ("Dùng vị trí hiện tại", "Use my location"),
    "report.tap_map": ("hoặc chạm vào bản đồ phường", "or tap the ward map"),
    "report.lat": ("Vĩ độ", "Latitude"),
    "report.lon": ("Kinh độ", "Longitude"),
    "report.contact": ("Liên hệ (không bắt buộc, không công khai)", "Contact (optional, never published)"),
    "report.public_note": ("Công khai ngay: lĩnh vực, vị trí trên bản đồ và tiến độ xử lý. Nội dung, địa chỉ bạn ghi "
                           "và ảnh chỉ được công khai sau khi cán bộ phường xem xét (có thể lược bỏ thông tin cá "
                           "nhân). Họ tên và liên hệ của bạn không bao giờ công khai.",
                           "Public at once: the category, the place on the map and the progress. Your description, "
                           "the address you write and your photos become public only after ward staff review them "
                           "(personal details may be taken out). Your name and contact are never published."),
    "report.pending_text": ("Nội dung đang chờ phường xem xét trước khi công khai.",
                            "The description is waiting for the ward's review before it is published."),
    "report.withheld_text": ("Phường không công khai nội dung của phản ánh này.",
                             "The ward does not publish the description of this report."),
    "report.name": ("Họ tên", "Name"),
    "report.phone": ("Điện thoại hoặc email", "Phone or e-mail"),
    "report.send": ("Gửi phản ánh", "Send report"),
    "report.error": ("Chưa gửi được", "Not sent"),
    "report.track_title": ("Theo dõi phản ánh", "Track your report"),
    "report.thanks": ("Đã nhận phản ánh. Lưu lại đường dẫn này để theo dõi kết quả xử lý.",
                      "Report received. Keep this link to follow its progress."),
    "report.code": ("Mã phản ánh", "Report code"),
    "report.status": ("Trạng thái", "Status"),
    "report.reported_at": ("Thời điểm phản ánh", "Reported"),
    "report.deadline": ("Hạn xử lý", "Deadline"),
    "report.history": ("Quá trình xử lý", "History"),
    "report.duplicate_of": ("Trùng với phản ánh", "Duplicate of report"),
    "report.not_found": ("Không tìm thấy phản ánh với mã này.", "No report has this code."),
    "report.too_many": ("Bạn gửi quá nhiều phản ánh; hãy thử lại sau ít phút.",
                        "Too many reports from your connection; try again in a few minutes."),
    "report.new": ("Gửi phản ánh khác", "Send another report"),
    "report.busy": ("Bạn đã gửi quá nhiều yêu cầu; hãy thử lại sau {seconds} giây.",
                    "Too many requests from your connection; try again in {seconds} seconds."),
    "report.synthetic": ("Dữ liệu mô phỏng", "Synthetic data"),
    "report.revoked_sticker": ("Phản ánh về tem QR đã thu hồi", "Report about a revoked QR sticker"),
    "report.outcomes_title": ("Kết quả xử lý phản ánh", "How reports were handled"),
    "report.outcomes_intro": ("Phản ánh người dân gửi đến {ward} trong 12 tháng gần đây và kết quả xử lý. Trang "
                              "không công bố thông tin người phản ánh; bản đồ chỉ đếm số phản ánh theo tổ dân phố.",
                              "Reports sent to {ward} over the last 12 months and how they were handled. Nothing "
                              "about who reported is published; the map only counts reports per residential group."),
    "report.outcomes_link": ("Kết quả xử lý phản ánh của phường", "How the ward handled reports"),
    "report.by_month": ("Theo tháng và lĩnh vực", "By month and category"),
    "report.col_month": ("Tháng", "Month"),
    "report.col_received": ("Tiếp nhận", "Received"),
    "report.col_on_time": ("Xử lý đúng hạn", "Resolved on time"),
    "report.col_overdue": ("Quá hạn", "Overdue"),
    "report.col_open": ("Đang xử lý, còn hạn", "Open, within the deadline"),
    "report.month_total": ("Cả tháng", "Whole month"),
    "report.overdue_note": ("Quá hạn: xử lý xong sau hạn, hoặc đã quá hạn mà chưa xong. Không tính phản ánh trùng "
                            "lặp hoặc không thuộc thẩm quyền của phường.",
                            "Overdue: resolved after the deadline, or past the deadline and not yet resolved. "
                            "Duplicates and reports for another authority are not counted."),
    "report.by_area": ("Theo tổ dân phố", "By residential group"),
    "report.map_alt": ("Bản đồ số phản ánh theo tổ dân phố", "Map of reports per residential group"),
    "report.area_counts": ("{name}: {resolved} đã xử lý, {open} đang xử lý",
                           "{name}: {resolved} resolved, {open} open"),
    "report.legend": ("Màu càng đậm, tổ càng có nhiều phản ánh (nhiều nhất: {top}).",
                      "The darker the colour, the more reports in the group (most: {top})."),
    "report.col_area": ("Tổ dân phố", "Residential group"),
    "report.top_areas": ("Các tổ có nhiều phản ánh nhất", "The groups with the most reports"),
    "report.col_resolved": ("Đã xử lý", "Resolved"),
    "report.col_open_all": ("Đang xử lý", "Open"),
    "report.outside": ("Ngoài các tổ dân phố", "Outside the residential groups"),
    "report.no_reports": ("Chưa có phản ánh nào trong 12 tháng gần đây.", "No report in the last 12 months."),
    "report.no_ward": ("Không có phường với mã này.", "No ward has this code."),
    "report.updated": ("Số liệu lúc {time}, cập nhật vài phút một lần.",
                       "Figures as of {time}, refreshed every few minutes."),
    "report.rate_question": ("Bạn có hài lòng với kết quả xử lý phản ánh này không?",
                             "Are you satisfied with how this report was handled?"),
    "report.rate_yes": ("Hài lòng", "Satisfied"),
    "report.rate_no": ("Chưa hài lòng", "Not satisfied"),
    "report.rate_thanks": ("Cảm ơn bạn đã đánh giá kết quả xử lý.", "Thank you for rating how it was handled."),
    "report.rate_refused": ("Chưa ghi nhận được đánh giá: hãy mở lại trang theo dõi rồi chạm lại.",
                            "The rating was not recorded: open the tracking page again and tap once more."),
    "report.rate_not_resolved": ("Chỉ đánh giá được phản ánh đã xử lý xong.", "Only a resolved report can be rated."),
    "report.revoked_hint": ("Hãy cho biết tem đang được dán ở đâu (dùng vị trí hiện tại của bạn).",
                            "Say where the sticker is displayed (use your current location)."),
}

_JS = """(function(){var f=document.getElementById('report-form');if(!f)return;
var lat=document.getElementById('lat'),lon=document.getElementById('lon'),svg=document.getElementById('wardmap'),
pin=document.getElementById('pin'),b=JSON.parse(svg.getAttribute('data-bounds')),W=+svg.viewBox.baseVal.width,
H=+svg.viewBox.baseVal.height;function show(){var x=parseFloat(lon.value),y=parseFloat(lat.value);if(isNaN(x)||isNaN(y))
return;pin.setAttribute('cx',(x-b[0])/(b[2]-b[0])*W);pin.setAttribute('cy',(b[3]-y)/(b[3]-b[1])*H);}
svg.removeAttribute('hidden');document.getElementById('tap').hidden=false;show();lat.addEventListener('change',show);
lon.addEventListener('change',show);svg.addEventListener('click',function(e){var r=svg.getBoundingClientRect();
var x=(e.clientX-r.left)/r.width,y=(e.clientY-r.top)/r.height;lon.value=(b[0]+x*(b[2]-b[0])).toFixed(6);
lat.value=(b[3]-y*(b[3]-b[1])).toFixed(6);show();});if(navigator.geolocation){var g=document.getElementById('gps');
g.hidden=false;g.addEventListener('click',function(){navigator.geolocation.getCurrentPosition(function(p){
lat.value=p.coords.latitude.toFixed(6);lon.value=p.coords.longitude.toFixed(6);show();},function(){},
{enableHighAccuracy:true,timeout:15000});});}})();"""

#: the pages: geomap/web/templates/report/ (base, form, track, message)
_ENV = Environment(loader=FileSystemLoader(Path(__file__).resolve().parent.parent / "templates"),
                   autoescape=select_autoescape(default=True, default_for_string=True), trim_blocks=True)
_SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; script-src 'self'; "
                               "form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def request_lang(request: Request) -> str:
    """``?lang=`` first, then the browser's Accept-Language; Vietnamese by default."""
    q = request.query_params.get("lang")
    if q in i18n.LANGUAGES:
        return q
    accept = request.headers.get("accept-language", "").lower()
    first = accept.split(",")[0].strip()[:2] if accept else ""
    return "en" if first == "en" else "vi"


def _fmt_time(value: Any) -> str:
    if value is None:
        return ""
    return value.astimezone(LOCAL_TZ).strftime("%H:%M %d/%m/%Y")


def _render(name: str, lang: str, status_code: int = 200, **ctx: Any) -> HTMLResponse:
    tpl = _ENV.get_template(f"report/{name}.html")
    html = tpl.render(lang=lang, t=lambda k: i18n.t(k, lang), label=lambda c, v: i18n.code_label(c, v, lang),
                      fmt=_fmt_time, links=links, lang_extra=ctx.pop("lang_extra", ""), **ctx)
    return HTMLResponse(html, status_code=status_code, headers=_SECURITY_HEADERS)


#: the paths whose refused input (:mod:`geomap.web.guard`) is answered by :func:`refuse`
PREFIXES = ("/report",)
#: the report pages' error body for the OpenAPI document (:mod:`geomap.web.openapi`): the HTML message page.
#: 429 on the form and tracking pages: their per-client limits (form, track, guess: the edge-limits branch)
OPENAPI_FAMILY = openapi.Family("report", openapi.HTML)
_PAGE = {"description": "The page (HTML).", "content": openapi.HTML}
_IMAGES = {m: {"schema": {"type": "string", "format": "binary"}} for m in ("image/jpeg", "image/png", "image/webp")}
#: the photo number of a tracking page (any other whole number: 404, no query)
PhotoNumber = Annotated[int, PathParam(json_schema_extra={"minimum": 1, "maximum": photos.MAX_PHOTOS})]
#: a latitude or longitude as the form's text field holds it (a comma is read as the decimal point; empty: from
#: a photo's GPS). The form's category, description, lat and lon are always sent (a browser sends empty ones;
#: a client that leaves one out gets the form back, 422, as for an empty one).
_DEGREES = r"^( *[-+]?[0-9]{1,3}([.,][0-9]+)? *)?$"


def refuse(request: Request, problem: LocalizedError, status: int) -> HTMLResponse:
    """Input the edge guard refuses, as the message page in the reader's language."""
    lang = request_lang(request)
    return _render("message", lang, status, title=i18n.t("report.error", lang), message=problem.message(lang))


# process-wide on purpose: a pure function of the ward's boundary file shipped in data/ (never the database)
@functools.lru_cache(maxsize=8)
def _ward_svg(slug: str) -> dict[str, Any]:
    """The ward outline as an SVG path (simplified; equirectangular, fine at ward scale)."""
    import math

    area = profiles.get(slug).boundary().simplify(0.0002)
    minx, miny, maxx, maxy = area.bounds
    width = 400
    k = math.cos(math.radians((miny + maxy) / 2))
    height = max(1, round(width * (maxy - miny) / ((maxx - minx) * k)))
    parts = []
    for poly in getattr(area, "geoms", [area]):
        for ring in (poly.exterior, *poly.interiors):
            pts = [f"{(x - minx) / (maxx - minx) * width:.1f},{(maxy - y) / (maxy - miny) * height:.1f}"
                   for x, y in ring.coords]
            parts.append("M" + "L".join(pts) + "Z")
    return {"w": width, "h": height, "path": "".join(parts), "bounds": json.dumps([minx, miny, maxx, maxy])}


_UNREAD: Any = object()


def _form_page(lang: str, engine: Engine, token: str | None, values: dict[str, Any], *, error: str | None = None,
               field: str | None = None, status_code: int = 200, est: Any = _UNREAD) -> HTMLResponse:
    if est is _UNREAD:
        est = intake.establishment_for_token(engine, token, include_revoked=True)
    # a revoked sticker may hang anywhere (copied, moved): its reporter's own position, not the business's
    if est and not est["revoked"] and not values.get("lat"):
        values = {**values, "lat": f"{est['lat']:.6f}" if est["lat"] is not None else "",
                  "lon": f"{est['lon']:.6f}" if est["lon"] is not None else ""}
    ward_name, slug = intake.form_ward(engine, est, default_slug=config.DEFAULT_WARD)
    notice = _notice(lang, engine, ward_name, slug)
    categories = [(c, i18n.code_label("report_category", c, lang)) for c in REPORT_CATEGORIES]
    # a forged sticker's code (well-formed, never issued) rides along too: the ward's alert list names its reports
    token = token if est else codes.normalize_token(token or "")
    extra = f"&establishment={token}" if token else ""
    return _render("form", lang, status_code, title=i18n.t("report.title", lang), error=error, field=field,
                   est=est, token=token, v=values, categories=categories, notice=notice,
                   notice_version=retention.NOTICE_VERSION,
                   max_len=intake.DESCRIPTION_MAX, svg=_ward_svg(slug), ward_name=ward_name, lang_extra=extra)


def _notice(lang: str, engine: Engine, ward_name: str, slug: str) -> list[str]:
    """The purpose notice for the form's ward, with the retention period of its profile."""
    found = profiles.find(slug, engine)
    return retention.notice(lang, ward_name, found.retention_months if found else profiles.RETENTION_MONTHS)


@router.get("/report/privacy", response_class=HTMLResponse, responses={200: _PAGE})
def privacy(request: Request, engine: Engine = Depends(get_engine)) -> HTMLResponse:
    """The purpose notice for reporters' personal data (Decree 13/2023), with its version: what an Open311
    client shows a reporter before sending ``consent=true``."""
    lang = request_lang(request)
    ward_name, slug = intake.form_ward(engine, None, default_slug=config.DEFAULT_WARD)
    return _render("privacy", lang, title=i18n.t("privacy.title", lang), notice=_notice(lang, engine, ward_name, slug),
                   notice_version=retention.NOTICE_VERSION)


@router.get("/report", response_class=HTMLResponse, responses={200: _PAGE, **OPENAPI_FAMILY.responses(429)})
def report_form(request: Request, establishment: str | None = None,
                engine: Engine = Depends(get_engine)) -> HTMLResponse:
    """The public report form, optionally about the establishment of a QR token (a code that does not
    exist is a guess: limited, see :class:`geomap.web.ratelimit.RateLimits`)."""
    lang = request_lang(request)
    limits = request.app.state.limits
    retry = limits.hit(request, "form") or (limits.peek(request, "guess") if establishment else 0.0)
    if retry > 0:
        return _busy(lang, retry)
    est = intake.establishment_for_token(engine, establishment, include_revoked=True)
    if establishment and est is None:
        limits.hit(request, "guess")
    return _form_page(lang, engine, establishment, {}, est=est)


def _busy(lang: str, retry: float) -> HTMLResponse:
    """429: this client asked too often (the form, tracking pages, or too many codes that do not exist)."""
    resp = _render("message", lang, 429, title=i18n.t("report.error", lang),
                   message=i18n.t("report.busy", lang).format(seconds=retry_after_header(retry)))
    resp.headers["Retry-After"] = retry_after_header(retry)
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _tracking_limited(request: Request) -> float:
    """Seconds to wait before this client may open a tracking page or photo (0.0: now)."""
    limits = request.app.state.limits
    return limits.hit(request, "track") or limits.peek(request, "guess")


@router.get("/report/form.js", responses={200: {"description": "The form's script.", "content": {
    "text/javascript": {"schema": {"type": "string"}}}}})
def form_js() -> Response:
    return Response(_JS, media_type="text/javascript", headers={"Cache-Control": "public, max-age=86400"})


@router.post("/report", response_class=HTMLResponse, status_code=303,
             openapi_extra={"x-required": ["category", "description", "lat", "lon"]}, responses={
    303: {"description": "Stored (or a replay within a minute): Location is the tracking page.",
          "headers": {"Location": {"required": True, "schema": {"type": "string"}}}, "content": {}},
    422: {"description": "The form again, the field at fault named (a location outside the ward, no location "
                         "and no photo with GPS, a photo that is not an image...).", "content": openapi.HTML},
    **OPENAPI_FAMILY.responses(429)})
def report_submit(
    request: Request,
    category: str = Form("", json_schema_extra={"enum": list(REPORT_CATEGORIES)}),
    description: str = Form("", json_schema_extra={"pattern": openapi.non_blank(),
                                                   "maxLength": intake.DESCRIPTION_MAX}),
    lat: str = Form("", json_schema_extra={"pattern": _DEGREES, "description": "−90…90; inside the ward (or "
                                                                                  "from a photo's GPS when empty)"}),
    lon: str = Form("", json_schema_extra={"pattern": _DEGREES, "description": "−180…180; inside the ward"}),
    reporter_name: str = Form("", json_schema_extra={"maxLength": intake.CONTACT_MAX}),
    reporter_contact: str = Form("", json_schema_extra={"maxLength": intake.CONTACT_MAX}),
    consent: str = Form("", json_schema_extra={
        "enum": ["", "1"], "description": "1: the reporter agrees to the purpose notice (/report/privacy); "
                                          "required when reporter_name or reporter_contact is given"}),
    establishment: str = Form(""),
    photos_: list[UploadFile | str] = File(default=[], alias="photos", json_schema_extra={
        "maxItems": photos.MAX_PHOTOS, "description": "JPEG, PNG or WebP images"}),
    engine: Engine = Depends(get_engine),
) -> Response:
    """Validate, store (one transaction) and redirect to the tracking page (303)."""
    lang = request_lang(request)
    values = {"category": category, "description": description, "lat": lat, "lon": lon,
              "reporter_name": reporter_name, "reporter_contact": reporter_contact, "consent": consent == "1"}
    retry = request.app.state.limits.hit(request, "report")  # default 6/min, burst 5 per client
    if retry > 0:
        resp = _form_page(lang, engine, establishment or None, values, error=i18n.t("report.too_many", lang),
                          status_code=429)
        resp.headers["Retry-After"] = retry_after_header(retry)
        return resp
    try:
        cleaned = _read_photos(photos_)
        est = intake.establishment_for_token(engine, establishment, include_revoked=True)
        report = intake.validate(category=category, description=description, lat=lat.replace(",", ".").strip(),
                                 lon=lon.replace(",", ".").strip(), channel="qr" if est else "web",
                                 establishment_id=est["id"] if est else None, reporter_name=reporter_name,
                                 reporter_contact=reporter_contact, photos=cleaned, consent=consent == "1",
                                 lang=lang)
        forged = None if est else codes.normalize_token(establishment)
        if est and est["revoked"]:  # the ward learns which sticker is still out there
            report = dataclasses.replace(
                report, description=f"{intake.revoked_sticker_note(est['short_code'])}\n{report.description}")
        elif forged:  # a code never issued (the invalid sticker page's button): named for the QR alert list
            report = dataclasses.replace(
                report, channel="qr", description=f"{intake.forged_sticker_note(forged)}\n{report.description}")
        client = f"{client_key(request)}|{request.headers.get('user-agent', '')[:200]}"
        # the establishment's ward, else the default ward by slug: resolved when the report is stored
        done = intake.submit(engine, report, ward_id=est["ward_id"] if est else None,
                             ward_slug=None if est else config.DEFAULT_WARD, client=client)
    except ReportError as exc:
        return _form_page(lang, engine, establishment or None, values, error=exc.message(lang), field=exc.field,
                          status_code=422)
    except photos.PhotoError as exc:
        return _form_page(lang, engine, establishment or None, values, error=str(exc), field="photos",
                          status_code=422)
    return RedirectResponse(links.report_track(done.public_id, new=1, lang=lang), status_code=303)


def _read_photos(uploads: list[UploadFile | str]) -> list[photos.Photo]:
    # a browser sends one empty file part when no file is picked; other clients an empty text part
    chosen = [u for u in uploads if not isinstance(u, str) and u.filename]
    if len(chosen) > photos.MAX_PHOTOS:
        raise ReportError(f"Tối đa {photos.MAX_PHOTOS} ảnh (đã chọn {len(chosen)}).",
                          f"At most {photos.MAX_PHOTOS} photos ({len(chosen)} chosen).", "photos")
    out = []
    for u in chosen:
        content = u.file.read(photos.MAX_BYTES + 1)
        if len(content) > photos.MAX_BYTES:
            size = u.size if u.size is not None else len(content)
            raise photos.PhotoError(
                f"Ảnh '{u.filename}' quá lớn ({size / 1048576:.0f} MB; tối đa {photos.MAX_BYTES // 1048576} MB)",
                f"photo '{u.filename}' is too large ({size / 1048576:.0f} MB; at most "
                f"{photos.MAX_BYTES // 1048576} MB).", "photos")
        out.append(photos.process(content, name=u.filename or "ảnh"))
    return out


@router.get("/report/track/{public_id}", response_class=HTMLResponse,
            responses={200: _PAGE, 404: {"description": "No report has this code."},
                       **OPENAPI_FAMILY.responses(429)})
def track(request: Request, public_id: str, new: int = 0, engine: Engine = Depends(get_engine)) -> HTMLResponse:
    """Status and public history of a report, by its unguessable code."""
    lang = request_lang(request)
    retry = _tracking_limited(request)
    if retry > 0:
        return _busy(lang, retry)
    view = reads.public_view(engine, public_id[:32])
    if view is None:
        request.app.state.limits.hit(request, "guess")
        return _render("message", lang, 404, title=i18n.t("report.track_title", lang),
                       message=i18n.t("report.not_found", lang))
    for step in view["history"]:
        step["said"] = reads.step_note(step, lang)
    rateable = view["status"] in DONE_STATUSES and view["rating"] is None
    token = _rating_token(request) if rateable else ""
    resp = _render("track", lang, title=f"{i18n.t('report.track_title', lang)} {view['public_id']}", r=view,
                   new=bool(new), rateable=rateable, rate_token=token)
    if rateable and token != request.cookies.get(RATE_COOKIE):
        resp.set_cookie(RATE_COOKIE, token, path=links.report_track(view["public_id"]), max_age=86400,
                        httponly=True, samesite="strict", secure=session.secure_cookies())
    resp.headers["Cache-Control"] = "no-store"
    return resp


@router.get("/report/track/{public_id}/photo/{n}", responses={
    200: {"description": "The photo (EXIF removed).", "content": _IMAGES},
    404: {"description": "No such report or photo (no body).", "content": {}},
    429: {"description": openapi.REASONS[429] + " (no body)", "headers": openapi.RETRY_AFTER, "content": {}}})
def track_photo(request: Request, public_id: str, n: PhotoNumber, engine: Engine = Depends(get_engine)) -> Response:
    retry = _tracking_limited(request)
    if retry > 0:
        return Response(status_code=429,
                        headers={"Retry-After": retry_after_header(retry), "Cache-Control": "no-store"})
    if not 1 <= n <= photos.MAX_PHOTOS:  # no report has that photo (and 10**20 is no bigint): no query
        return Response(status_code=404)
    found = reads.photo(engine, public_id[:32], n)
    if found is None:
        request.app.state.limits.hit(request, "guess")
        return Response(status_code=404)
    content, media_type = found
    return Response(content, media_type=media_type,
                    headers={"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"})


# --- the one-tap rating of a resolved report ----------------------------------------------------------------

#: the rating form's double-submit token: a cookie (SameSite=Strict, on this report's tracking path only) and
#: the same value in the form, so a page of another site cannot rate a report in the reader's name
RATE_COOKIE = "geomap_rate"
RATE_FIELD = "rate_token"


def _rating_token(request: Request) -> str:
    """The token of the tracking page's rating form: the cookie's, or a new one (the page then sets it)."""
    token = request.cookies.get(RATE_COOKIE) or ""
    return token if len(token) >= 32 else secrets.token_urlsafe(32)


@router.post("/report/track/{public_id}/rating", response_class=HTMLResponse, status_code=303, responses={
    303: {"description": "Rated (or rated already: a replay counts nothing): Location is the tracking page.",
          "headers": {"Location": {"required": True, "schema": {"type": "string"}}}, "content": {}},
    403: {"description": "The form's token does not match (open the tracking page again).", "content": openapi.HTML},
    404: {"description": "No report has this code.", "content": openapi.HTML},
    409: {"description": "The report is not resolved yet.", "content": openapi.HTML},
    **OPENAPI_FAMILY.responses(429)})
def rate_report(request: Request, public_id: str,
                satisfied: str = Form("", json_schema_extra={"enum": ["yes", "no"]}),
                rate_token: str = Form("", json_schema_extra={"maxLength": 64}),
                engine: Engine = Depends(get_engine)) -> Response:
    """A citizen's one tap on a resolved report's tracking page: satisfied or not, once per report."""
    lang = request_lang(request)
    limits = request.app.state.limits
    retry = limits.hit(request, "report") or limits.peek(request, "guess")
    if retry > 0:
        return _busy(lang, retry)
    title = i18n.t("report.track_title", lang)
    sent, kept = rate_token.encode(), request.cookies.get(RATE_COOKIE, "").encode()
    if satisfied not in ("yes", "no") or len(kept) < 32 or not hmac.compare_digest(sent, kept):
        return _render("message", lang, 403, title=title, message=i18n.t("report.rate_refused", lang))
    result = outcomes.rate(engine, public_id[:32], satisfied == "yes")
    if result == outcomes.NOT_FOUND:
        limits.hit(request, "guess")
        return _render("message", lang, 404, title=title, message=i18n.t("report.not_found", lang))
    if result == outcomes.NOT_RESOLVED:
        return _render("message", lang, 409, title=title, message=i18n.t("report.rate_not_resolved", lang))
    return RedirectResponse(links.report_track(public_id[:32], lang=lang), status_code=303)


# --- the public transparency page ---------------------------------------------------------------------------

#: seconds a rendered transparency page is reused (per app, ward and language), and browsers may keep it
OUTCOMES_TTL_S = 300
#: groups listed under the map (the map's tooltips give every group's counts)
TOP_AREAS = 10
_WARD_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")


@dataclasses.dataclass
class _Page:
    body: bytes
    made: float
    gz: bytes | None = None


def _outcomes_page(request: Request, engine: Engine, ward: dict[str, Any], lang: str) -> _Page:
    """The rendered page, from the app's cache while it is younger than :data:`OUTCOMES_TTL_S`."""
    cache: dict[tuple[int, str], _Page] = request.app.state.__dict__.setdefault("report_outcomes", {})
    key = (int(ward["id"]), lang)
    found = cache.get(key)
    if found is not None and time.monotonic() - found.made < OUTCOMES_TTL_S:
        return found
    now = dt.datetime.now(dt.UTC)
    months = outcomes.monthly(engine, ward["id"], now=now)
    area_map = outcomes.area_map(engine, ward["id"], now=now)
    areas = sorted((a for a in (area_map or {}).get("areas", []) if a["resolved"] + a["open"]),
                   key=lambda a: (-(a["resolved"] + a["open"]), a["code"]))[:TOP_AREAS]
    html = _ENV.get_template("report/outcomes.html").render(
        lang=lang, t=lambda k: i18n.t(k, lang), label=lambda c, v: i18n.code_label(c, v, lang), links=links,
        title=i18n.t("report.outcomes_title", lang), ward=ward, months=months, m=area_map, areas=areas,
        now=_fmt_time(now), lang_extra=f"&ward={ward['slug']}")
    page = _Page(html.encode(), time.monotonic())
    if len(cache) > 256:
        cache.clear()
    cache[key] = page
    return page


@router.get("/report/outcomes", response_class=HTMLResponse, responses={
    200: _PAGE, 404: {"description": "No ward has this slug.", "content": openapi.HTML},
    **OPENAPI_FAMILY.responses(429)})
def report_outcomes(request: Request, ward: str | None = None, engine: Engine = Depends(get_engine)) -> Response:
    """How the ward's reports were handled: per month and category (received, resolved on time, overdue) and
    per residential group on a small inline map; no reporter data, no report point. Cached for a few minutes."""
    lang = request_lang(request)
    retry = request.app.state.limits.hit(request, "form")
    if retry > 0:
        return _busy(lang, retry)
    slug = (ward or config.DEFAULT_WARD).strip()
    found = ward_data.ward_by_slug(engine, slug) if _WARD_SLUG.fullmatch(slug) else None
    if found is None:
        return _render("message", lang, 404, title=i18n.t("report.outcomes_title", lang),
                       message=i18n.t("report.no_ward", lang))
    page = _outcomes_page(request, engine, found, lang)
    headers = {**_SECURITY_HEADERS, "Cache-Control": f"public, max-age={OUTCOMES_TTL_S}",
               "Vary": "Accept-Language, Accept-Encoding"}
    if "gzip" in request.headers.get("accept-encoding", ""):
        if page.gz is None:
            page.gz = gzip.compress(page.body, 6, mtime=0)
        headers["Content-Encoding"] = "gzip"
        return Response(page.gz, media_type="text/html; charset=utf-8", headers=headers)
    return Response(page.body, media_type="text/html; charset=utf-8", headers=headers)
