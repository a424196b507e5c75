"""Keeping an establishment's records: edit services with validation, locking and audit.

The services the records page (and the on-site inspection page, the importer's scope check)
call: reading one establishment for its form (with its derived statuses, licences,
inspections, history) and every change to it. The date rules shared with the importer are
:mod:`geomap.records.rules`; the SQL is :mod:`geomap.records.data`.

Every service here is one all-or-nothing unit (:func:`geomap.db.transaction`: a
:func:`geomap.db.transaction` for an Engine, a savepoint inside a caller's transaction),
checks the acting user's permission (:mod:`geomap.auth`; ``user=None`` is the command
line), and writes :func:`geomap.audit.record` with before and after in the same
transaction, so the log and the data never disagree.

Two people editing the same establishment: every change to the establishment row names
the ``version`` the editor loaded; the row is locked (``SELECT ... FOR UPDATE``) and a
different version raises :class:`EditConflict` (a :class:`~geomap.errors.ConcurrentEdit`)
naming who saved first. Nothing is overwritten silently. The write itself is
``UPDATE ... WHERE version = :expected`` (:func:`geomap.records.data.write_establishment`), the
same condition the importer's bulk update uses. Licences and inspections are rows
of their own and do not conflict with an edit of the establishment.

Audit entries about an establishment's licences and inspections are filed under the
establishment (``entity_type="establishment"``), so its history is one query.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy.engine import Connection

from geomap import audit, auth, db, profiles, status
from geomap.errors import ConcurrentEdit, LocalizedError, UnknownWard
from geomap.models import (
    BUSINESS_TYPES,
    DIGITAL_PLATFORMS,
    INSPECTION_KINDS,
    INSPECTION_MADE_VIA,
    INSPECTION_RESULTS,
    LICENCE_KINDS,
    OPERATING_STATUSES,
    PAYMENT_METHODS,
)
from geomap.records import data
from geomap.records.rules import (
    CERTIFICATE_YEARS,
    DEFAULT_SEVERITY,
    EDITABLE,
    FOLLOW_UP_DAYS,
    MAX_FOLLOW_UP_DAYS,
    PROPOSED,
    SURVEYED,
    add_years,
    date_problem,
    default_follow_up,
    expiry_problems,
    follow_up_problem,
    today,
)
from geomap.text import nfc, search_key
from geomap.users import User
from geomap.wards import data as ward_data

_TEXT = ("code", "name", "house_number", "street", "address", "tax_code", "opening_hours", "owner_name",
         "owner_id_number", "phone", "email")
_MAX_LEN = {"code": 32, "name": 300, "house_number": 50, "street": 200, "address": 500, "tax_code": 20,
            "opening_hours": 100, "owner_name": 200, "owner_id_number": 20, "phone": 20, "email": 200}
_LABELS = {
    "code": ("Mã cơ sở", "Establishment code"), "name": ("Tên cơ sở", "Name"),
    "business_type": ("Loại hình", "Business type"), "vsic_code": ("Mã ngành VSIC", "VSIC code"),
    "operating_status": ("Tình trạng hoạt động", "Operating status"), "house_number": ("Số nhà", "House number"),
    "street": ("Đường", "Street"), "address": ("Địa chỉ", "Address"),
    "residential_group_id": ("Tổ dân phố", "Residential group"), "market_id": ("Chợ", "Market"),
    "tax_code": ("Mã số thuế", "Tax code"), "digital_payment": ("Thanh toán số", "Digital payment"),
    "digital_platforms": ("Nền tảng số", "Digital platforms"),
    "uses_e_invoice": ("Dùng hóa đơn điện tử", "Issues e-invoices"),
    "uses_sales_software": ("Dùng phần mềm bán hàng/quản lý", "Uses sales or management software"),
    "opening_hours": ("Giờ mở cửa", "Opening hours"), "employees": ("Số lao động", "Employees"),
    "opened_on": ("Ngày bắt đầu hoạt động", "Opened on"), "owner_name": ("Chủ cơ sở", "Owner"),
    "owner_id_number": ("Số CCCD", "ID number"), "phone": ("Điện thoại", "Phone"), "email": ("Thư điện tử", "E-mail"),
    "point": ("Vị trí", "Location"), "closed_on": ("Ngày đóng cửa", "Closed on"),
    "kind": ("Loại", "Kind"), "number": ("Số", "Number"), "issuer": ("Nơi cấp", "Issuer"),
    "issued_on": ("Ngày cấp", "Issued on"), "expires_on": ("Ngày hết hạn", "Expires on"),
    "revoked_on": ("Ngày thu hồi", "Revoked on"), "inspected_on": ("Ngày kiểm tra", "Inspected on"),
    "result": ("Kết quả", "Result"), "violations": ("Lỗi vi phạm", "Violations"), "notes": ("Ghi chú", "Notes"),
    "follow_up_due": ("Hạn tái kiểm tra", "Follow-up due"),
    "made_via": ("Hình thức ghi", "Recorded via"),
}

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")
_TAX = re.compile(r"^\d{10}(-\d{3})?$|^\d{13}$")
_ID_NUMBER = re.compile(r"^\d{9}$|^\d{12}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


# --- errors ------------------------------------------------------------------------------


class ValidationError(LocalizedError):
    """One or more inputs are wrong; ``problems`` lists (field, vi, en) for the form."""

    both_in_str = True

    def __init__(self, problems: Sequence[tuple[str, str, str]]):
        self.problems = list(problems)
        super().__init__("; ".join(p[1] for p in problems), "; ".join(p[2] for p in problems), problems[0][0])


class NotFound(LocalizedError):
    """The record does not exist (any more)."""

    both_in_str = True


class EditConflict(LocalizedError, ConcurrentEdit):
    """Someone saved the establishment after this editor loaded it."""

    both_in_str = True


def label(field: str, lang: str = "vi") -> str:
    """The form label of a field, for messages and forms."""
    vi, en = _LABELS.get(field, (field, field))
    return en if lang == "en" else vi


class _Problems:
    def __init__(self) -> None:
        self.items: list[tuple[str, str, str]] = []

    def add(self, field: str, vi: str, en: str) -> None:
        lv, le = _LABELS.get(field, (field, field))
        self.items.append((field, f"{lv}: {vi}", f"{le}: {en}"))

    def raise_any(self) -> None:
        if self.items:
            raise ValidationError(self.items)


# --- cleaning values -----------------------------------------------------------------------


def _clean_text(value: Any, field: str, problems: _Problems, multiline: bool = False) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = nfc(str(value))
    if not multiline:
        text = " ".join(text.split())
    text = _CONTROL.sub("", text)
    if not text:
        return None
    limit = _MAX_LEN.get(field)
    if limit and len(text) > limit:
        problems.add(field, f"dài quá {limit} ký tự", f"longer than {limit} characters")
    return text


def _clean_date(value: Any, field: str, problems: _Problems, *, not_future: bool = True) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        value = value.date()
    if not isinstance(value, dt.date):
        try:
            value = dt.date.fromisoformat(str(value).strip())
        except ValueError:
            problems.add(field, f"'{value}' không phải ngày hợp lệ (YYYY-MM-DD)",
                         f"'{value}' is not a date (YYYY-MM-DD)")
            return None
    problem = date_problem(value, today(), not_future=not_future)
    if problem == "too_old":
        problems.add(field, f"ngày {value:%d/%m/%Y} quá xa trong quá khứ", f"{value} is implausibly old")
    elif problem == "future":
        problems.add(field, f"ngày {value:%d/%m/%Y} ở tương lai", f"{value} is in the future")
    return value


def _clean_phone(value: str | None, problems: _Problems) -> str | None:
    if value is None:
        return None
    digits = re.sub(r"[\s.()-]", "", value)
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) in (11, 12):
        digits = "0" + digits[2:]
    if not re.fullmatch(r"0\d{9,10}", digits):
        problems.add("phone", f"'{value}' không phải số điện thoại Việt Nam (10–11 số, bắt đầu bằng 0)",
                     f"'{value}' is not a Vietnamese phone number (10-11 digits starting with 0)")
        return value
    return digits


def _clean_establishment(conn: Connection, values: Mapping[str, Any], ward_id: int,
                         establishment_id: int | None) -> dict[str, Any]:
    """Validated, normalised values of the EDITABLE fields present in ``values``."""
    unknown = set(values) - set(EDITABLE)
    if unknown:
        raise ValidationError([(f, f"Trường '{f}' không sửa được ở đây", f"Field '{f}' cannot be edited here")
                               for f in sorted(unknown)])
    p = _Problems()
    out: dict[str, Any] = {}
    for field in EDITABLE:
        if field not in values:
            continue
        value = values[field]
        if field in _TEXT:
            value = _clean_text(value, field, p)
        out[field] = value

    if "name" in out and not out["name"]:
        p.add("name", "không được để trống", "must not be empty")
    if out.get("code") is not None:
        if not _CODE.match(out["code"]):
            p.add("code", "chỉ gồm chữ không dấu, số và . _ / -", "only letters, digits and . _ / -")
        elif data.code_taken(conn, out["code"], establishment_id):
            p.add("code", f"mã '{out['code']}' đã được dùng cho cơ sở khác", f"'{out['code']}' is already used")
    elif "code" in out and establishment_id is not None:
        p.add("code", "không được để trống", "must not be empty")
    if "business_type" in out and out["business_type"] not in BUSINESS_TYPES:
        p.add("business_type", f"'{out['business_type']}' không hợp lệ", f"'{out['business_type']}' is not valid")
    if "operating_status" in out and out["operating_status"] not in OPERATING_STATUSES:
        p.add("operating_status", f"'{out['operating_status']}' không hợp lệ",
              f"'{out['operating_status']}' is not valid")
    if "vsic_code" in out:
        out["vsic_code"] = nfc(str(out["vsic_code"] or "")) or None
        if not out["vsic_code"] or not data.is_vsic_code(conn, out["vsic_code"]):
            p.add("vsic_code", f"mã ngành '{out['vsic_code']}' không có trong danh mục VSIC 2018",
                  f"'{out['vsic_code']}' is not a VSIC 2018 code")
    for field in ("residential_group_id", "market_id"):
        if out.get(field) is not None:
            if data.ward_of(conn, field, out[field]) != ward_id:
                p.add(field, "không thuộc phường này", "is not in this ward")
    if out.get("tax_code") is not None and not _TAX.match(out["tax_code"]):
        p.add("tax_code", f"'{out['tax_code']}' phải có 10 số (hoặc 10 số-3 số, 13 số)",
              f"'{out['tax_code']}' must be 10 digits (or 10-3, 13 digits)")
    if "digital_payment" in out:
        methods = list(dict.fromkeys(out["digital_payment"] or []))
        bad = [m for m in methods if m not in PAYMENT_METHODS]
        if bad:
            p.add("digital_payment", f"không rõ: {', '.join(map(str, bad))}", f"unknown: {', '.join(map(str, bad))}")
        out["digital_payment"] = methods
    if "digital_platforms" in out:
        platforms = list(dict.fromkeys(out["digital_platforms"] or []))
        bad = [m for m in platforms if m not in DIGITAL_PLATFORMS]
        if bad:
            p.add("digital_platforms", f"không rõ: {', '.join(map(str, bad))}",
                  f"unknown: {', '.join(map(str, bad))}")
        out["digital_platforms"] = platforms
    for flag in ("uses_e_invoice", "uses_sales_software"):
        if flag in out:
            if out[flag] is None or not isinstance(out[flag], bool):
                p.add(flag, "phải là Có hoặc Không", "must be yes or no")
            else:
                out[flag] = bool(out[flag])
    if out.get("employees") is not None:
        try:
            out["employees"] = int(out["employees"])
            if not 0 <= out["employees"] <= 100_000:
                raise ValueError
        except (TypeError, ValueError):
            p.add("employees", f"'{out['employees']}' phải là số nguyên từ 0 đến 100000",
                  f"'{out['employees']}' must be a whole number 0-100000")
    if "opened_on" in out:
        out["opened_on"] = _clean_date(out["opened_on"], "opened_on", p)
    if out.get("owner_id_number") is not None:
        out["owner_id_number"] = out["owner_id_number"].replace(" ", "")
        if not _ID_NUMBER.match(out["owner_id_number"]):
            p.add("owner_id_number", "CCCD có 12 số (CMND cũ 9 số)", "the citizen ID has 12 digits (old ID: 9)")
    if "phone" in out:
        out["phone"] = _clean_phone(out["phone"], p)
    if out.get("email") is not None:
        out["email"] = out["email"].lower()
        if not _EMAIL.match(out["email"]):
            p.add("email", f"'{out['email']}' không phải địa chỉ thư điện tử", f"'{out['email']}' is not an e-mail")
    p.raise_any()
    return out


def _point_problems(conn: Connection, ward_id: int, lon: Any, lat: Any) -> tuple[float, float]:
    p = _Problems()
    try:
        lon_f, lat_f = float(lon), float(lat)
        if not (math.isfinite(lon_f) and math.isfinite(lat_f)):
            raise ValueError
    except (TypeError, ValueError):
        p.add("point", f"kinh độ/vĩ độ '{lon}, {lat}' không phải số", f"lon/lat '{lon}, {lat}' are not numbers")
        p.raise_any()
    row = data.point_in_ward(conn, ward_id, lon_f, lat_f)
    if not row["inside"]:
        if row["swapped"]:
            p.add("point", "kinh độ và vĩ độ bị đảo ngược (kinh độ ~108, vĩ độ ~16)",
                  "longitude and latitude are swapped (longitude ~108, latitude ~16)")
        else:
            dist = row["dist_m"]
            where = f"cách ranh giới {dist:,.0f} m" if dist is not None and dist < 1e6 else "rất xa"
            where_en = f"{dist:,.0f} m outside the boundary" if dist is not None and dist < 1e6 else "far away"
            p.add("point", f"điểm ({lon_f:.6f}, {lat_f:.6f}) nằm ngoài phường {row['name']}, {where}",
                  f"point ({lon_f:.6f}, {lat_f:.6f}) is outside ward {row['name']}, {where_en}")
    p.raise_any()
    return lon_f, lat_f


def _compose_address(values: Mapping[str, Any]) -> str | None:
    parts = [values.get("house_number"), values.get("street")]
    return ", ".join(p for p in parts if p) or None


# --- reading -------------------------------------------------------------------------------

def get_establishment(bind: db.Bind, establishment_id: int) -> dict[str, Any]:
    """The establishment row (with lon/lat, version) and its derived statuses."""
    with db.read(bind) as conn:
        row = data.establishment(conn, establishment_id)
        if row is None:
            raise NotFound(f"Không có cơ sở số {establishment_id}.",
                           f"There is no establishment {establishment_id}.")
        return {**row, **_statuses(conn, establishment_id)}


def statuses(bind: db.Bind, ids: Iterable[int]) -> dict[int, dict[str, str]]:
    """Establishment id -> its derived licence and food-safety statuses, in one query (absent ids left out)."""
    ids = sorted({int(i) for i in ids if i is not None})
    if not ids:
        return {}
    frame = status.with_statuses(data.status_inputs(bind, ids))
    return {int(i): {"licence_status": str(lic), "food_safety_status": str(fs)} for i, lic, fs in
            zip(frame["id"], frame["licence_status"], frame["food_safety_status"], strict=True)}


def _statuses(bind: db.Bind, establishment_id: int) -> dict[str, str]:
    """:func:`statuses` of one establishment ({} when there is none)."""
    return statuses(bind, (establishment_id,)).get(int(establishment_id), {})


def overview(bind: db.Bind, establishment_id: int) -> dict[str, Any]:
    """The establishment as the map shows it (``establishment_overview`` plus derived statuses).

    Pass it through :func:`geomap.auth.redact_record` before showing it to a user.
    """
    record = data.overview(bind, establishment_id)
    if record is None:
        raise NotFound(f"Không có cơ sở số {establishment_id}.", f"There is no establishment {establishment_id}.")
    record["licence_status"] = status.licence_status_of(record)
    record["food_safety_status"] = status.food_safety_status_of(record)
    return record


def lookups(bind: db.Bind, ward_id: int) -> dict[str, list[dict[str, Any]]]:
    """The choices an edit form offers: industries, and the ward's residential groups and markets."""
    return data.lookups(bind, ward_id)


def search(bind: db.Bind, ward_id: int, query: str, limit: int = 50) -> list[dict[str, Any]]:
    """Establishments of the ward whose name, address or code contains ``query`` ("pho" finds "Phở")."""
    folded = search_key(query)
    rows = data.search(bind, ward_id, folded, limit * 4)

    def rank(row: dict[str, Any]) -> tuple[int, int, int]:
        name = search_key(row["name"])
        words = name.split()
        return (row["code"].lower() != folded, not (folded in words or name.startswith(folded)), folded not in name)

    return sorted(rows, key=rank)[:limit]  # exact code, then a name word, then the name, then the address


def licences_of(bind: db.Bind, establishment_id: int) -> list[dict[str, Any]]:
    """Every licence of an establishment, newest first by kind."""
    return data.licences_of(bind, establishment_id)


def inspections_of(bind: db.Bind, establishment_id: int) -> list[dict[str, Any]]:
    """Every inspection of an establishment, newest first."""
    return data.inspections_of(bind, establishment_id)


def history(bind: db.Bind, establishment_id: int, user: User | None) -> list[dict[str, Any]]:
    """The establishment's change history as ``user`` may see it (personal values hidden without the right)."""
    auth.require(user, "view_history")
    with db.read(bind) as conn:
        return auth.redact_history(audit.history(conn, "establishment", establishment_id), user)


# --- locking -------------------------------------------------------------------------------


def _lock(conn: Connection, establishment_id: int, expected_version: int | None, user: User | None) -> dict[str, Any]:
    """Lock the row and check the version the editor loaded is still the current one."""
    row = data.lock_establishment(conn, establishment_id)
    if row is None:
        raise NotFound(f"Không có cơ sở số {establishment_id} (có thể đã bị xóa).",
                       f"There is no establishment {establishment_id} (it may have been deleted).")
    check_scope(user, row["ward_id"])
    if expected_version is None:
        raise ValidationError([("version", "Thiếu phiên bản bản ghi đã tải; tải lại cơ sở rồi sửa.",
                                "The loaded version is missing; reload the establishment and edit again.")])
    if int(expected_version) != row["version"]:
        last = data.last_change(conn, establishment_id)
        who = last["username"] if last else "?"
        when = last["at"].astimezone(status.ZONE).strftime("%H:%M %d/%m/%Y") if last else "?"
        raise EditConflict(
            f"Cơ sở '{row['name']}' vừa được {who} lưu lúc {when} (phiên bản {row['version']}, bạn đang sửa phiên "
            f"bản {expected_version}); thay đổi của bạn chưa được lưu. Hãy tải lại bản mới nhất rồi sửa lại.",
            f"'{row['name']}' was saved by {who} at {when} (version {row['version']}; you were editing version "
            f"{expected_version}); your changes were not saved. Reload the latest version and edit again.",
            "version",
        )
    return row


def check_scope(user: User | None, ward_id: int) -> None:
    """Refuse an account bound to another ward than ``ward_id`` (None, or an unbound account: any ward)."""
    if user is not None and user.ward_id is not None and user.ward_id != ward_id:
        raise auth.PermissionDenied("Tài khoản của bạn không quản lý phường này.",
                                    "Your account does not manage this ward.")


def _changed(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    keys = [k for k in after if before.get(k) != after[k]]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


def _write(conn: Connection, before: Mapping[str, Any], values: Mapping[str, Any],
           point: tuple[float, float] | None = None) -> int:
    """Write ``values`` on the establishment locked as ``before`` (:func:`_lock`); its new version.

    The row is locked and its version checked, so the ``WHERE version = :expected`` of
    :func:`geomap.records.data.write_establishment` always matches here; it is the one rule of every
    write path (the importer's bulk update too), kept rather than trusted to the lock alone.
    """
    version = data.write_establishment(conn, before["id"], before["version"], values, point)
    if version is None:
        raise ConcurrentEdit(f"Establishment {before['id']} changed while it was locked.")
    return int(version)


# --- establishment services -------------------------------------------------------------------


def create_establishment(
    bind: db.Bind, ward_id: int, values: Mapping[str, Any], *, lon: float | None = None, lat: float | None = None,
    user: User | None = None,
) -> dict[str, Any]:
    """Add an establishment; returns {id, code, version}. ``code`` is issued when not given."""
    auth.require(user, "edit_records")
    check_scope(user, ward_id)
    with db.transaction(bind) as conn:
        return _insert_new(conn, ward_id, values, lon, lat, user, extra={}, action="create")


def _insert_new(conn: Connection, ward_id: int, values: Mapping[str, Any], lon: float | None, lat: float | None,
                user: User | None, *, extra: Mapping[str, Any], action: str) -> dict[str, Any]:
    """Validate and insert a new establishment (``extra``: columns set by the service, not the form); audited."""
    values = dict(values)
    values.setdefault("operating_status", "active")
    missing = [f for f in ("name", "business_type", "vsic_code") if not str(values.get(f) or "").strip()]
    if missing:
        raise ValidationError([(f, f"{label(f)}: bắt buộc", f"{label(f, 'en')}: required") for f in missing])
    clean = _clean_establishment(conn, values, ward_id, None)
    if not clean.get("address"):
        clean["address"] = _compose_address(clean)
    point = None
    if lon is not None or lat is not None:
        point = _point_problems(conn, ward_id, lon, lat)
        if clean.get("residential_group_id") is None:
            clean["residential_group_id"] = data.group_at(conn, ward_id, *point)
    if clean.get("operating_status") == "closed":
        clean["closed_on"] = today()
    new_id = data.next_establishment_id(conn)
    if not clean.get("code"):
        clean["code"] = _new_code(conn, ward_id, new_id)
    data.insert_establishment(conn, new_id, ward_id, {**clean, **extra}, point)
    data.refresh_search_key(conn, new_id)
    after = get_establishment(conn, new_id)
    audit.record(conn, action=action, entity_type="establishment", entity_id=new_id, user=user,
                 after=_audit_values(after))
    return {"id": new_id, "code": after["code"], "version": after["version"]}


def _new_code(conn: Connection, ward_id: int, new_id: int) -> str:
    ward = ward_data.ward_by_id(conn, ward_id)
    slug = (ward["slug"] if ward else None) or "w"
    prefix = "".join(part[0] for part in slug.split("-") if part).upper() or "CS"
    code, n = f"{prefix}-{new_id:06d}", 1
    while data.code_taken(conn, code):
        n += 1
        code = f"{prefix}-{new_id:06d}-{n}"
    return code


def _audit_values(snapshot: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in snapshot.items() if k not in ("updated_at", "ward_id")}


def update_establishment(
    bind: db.Bind, establishment_id: int, changes: Mapping[str, Any], *, expected_version: int,
    user: User | None = None, action: str = "update", note: str | None = None,
) -> int:
    """Change fields of an establishment loaded at ``expected_version``; returns the new version.

    Raises :class:`EditConflict` when someone saved it since, :class:`ValidationError` for bad
    input. Nothing changes (and nothing is logged) when no value differs.
    """
    auth.require(user, "edit_records")
    with db.transaction(bind) as conn:
        before = _lock(conn, establishment_id, expected_version, user)
        clean = _clean_establishment(conn, changes, before["ward_id"], establishment_id)
        if "operating_status" in clean:
            if clean["operating_status"] == "closed" and before["operating_status"] != "closed":
                clean["closed_on"] = today()
            elif clean["operating_status"] != "closed":
                clean["closed_on"] = None
        old, new = _changed(before, clean)
        if not new:
            return int(before["version"])
        statuses_before = _statuses(conn, establishment_id)
        version = _write(conn, before, new)
        if {"name", "address", "code"} & set(new):
            data.refresh_search_key(conn, establishment_id)
        statuses_after = _statuses(conn, establishment_id)
        old.update({k: v for k, v in statuses_before.items() if statuses_after.get(k) != v})
        new.update({k: v for k, v in statuses_after.items() if statuses_before.get(k) != v})
        audit.record(conn, action=action, entity_type="establishment", entity_id=establishment_id, user=user,
                     before={**old, "version": before["version"]}, after={**new, "version": version}, note=note)
        return version


def close_establishment(
    bind: db.Bind, establishment_id: int, *, expected_version: int, closed_on: Any = None, reason: str | None = None,
    user: User | None = None,
) -> int:
    """Mark an establishment closed (kept for history, no longer counted as active)."""
    auth.require(user, "edit_records")
    p = _Problems()
    closed = _clean_date(closed_on, "closed_on", p) if closed_on not in (None, "") else today()
    p.raise_any()
    with db.transaction(bind) as conn:
        before = _lock(conn, establishment_id, expected_version, user)
        if before["operating_status"] == "closed":
            raise ValidationError([("operating_status", "Cơ sở đã đóng cửa từ trước.",
                                    "The establishment is already closed.")])
        if before["opened_on"] and closed and closed < before["opened_on"]:
            raise ValidationError([("closed_on", "Ngày đóng cửa trước ngày bắt đầu hoạt động.",
                                    "The closing date is before the opening date.")])
        return _set_operating_status(conn, before, "closed", closed, action="close", user=user, reason=reason)


def reopen_establishment(
    bind: db.Bind, establishment_id: int, *, expected_version: int, reason: str | None = None, user: User | None = None,
) -> int:
    """Reopen a closed or suspended establishment (active again)."""
    auth.require(user, "edit_records")
    with db.transaction(bind) as conn:
        before = _lock(conn, establishment_id, expected_version, user)
        if before["operating_status"] == "active":
            raise ValidationError([("operating_status", "Cơ sở đang hoạt động.", "The establishment is active.")])
        return _set_operating_status(conn, before, "active", None, action="reopen", user=user, reason=reason)


def _set_operating_status(conn: Connection, before: dict[str, Any], operating_status: str, closed_on: Any, *,
                          action: str, user: User | None, reason: str | None) -> int:
    """Write the locked establishment's ``operating_status`` and ``closed_on`` and audit it (close, reopen)."""
    version = _write(conn, before, {"operating_status": operating_status, "closed_on": closed_on})
    audit.record(conn, action=action, entity_type="establishment", entity_id=before["id"], user=user,
                 before={"operating_status": before["operating_status"], "closed_on": before["closed_on"],
                         "version": before["version"]},
                 after={"operating_status": operating_status, "closed_on": closed_on, "version": version},
                 note=_clean_text(reason, "notes", _Problems(), multiline=True))
    return version


def move_point(
    bind: db.Bind, establishment_id: int, lon: float, lat: float, *, expected_version: int, user: User | None = None,
) -> int:
    """Move an establishment's point (must stay inside its ward); its residential group follows."""
    auth.require(user, "edit_records")
    with db.transaction(bind) as conn:
        before = _lock(conn, establishment_id, expected_version, user)
        point = _point_problems(conn, before["ward_id"], lon, lat)
        values: dict[str, Any] = {}
        group = data.group_at(conn, before["ward_id"], *point)
        if group is not None and group != before["residential_group_id"]:
            values["residential_group_id"] = group
        version = _write(conn, before, values, point)
        audit.record(conn, action="move", entity_type="establishment", entity_id=establishment_id, user=user,
                     before={"lon": before["lon"], "lat": before["lat"],
                             "residential_group_id": before["residential_group_id"], "version": before["version"]},
                     after={"lon": point[0], "lat": point[1],
                            "residential_group_id": values.get("residential_group_id",
                                                               before["residential_group_id"]),
                            "version": version})
        return version


# --- licences ---------------------------------------------------------------------------------


def _clean_licence(kind: str, issued_on: Any, expires_on: Any, number: Any, issuer: Any, note: Any
                   ) -> dict[str, Any]:
    p = _Problems()
    if kind not in LICENCE_KINDS:
        p.add("kind", f"'{kind}' không hợp lệ", f"'{kind}' is not valid")
    issued = _clean_date(issued_on, "issued_on", p)
    if issued is None and not any(f == "issued_on" for f, _, _ in p.items):
        p.add("issued_on", "bắt buộc", "required")
    expires = _clean_date(expires_on, "expires_on", p, not_future=False)
    if kind == "food_safety_certificate" and expires is None and issued is not None:
        expires = add_years(issued, CERTIFICATE_YEARS)
    for problem in expiry_problems(kind, issued, expires, today()):
        if problem == "before_issue":
            p.add("expires_on", f"ngày hết hạn {expires:%d/%m/%Y} trước ngày cấp {issued:%d/%m/%Y}",
                  f"expiry {expires} is before the issue date {issued}")
        elif problem == "certificate_too_long":
            p.add("expires_on", f"GCN ATTP chỉ có hiệu lực {CERTIFICATE_YEARS} năm kể từ ngày cấp",
                  f"a food-safety certificate is valid {CERTIFICATE_YEARS} years from issue")
        else:
            p.add("expires_on", f"ngày {expires:%d/%m/%Y} quá xa trong tương lai",
                  f"{expires} is implausibly far ahead")
    values = {"kind": kind, "issued_on": issued, "expires_on": expires,
              "number": _clean_text(number, "number", p), "issuer": _clean_text(issuer, "issuer", p),
              "note": _clean_text(note, "notes", p, multiline=True)}
    p.raise_any()
    return values


def _establishment_for_child(conn: Connection, establishment_id: int, user: User | None) -> dict[str, Any]:
    row = data.share_establishment(conn, establishment_id)
    if row is None:
        raise NotFound(f"Không có cơ sở số {establishment_id}.", f"There is no establishment {establishment_id}.")
    check_scope(user, row["ward_id"])
    return row


def add_licence(
    bind: db.Bind, establishment_id: int, kind: str, issued_on: Any, *, expires_on: Any = None, number: Any = None,
    issuer: Any = None, note: Any = None, user: User | None = None, action: str = "add_licence",
) -> int:
    """Record a licence; a food-safety certificate without expiry gets issue + 3 years. Returns its id."""
    auth.require(user, "edit_records")
    values = _clean_licence(kind, issued_on, expires_on, number, issuer, note)
    with db.transaction(bind) as conn:
        _establishment_for_child(conn, establishment_id, user)
        if values["number"] and data.licence_recorded(conn, establishment_id, kind, values["number"],
                                                      values["issued_on"]):
            raise ValidationError([("number", f"Giấy phép số {values['number']} cấp ngày "
                                    f"{values['issued_on']:%d/%m/%Y} đã có trong hồ sơ.",
                                    f"Licence {values['number']} issued {values['issued_on']} is already recorded.")])
        before = _statuses(conn, establishment_id)
        licence_id = data.insert_licence(conn, establishment_id, values)
        after = _statuses(conn, establishment_id)
        audit.record(conn, action=action, entity_type="establishment", entity_id=establishment_id, user=user,
                     before=before, after={"licence_id": licence_id, **values, **after})
        return licence_id


def _licence(conn: Connection, licence_id: int) -> dict[str, Any]:
    row = data.lock_licence(conn, licence_id)
    if row is None:
        raise NotFound(f"Không có giấy phép số {licence_id}.", f"There is no licence {licence_id}.")
    return row


def renew_licence(
    bind: db.Bind, licence_id: int, issued_on: Any, *, expires_on: Any = None, number: Any = None, issuer: Any = None,
    note: Any = None, user: User | None = None,
) -> int:
    """Record the renewal of a licence as a new licence of the same kind (the old one stays in the history)."""
    auth.require(user, "edit_records")
    with db.transaction(bind) as conn:
        old = _licence(conn, licence_id)
        values = _clean_licence(old["kind"], issued_on, expires_on, number, issuer, note)
        if values["issued_on"] < old["issued_on"]:
            raise ValidationError([("issued_on", f"Ngày cấp mới trước ngày cấp cũ ({old['issued_on']:%d/%m/%Y}).",
                                    f"The new issue date is before the old one ({old['issued_on']}).")])
        return add_licence(conn, old["establishment_id"], old["kind"], values["issued_on"],
                           expires_on=values["expires_on"], number=values["number"] or old["number"],
                           issuer=values["issuer"] or old["issuer"],
                           note=values["note"] or f"Gia hạn giấy phép #{licence_id}",
                           user=user, action="renew_licence")


def revoke_licence(bind: db.Bind, licence_id: int, revoked_on: Any = None, *, reason: Any = None,
                   user: User | None = None) -> None:
    """Revoke a licence from ``revoked_on`` (default today): it counts as expired from that day."""
    auth.require(user, "edit_records")
    p = _Problems()
    revoked = _clean_date(revoked_on, "revoked_on", p) if revoked_on not in (None, "") else today()
    reason_text = _clean_text(reason, "notes", p, multiline=True)
    p.raise_any()
    with db.transaction(bind) as conn:
        old = _licence(conn, licence_id)
        _establishment_for_child(conn, old["establishment_id"], user)
        if old["revoked_on"] is not None:
            raise ValidationError([("revoked_on", "Giấy phép đã bị thu hồi từ trước.",
                                    "The licence is already revoked.")])
        if revoked < old["issued_on"]:
            raise ValidationError([("revoked_on", "Ngày thu hồi trước ngày cấp.", "Revoked before it was issued.")])
        before = _statuses(conn, old["establishment_id"])
        data.revoke_licence(conn, licence_id, revoked, reason_text)
        after = _statuses(conn, old["establishment_id"])
        audit.record(conn, action="revoke_licence", entity_type="establishment", entity_id=old["establishment_id"],
                     user=user, before={"licence_id": licence_id, "revoked_on": None, **before},
                     after={"licence_id": licence_id, "revoked_on": revoked, **after}, note=reason_text)


# --- inspections ------------------------------------------------------------------------------


def _clean_violations(items: Iterable[Any] | None, p: _Problems) -> list[dict[str, Any]]:
    out = []
    for n, item in enumerate(items or [], start=1):
        if isinstance(item, str):
            item = {"text": item}
        if not isinstance(item, Mapping):
            p.add("violations", f"mục {n} không hợp lệ", f"item {n} is not valid")
            continue
        text = _clean_text(item.get("text"), "violations", p, multiline=True)
        code = _clean_text(item.get("code"), "violations", p)
        try:
            severity = int(item.get("severity") or DEFAULT_SEVERITY)
            if severity not in FOLLOW_UP_DAYS:
                raise ValueError
        except (TypeError, ValueError):
            p.add("violations", f"mục {n}: mức độ phải là 1, 2 hoặc 3", f"item {n}: severity must be 1, 2 or 3")
            severity = DEFAULT_SEVERITY
        if not text and not code:
            p.add("violations", f"mục {n}: thiếu nội dung", f"item {n}: no description")
            continue
        out.append({"code": code, "severity": severity, "text": text})
    return out


def record_inspection(
    bind: db.Bind, establishment_id: int, inspected_on: Any, kind: str, result: str, *,
    violations: Iterable[Any] | None = None, notes: Any = None, follow_up_due: Any = None, user: User | None = None,
    made_via: str = "staff_app", capture: Mapping[str, Any] | None = None,
) -> int:
    """Record an inspection; after a violation the follow-up is due in :data:`FOLLOW_UP_DAYS` by severity.

    The food-safety status before and after goes into the audit entry (a violation turns
    the establishment red on the map until a follow-up inspection passes). ``made_via`` says how
    it was recorded (:data:`~geomap.models.INSPECTION_MADE_VIA`); ``capture`` is what the field app
    adds (``client_id``, ``phone_lon``, ``phone_lat``, ``phone_accuracy_m``, ``distance_m``,
    ``phone_time``), checked by :mod:`geomap.inspections.field` and kept with the inspection.
    """
    auth.require(user, "record_inspection")
    p = _Problems()
    if kind not in INSPECTION_KINDS:
        p.add("kind", f"'{kind}' không hợp lệ", f"'{kind}' is not valid")
    if result not in INSPECTION_RESULTS:
        p.add("result", f"'{result}' không hợp lệ", f"'{result}' is not valid")
    if made_via not in INSPECTION_MADE_VIA:
        p.add("made_via", f"'{made_via}' không hợp lệ", f"'{made_via}' is not valid")
    day = _clean_date(inspected_on, "inspected_on", p)
    if day is None and not any(f == "inspected_on" for f, _, _ in p.items):
        p.add("inspected_on", "bắt buộc", "required")
    items = _clean_violations(violations, p)
    notes_text = _clean_text(notes, "notes", p, multiline=True)
    due = _clean_date(follow_up_due, "follow_up_due", p, not_future=False)
    if result == "violation" and day is not None and not items and not notes_text:
        p.add("violations", "kết quả vi phạm cần ghi rõ lỗi vi phạm", "a violation needs its description")
    problem = follow_up_problem(result, day, due)
    if problem == "not_violation":
        p.add("follow_up_due", "chỉ đặt khi có vi phạm", "only set after a violation")
    elif problem == "not_after":
        p.add("follow_up_due", "phải sau ngày kiểm tra", "must be after the inspection")
    elif problem == "too_late":
        p.add("follow_up_due", f"quá {MAX_FOLLOW_UP_DAYS} ngày sau ngày kiểm tra",
              f"more than {MAX_FOLLOW_UP_DAYS} days after the inspection")
    if due is None:
        due = default_follow_up(result, day, (i["severity"] for i in items))
    p.raise_any()
    with db.transaction(bind) as conn:
        _establishment_for_child(conn, establishment_id, user)
        before = _statuses(conn, establishment_id)
        inspection_id = data.insert_inspection(conn, establishment_id, {
            "inspected_on": day, "inspector_id": user.id if user is not None else None,
            "inspector_name": user.full_name if user is not None else None, "kind": kind, "result": result,
            "violations": items, "notes": notes_text, "follow_up_due": due, **dict(capture or {}),
            "made_via": made_via})
        after = _statuses(conn, establishment_id)
        changed = before.get("food_safety_status") != after.get("food_safety_status")
        audit.record(
            conn, action="record_inspection", entity_type="establishment", entity_id=establishment_id, user=user,
            before=before,
            after={"inspection_id": inspection_id, "inspected_on": day, "kind": kind, "result": result,
                   "violations": items, "follow_up_due": due, "made_via": made_via, **dict(capture or {}), **after},
            note=(f"ATTP: {before.get('food_safety_status')} → {after.get('food_safety_status')}" if changed else None),
        )
        return inspection_id


# --- survey on site (field app) and the review of establishments added there ------------------


def survey_allowed(bind: db.Bind, user: User | None, ward_id: int) -> bool:
    """May ``user`` survey ward ``ward_id``? Data officers, ward managers and admins may; inspectors only
    where the ward's profile says ``survey_by_inspectors = true`` (a ward without a profile: no)."""
    if user is None or auth.can(user, "survey"):
        return True
    if not auth.can(user, "survey_if_ward_allows"):
        return False
    ward = ward_data.ward_by_id(bind, ward_id)
    try:
        return bool(ward and profiles.get(ward["slug"]).survey_by_inspectors)
    except UnknownWard:
        return False


def require_survey(bind: db.Bind, user: User | None, ward_id: int) -> None:
    """Raise :class:`geomap.auth.PermissionDenied` unless ``user`` may survey ward ``ward_id``."""
    check_scope(user, ward_id)
    if not survey_allowed(bind, user, ward_id):
        role = user.role if user is not None else "public"
        raise auth.PermissionDenied(
            f"Vai trò '{role}' không được khảo sát cơ sở ở phường này (phường chưa cho phép cán bộ kiểm tra khảo sát).",
            f"The role '{role}' may not survey establishments in this ward (the ward has not allowed inspectors to).")


def _survey_changes(changes: Mapping[str, Any], allowed: Sequence[str]) -> dict[str, Any]:
    unknown = sorted(set(changes) - set(allowed))
    if unknown:
        raise ValidationError([(f, f"Trường '{f}' không nhập được khi khảo sát", f"Field '{f}' cannot be entered in "
                                "a survey") for f in unknown])
    return dict(changes)


def survey_establishment(
    bind: db.Bind, establishment_id: int, *, expected_version: int, changes: Mapping[str, Any] | None = None,
    point: tuple[float, float] | None = None, user: User | None = None, note: str | None = None,
) -> dict[str, Any]:
    """Record a check on site: the :data:`SURVEYED` fields as found, the point pinned there (quality
    ``exact``) when given, and who verified it when (``verified_on``/``verified_by``); returns the new
    ``version`` and ``moved_m`` (metres the pin moved an existing point, else None).

    One change of the row at the version the phone loaded (a stale one raises :class:`EditConflict`),
    one audit entry (action ``survey``). Personal data is never part of a survey.
    """
    changes = _survey_changes(changes or {}, SURVEYED)
    with db.transaction(bind) as conn:
        before = _lock(conn, establishment_id, expected_version, user)
        require_survey(conn, user, before["ward_id"])
        clean = _clean_establishment(conn, changes, before["ward_id"], establishment_id)
        values: dict[str, Any] = dict(clean)
        lonlat = None
        if point is not None:
            lonlat = _point_problems(conn, before["ward_id"], *point)
            group = data.group_at(conn, before["ward_id"], *lonlat)
            if group is not None and group != before["residential_group_id"]:
                values["residential_group_id"] = group
            values["location_quality"] = "exact"
        old, new = _changed(before, values)
        if lonlat is not None:
            old.update(lon=before["lon"], lat=before["lat"], location_quality=before["location_quality"])
            new.update(lon=lonlat[0], lat=lonlat[1], location_quality="exact")
            if before["lon"] is not None:  # how far the pin moved the point (an officer at the wrong shop?)
                new["moved_m"] = round(data.distance_m(conn, (before["lon"], before["lat"]), lonlat), 1)
        stamp = {"verified_on": dt.datetime.now(dt.UTC), "verified_by": user.id if user is not None else None}
        version = _write(conn, before, {**{k: values[k] for k in values if k in new}, **stamp}, lonlat)
        if {"name", "address"} & set(new):
            data.refresh_search_key(conn, establishment_id)
        audit.record(conn, action="survey", entity_type="establishment", entity_id=establishment_id, user=user,
                     before={**old, "verified_on": before["verified_on"], "version": before["version"]},
                     after={**new, **stamp, "version": version}, note=note)
        return {"version": version, "moved_m": new.get("moved_m")}


def propose_establishment(
    bind: db.Bind, ward_id: int, values: Mapping[str, Any], *, lon: float, lat: float, user: User | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """Add an establishment found on the street: pinned where the officer stands (``exact``), verified by
    them, and ``pending`` until a data officer reviews it (:func:`review_establishment`); not public
    meanwhile. Returns {id, code, version}."""
    values = _survey_changes(values, PROPOSED)
    values.setdefault("business_type", "household")
    require_survey(bind, user, ward_id)
    if lon is None or lat is None:
        raise ValidationError([("point", "Vị trí: bắt buộc (ghim vị trí cơ sở trước khi lưu)",
                                "Location: required (pin the establishment before saving)")])
    with db.transaction(bind) as conn:
        extra = {"review_status": "pending", "location_quality": "exact",
                 "verified_on": dt.datetime.now(dt.UTC), "verified_by": user.id if user is not None else None}
        point = _point_problems(conn, ward_id, lon, lat)
        name = search_key(nfc(str(values.get("name") or "")))
        near = next((r for r in data.nearby(conn, ward_id, *point, DUPLICATE_RADIUS_M)
                     if name and search_key(r["name"]) == name), None)
        if near is not None:
            raise ValidationError([("name", f"Đã có cơ sở '{near['name']}' ({near['code']}) cùng tên trong vòng "
                                    f"{DUPLICATE_RADIUS_M} m; hãy khảo sát cơ sở đó thay vì thêm mới.",
                                    f"'{near['name']}' ({near['code']}) of the same name is already recorded within "
                                    f"{DUPLICATE_RADIUS_M} m; survey it instead of adding a new one.")])
        made = _insert_new(conn, ward_id, values, lon, lat, user, extra=extra, action="survey_add")
        if note:
            audit.record(conn, action="survey_add", entity_type="establishment", entity_id=made["id"], user=user,
                         note=note)
        return made


#: an establishment added on site with the name of one recorded this close is a duplicate
DUPLICATE_RADIUS_M = 30


def review_establishment(
    bind: db.Bind, establishment_id: int, decision: str, *, expected_version: int, note: str | None = None,
    user: User | None = None,
) -> int:
    """Approve (publish) or reject an establishment added on site; returns the new version."""
    auth.require(user, "review_additions")
    if decision not in ("approved", "rejected"):
        raise ValidationError([("review_status", f"'{decision}' không hợp lệ (approved hoặc rejected)",
                                f"'{decision}' is not valid (approved or rejected)")])
    reason = _clean_text(note, "notes", _Problems(), multiline=True)
    with db.transaction(bind) as conn:
        before = _lock(conn, establishment_id, expected_version, user)
        if before["review_status"] != "pending":
            raise ValidationError([("review_status", f"Cơ sở '{before['name']}' không chờ duyệt (đang là "
                                    f"'{before['review_status']}').", f"'{before['name']}' is not waiting for review "
                                    f"(it is '{before['review_status']}').")])
        if decision == "rejected" and not reason:
            raise ValidationError([("notes", "Ghi chú: cần nêu lý do không duyệt", "Notes: give the reason for the "
                                    "rejection")])
        stamp = {"review_status": decision, "reviewed_by": user.id if user is not None else None,
                 "reviewed_at": dt.datetime.now(dt.UTC)}
        version = _write(conn, before, stamp)
        audit.record(conn, action="review_approve" if decision == "approved" else "review_reject",
                     entity_type="establishment", entity_id=establishment_id, user=user,
                     before={"review_status": "pending", "version": before["version"]},
                     after={**stamp, "version": version}, note=reason)
        return version
