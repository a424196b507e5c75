"""QR codes and stickers: issue missing codes, reissue or revoke one, download PNG/SVG and A4 sheets.

Reads widgets and calls :mod:`qr.issue` (inside :func:`geomap.db.transaction`, with the
signed-in user for the audit log), :mod:`qr.images` and :mod:`qr.stickers`.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from geomap import db, links
from geomap.errors import GeomapError
from geomap.ui import widgets
from geomap.ui.context import Context
from geomap.ui.pages import Page
from geomap.wards import data as ward_data
from qr import images, issue, scans, stickers

STRINGS: dict[str, tuple[str, str]] = {  # loaded by geomap.i18n on first use (i18n.CATALOGS)
    "qrpage.title": ("Mã QR và tem dán", "QR codes and stickers"),
    "qrpage.intro": ("Mỗi cơ sở và mỗi quầy chợ có một mã QR riêng, không đoán được. Cấp lại sẽ vô hiệu tem cũ; "
                     "thu hồi khi cơ sở đóng cửa hoặc tem bị dùng sai.",
                     "Every establishment and market stall has its own unguessable QR code. Reissuing voids the "
                     "old sticker; revoke when a business closes or a sticker is misused."),
    "qrpage.active_est": ("Mã đang dùng (cơ sở)", "Active codes (establishments)"),
    "qrpage.active_stalls": ("Mã đang dùng (quầy)", "Active codes (stalls)"),
    "qrpage.missing": ("Chưa có mã", "Without a code"),
    "qrpage.revoked": ("Đã thu hồi", "Revoked"),
    "qrpage.issue_missing": ("Cấp mã cho tất cả cơ sở và quầy chưa có", "Issue codes to all without one"),
    "qrpage.issued": ("Đã cấp {e} mã cơ sở và {s} mã quầy.", "Issued {e} establishment and {s} stall codes."),
    "qrpage.print": ("In tem", "Print stickers"),
    "qrpage.scope": ("Phạm vi", "Scope"),
    "qrpage.scope.ward": ("Toàn phường", "Whole ward"),
    "qrpage.scope.group": ("Tổ dân phố", "Residential group"),
    "qrpage.scope.market": ("Chợ", "Market"),
    "qrpage.scope.codes": ("Chọn mã", "Selection"),
    "qrpage.codes_help": ("Mã tem (HC-XXXX-XX) hoặc mã cơ sở, cách nhau bằng dấu phẩy hoặc xuống dòng.",
                          "Sticker codes (HC-XXXX-XX) or establishment codes, separated by commas or new lines."),
    "qrpage.found": ("{n} mã trong phạm vi này.", "{n} codes in this scope."),
    "qrpage.make_sheet": ("Tạo tờ tem PDF (A4, 12 tem/trang)", "Make the PDF sheet (A4, 12 a page)"),
    "qrpage.download_sheet": ("Tải tờ tem PDF", "Download the PDF sheet"),
    "qrpage.sheet_progress": ("Đang tạo tờ tem: {done}/{total} tem", "Making the sheet: {done} of {total} stickers"),
    "qrpage.one": ("Một mã", "One code"),
    "qrpage.ref": ("Mã tem, mã cơ sở hoặc token", "Sticker code, establishment code or token"),
    "qrpage.not_found": ("Không tìm thấy mã QR này.", "No QR code matches."),
    "qrpage.status.active": ("Đang dùng", "Active"),
    "qrpage.status.revoked": ("Đã thu hồi", "Revoked"),
    "qrpage.reissue": ("Cấp lại tem (tem cũ mất hiệu lực)", "Reissue (the old sticker stops passing)"),
    "qrpage.revoke": ("Thu hồi", "Revoke"),
    "qrpage.reason": ("Lý do thu hồi", "Reason"),
    "qrpage.note": ("Ghi chú (lưu vào nhật ký)", "Note (kept in the audit log)"),
    "qrpage.done_reissue": ("Đã cấp tem mới {code} (lần {v}).", "New sticker {code} issued (version {v})."),
    "qrpage.done_revoke": ("Đã thu hồi {code}.", "{code} revoked."),
    "qrpage.confirm_revoke": ("Tôi xác nhận thu hồi tem này (không hoàn tác được; muốn dán lại thì cấp tem mới).",
                              "I confirm revoking this sticker (cannot be undone; issue a new one to replace it)."),
    "qrpage.confirm_needed": ("Đánh dấu ô xác nhận trước khi thu hồi.", "Tick the confirmation box before revoking."),
    "qrpage.closed_closes": ("Lý do \u201cCơ sở đã đóng cửa\u201d cũng đánh dấu hồ sơ cơ sở là đã đóng cửa, "
                             "nên lần cấp tem hàng loạt sau sẽ bỏ qua cơ sở này.",
                             "The reason \u201cBusiness closed\u201d also marks the establishment's record closed, "
                             "so the next bulk issue skips it."),
    "qrpage.done_revoke_closed": ("Đã thu hồi {code} và đánh dấu cơ sở đã đóng cửa.",
                                  "{code} revoked and the establishment marked closed."),
    "qrpage.col.code": ("Mã tem", "Sticker code"), "qrpage.col.name": ("Tên", "Name"),
    "qrpage.col.address": ("Địa chỉ", "Address"), "qrpage.col.version": ("Lần cấp", "Version"),
    "qrpage.col.status": ("Trạng thái", "Status"), "qrpage.col.type": ("Loại", "Type"),
    "qrpage.type.establishment": ("Cơ sở", "Establishment"), "qrpage.type.stall": ("Quầy chợ", "Stall"),
    "qrpage.url": ("Đường dẫn", "URL"),
    "qrpage.scans": ("Lượt quét mã QR", "QR code scans"),
    "qrpage.scans_intro": ("Số lượt quét theo ngày, cơ sở và tổ dân phố. Không lưu thông tin cá nhân hay địa chỉ "
                           "IP: chỉ ngày, mã và kết quả. Dịch vụ tra cứu cộng dồn số lượt mỗi phút.",
                           "Scans per day, establishment and residential group. No personal data or IP address is "
                           "kept: only the day, the code and the outcome. The lookup service adds its counts every "
                           "minute."),
    "qrpage.scans_days": ("Số ngày gần nhất", "Last days"),
    "qrpage.scans_none": ("Chưa có lượt quét nào trong khoảng này.", "No scans in this period."),
    "qrpage.scans_total": ("Tổng lượt quét", "Total scans"),
    "qrpage.outcome.valid": ("Hợp lệ", "Valid"),
    "qrpage.outcome.revoked": ("Đã thu hồi", "Revoked"),
    "qrpage.outcome.unknown": ("Không tồn tại (có thể giả)", "Unknown (possibly forged)"),
    "qrpage.outcome.malformed": ("Sai định dạng", "Malformed"),
    "qrpage.col.day": ("Ngày", "Day"), "qrpage.col.scans": ("Lượt quét", "Scans"),
    "qrpage.col.group": ("Tổ dân phố", "Residential group"), "qrpage.col.outcome": ("Kết quả", "Outcome"),
    "qrpage.col.first": ("Lần đầu", "First seen"), "qrpage.col.last": ("Lần cuối", "Last seen"),
    "qrpage.col.reports": ("Phản ánh kèm theo (nơi báo)", "Reports that came with it (where)"),
    "qrpage.col.est_code": ("Mã cơ sở", "Establishment code"),
    "qrpage.scans_top": ("Cơ sở được quét nhiều nhất", "Most scanned establishments"),
    "qrpage.scans_groups": ("Theo tổ dân phố", "Per residential group"),
    "qrpage.no_group": ("(chưa thuộc tổ)", "(no group)"),
    "qrpage.alerts": ("Cảnh báo: mã không tồn tại hoặc đã thu hồi vẫn bị quét",
                      "Alert: codes that do not exist or were revoked but keep being scanned"),
    "qrpage.alerts_min": ("Ngưỡng lượt quét trong {days} ngày", "Scans within {days} days at least"),
    "qrpage.alerts_none": ("Không có mã nào vượt ngưỡng.", "No code over the threshold."),
    "qrpage.forged": ("Mã không do phường cấp", "Code not issued by the ward"),
}

_SHEET = "geomap.qr.sheet"
_TABLE_ROWS = 500


def _refs(text: str) -> list[str]:
    return [r.strip() for r in text.replace("\n", ",").split(",") if r.strip()]


def _summary(ctx: Context) -> None:
    flash = st.session_state.pop("qr.flash", None)
    if flash:
        st.success(flash)
    with ctx.engine.connect() as conn:
        counts = issue.summary(conn, ctx.ward_id)
    cols = st.columns(4)
    cols[0].metric(ctx.t("qrpage.active_est"), f"{counts['active_establishments']:,}".replace(",", "."))
    cols[1].metric(ctx.t("qrpage.active_stalls"), f"{counts['active_stalls']:,}".replace(",", "."))
    cols[2].metric(ctx.t("qrpage.missing"), f"{counts['missing']:,}".replace(",", "."))
    cols[3].metric(ctx.t("qrpage.revoked"), f"{counts['revoked']:,}".replace(",", "."))
    if counts["missing"] and st.button(ctx.t("qrpage.issue_missing"), icon=":material/qr_code_2:", type="primary"):
        try:
            with db.transaction(ctx.engine) as conn:
                done = issue.issue_missing(conn, ctx.ward_id, user=ctx.user)
        except GeomapError as exc:
            st.error(str(exc))
        else:
            st.session_state["qr.flash"] = ctx.t("qrpage.issued").format(e=done["establishment"], s=done["stall"])
            st.rerun()


def _print_section(ctx: Context) -> None:
    st.subheader(ctx.t("qrpage.print"))
    with ctx.engine.connect() as conn:
        options = issue.scopes(conn, ctx.ward_id)
    kinds = ["ward", "group", "market", "codes"]
    kind = st.radio(ctx.t("qrpage.scope"), kinds, format_func=lambda k: ctx.t(f"qrpage.scope.{k}"), horizontal=True,
                    key="qr.scope")
    group = market = None
    refs = None
    if kind == "group":
        names = dict(options["groups"])
        group = st.selectbox(ctx.t("qrpage.scope.group"), list(names), format_func=lambda c: f"{c} — {names[c]}")
    elif kind == "market":
        names = dict(options["markets"])
        market = st.selectbox(ctx.t("qrpage.scope.market"), list(names), format_func=lambda c: names[c])
    elif kind == "codes":
        refs = _refs(st.text_area(ctx.t("qrpage.scope.codes"), help=ctx.t("qrpage.codes_help")))
        if not refs:
            return
    try:
        with ctx.engine.connect() as conn:
            items = issue.select_codes(conn, ctx.ward_id, group=group, market=market, refs=refs)
    except GeomapError as exc:
        st.error(str(exc))
        return
    st.caption(ctx.t("qrpage.found").format(n=len(items)))
    table = pd.DataFrame([{
        ctx.t("qrpage.col.code"): i.short_code, ctx.t("qrpage.col.type"): ctx.t(f"qrpage.type.{i.target_type}"),
        ctx.t("qrpage.col.name"): i.name, ctx.t("qrpage.col.address"): i.address,
        ctx.t("qrpage.col.version"): i.version} for i in items[:_TABLE_ROWS]])
    widgets.dataframe(table, hide_index=True, use_container_width=True, height=260)
    scope_key = (ctx.ward_id, kind, group, market, tuple(refs or ()))
    if st.button(ctx.t("qrpage.make_sheet"), icon=":material/picture_as_pdf:", disabled=not items):
        bar = st.progress(0.0, text=ctx.t("qrpage.sheet_progress").format(done=0, total=len(items)))
        try:
            pdf = stickers.sheet(
                items, title=" · ".join(x for x in (items[0].ward_name, group or market) if x),
                synthetic=ward_data.ward_is_synthetic(ctx.engine, ctx.ward_id), lang=ctx.lang,
                progress=lambda done, total: bar.progress(
                    done / total, text=ctx.t("qrpage.sheet_progress").format(done=done, total=total)))
        except GeomapError as exc:
            st.error(str(exc))
            return
        finally:
            bar.empty()
        st.session_state[_SHEET] = {"key": scope_key, "data": pdf}
    made = st.session_state.get(_SHEET)
    if made and made["key"] == scope_key:
        name = f"tem-qr-{ctx.ward_slug}-{group or market or kind}.pdf".replace(" ", "-")
        st.download_button(ctx.t("qrpage.download_sheet"), data=made["data"], file_name=name,
                           mime="application/pdf", icon=":material/download:")


def _one_code(ctx: Context) -> None:
    st.subheader(ctx.t("qrpage.one"))
    if "qr.ref.next" in st.session_state:  # a reissue shows the new code (set before the widget exists)
        st.session_state["qr.ref"] = st.session_state.pop("qr.ref.next")
    ref = st.text_input(ctx.t("qrpage.ref"), key="qr.ref").strip()
    if not ref:
        return
    with ctx.engine.connect() as conn:
        rec = issue.find(conn, ref)
        item = issue.select_codes(conn, ctx.ward_id, refs=[rec.token], include_revoked=True) if rec else []
    if rec is None or not item:
        st.warning(ctx.t("qrpage.not_found"))
        return
    info = item[0]
    status = ctx.t("qrpage.status.active" if rec.active else "qrpage.status.revoked")
    url = links.qr_lookup(rec.token)
    left, right = st.columns([1, 2])
    if rec.active:
        left.image(images.png(rec.token, scale=6), width=200)
    right.markdown(f"**{info.name}**  \n{info.address}  \n{ctx.t('qrpage.col.code')}: `{rec.short_code}` · "
                   f"{ctx.t('qrpage.col.version')} {rec.version} · {status}")
    if rec.revoked_reason:
        right.caption(f"{ctx.t('qrpage.reason')}: {ctx.label('qr_revoked_reason', rec.revoked_reason)}")
    right.code(url, language=None)
    if rec.active:
        a, b = right.columns(2)
        a.download_button("PNG", images.png(rec.token, scale=12), file_name=f"{rec.short_code}.png",
                          mime="image/png", icon=":material/image:")
        b.download_button("SVG", images.svg(rec.token), file_name=f"{rec.short_code}.svg", mime="image/svg+xml",
                          icon=":material/polyline:")
    with st.form("qr.change"):
        note = st.text_input(ctx.t("qrpage.note"))
        reasons = [r for r in issue.REVOKE_REASONS if r != "reissued"]
        reason = st.selectbox(ctx.t("qrpage.reason"), reasons,
                              format_func=lambda r: ctx.label("qr_revoked_reason", r))
        if rec.target_type == "establishment":
            st.caption(ctx.t("qrpage.closed_closes"))
        confirmed = st.checkbox(ctx.t("qrpage.confirm_revoke"), disabled=not rec.active)
        c1, c2 = st.columns(2)
        do_reissue = c1.form_submit_button(ctx.t("qrpage.reissue"), icon=":material/autorenew:")
        do_revoke = c2.form_submit_button(ctx.t("qrpage.revoke"), icon=":material/block:", disabled=not rec.active)
    try:
        if do_reissue:
            with db.transaction(ctx.engine) as conn:
                new = issue.reissue(conn, rec, user=ctx.user, note=note or None)
            st.session_state["qr.flash"] = ctx.t("qrpage.done_reissue").format(code=new.short_code, v=new.version)
            st.session_state["qr.ref.next"] = new.short_code
            st.rerun()
        if do_revoke and not confirmed:
            st.warning(ctx.t("qrpage.confirm_needed"))
        elif do_revoke:
            with db.transaction(ctx.engine) as conn:
                issue.revoke(conn, rec, reason=reason, user=ctx.user, note=note or None)
            closes = reason == "closed" and rec.target_type == "establishment"
            st.session_state["qr.flash"] = ctx.t("qrpage.done_revoke_closed" if closes else "qrpage.done_revoke"
                                                 ).format(code=rec.short_code)
            st.rerun()
    except GeomapError as exc:
        st.error(str(exc))


def _scans_section(ctx: Context) -> None:
    st.subheader(ctx.t("qrpage.scans"))
    st.caption(ctx.t("qrpage.scans_intro"))
    left, right = st.columns(2)
    days = left.selectbox(ctx.t("qrpage.scans_days"), [7, 30, 90, 365], index=1, key="qr.scans.days")
    min_scans = right.number_input(ctx.t("qrpage.alerts_min").format(days=scans.ALERT_DAYS), min_value=1,
                                   value=scans.ALERT_MIN_SCANS, step=1, key="qr.scans.min")
    found = scans.overview(ctx.engine, ctx.ward_id, int(days), min_scans=int(min_scans))
    outcome = {o: ctx.t(f"qrpage.outcome.{o}") for o in scans.OUTCOMES}
    if found["per_day"]:
        frame = pd.DataFrame(found["per_day"])
        chart = frame.pivot_table(index="day", columns="outcome", values="scans", aggfunc="sum", fill_value=0)
        chart = chart.reindex(columns=[o for o in scans.OUTCOMES if o in chart.columns]).rename(columns=outcome)
        st.metric(ctx.t("qrpage.scans_total"), f"{int(frame['scans'].sum()):,}".replace(",", "."))
        widgets.chart(chart, ctx.lang, kind="bar", x_title=ctx.t("qrpage.col.day"), y_title=ctx.t("qrpage.col.scans"),
                      series_title=ctx.t("qrpage.col.outcome"))
    else:
        st.info(ctx.t("qrpage.scans_none"))
    top, groups = st.columns(2)
    if found["establishments"]:
        top.markdown(f"**{ctx.t('qrpage.scans_top')}**")
        widgets.dataframe(where=top, data=pd.DataFrame([{
            ctx.t("qrpage.col.est_code"): r["establishment_code"] or "", ctx.t("qrpage.col.name"): r["name"],
            ctx.t("qrpage.col.group"): r["residential_group"] or "", ctx.t("qrpage.col.scans"): r["scans"]}
            for r in found["establishments"]]), hide_index=True, use_container_width=True)
    if found["groups"]:
        groups.markdown(f"**{ctx.t('qrpage.scans_groups')}**")
        widgets.dataframe(where=groups, data=pd.DataFrame([{
            ctx.t("qrpage.col.group"): r["residential_group"] or ctx.t("qrpage.no_group"),
            ctx.t("qrpage.col.scans"): r["scans"]} for r in found["groups"]]), hide_index=True,
            use_container_width=True)
    st.markdown(f"**{ctx.t('qrpage.alerts')}**")
    if not found["alerts"]:
        st.caption(ctx.t("qrpage.alerts_none"))
        return
    widgets.table(pd.DataFrame([{  # a short list, as plain HTML (readable, copyable codes)
        ctx.t("qrpage.col.code"): a["short_code"] or a["code"],
        ctx.t("qrpage.col.outcome"): outcome[a["outcome"]],
        ctx.t("qrpage.col.name"): a["name"] or ctx.t("qrpage.forged"),
        ctx.t("qrpage.col.scans"): a["scans"], ctx.t("qrpage.col.first"): a["first_day"],
        ctx.t("qrpage.col.last"): a["last_day"],
        ctx.t("qrpage.col.reports"): "; ".join(_report_place(p) for p in a["reports"])}
        for a in found["alerts"]]).set_index(ctx.t("qrpage.col.code")))


def _report_place(report: dict) -> str:
    """A report that named an alerted code: its public id and where it was made (rounded, its group)."""
    group = f", {report['residential_group']}" if report["residential_group"] else ""
    return f"{report['public_id']} ({report['lat']}, {report['lon']}{group})"


def render(ctx: Context) -> None:
    st.title(ctx.t("qrpage.title"))
    st.caption(ctx.t("qrpage.intro"))
    _summary(ctx)
    _print_section(ctx)
    _one_code(ctx)
    _scans_section(ctx)


# issuing, reissuing and revoking an establishment's or stall's code is keeping its record
PAGE = Page("qr", "Mã QR và tem", "QR codes", render, icon=":material/qr_code_2:",
            permission="edit_records", order=60)
