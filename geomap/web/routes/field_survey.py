"""Survey mode of the field app: ``/field/survey`` (worklist), ``/field/survey/<code>`` (check and pin here),
``/field/survey/new`` (an establishment found on the street) and ``/field/survey/photo/<id>``.

Thin: the rules are :mod:`geomap.survey` (worklist, capture) over the records service; the session,
CSRF and refusals are :mod:`geomap.web.session`; pages are drawn by :mod:`geomap.web.field_pages`
(templates ``field/survey*.html``, script ``/field/static/survey.js``). Every form is a plain POST with
its CSRF token (works without JavaScript; lon/lat/accuracy are ordinary inputs the script fills from
the phone); a fetch (an offline outbox) sending the same form with ``X-CSRF-Token`` gets JSON:
``{"ok": true, "code", "version"}`` or ``{"error", "message", "field"}`` with 4xx. A stale version is
409 (``conflict``): the phone keeps its submission and shows it, nothing is applied.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse, RedirectResponse, Response

from geomap import auth, i18n
from geomap.errors import ConcurrentEdit, LocalizedError
from geomap.field_reports import photos
from geomap.models import DIGITAL_PLATFORMS, PAYMENT_METHODS
from geomap.records import edit
from geomap.survey import capture, worklist
from geomap.survey.worklist import Position
from geomap.users import User
from geomap.web import field_pages, session
from geomap.web.deps import get_engine

router = APIRouter()

STRINGS: dict[str, tuple[str, str]] = {  # loaded by geomap.i18n on first use (i18n.CATALOGS)
    "survey.title": ("Khảo sát cơ sở", "Survey establishments"),
    "survey.intro": ("Cơ sở chưa có vị trí chính xác, gần bạn nhất trước.",
                     "Establishments without an exact position, nearest to you first."),
    "survey.left": ("cơ sở cần khảo sát", "establishments to survey"),
    "survey.locating": ("Đang lấy vị trí của bạn…", "Finding your position…"),
    "survey.no_position": ("Chưa có vị trí: danh sách xếp theo tổ dân phố. Hãy cho phép định vị để xếp theo "
                           "khoảng cách.", "No position: the list is by residential group. Allow location to "
                           "sort it by distance."),
    "survey.refresh": ("Cập nhật theo vị trí hiện tại", "Refresh from my position"),
    "survey.no_point": ("chưa có vị trí", "no position yet"),
    "survey.empty": ("Mọi cơ sở đang hoạt động của phường đã có vị trí chính xác.",
                     "Every active establishment of the ward has an exact position."),
    "survey.more": ("Xem thêm", "More"),
    "survey.previous": ("Trang trước", "Previous"),
    "survey.add": ("Thêm cơ sở mới gặp ngoài thực địa", "Add an establishment found on the street"),
    "survey.saved": ("Đã lưu khảo sát cơ sở", "Survey saved for"),
    "survey.added": ("Đã thêm cơ sở, đang chờ cán bộ dữ liệu duyệt", "Added; waiting for a data officer's review"),
    "survey.check_title": ("Kiểm tra và ghim vị trí", "Check and pin"),
    "survey.current_quality": ("Vị trí hiện tại", "Current position"),
    "survey.verified_on": ("Khảo sát lần cuối", "Last surveyed"),
    "survey.position": ("Vị trí của bạn", "Your position"),
    "survey.get_position": ("Lấy vị trí hiện tại", "Use my position"),
    "survey.accuracy": ("Độ chính xác", "Accuracy"),
    "survey.weak": ("Vị trí kém chính xác hơn 30 m.", "The position is less accurate than 30 m."),
    "survey.confirm": ("Tôi xác nhận ghim cơ sở tại vị trí này", "I confirm pinning the establishment here"),
    "survey.position_denied": ("Không lấy được vị trí (bị từ chối hoặc không có tín hiệu); vẫn lưu được phần kiểm "
                               "tra, nhưng không ghim vị trí.", "The position is unavailable (denied or no signal); "
                               "the check can still be saved, without a pin."),
    "survey.coordinates": ("Nhập tọa độ thủ công", "Enter coordinates by hand"),
    "survey.lon": ("Kinh độ", "Longitude"),
    "survey.lat": ("Vĩ độ", "Latitude"),
    "survey.accuracy_m": ("Độ chính xác (m)", "Accuracy (m)"),
    "survey.pin": ("Ghim cơ sở tại vị trí của tôi", "Pin the establishment where I stand"),
    "survey.photo": ("Ảnh mặt tiền (không bắt buộc, ≤ 10 MB)", "Storefront photo (optional, ≤ 10 MB)"),
    "survey.photos_taken": ("ảnh đã chụp", "photos taken"),
    "survey.details": ("Thông tin cơ sở", "Details"),
    "survey.name": ("Tên cơ sở", "Name"),
    "survey.address": ("Địa chỉ", "Address"),
    "survey.house_number": ("Số nhà", "House number"),
    "survey.street": ("Đường", "Street"),
    "survey.opening_hours": ("Giờ mở cửa (ví dụ 06:00-22:00)", "Opening hours (e.g. 06:00-22:00)"),
    "survey.payment": ("Thanh toán số", "Digital payment"),
    "survey.platforms": ("Nền tảng số", "Digital platforms"),
    "survey.tools": ("Công cụ số", "Digital tools"),
    "survey.e_invoice": ("Dùng hóa đơn điện tử", "Issues e-invoices"),
    "survey.sales_software": ("Dùng phần mềm bán hàng/quản lý", "Uses sales or management software"),
    "survey.industry": ("Ngành nghề (VSIC)", "Industry (VSIC)"),
    "survey.business_type": ("Loại hình", "Business type"),
    "survey.choose": ("— Chọn —", "— Choose —"),
    "survey.save": ("Lưu khảo sát", "Save survey"),
    "survey.save_new": ("Gửi để duyệt", "Send for review"),
    "survey.back": ("Danh sách khảo sát", "Survey list"),
    "survey.error": ("Chưa lưu được", "Not saved"),
    "survey.conflict": ("Xung đột dữ liệu", "Conflict"),
    "survey.reload": ("lưu đè lên bản mới nhất", "save over the latest version"),
    "survey.typed": ("Bạn đã nhập (chưa lưu; ô bên dưới là bản mới nhất trên máy chủ)",
                     "What you typed (not saved; the fields below hold the server's latest version)"),
    "survey.new_title": ("Cơ sở mới", "New establishment"),
    "survey.new_hint": ("Cơ sở mới chỉ được công bố sau khi cán bộ dữ liệu duyệt.",
                        "A new establishment is published only after a data officer approves it."),
    "survey.pending": ("Chờ duyệt", "Waiting for review"),
    "survey.moved": ("Vị trí mới cách vị trí cũ {m} m: hãy chắc chắn đã ghim đúng cơ sở (khoảng cách đã được ghi "
                     "lại).", "The new position is {m} m from the old one: make sure you pinned the right "
                     "establishment (the distance is recorded)."),
}

_ERROR_STATUS = ((ConcurrentEdit, 409, "conflict"), (auth.PermissionDenied, 403, "forbidden"),
                 (edit.NotFound, 404, "not_found"), (LocalizedError, 422, "invalid"))


def _status_of(exc: Exception) -> tuple[int, str]:
    return next((status, name) for kind, status, name in _ERROR_STATUS if isinstance(exc, kind))


def _here(lon: str, lat: str, accuracy: str) -> Position | None:
    try:
        return Position.parse(lon, lat, accuracy)
    except LocalizedError:
        return None


def _refused(request: Request, exc: LocalizedError) -> Response | None:
    """A whole-page refusal (no right, no such establishment) as the message page or JSON; None otherwise."""
    status, name = _status_of(exc)
    if status not in (403, 404):
        return None
    text = exc.message(session.lang(request))
    if session.wants_json(request):
        return JSONResponse({"error": name, "message": text}, status_code=status)
    return field_pages.message(request, text, status=status, title_key="survey.error")


def _failed(request: Request, exc: LocalizedError, page: Callable[..., Response]) -> Response:
    """A refused save: JSON for a fetch, else ``page`` (the same form again) with the sentence and what was typed."""
    refused = _refused(request, exc)
    if refused is not None:
        return refused
    status, name = _status_of(exc)
    text = exc.message(session.lang(request))
    if session.wants_json(request):
        return JSONResponse({"error": name, "message": text, "field": exc.field}, status_code=status)
    return page(status=status, error=text, error_field=exc.field, conflict=status == 409)


def _choices(lang: str) -> dict[str, Any]:
    return {"payments": [(m, i18n.code_label("payment", m, lang)) for m in PAYMENT_METHODS],
            "platforms": [(p, i18n.code_label("platform", p, lang)) for p in DIGITAL_PLATFORMS]}


@router.get("/field/survey", include_in_schema=False)
def survey_list(request: Request, lon: str = "", lat: str = "", acc: str = "", page: int = 0,
                done: str = "", added: str = "", moved: str = "",
                user: User = Depends(session.require_user)) -> Response:
    engine = get_engine(request)
    here = _here(lon, lat, acc)
    try:
        listing = worklist.worklist(engine, user, here=here, page=max(page, 0))
    except LocalizedError as exc:
        return _refused(request, exc) or field_pages.message(request, exc.message(session.lang(request)), status=422)

    def page_url(n: int) -> str:
        query = {k: v for k, v in (("lon", lon), ("lat", lat), ("acc", acc)) if v}
        return "/field/survey?" + urlencode({**query, "page": n})

    return field_pages.render(request, "survey.html", listing=listing, here=here, done=done, added=added,
                              moved=moved if moved.isdigit() else "", page_url=page_url)


@router.get("/field/survey/new", include_in_schema=False)
def new_form(request: Request, user: User = Depends(session.require_user)) -> Response:
    engine = get_engine(request)
    try:
        edit.require_survey(engine, user, worklist.ward_of(engine, user))
    except LocalizedError as exc:
        return _refused(request, exc) or field_pages.message(request, exc.message(session.lang(request)), status=422)
    return _new_page(request, user, {})


def _new_page(request: Request, user: User, values: dict[str, Any], **ctx: Any) -> Response:
    lang = session.lang(request)
    engine = get_engine(request)
    industries = edit.lookups(engine, worklist.ward_of(engine, user))["industries"]
    return field_pages.render(request, "survey_new.html", values=values, industries=industries,
                              **_choices(lang), **ctx)


@router.post("/field/survey/new", include_in_schema=False)
async def add(request: Request, user: User = Depends(session.require_csrf), name: str = Form(""),
              vsic_code: str = Form(""), business_type: str = Form("household"), house_number: str = Form(""),
              street: str = Form(""), opening_hours: str = Form(""), digital_payment: list[str] = Form([]),
              digital_platforms: list[str] = Form([]), uses_e_invoice: str = Form(""),
              uses_sales_software: str = Form(""), lon: str = Form(""), lat: str = Form(""),
              accuracy: str = Form(""), confirm_accuracy: str = Form(""),
              photo: UploadFile | None = File(None)) -> Response:
    values = {"name": name, "vsic_code": vsic_code, "business_type": business_type or "household",
              "house_number": house_number, "street": street, "opening_hours": opening_hours,
              "digital_payment": digital_payment, "digital_platforms": digital_platforms,
              "uses_e_invoice": bool(uses_e_invoice), "uses_sales_software": bool(uses_sales_software)}
    form = {**values, "lon": lon, "lat": lat, "accuracy": accuracy}
    try:
        content, filename = await _photo(photo)
        made = capture.add(get_engine(request), user, values, here=Position.parse(lon, lat, accuracy),
                           confirm_accuracy=bool(confirm_accuracy), photo=content, photo_name=filename)
    except LocalizedError as exc:
        return _failed(request, exc, lambda **page: _new_page(request, user, form, **page))
    if session.wants_json(request):
        return JSONResponse({"ok": True, "code": made["code"], "version": made["version"], "review": "pending"})
    return RedirectResponse("/field/survey?" + urlencode({"added": made["code"], "lon": lon, "lat": lat,
                                                         "acc": accuracy}), status_code=303)


async def _photo(upload: UploadFile | None) -> tuple[bytes | None, str]:
    """The uploaded photo's bytes (at most one byte over the limit is read) and its file name."""
    if upload is None or not upload.filename:
        return None, ""
    content = await upload.read(photos.MAX_BYTES + 1)
    return (content or None), upload.filename


@router.get("/field/survey/photo/{photo_id}", include_in_schema=False)
def photo(request: Request, photo_id: int, user: User = Depends(session.require_user)) -> Response:
    try:
        row = capture.photo(get_engine(request), user, photo_id)
    except LocalizedError as exc:
        return _refused(request, exc) or Response(status_code=400)
    return Response(bytes(row["content"]), media_type=row["media_type"],
                    headers={"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"})


@router.get("/field/survey/{code:path}", include_in_schema=False)
def check_form(request: Request, code: str, lon: str = "", lat: str = "", acc: str = "",
               user: User = Depends(session.require_user)) -> Response:
    try:
        record = capture.form(get_engine(request), user, code)
    except LocalizedError as exc:
        return _refused(request, exc) or field_pages.message(request, exc.message(session.lang(request)), status=422)
    return _check_page(request, record, {"lon": lon, "lat": lat, "accuracy": acc, "pin": "1"})


def _check_page(request: Request, record: dict[str, Any], form: dict[str, Any], **ctx: Any) -> Response:
    return field_pages.render(request, "survey_check.html", record=record, form=form,
                              **_choices(session.lang(request)), **ctx)


@router.post("/field/survey/{code:path}", include_in_schema=False)
async def check(request: Request, code: str, user: User = Depends(session.require_csrf), version: str = Form(""),
                name: str = Form(""), address: str = Form(""), opening_hours: str = Form(""),
                digital_payment: list[str] = Form([]), digital_platforms: list[str] = Form([]),
                uses_e_invoice: str = Form(""), uses_sales_software: str = Form(""), lon: str = Form(""),
                lat: str = Form(""), accuracy: str = Form(""), pin: str = Form(""),
                confirm_accuracy: str = Form(""), photo: UploadFile | None = File(None)) -> Response:
    engine = get_engine(request)
    changes = {"name": name, "address": address, "opening_hours": opening_hours, "digital_payment": digital_payment,
               "digital_platforms": digital_platforms, "uses_e_invoice": bool(uses_e_invoice),
               "uses_sales_software": bool(uses_sales_software)}
    form = {**changes, "lon": lon, "lat": lat, "accuracy": accuracy, "pin": pin}
    try:
        expected = int(version)
    except ValueError:
        expected = None
    try:
        content, filename = await _photo(photo)
        saved = capture.check(engine, user, code, expected_version=expected, changes=changes,
                              here=Position.parse(lon, lat, accuracy), pin=bool(pin),
                              confirm_accuracy=bool(confirm_accuracy), photo=content, photo_name=filename)
    except LocalizedError as exc:
        refused = _refused(request, exc)
        if refused is not None:  # no right, or no such establishment here: no form to show again
            return refused
        record = capture.form(engine, user, code)
        if not isinstance(exc, ConcurrentEdit):  # keep what was typed over the stored values, and its version
            record = {**record, **changes, "version": expected if expected is not None else record["version"]}
        return _failed(request, exc, lambda **page: _check_page(request, record, form, **page))
    if session.wants_json(request):
        return JSONResponse({"ok": True, "code": saved["code"], "version": saved["version"],
                             "pinned": saved["pinned"], "moved_m": saved["moved_m"]})
    moved = {"moved": f"{saved['moved_m']:.0f}"} if saved["far"] else {}
    return RedirectResponse("/field/survey?" + urlencode({"done": saved["code"], **moved, "lon": lon, "lat": lat,
                                                         "acc": accuracy}), status_code=303)
