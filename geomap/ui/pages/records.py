"""Records page: find an establishment, edit it, its licences, inspections, location and history.

Deep link: ``/records?id=<establishment id>`` (:func:`geomap.links.record`) opens one
establishment (the data-quality page links here). Every action calls one service of
:mod:`geomap.records.edit`, which checks the role again, validates, locks and audits; this page
only reads widgets and renders.
The version an editor loaded is kept in the session, so a save after someone else's
is refused (optimistic locking) instead of overwriting it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import streamlit as st

import layers
from geomap import auth, links, status
from geomap.errors import LocalizedError
from geomap.map import view as mapview
from geomap.models import (
    BUSINESS_TYPES,
    DIGITAL_PLATFORMS,
    INSPECTION_KINDS,
    INSPECTION_RESULTS,
    LICENCE_KINDS,
    OPERATING_STATUSES,
    PAYMENT_METHODS,
)
from geomap.records import edit, rules
from geomap.ui import resources, widgets
from geomap.ui.context import Context
from geomap.ui.markdown import plain
from geomap.ui.pages import ALL_ROLES, Page

STRINGS: dict[str, tuple[str, str]] = {  # loaded by geomap.i18n on first use (i18n.CATALOGS)
    "records.title": ("Hồ sơ cơ sở kinh doanh", "Establishment records"),
    "records.search": ("Tìm theo tên, địa chỉ hoặc mã (gõ không dấu cũng được)",
                       "Search by name, address or code (diacritics optional)"),
    "records.pick": ("Cơ sở", "Establishment"),
    "records.none_found": ("Không tìm thấy cơ sở nào.", "No establishment found."),
    "records.new": ("Thêm cơ sở mới", "Add an establishment"),
    "records.create": ("Tạo cơ sở", "Create"),
    "records.created": ("Đã tạo cơ sở {code}.", "Created establishment {code}."),
    "records.tab.info": ("Thông tin", "Details"),
    "records.tab.licences": ("Giấy phép", "Licences"),
    "records.tab.inspections": ("Kiểm tra", "Inspections"),
    "records.tab.location": ("Vị trí", "Location"),
    "records.tab.history": ("Lịch sử thay đổi", "History"),
    "records.save": ("Lưu thay đổi", "Save changes"),
    "records.saved": ("Đã lưu (phiên bản {version}).", "Saved (version {version})."),
    "records.unchanged": ("Không có thay đổi nào.", "Nothing changed."),
    "records.reload": ("Tải lại bản mới nhất", "Reload the latest version"),
    "records.stale": ("Cơ sở này đã được thay đổi sau khi bạn mở (phiên bản {now}, bạn đang xem {loaded}). "
                      "Tải lại trước khi sửa.",
                      "This establishment changed after you opened it (version {now}, you have {loaded}). "
                      "Reload before editing."),
    "records.other_ward": ("Cơ sở này thuộc phường khác.", "This establishment belongs to another ward."),
    "records.close": ("Đóng cửa cơ sở", "Close the establishment"),
    "records.reopen": ("Mở lại cơ sở", "Reopen the establishment"),
    "records.reason": ("Lý do", "Reason"),
    "records.auto": ("(tự xác định theo vị trí)", "(from the location)"),
    "records.none": ("(không có)", "(none)"),
    "records.choose": ("Chọn…", "Choose…"),
    "records.lon": ("Kinh độ (WGS84)", "Longitude (WGS84)"),
    "records.lat": ("Vĩ độ (WGS84)", "Latitude (WGS84)"),
    "records.move": ("Lưu vị trí mới", "Save the new location"),
    "records.click_map": ("Bấm vào bản đồ để chọn vị trí mới.", "Click the map to pick the new location."),
    "records.no_point": ("Chưa có tọa độ.", "No coordinates yet."),
    "records.add_licence": ("Thêm giấy phép", "Add a licence"),
    "records.renew_licence": ("Gia hạn / cấp lại", "Renew"),
    "records.revoke_licence": ("Thu hồi", "Revoke"),
    "records.licence": ("Giấy phép", "Licence"),
    "records.record_inspection": ("Ghi kết quả kiểm tra", "Record an inspection"),
    "records.violation_lines": ("Lỗi vi phạm (mỗi dòng một lỗi)", "Violations (one per line)"),
    "records.severity": ("Mức độ vi phạm nặng nhất", "Worst severity"),
    "records.severity.1": ("1 — nhẹ", "1 — minor"),
    "records.severity.2": ("2 — trung bình", "2 — moderate"),
    "records.severity.3": ("3 — nghiêm trọng", "3 — serious"),
    "records.follow_up_auto": ("Để trống: tự tính theo mức độ", "Leave empty: set from the severity"),
    "records.done": ("Đã ghi.", "Recorded."),
    "records.at": ("Thời điểm", "When"),
    "records.who": ("Người thực hiện", "Who"),
    "records.action": ("Thao tác", "Action"),
    "records.changes": ("Thay đổi", "Changes"),
    "records.read_only": ("Vai trò của bạn chỉ được xem hồ sơ này.", "Your role may only view this record."),
}

_DATE_FMT = "DD/MM/YYYY"


def _show_error(exc: LocalizedError, lang: str) -> None:
    problems = getattr(exc, "problems", None)
    if problems:
        for _, vi, en in problems:
            st.error(en if lang == "en" else vi)
    else:
        st.error(exc.message(lang))


def render(ctx: Context) -> None:
    user = ctx.user
    st.title(ctx.t("records.title"))
    with ctx.engine.connect() as c:
        choices = edit.lookups(c, ctx.ward_id)
    if auth.can(user, "edit_records"):
        with st.expander(ctx.t("records.new"), icon=":material/add_business:"):
            _create_form(ctx, choices)

    linked = str(st.query_params.get(links.RECORD_PARAM) or "")
    linked_id = int(linked) if linked.isdigit() else _by_code(ctx, str(st.query_params.get(links.CODE_PARAM) or ""))
    if linked_id is not None and linked_id != st.session_state.get("records.shown"):
        # arrived by a link (data-quality page, map): show that establishment, whatever was searched before
        st.session_state["records.query"] = ""
        st.session_state["records.selected"] = linked_id
    query = st.text_input(ctx.t("records.search"), key="records.query")
    with ctx.engine.connect() as c:
        found = edit.search(c, ctx.ward_id, query or "", limit=50)
    options = [r["id"] for r in found]
    labels = {r["id"]: f"{r['code']} — {r['name']} — {r['address'] or ''}" for r in found}
    if not query and linked_id is not None and linked_id not in options:
        options.insert(0, linked_id)
        labels[linked_id] = f"#{linked_id}"
    if not options:
        st.info(ctx.t("records.none_found"))
        return
    selected = st.selectbox(ctx.t("records.pick"), options, format_func=lambda i: labels.get(i, i),
                            key="records.selected")
    if selected is not None:
        st.session_state["records.shown"] = selected
        st.query_params[links.RECORD_PARAM] = str(selected)
        _establishment(ctx, int(selected), choices)


def _by_code(ctx: Context, code: str) -> int | None:
    """The id of the ward's establishment with ``code`` (a link from the city map), or None."""
    if not code:
        return None
    with ctx.engine.connect() as c:
        found = edit.search(c, ctx.ward_id, code, limit=1)
    return found[0]["id"] if found and found[0]["code"].lower() == code.strip().lower() else None


# --- one establishment ----------------------------------------------------------------------


def _establishment(ctx: Context, establishment_id: int, choices: dict) -> None:
    lang, user = ctx.lang, ctx.user
    try:
        with ctx.engine.connect() as c:
            row = edit.get_establishment(c, establishment_id)
            shown = edit.overview(c, establishment_id)
    except LocalizedError as exc:
        st.error(exc.message(lang))
        return
    if row["ward_id"] != ctx.ward_id:
        st.warning(ctx.t("records.other_ward"))
        return
    vkey = f"records.version.{establishment_id}"
    loaded = st.session_state.setdefault(vkey, row["version"])
    st.subheader(plain(f"{row['code']} · {row['name']}"))
    layer = layers.get("establishments")
    facts = [(edit.label("operating_status", lang), ctx.label("operating_status", row["operating_status"])),
             (layer.field("licence_status").label(lang), ctx.label("licence_status", row["licence_status"])),
             (layer.field("food_safety_status").label(lang),
              ctx.label("food_safety_status", row["food_safety_status"]))]
    for column, (name, value) in zip(st.columns(3), facts, strict=True):
        column.caption(name)
        column.markdown(f"**{plain(value)}**")
    if loaded != row["version"]:
        st.warning(ctx.t("records.stale").format(now=row["version"], loaded=loaded))
        if st.button(ctx.t("records.reload"), key=f"records.reload.{establishment_id}", icon=":material/refresh:"):
            st.session_state[vkey] = row["version"]
            st.rerun()

    tabs = [("info", ctx.t("records.tab.info")), ("licences", ctx.t("records.tab.licences")),
            ("inspections", ctx.t("records.tab.inspections")), ("location", ctx.t("records.tab.location"))]
    if auth.can(user, "view_history"):
        tabs.append(("history", ctx.t("records.tab.history")))
    containers = dict(zip([k for k, _ in tabs], st.tabs([t for _, t in tabs]), strict=True))
    with containers["info"]:
        if auth.can(user, "edit_records"):
            _edit_form(ctx, row, loaded, choices)
            _close_reopen(ctx, row, loaded)
        else:
            st.caption(ctx.t("records.read_only"))
            _read_only(ctx, shown)
    with containers["licences"]:
        _licences(ctx, row)
    with containers["inspections"]:
        _inspections(ctx, row)
    with containers["location"]:
        _location(ctx, row, loaded)
    if "history" in containers:
        with containers["history"]:
            _history(ctx, establishment_id)


def _read_only(ctx: Context, shown: dict) -> None:
    layer = layers.get("establishments")
    visible = auth.redact_record(shown, layer, ctx.user)
    rows = [(f.label(ctx.lang), _display(ctx, f.codes, visible.get(f.name)))
            for f in auth.visible_fields(layer, ctx.user) if f.name in visible]
    widgets.table(pd.DataFrame(rows, columns=["", " "]).set_index(""))


def _display(ctx: Context, codes: str | None, value: Any) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(ctx.label(codes, v) for v in value)
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    return ctx.label(codes, value) if codes else str(value)


def _inputs(ctx: Context, prefix: str, row: dict, choices: dict) -> dict[str, Any]:
    """The establishment fields as widgets; personal ones only for roles that may see them."""
    lang, lab = ctx.lang, edit.label
    out: dict[str, Any] = {}
    left, right = st.columns(2)
    out["name"] = left.text_input(lab("name", lang) + " *", row.get("name") or "", key=f"{prefix}.name")
    out["code"] = right.text_input(lab("code", lang), row.get("code") or "", key=f"{prefix}.code")
    out["business_type"] = left.selectbox(
        lab("business_type", lang), BUSINESS_TYPES, key=f"{prefix}.business_type",
        index=BUSINESS_TYPES.index(row["business_type"]) if row.get("business_type") in BUSINESS_TYPES else 0,
        format_func=lambda v: ctx.label("business_type", v))
    industries = {i["vsic_code"]: f"{i['vsic_code']} — {i['name_en' if lang == 'en' else 'name_vi']}"
                  for i in choices["industries"]}
    codes = list(industries)
    out["vsic_code"] = right.selectbox(lab("vsic_code", lang), codes, key=f"{prefix}.vsic_code",
                                       index=codes.index(row["vsic_code"]) if row.get("vsic_code") in codes else 0,
                                       format_func=industries.get)
    out["house_number"] = left.text_input(lab("house_number", lang), row.get("house_number") or "",
                                          key=f"{prefix}.house_number")
    out["street"] = right.text_input(lab("street", lang), row.get("street") or "", key=f"{prefix}.street")
    out["address"] = st.text_input(lab("address", lang), row.get("address") or "", key=f"{prefix}.address")
    groups = [None, *(g["id"] for g in choices["groups"])]
    group_names = {g["id"]: g["name"] for g in choices["groups"]}
    out["residential_group_id"] = left.selectbox(
        lab("residential_group_id", lang), groups, key=f"{prefix}.group",
        index=groups.index(row.get("residential_group_id")) if row.get("residential_group_id") in groups else 0,
        format_func=lambda g: group_names.get(g, ctx.t("records.auto")))
    markets = [None, *(m["id"] for m in choices["markets"])]
    market_names = {m["id"]: m["name"] for m in choices["markets"]}
    out["market_id"] = right.selectbox(
        lab("market_id", lang), markets, key=f"{prefix}.market",
        index=markets.index(row.get("market_id")) if row.get("market_id") in markets else 0,
        format_func=lambda m: market_names.get(m, ctx.t("records.none")))
    out["tax_code"] = left.text_input(lab("tax_code", lang), row.get("tax_code") or "", key=f"{prefix}.tax_code")
    out["opening_hours"] = right.text_input(lab("opening_hours", lang), row.get("opening_hours") or "",
                                            key=f"{prefix}.opening_hours", placeholder="06:00-22:00")
    out["digital_payment"] = left.multiselect(lab("digital_payment", lang), PAYMENT_METHODS,
                                              default=[m for m in row.get("digital_payment") or []
                                                       if m in PAYMENT_METHODS],
                                              format_func=lambda v: ctx.label("payment", v),
                                              placeholder=ctx.t("records.choose"), key=f"{prefix}.payment")
    out["digital_platforms"] = right.multiselect(lab("digital_platforms", lang), DIGITAL_PLATFORMS,
                                                 default=[p for p in row.get("digital_platforms") or []
                                                          if p in DIGITAL_PLATFORMS],
                                                 format_func=lambda v: ctx.label("platform", v),
                                                 placeholder=ctx.t("records.choose"), key=f"{prefix}.platforms")
    out["uses_e_invoice"] = left.checkbox(lab("uses_e_invoice", lang), value=bool(row.get("uses_e_invoice")),
                                          key=f"{prefix}.e_invoice")
    out["uses_sales_software"] = right.checkbox(lab("uses_sales_software", lang),
                                                value=bool(row.get("uses_sales_software")), key=f"{prefix}.software")
    out["employees"] = right.number_input(lab("employees", lang), min_value=0, max_value=100_000, step=1,
                                          value=row.get("employees"), key=f"{prefix}.employees")
    out["opened_on"] = left.date_input(lab("opened_on", lang), value=row.get("opened_on"),
                                       min_value=rules.EARLIEST_DATE, max_value=rules.today(),
                                       format=_DATE_FMT, key=f"{prefix}.opened_on")
    if auth.can(ctx.user, "view_personal"):
        out["owner_name"] = right.text_input(lab("owner_name", lang), row.get("owner_name") or "",
                                             key=f"{prefix}.owner_name")
        out["owner_id_number"] = left.text_input(lab("owner_id_number", lang), row.get("owner_id_number") or "",
                                                 key=f"{prefix}.owner_id_number")
        out["phone"] = right.text_input(lab("phone", lang), row.get("phone") or "", key=f"{prefix}.phone")
        out["email"] = left.text_input(lab("email", lang), row.get("email") or "", key=f"{prefix}.email")
    return {k: (v if v != "" else None) for k, v in out.items()}


def _create_form(ctx: Context, choices: dict) -> None:
    with st.form("records.create", clear_on_submit=False):
        values = _inputs(ctx, "records.create", {}, choices)
        left, right = st.columns(2)
        lon = left.number_input(ctx.t("records.lon"), value=None, format="%.6f", key="records.create.lon")
        lat = right.number_input(ctx.t("records.lat"), value=None, format="%.6f", key="records.create.lat")
        submitted = st.form_submit_button(ctx.t("records.create"), type="primary")
    if submitted:
        try:
            made = edit.create_establishment(ctx.engine, ctx.ward_id, values, lon=lon, lat=lat, user=ctx.user)
        except LocalizedError as exc:
            _show_error(exc, ctx.lang)
            return
        st.success(ctx.t("records.created").format(code=made["code"]))
        st.query_params[links.RECORD_PARAM] = str(made["id"])


def _edit_form(ctx: Context, row: dict, loaded: int, choices: dict) -> None:
    prefix = f"records.edit.{row['id']}.v{loaded}"  # new widgets (fresh defaults) after each save / reload
    with st.form(prefix):
        values = _inputs(ctx, prefix, row, choices)
        values["operating_status"] = st.selectbox(
            edit.label("operating_status", ctx.lang), OPERATING_STATUSES,
            index=OPERATING_STATUSES.index(row["operating_status"]), key=f"{prefix}.status",
            format_func=lambda v: ctx.label("operating_status", v))
        submitted = st.form_submit_button(ctx.t("records.save"), type="primary", icon=":material/save:")
    if submitted:
        if values.get("residential_group_id") is None:
            values.pop("residential_group_id")  # "from the location": keep what the point says
        _save(ctx, row["id"], lambda: edit.update_establishment(
            ctx.engine, row["id"], values, expected_version=loaded, user=ctx.user), row["version"])


def _save(ctx: Context, establishment_id: int, action, old_version: int) -> None:
    vkey = f"records.version.{establishment_id}"
    try:
        version = action()
    except edit.EditConflict as exc:
        st.error(exc.message(ctx.lang))
        # this button exists only in the run that tried to save: its action must be a callback (run before the
        # next run), since the next run does not save again and would never reach an "if st.button(...)" here
        st.button(ctx.t("records.reload"), key=f"records.conflict_reload.{establishment_id}", icon=":material/refresh:",
                  on_click=st.session_state.pop, args=(vkey, None))
        return
    except LocalizedError as exc:
        _show_error(exc, ctx.lang)
        return
    if version == old_version:
        st.info(ctx.t("records.unchanged"))
        return
    st.session_state[vkey] = version
    st.session_state["records.flash"] = ctx.t("records.saved").format(version=version)
    st.rerun()


def _close_reopen(ctx: Context, row: dict, loaded: int) -> None:
    flash = st.session_state.pop("records.flash", None)
    if flash:
        st.success(flash)
    closing = row["operating_status"] != "closed"
    title = ctx.t("records.close") if closing else ctx.t("records.reopen")
    with st.expander(title, icon=":material/store:"):
        with st.form(f"records.close.{row['id']}.v{loaded}"):
            day = st.date_input(edit.label("closed_on", ctx.lang), value=rules.today(), format=_DATE_FMT,
                                min_value=rules.EARLIEST_DATE, max_value=rules.today()) if closing else None
            reason = st.text_input(ctx.t("records.reason"))
            go = st.form_submit_button(title)
        if go:
            if closing:
                _save(ctx, row["id"], lambda: edit.close_establishment(
                    ctx.engine, row["id"], expected_version=loaded, closed_on=day, reason=reason, user=ctx.user),
                    row["version"])
            else:
                _save(ctx, row["id"], lambda: edit.reopen_establishment(
                    ctx.engine, row["id"], expected_version=loaded, reason=reason, user=ctx.user), row["version"])


# --- licences and inspections -------------------------------------------------------------------


def _licences(ctx: Context, row: dict) -> None:
    lang = ctx.lang
    with ctx.engine.connect() as c:
        items = edit.licences_of(c, row["id"])
    if items:
        frame = pd.DataFrame([{
            edit.label("kind", lang): ctx.label("licence_kind", i["kind"]),
            edit.label("number", lang): i["number"], edit.label("issuer", lang): i["issuer"],
            edit.label("issued_on", lang): _display(ctx, None, i["issued_on"]),
            edit.label("expires_on", lang): _display(ctx, None, i["expires_on"]),
            edit.label("revoked_on", lang): _display(ctx, None, i["revoked_on"]),
            edit.label("notes", lang): i["note"]} for i in items])
        widgets.dataframe(frame, hide_index=True, width="stretch")
    else:
        st.caption(ctx.t("records.none"))
    if not auth.can(ctx.user, "edit_records"):
        return
    add, renew, revoke = st.tabs([ctx.t("records.add_licence"), ctx.t("records.renew_licence"),
                                  ctx.t("records.revoke_licence")])
    with add, st.form(f"records.licence.add.{row['id']}", clear_on_submit=True):
        kind = st.selectbox(edit.label("kind", lang), LICENCE_KINDS,
                            format_func=lambda v: ctx.label("licence_kind", v))
        number = st.text_input(edit.label("number", lang))
        issuer = st.text_input(edit.label("issuer", lang))
        issued = st.date_input(edit.label("issued_on", lang), value=rules.today(), format=_DATE_FMT,
                               min_value=rules.EARLIEST_DATE, max_value=rules.today())
        expires = st.date_input(edit.label("expires_on", lang), value=None, format=_DATE_FMT,
                                min_value=rules.EARLIEST_DATE, max_value=dt.date(2100, 1, 1))
        if st.form_submit_button(ctx.t("records.add_licence")):
            _act(ctx, lambda: edit.add_licence(ctx.engine, row["id"], kind, issued, expires_on=expires,
                                                  number=number, issuer=issuer, user=ctx.user))
    live = [i for i in items if i["revoked_on"] is None]
    names = {i["id"]: f"{ctx.label('licence_kind', i['kind'])} {i['number'] or ''} "
                      f"({_display(ctx, None, i['issued_on'])})" for i in items}
    with renew:
        if live:
            with st.form(f"records.licence.renew.{row['id']}", clear_on_submit=True):
                which = st.selectbox(ctx.t("records.licence"), [i["id"] for i in live], format_func=names.get)
                number = st.text_input(edit.label("number", lang))
                issued = st.date_input(edit.label("issued_on", lang), value=rules.today(), format=_DATE_FMT,
                                       min_value=rules.EARLIEST_DATE, max_value=rules.today())
                expires = st.date_input(edit.label("expires_on", lang), value=None, format=_DATE_FMT,
                                        min_value=rules.EARLIEST_DATE, max_value=dt.date(2100, 1, 1))
                if st.form_submit_button(ctx.t("records.renew_licence")):
                    _act(ctx, lambda: edit.renew_licence(ctx.engine, which, issued, expires_on=expires,
                                                            number=number, user=ctx.user))
    with revoke:
        if live:
            with st.form(f"records.licence.revoke.{row['id']}", clear_on_submit=True):
                which = st.selectbox(ctx.t("records.licence"), [i["id"] for i in live], format_func=names.get)
                day = st.date_input(edit.label("revoked_on", lang), value=rules.today(), format=_DATE_FMT,
                                    min_value=rules.EARLIEST_DATE, max_value=rules.today())
                reason = st.text_input(ctx.t("records.reason"))
                if st.form_submit_button(ctx.t("records.revoke_licence")):
                    _act(ctx, lambda: edit.revoke_licence(ctx.engine, which, day, reason=reason, user=ctx.user))


def _act(ctx: Context, action) -> None:
    try:
        action()
    except LocalizedError as exc:
        _show_error(exc, ctx.lang)
        return
    st.session_state["records.flash"] = ctx.t("records.done")
    st.rerun()


def _inspections(ctx: Context, row: dict) -> None:
    lang = ctx.lang
    with ctx.engine.connect() as c:
        items = edit.inspections_of(c, row["id"])
    if items:
        frame = pd.DataFrame([{
            edit.label("inspected_on", lang): _display(ctx, None, i["inspected_on"]),
            edit.label("kind", lang): ctx.label("inspection_kind", i["kind"]),
            edit.label("result", lang): ctx.label("inspection_result", i["result"]),
            edit.label("violations", lang): "; ".join(v.get("text") or v.get("code") or ""
                                                         for v in i["violations"] or []),
            edit.label("follow_up_due", lang): _display(ctx, None, i["follow_up_due"]),
            ctx.t("records.who"): i["inspector_name"], edit.label("notes", lang): i["notes"]} for i in items])
        widgets.dataframe(frame, hide_index=True, width="stretch")
    else:
        st.caption(ctx.t("records.none"))
    if not auth.can(ctx.user, "record_inspection"):
        return
    st.markdown(f"**{ctx.t('records.record_inspection')}**")
    with st.form(f"records.inspection.{row['id']}", clear_on_submit=True):
        left, right = st.columns(2)
        day = left.date_input(edit.label("inspected_on", lang), value=rules.today(), format=_DATE_FMT,
                              min_value=rules.EARLIEST_DATE, max_value=rules.today())
        kind = right.selectbox(edit.label("kind", lang), INSPECTION_KINDS,
                               format_func=lambda v: ctx.label("inspection_kind", v))
        result = left.selectbox(edit.label("result", lang), INSPECTION_RESULTS,
                                format_func=lambda v: ctx.label("inspection_result", v))
        severity = right.selectbox(ctx.t("records.severity"), (1, 2, 3),
                                   format_func=lambda s: ctx.t(f"records.severity.{s}"))
        lines = st.text_area(ctx.t("records.violation_lines"))
        notes = st.text_area(edit.label("notes", lang))
        due = st.date_input(edit.label("follow_up_due", lang), value=None, format=_DATE_FMT,
                            min_value=rules.EARLIEST_DATE, help=ctx.t("records.follow_up_auto"))
        if st.form_submit_button(ctx.t("records.record_inspection"), type="primary"):
            violations = [{"text": line, "severity": severity} for line in (lines or "").splitlines() if line.strip()]
            _act(ctx, lambda: edit.record_inspection(ctx.engine, row["id"], day, kind, result,
                                                        violations=violations, notes=notes, follow_up_due=due,
                                                        user=ctx.user))


# --- location and history ---------------------------------------------------------------------


def _location(ctx: Context, row: dict, loaded: int) -> None:
    if row["lon"] is None:
        st.caption(ctx.t("records.no_point"))
    else:
        st.caption(f"{row['lon']:.6f}, {row['lat']:.6f}")
    if not auth.can(ctx.user, "edit_records"):
        return
    import folium
    from streamlit_folium import st_folium

    center = [row["lat"], row["lon"]] if row["lon"] is not None else None
    if center is None:
        from geomap.wards import data as ward_data

        minx, miny, maxx, maxy = ward_data.ward_bounds(ctx.engine, ctx.ward_id)
        center = [(miny + maxy) / 2, (minx + maxx) / 2]
    fmap = mapview.base_map(None, location=tuple(center), zoom_start=17, assets_url=resources.map_assets_url())
    if row["lon"] is not None:
        folium.Marker(center, tooltip=row["name"]).add_to(fmap)
    st.caption(ctx.t("records.click_map"))
    clicked = st_folium(fmap, height=320, returned_objects=["last_clicked"], key=f"records.map.{row['id']}")
    picked = (clicked or {}).get("last_clicked") or {}
    with st.form(f"records.move.{row['id']}.v{loaded}"):
        left, right = st.columns(2)
        lon = left.number_input(ctx.t("records.lon"), value=picked.get("lng", row["lon"]), format="%.6f")
        lat = right.number_input(ctx.t("records.lat"), value=picked.get("lat", row["lat"]), format="%.6f")
        if st.form_submit_button(ctx.t("records.move"), icon=":material/pin_drop:"):
            _save(ctx, row["id"], lambda: edit.move_point(ctx.engine, row["id"], lon, lat, expected_version=loaded,
                                                             user=ctx.user), row["version"])


def _history(ctx: Context, establishment_id: int) -> None:
    with ctx.engine.connect() as c:
        entries = edit.history(c, establishment_id, ctx.user)
    rows = []
    for e in entries:
        before, after = e.get("before") or {}, e.get("after") or {}
        keys = [k for k in after if k != "version" and before.get(k) != after.get(k)]
        changes = "; ".join(f"{edit.label(k, ctx.lang)}: {_short(before.get(k))} → {_short(after.get(k))}"
                            for k in keys)
        rows.append({ctx.t("records.at"): e["at"].astimezone(status.ZONE).strftime("%d/%m/%Y %H:%M"),
                     ctx.t("records.who"): e["username"],
                     ctx.t("records.action"): ctx.label("audit_action", e["action"]),
                     ctx.t("records.changes"): changes + (f" ({e['note']})" if e.get("note") else "")})
    widgets.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def _short(value: Any) -> str:
    text = "∅" if value in (None, "", []) else str(value)
    return text if len(text) <= 60 else text[:57] + "…"


PAGE = Page(
    key=links.RECORDS_PAGE, title_vi="Hồ sơ cơ sở", title_en="Records", render=render, icon=":material/edit_note:",
    roles=(*ALL_ROLES, "city"), order=30,  # city: read only (the city map's links open records here)
)
