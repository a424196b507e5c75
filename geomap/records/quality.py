"""Data quality: what in a ward's records needs attention, each with a link to fix it.

"Đúng – đủ – sạch – sống" (correct, complete, clean, current): establishments outside the
ward, without coordinates or placed only approximately from their address (to pin on site),
probable duplicates (same folded name within 30 m, or the same tax code), active businesses
whose licence expired, food businesses with neither a certificate nor a commitment in force
(whatever their last inspection found), and records not updated for a year. The checks are
pure functions of one frame (:func:`find`); :func:`load` reads the frame that feeds them
(:func:`geomap.records.data.quality_frame`).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geomap import db, i18n, links, status
from geomap.records import data
from geomap.text import fold

DUPLICATE_DISTANCE_M = 30.0
STALE_AFTER_DAYS = 365


@dataclass(frozen=True)
class Check:
    key: str
    title_vi: str
    title_en: str
    hint_vi: str
    hint_en: str

    def title(self, lang: str = "vi") -> str:
        return self.title_en if lang == "en" else self.title_vi

    def hint(self, lang: str = "vi") -> str:
        return self.hint_en if lang == "en" else self.hint_vi


CHECKS: tuple[Check, ...] = (
    Check("outside_ward", "Nằm ngoài phường", "Outside the ward",
          "Tọa độ nằm ngoài ranh giới phường: kiểm tra kinh/vĩ độ hoặc di chuyển điểm trên bản đồ.",
          "The point lies outside the ward boundary: check the coordinates or move the point."),
    Check("no_coordinates", "Chưa có tọa độ", "Without coordinates",
          "Chưa định vị được trên bản đồ: nhập tọa độ hoặc chọn vị trí.", "Not on the map: add the location."),
    Check("approximate_location", "Vị trí gần đúng", "Approximate location",
          "Định vị theo địa chỉ (tại địa chỉ đã biết, trên đường/kiệt hoặc trong tổ dân phố): ghim lại tại chỗ "
          "khi khảo sát.",
          "Placed from the address (at a known address, on the street or alley, or in the residential group): "
          "pin it on site during the survey."),
    Check("duplicates", "Có thể trùng lặp", "Probable duplicates",
          "Cùng tên trong phạm vi 30 m hoặc cùng mã số thuế: gộp hoặc đóng bản ghi thừa.",
          "Same name within 30 m or same tax code: merge or close the extra record."),
    Check("expired_licence", "Đang hoạt động nhưng giấy phép hết hạn", "Active with an expired licence",
          "Đề nghị cơ sở gia hạn hoặc cập nhật tình trạng hoạt động.",
          "Ask the business to renew, or update its operating status."),
    Check("food_without_certificate", "Cơ sở thực phẩm chưa có GCN/cam kết ATTP",
          "Food business without certificate or commitment",
          "Hướng dẫn cơ sở làm thủ tục cấp GCN hoặc ký cam kết ATTP.",
          "Help the business obtain a certificate or sign a commitment."),
    Check("stale", "Hơn một năm chưa cập nhật", "Not updated for a year",
          "Xác minh lại thông tin tại cơ sở.", "Verify the record on site."),
)
BY_KEY = {c.key: c for c in CHECKS}


def fix_link(establishment_id: int, ward_slug: str | None = None) -> str:
    """Where the record is fixed: the records page opened on the establishment (and its ward)."""
    return links.record(establishment_id, ward_slug)


def load(bind: db.Bind, ward_id: int) -> pd.DataFrame:
    """The ward's establishments with what the checks need (local-grid metres in ``x``/``y``)."""
    return data.quality_frame(bind, ward_id)


def probable_duplicates(frame: pd.DataFrame, distance_m: float = DUPLICATE_DISTANCE_M) -> pd.DataFrame:
    """Pairs (id, other_id, reason, distance_m): same folded name within ``distance_m``, or same tax code."""
    pairs: dict[tuple[int, int], dict] = {}
    placed = frame[frame["x"].notna()] if "x" in frame else frame.iloc[0:0]
    by_name: dict[str, list[tuple[int, float, float]]] = defaultdict(list)
    for rid, name, x, y in zip(placed["id"], placed["name"], placed["x"], placed["y"], strict=True):
        by_name[fold(name)].append((int(rid), float(x), float(y)))
    for members in by_name.values():
        if len(members) < 2:
            continue
        for i, (a, ax, ay) in enumerate(members):
            for b, bx, by in members[i + 1:]:
                d = float(np.hypot(ax - bx, ay - by))
                if d <= distance_m:
                    pairs[(a, b)] = {"id": a, "other_id": b, "reason": "name", "distance_m": round(d, 1)}
    taxed = frame[frame["tax_code"].notna() & (frame["tax_code"] != "")]
    for _, ids in taxed.groupby("tax_code")["id"]:
        ids = sorted(int(i) for i in ids)
        for i, a in enumerate(ids):
            for b in ids[i + 1:]:
                pairs.setdefault((a, b), {"id": a, "other_id": b, "reason": "tax_code", "distance_m": None})
    return pd.DataFrame(list(pairs.values()), columns=["id", "other_id", "reason", "distance_m"])


def find(frame: pd.DataFrame, today: dt.date | None = None, lang: str = "vi",
         ward_slug: str | None = None) -> dict[str, pd.DataFrame]:
    """Check key -> rows needing attention (id, code, name, address, detail, link to fix it in ``ward_slug``)."""
    today = today or status.today()
    en = lang == "en"
    out: dict[str, pd.DataFrame] = {}
    active = frame["operating_status"].eq("active")
    has_point = frame["has_point"].fillna(False).astype(bool)

    def rows(mask: pd.Series, detail: pd.Series | str) -> pd.DataFrame:
        sel = frame.loc[mask, ["id", "code", "name", "address"]].copy()
        sel["detail"] = detail[mask] if isinstance(detail, pd.Series) else detail
        sel["link"] = sel["id"].map(lambda i: fix_link(i, ward_slug))
        return sel.reset_index(drop=True)

    out["outside_ward"] = rows(has_point & ~frame["inside"].fillna(True).astype(bool), "")
    out["no_coordinates"] = rows(~has_point, "")
    quality = frame["location_quality"] if "location_quality" in frame else pd.Series(None, index=frame.index)
    approximate = has_point & quality.notna() & ~quality.isin(["exact"])
    out["approximate_location"] = rows(approximate, quality.map(
        lambda q: i18n.code_label("location_quality", q, lang) if isinstance(q, str) else ""))
    pairs = probable_duplicates(frame)
    if len(pairs):
        code = frame.set_index("id")["code"]
        detail = pairs.apply(lambda p: (
            (f"same name, {p['distance_m']:.0f} m from {code[p['other_id']]}" if en
             else f"cùng tên, cách {code[p['other_id']]} {p['distance_m']:.0f} m") if p["reason"] == "name"
            else (f"same tax code as {code[p['other_id']]}" if en else f"cùng mã số thuế với {code[p['other_id']]}")),
            axis=1)
        dup = frame.set_index("id").loc[pairs["id"], ["code", "name", "address"]].reset_index()
        dup["detail"] = detail.to_numpy()
        dup["link"] = dup["id"].map(lambda i: fix_link(i, ward_slug))
        out["duplicates"] = dup
    else:
        out["duplicates"] = rows(pd.Series(False, index=frame.index), "")
    lic = status.licence_status(frame, today)
    expires = pd.to_datetime(frame["registration_expires_on"], errors="coerce").dt.strftime("%d/%m/%Y")
    out["expired_licence"] = rows(active & lic.eq("expired"),
                                  ("expired " if en else "hết hạn ") + expires.fillna(""))
    # "violation" outranks the papers in the status rules, so a violating food business with
    # neither certificate nor commitment is found by its papers alone (the last result set aside)
    fs = status.food_safety_status(frame, today)
    papers = status.food_safety_status(frame.assign(last_inspection_result=None), today)
    unpapered = papers.isin(["missing", "expired"])
    detail = papers.map(lambda s: "no certificate" if en and s == "missing" else
                        "certificate expired" if en else
                        "chưa có GCN/cam kết" if s == "missing" else "GCN hết hạn")
    detail = detail.where(~fs.eq("violation"), detail + (", violation pending follow-up" if en
                                                         else ", vi phạm chờ tái kiểm tra"))
    out["food_without_certificate"] = rows(active & unpapered, detail)
    updated = pd.to_datetime(frame["updated_at"], utc=True, errors="coerce")
    cutoff = pd.Timestamp(today - dt.timedelta(days=STALE_AFTER_DAYS), tz="UTC")
    out["stale"] = rows(updated < cutoff, updated.dt.strftime("%d/%m/%Y").fillna(""))
    return out


def summary(found: dict[str, pd.DataFrame], lang: str = "vi") -> pd.DataFrame:
    return pd.DataFrame([{"key": c.key, "check": c.title(lang), "count": len(found.get(c.key, []))} for c in CHECKS])
