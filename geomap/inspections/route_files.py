"""A planned day out of geomap: GPX 1.1, a printable Vietnamese route sheet (PDF), phone links.

GPX (via gpxpy): one route (``rte``) per inspector with numbered stops as route points,
plus the stops as waypoints, so any GPS app or OsmAnd shows them. The PDF (reportlab,
DejaVu Sans for Vietnamese diacritics) is what an inspector prints and carries: the order,
times, addresses and a column for the result. The links open each leg in the phone's
navigation app: a Google Maps directions URL (two-wheeler mode) and a ``geo:`` URI
understood by Android's map apps.
"""

from __future__ import annotations

import io
from pathlib import Path
from urllib.parse import urlencode

import gpxpy
import gpxpy.gpx

from geomap import i18n
from geomap.inspections.routing import Plan, Route, hhmm, wait_reason

FONT_PATH = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
FONT_BOLD_PATH = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")


def _ll(point: tuple[float, float]) -> str:
    lon, lat = point
    return f"{lat:.6f},{lon:.6f}"


def google_maps_url(origin: tuple[float, float], destination: tuple[float, float]) -> str:
    """Directions from ``origin`` to ``destination`` (lon, lat) by motorbike in Google Maps."""
    query = {"api": "1", "origin": _ll(origin), "destination": _ll(destination), "travelmode": "two-wheeler"}
    return "https://www.google.com/maps/dir/?" + urlencode(query, safe=",")


def geo_uri(point: tuple[float, float], label: str | None = None) -> str:
    """A ``geo:`` URI (RFC 5870) that Android map apps open at ``point``, with a label pin."""
    lon, lat = point
    uri = f"geo:{lat:.6f},{lon:.6f}"
    if label:
        uri += "?" + urlencode({"q": f"{lat:.6f},{lon:.6f}({label})"}, safe=",()")
    return uri


def leg_links(route: Route, *, lang: str | None = None) -> list[dict[str, str]]:
    """For every leg of ``route``, the return to its end point last: its label, the Google Maps URL and the geo: URI
    of the destination."""
    names = [v.stop.name for v in route.visits] + [i18n.t("route.back_to_end", lang)]
    out = []
    for k, ((origin, destination), name) in enumerate(zip(route.legs(), names, strict=True), 1):
        out.append({"leg": str(k), "to": name, "google_maps": google_maps_url(origin, destination),
                    "geo": geo_uri(destination, name)})
    return out


# --- GPX ------------------------------------------------------------------------------------


def to_gpx(plan: Plan, *, lang: str = "vi") -> str:
    """GPX 1.1 XML of ``plan``: one ``rte`` per inspector, stops also as ``wpt``."""
    gpx = gpxpy.gpx.GPX()
    gpx.creator = "geomap"
    gpx.name = i18n.t("route.gpx_name", lang).format(date=plan.date.isoformat() if plan.date else "")
    for route in plan.routes:
        rte = gpxpy.gpx.GPXRoute(name=route.inspector.name)
        rte.description = _route_totals(route, lang)
        rte.points.append(gpxpy.gpx.GPXRoutePoint(route.start[1], route.start[0], name=i18n.t("route.start", lang)))
        for v in route.visits:
            label = f"{v.order}. {v.stop.name}"
            comment = f"{hhmm(v.start_s)}–{hhmm(v.end_s)}"
            why = wait_reason(route, v)
            if why is not None:
                comment += f" ({why.text(lang)})"
            rte.points.append(gpxpy.gpx.GPXRoutePoint(v.stop.lat, v.stop.lon, name=label, comment=comment,
                                                      description=v.stop.address))
            wpt = gpxpy.gpx.GPXWaypoint(v.stop.lat, v.stop.lon, name=label, comment=comment,
                                        description=v.stop.address)
            wpt.type = route.inspector.name
            gpx.waypoints.append(wpt)
        rte.points.append(gpxpy.gpx.GPXRoutePoint(route.end[1], route.end[0], name=i18n.t("route.end", lang)))
        gpx.routes.append(rte)
    return gpx.to_xml(version="1.1")


def _route_totals(route: Route, lang: str) -> str:
    return i18n.t("route.totals", lang).format(
        stops=len(route.visits), start=hhmm(route.start_s), end=hhmm(route.end_s),
        km=f"{route.distance_m / 1000:.1f}", travel=round(route.travel_s / 60), service=round(route.service_s / 60))


# --- PDF ------------------------------------------------------------------------------------


def _fonts() -> tuple[str, str]:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if "DejaVuSans" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("DejaVuSans", str(FONT_PATH)))
        pdfmetrics.registerFont(TTFont("DejaVuSans-Bold", str(FONT_BOLD_PATH if FONT_BOLD_PATH.exists()
                                                                  else FONT_PATH)))
    return "DejaVuSans", "DejaVuSans-Bold"


def to_pdf(plan: Plan, *, ward_name: str = "", lang: str = "vi", synthetic: bool = False) -> bytes:
    """The printable route sheet: one A4 page (or more) per inspector, in Vietnamese by default.

    ``synthetic`` (:func:`geomap.wards.data.ward_is_synthetic`) puts the synthetic-data label on each page,
    as every screen carries it."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    regular, bold = _fonts()
    title = ParagraphStyle("title", fontName=bold, fontSize=14, leading=18)
    body = ParagraphStyle("body", fontName=regular, fontSize=9, leading=12)
    cell = ParagraphStyle("cell", fontName=regular, fontSize=8, leading=10)
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=12 * mm, rightMargin=12 * mm, topMargin=12 * mm,
                            bottomMargin=12 * mm, title=i18n.t("route.sheet_title", lang), author="geomap")
    story: list = []
    date = plan.date.strftime("%d/%m/%Y") if plan.date else ""

    def esc(text: object) -> str:
        return str(text or "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    for n, route in enumerate(plan.routes):
        if n:
            story.append(PageBreak())
        story.append(Paragraph(esc(i18n.t("route.sheet_title", lang)), title))
        if synthetic:
            story.append(Paragraph(f'<font color="#b71c1c"><b>{esc(i18n.t("app.synthetic_notice", lang))}</b></font>',
                                   body))
        story.append(Paragraph(esc(f"{ward_name} — {date} — {i18n.t('route.inspector', lang)}: "
                                   f"{route.inspector.name}"), body))
        story.append(Paragraph(esc(_route_totals(route, lang)), body))
        if route.lunch:
            story.append(Paragraph(esc(i18n.t("route.lunch", lang).format(
                start=hhmm(route.lunch[0]), end=hhmm(route.lunch[1]))), body))
        story.append(Spacer(1, 4 * mm))
        header = [i18n.t(k, lang) for k in ("route.col.order", "route.col.time", "route.col.place",
                                            "route.col.ride", "route.col.result")]
        rows = [header]
        for v in route.visits:
            place = f"<b>{esc(v.stop.name)}</b><br/>{esc(v.stop.address)}"
            if v.stop.must_visit:
                place += f"<br/>{esc(i18n.t('route.must_visit', lang))}"
            why = wait_reason(route, v)
            if why is not None:  # a wait longer than 30 minutes says why
                place += f"<br/><i>{esc(why.text(lang))}</i>"
            rows.append([str(v.order), f"{hhmm(v.start_s)}–{hhmm(v.end_s)}", Paragraph(place, cell),
                         f"{v.travel_s / 60:.0f}′ · {v.distance_m / 1000:.1f} km", ""])
        rows.append(["", hhmm(route.end_s), Paragraph(esc(i18n.t("route.back_to_end", lang)), cell),
                     f"{route.return_travel_s / 60:.0f}′ · {route.return_distance_m / 1000:.1f} km", ""])
        table = Table(rows, colWidths=[10 * mm, 24 * mm, 86 * mm, 26 * mm, 40 * mm], repeatRows=1)
        table.setStyle(TableStyle([
            ("FONTNAME", (0, 0), (-1, -1), regular), ("FONTNAME", (0, 0), (-1, 0), bold),
            ("FONTSIZE", (0, 0), (-1, -1), 8), ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e3f2fd")), ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]))
        story.append(table)
    if plan.dropped:
        story.append(Spacer(1, 6 * mm))
        story.append(Paragraph(esc(i18n.t("route.dropped_title", lang)), title))
        for d in plan.dropped:
            story.append(Paragraph(esc("• " + d.reason.text(lang)), body))
    if not story:
        story.append(Paragraph(esc(i18n.t("route.empty", lang)), body))
    doc.build(story)
    return buf.getvalue()


STRINGS: dict[str, tuple[str, str]] = {  # loaded by geomap.i18n on first use (i18n.CATALOGS)
    "route.gpx_name": ("Lộ trình kiểm tra {date}", "Inspection routes {date}"),
    "route.start": ("Xuất phát", "Start"),
    "route.end": ("Kết thúc", "End"),
    "route.back_to_end": ("Về điểm kết thúc", "Back to the end point"),
    "route.totals": ("{stops} cơ sở · {start}–{end} · {km} km · di chuyển {travel} phút · kiểm tra {service} phút",
                     "{stops} stops · {start}–{end} · {km} km · riding {travel} min · visits {service} min"),
    "route.sheet_title": ("PHIẾU LỘ TRÌNH KIỂM TRA", "INSPECTION ROUTE SHEET"),
    "route.inspector": ("Cán bộ kiểm tra", "Inspector"),
    "route.lunch": ("Nghỉ trưa: {start}–{end}", "Lunch break: {start}–{end}"),
    "route.col.order": ("TT", "No."),
    "route.col.time": ("Giờ", "Time"),
    "route.col.place": ("Cơ sở / địa chỉ", "Establishment / address"),
    "route.col.ride": ("Di chuyển", "Ride"),
    "route.col.result": ("Kết quả / ký", "Result / signature"),
    "route.must_visit": ("(bắt buộc)", "(must visit)"),
    "route.dropped_title": ("Cơ sở chưa xếp được lịch", "Establishments not scheduled"),
    "route.empty": ("Không có lộ trình nào.", "No routes."),
}
