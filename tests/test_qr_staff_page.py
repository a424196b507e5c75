"""The staff QR page in headless Chromium: issue missing codes, reissue one, make a sticker sheet."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from staff_app import browser_page, running_app, sign_in_to_page

from geomap import auth

PASSWORD = "mật-khẩu-tem-qr"



@pytest.fixture(scope="module")
def ward(engine) -> dict:
    square = "MULTIPOLYGON(((108.2 16.0,108.21 16.0,108.21 16.01,108.2 16.01,108.2 16.0)))"
    with engine.begin() as c:
        ward_id = c.execute(sa.text(
            "INSERT INTO ward (slug, name, province, local_srid, geom) VALUES ('qr-staff', 'Phường Tem QR', "
            "'Đà Nẵng', 5899, ST_GeomFromText(:g, 4326)) RETURNING id"), {"g": square}).scalar_one()
        for code, name in (("QS-001", "Bánh Xèo Bà Dưỡng"), ("QS-002", "Chè Xuân Trang")):
            c.execute(sa.text(
                "INSERT INTO establishment (ward_id, code, name, business_type, vsic_code, address, geom) VALUES "
                "(:w, :c, :n, 'household', '5610', '1 Hoàng Diệu', ST_SetSRID(ST_MakePoint(108.205, 16.005), 4326))"),
                {"w": ward_id, "c": code, "n": name})
        auth.create_user(c, "qr.dulieu", "Cán Bộ Tem", "data_officer", PASSWORD)
    return {"id": ward_id}


@pytest.fixture(scope="module")
def app_url(database_url, ward) -> Iterator[str]:
    with running_app(database_url, "qr-staff") as url:
        yield url


def test_issue_reissue_and_sheet_in_chromium(chromium_path, app_url, engine, ward):
    with browser_page(chromium_path, height=1100) as page:
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        sign_in_to_page(page, app_url, "qr", "Mã QR và tem dán", "qr.dulieu", PASSWORD)

        page.get_by_role("button", name="Cấp mã cho tất cả cơ sở và quầy chưa có").click()
        page.get_by_text("Đã cấp 2 mã cơ sở và 0 mã quầy.").wait_for()
        with engine.connect() as c:
            first = c.execute(sa.text("SELECT q.short_code FROM qr_code q JOIN establishment e ON "
                                      "e.id = q.establishment_id WHERE e.code = 'QS-001'")).scalar_one()

        box = page.get_by_label("Mã tem, mã cơ sở hoặc token")
        box.fill("QS-001")
        box.press("Enter")
        page.get_by_text("Bánh Xèo Bà Dưỡng").first.wait_for()
        page.get_by_role("button", name="Cấp lại tem (tem cũ mất hiệu lực)").click()
        page.get_by_text("Đã cấp tem mới").wait_for()
        with engine.connect() as c:
            rows = c.execute(sa.text("SELECT q.short_code, q.version, q.revoked_reason FROM qr_code q JOIN "
                                     "establishment e ON e.id = q.establishment_id WHERE e.code = 'QS-001' "
                                     "ORDER BY q.version")).all()
        assert [(r.version, r.revoked_reason) for r in rows] == [(1, "reissued"), (2, None)]
        assert rows[0].short_code == first

        # revoking asks for a confirmation; for closure it closes the record
        revoke = page.get_by_role("button", name="Thu hồi", exact=True)
        revoke.click()
        page.get_by_text("Đánh dấu ô xác nhận trước khi thu hồi.").wait_for()
        with engine.connect() as c:
            assert c.execute(sa.text("SELECT count(*) FROM qr_code q JOIN establishment e ON e.id = q.establishment_id "
                                     "WHERE e.code = 'QS-001' AND q.revoked_at IS NULL")).scalar_one() == 1
        page.get_by_text("Tôi xác nhận thu hồi tem này").click()
        revoke.click()
        page.get_by_text("và đánh dấu cơ sở đã đóng cửa").wait_for()
        with engine.connect() as c:
            status = c.execute(sa.text("SELECT operating_status FROM establishment WHERE code = 'QS-001'")).scalar_one()
            active = c.execute(sa.text(
                "SELECT count(*) FROM qr_code q JOIN establishment e ON e.id = q.establishment_id "
                "WHERE e.code = 'QS-001' AND q.revoked_at IS NULL")).scalar_one()
        assert (status, active) == ("closed", 0)

        page.get_by_role("button", name="Tạo tờ tem PDF (A4, 12 tem/trang)").click()
        page.get_by_role("button", name="Tải tờ tem PDF").wait_for()
        assert not errors, errors


def test_scan_statistics_section_shows_the_alert_list(chromium_path, app_url, engine, ward):
    """Scans flushed by the public service's counter show on the page: total and the forged code's alert."""
    from qr import codes, issue, scans

    with engine.begin() as c:
        issue.issue_missing(c, ward["id"])
        token = c.execute(sa.text("SELECT q.token FROM qr_code q JOIN establishment e ON e.id = q.establishment_id "
                                  "WHERE e.code = 'QS-002' AND q.revoked_at IS NULL")).scalar_one()
    counter, forged = scans.ScanCounter(), codes.new_token()
    for _ in range(3):
        counter.count(token, "valid")
    for _ in range(scans.ALERT_MIN_SCANS + 1):
        counter.count(forged, "unknown")
    counter.flush(engine)
    with browser_page(chromium_path, height=1100) as page:
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        sign_in_to_page(page, app_url, "qr", "Mã QR và tem dán", "qr.dulieu", PASSWORD)
        page.get_by_role("heading", name="Lượt quét mã QR").wait_for()
        alerts = page.locator('[data-testid="stTable"]')
        alerts.get_by_text(forged).wait_for()
        assert "Mã không do phường cấp" in alerts.inner_text()
        assert not errors, errors
