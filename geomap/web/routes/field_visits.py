"""The inspector's part of the field app: ``/field/today``, ``/field/stop/{n}``, ``POST /field/visits``, the
service worker ``/field/sw.js``.

Thin: the day and the visit are :mod:`geomap.inspections.field`; the session, CSRF and the answers to
a missing session (redirect for a page, 401 JSON for a fetch, so the phone keeps its outbox) are
:mod:`geomap.web.session`; pages are drawn by :mod:`geomap.web.field_pages` (templates
``field/today.html`` and ``field/stop.html``). The page script (``/field/static/visit.js``) keeps
results in an IndexedDB outbox and sends each one here with its client-made id; the service worker
(``/field/static/sw.js``, served at ``/field/sw.js`` for the ``/field/`` scope) keeps the day's pages
for offline use.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import UploadFile

from geomap import auth, i18n
from geomap.field_reports import photos
from geomap.inspections import field
from geomap.models import INSPECTION_KINDS, INSPECTION_RESULTS
from geomap.users import User
from geomap.web import field_pages, session
from geomap.web.deps import get_engine

router = APIRouter()

STRINGS: dict[str, tuple[str, str]] = {  # loaded by geomap.i18n on first use (i18n.CATALOGS)
    "fv.today": ("Hôm nay", "Today"),
    "fv.progress": ("Đã ghi {done}/{total} điểm", "{done} of {total} stops recorded"),
    "fv.none": ("Chưa có lộ trình nào được lưu cho bạn hôm nay. Lập lộ trình ở trang “Kế hoạch kiểm tra” của ứng "
                "dụng cán bộ rồi bấm “Lưu”.", "No route is saved for you today. Plan one on the staff app's "
                "“Inspection planning” page and press “Save”."),
    "fv.sketch": ("Sơ đồ lộ trình", "Route sketch"),
    "fv.navigate": ("Chỉ đường", "Directions"),
    "fv.open_map": ("Mở ứng dụng bản đồ", "Open in map app"),
    "fv.back": ("Về trụ sở", "Back to the office"),
    "fv.open": ("Mở phiếu", "Open the form"),
    "fv.stop": ("Điểm {n}", "Stop {n}"),
    "fv.all_stops": ("← Tất cả các điểm", "← All stops"),
    "fv.result": ("Kết quả", "Result"),
    "fv.kind": ("Hình thức kiểm tra", "Kind of inspection"),
    "fv.violations": ("Lỗi vi phạm (chạm để chọn)", "Violations (tap to pick)"),
    "fv.severity": ("Mức độ", "Severity"),
    "fv.note": ("Ghi chú", "Note"),
    "fv.photos": ("Ảnh (tối đa 5)", "Photos (up to 5)"),
    "fv.save": ("Lưu kết quả", "Save the result"),
    "fv.cancel": ("Đóng", "Close"),
    "fv.position_hint": ("Vị trí và độ chính xác của điện thoại được ghi lúc bấm lưu.",
                         "The phone's position and its accuracy are recorded when you save."),
    "fv.needs_review": ("Cần xem lại", "Needs your attention"),
    "fv.recorded": ("Đã ghi", "Recorded"),
    "fv.not_found": ("Không có điểm này trong lộ trình hôm nay.", "There is no such stop on today's route."),
    "fv.no_right": ("Vai trò của bạn không được ghi kết quả kiểm tra.", "Your role may not record inspections."),
    # the page script's words (handed to it in the page's data block)
    "fv.js.queued": ("Đã lưu vào điện thoại; sẽ gửi khi có mạng.", "Saved on the phone; it is sent when online."),
    "fv.js.sent": ("Đã gửi", "Sent"),
    "fv.js.pending": ("Chờ gửi", "Waiting to send"),
    "fv.js.review": ("Cần xem lại", "Needs a look"),
    "fv.js.choose_result": ("Hãy chọn kết quả kiểm tra.", "Choose the result."),
    "fv.js.choose_violation": ("Kết quả vi phạm cần chọn ít nhất một lỗi.", "A violation needs at least one code."),
    "fv.js.too_many_photos": ("Tối đa 5 ảnh.", "At most 5 photos."),
    "fv.js.locating": ("Đang lấy vị trí…", "Getting the position…"),
    "fv.js.expired": ("Phiên đăng nhập đã hết hạn. Các kết quả chưa gửi vẫn được giữ trên điện thoại — đăng nhập lại "
                      "để gửi.", "Your session has expired. Unsent results stay on the phone — sign in again to "
                      "send them."),
    "fv.js.signin": ("Đăng nhập lại", "Sign in again"),
    "fv.js.accuracy": ("độ chính xác ±{m} m", "accuracy ±{m} m"),
    "fv.js.no_position": ("không có vị trí", "no position"),
    "fv.js.dismiss": ("Đã xem", "Dismiss"),
}

#: largest photo part read from a request (the photo module then refuses it with its own sentence)
_READ_LIMIT = photos.MAX_BYTES + 1


def _js_strings(lang: str) -> dict[str, str]:
    return {k.removeprefix("fv.js."): i18n.t(k, lang) for k in STRINGS if k.startswith("fv.js.")}


def _page_data(sheet: dict[str, Any], lang: str) -> str:
    """The data block the page script reads (``<script type="application/json">``; never executed)."""
    stops = [{"n": s["n"], "establishment_id": s["establishment_id"], "version": s["version"], "name": s["name"],
              "recorded": s["recorded"]} for s in sheet["stops"]]
    body = {"day": sheet["day"].isoformat(), "stops": stops, "strings": _js_strings(lang)}
    return json.dumps(body, ensure_ascii=False).replace("</", "<\\/")


def _context(request: Request, user: User, engine) -> dict[str, Any]:
    lang = session.lang(request)
    sheet = field.day_sheet(engine, user, lang=lang)
    done = sum(1 for s in sheet["stops"] if s["recorded"])
    return {"sheet": sheet, "done": done, "data_json": _page_data(sheet, lang),
            "results": [(r, i18n.code_label("inspection_result", r, lang)) for r in INSPECTION_RESULTS],
            "kinds": [(k, i18n.code_label("inspection_kind", k, lang)) for k in INSPECTION_KINDS],
            "result_label": lambda r: i18n.code_label("inspection_result", r, lang)}


@router.get("/field/today", include_in_schema=False)
def today(request: Request, user: User = Depends(session.require_permission("record_inspection"))) -> Response:
    """The signed-in inspector's saved plan for today: stops, sketch, navigation links, one form at a time."""
    return field_pages.render(request, "today.html", user=user, **_context(request, user, get_engine(request)))


@router.get("/field/stop/{n}", include_in_schema=False)
def stop(request: Request, n: int, user: User = Depends(session.require_permission("record_inspection"))
         ) -> Response:
    """One stop of today's plan with its form (the link a stop card opens without the page script)."""
    ctx = _context(request, user, get_engine(request))
    stops = ctx["sheet"]["stops"]
    if not 1 <= n <= len(stops):
        return field_pages.message(request, i18n.t("fv.not_found", session.lang(request)), status=404)
    return field_pages.render(request, "stop.html", user=user, stop=stops[n - 1], **ctx)


@router.get("/field/visits/token", include_in_schema=False)
def token(request: Request, user: User = Depends(session.require_user)) -> JSONResponse:
    """The session's CSRF token for the outbox (a page kept offline may hold an older session's)."""
    return JSONResponse({"csrf_token": session.csrf_token(request), "user": user.username},
                        headers={"Cache-Control": "no-store"})


@router.post("/field/visits", include_in_schema=False)
async def submit(request: Request, user: User = Depends(session.require_csrf)) -> JSONResponse:
    """One result of the phone's outbox (multipart: ``payload`` JSON, ``photos`` files); its outcome as JSON.

    Applied, conflict and refused are all 200 (the phone drops the item from its outbox and shows
    the outcome); a payload without a valid client id is 422; the session's refusals are 401/403.
    """
    lang = session.lang(request)
    if not auth.can(user, "record_inspection"):
        return JSONResponse({"error": "forbidden", "message": i18n.t("fv.no_right", lang)}, status_code=403)
    form = await request.form()
    try:
        payload = json.loads(str(form.get("payload") or ""))
        if not isinstance(payload, dict):
            raise ValueError
    except ValueError:
        payload = {}
    files: list[tuple[str, bytes]] = []
    for part in form.getlist("photos"):
        if isinstance(part, UploadFile) and part.filename:
            files.append((part.filename, await part.read(_READ_LIMIT)))
    try:
        outcome = await run_in_threadpool(field.submit_visit, get_engine(request), user, payload, files)
    except field.VisitRefused as exc:
        return JSONResponse({"status": "refused", "error": exc.code, "message": exc.message(lang)}, status_code=422,
                            headers={"Cache-Control": "no-store"})
    return JSONResponse(outcome.as_json(lang), headers={"Cache-Control": "no-store"})


def _service_worker_source() -> str:
    """sw.js with its cache named after a hash of itself and the field assets (a changed asset: a new worker)."""
    source = (field_pages.STATIC_DIR / "sw.js").read_text()
    digest = hashlib.sha256(source.encode())
    for path in sorted(field_pages.STATIC_DIR.iterdir()):
        if path.is_file():
            digest.update(path.name.encode() + path.read_bytes())
    return source.replace('"geomap-field-v1"', f'"geomap-field-{digest.hexdigest()[:12]}"', 1)


@router.get("/field/sw.js", include_in_schema=False)
def service_worker() -> Response:
    """The service worker, at the top of the scope it serves (``/field/``)."""
    return Response(_service_worker_source(), media_type="text/javascript; charset=utf-8",
                    headers={"Service-Worker-Allowed": "/field/", "Cache-Control": "no-cache",
                             "X-Content-Type-Options": "nosniff"})
