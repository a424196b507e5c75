"""The digital-platform fields the indicators read (issue 17): edited, imported, counted (real PostGIS)."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from conftest import staff_user
from import_fixtures import csv_bytes, establishment_row, make_ward

from geomap import dashboard, profiles, status
from geomap.importing import dry_run, run_import
from geomap.records import edit

TODAY = dt.date(2026, 11, 22)


@pytest.fixture
def ward(conn):
    return make_ward(conn)


def _flags(conn, ward_id: int) -> dict[str, tuple]:
    return {r.name: (r.uses_e_invoice, r.uses_sales_software, r.digital_platforms) for r in conn.execute(sa.text(
        "SELECT name, uses_e_invoice, uses_sales_software, digital_platforms FROM establishment WHERE ward_id = :w"),
        {"w": ward_id})}


def test_import_takes_the_digital_tools_and_an_empty_cell_keeps_what_is_on_file(conn, ward) -> None:
    rows = [
        establishment_row("X-1", "Phở Hòa", ward.near(ward.west), **{
            "Dùng hóa đơn điện tử": "Có", "Dùng phần mềm bán hàng/quản lý": "Không",
            "Nền tảng thương mại điện tử": "GrabFood, ShopeeFood"}),
        establishment_row("X-2", "Tạp hóa Bình", ward.near(ward.east), **{
            "Mã ngành VSIC": "4719", "Dùng hóa đơn điện tử": "", "Dùng phần mềm bán hàng/quản lý": "Có",
            "Nền tảng thương mại điện tử": ""}),
    ]
    run_import(conn, "establishments", csv_bytes(rows), ward_id=ward.id, filename="a.csv")
    assert _flags(conn, ward.id) == {"Phở Hòa": (True, False, ["grabfood", "shopeefood"]),
                                     "Tạp hóa Bình": (False, True, [])}
    # a later file without the e-invoice answer keeps it; a "Không" clears the software
    rows[0]["Dùng hóa đơn điện tử"] = ""
    rows[1]["Dùng phần mềm bán hàng/quản lý"] = "Không"
    plan = dry_run(conn, "establishments", csv_bytes(rows), ward_id=ward.id)
    assert plan.counts["update"] == 1 and plan.counts["reject"] == 0
    run_import(conn, "establishments", csv_bytes(rows), ward_id=ward.id)
    assert _flags(conn, ward.id)["Phở Hòa"][0] is True and _flags(conn, ward.id)["Tạp hóa Bình"][1] is False
    bad = dry_run(conn, "establishments", csv_bytes([establishment_row(None, "Quán C", ward.near(ward.west), **{
        "Dùng hóa đơn điện tử": "có lẽ", "Nền tảng thương mại điện tử": "MySpace"})]), ward_id=ward.id)
    assert bad.counts["reject"] == 1


def test_editing_the_digital_tools_counts_them_in_the_indicator(conn, ward) -> None:
    officer = staff_user("data_officer", ward_id=ward.id)
    made = edit.create_establishment(conn, ward.id, {"name": "Cà phê Số", "business_type": "household",
                                                     "vsic_code": "5630"},
                                     lon=ward.near(ward.west)[0], lat=ward.near(ward.west)[1], user=officer)
    frames = dashboard.load_frames(conn, ward.id)
    now = status.today()  # the edits are logged now: a figure as of an earlier day must not see them (as_of)
    before = dashboard.compute(frames, profiles.get("hoa-cuong"), now, trend_periods=0).summary
    assert (before.loc["digital_platform_share", "num"], before.loc["digital_platform_share", "den"]) == (0, 1)
    with pytest.raises(edit.ValidationError) as err:
        edit.update_establishment(conn, made["id"], {"uses_e_invoice": "yes"}, expected_version=1, user=officer)
    assert {f for f, _, _ in err.value.problems} == {"uses_e_invoice"}
    edit.update_establishment(conn, made["id"], {"uses_e_invoice": True}, expected_version=1, user=officer)
    assert _flags(conn, ward.id)["Cà phê Số"] == (True, False, [])
    after = dashboard.compute(dashboard.load_frames(conn, ward.id), profiles.get("hoa-cuong"), now,
                              trend_periods=0).summary
    assert after.loc["digital_platform_share", "num"] == 1 and after.loc["digital_payment_share", "num"] == 0


def test_made_via_is_checked_by_the_database(conn, ward) -> None:
    officer = staff_user("data_officer", ward_id=ward.id)
    made = edit.create_establishment(conn, ward.id, {"name": "Quán D", "business_type": "household",
                                                     "vsic_code": "5610"},
                                     lon=ward.near(ward.west)[0], lat=ward.near(ward.west)[1], user=officer)
    conn.execute(sa.text("INSERT INTO inspection (establishment_id, inspected_on, kind, result) "
                         "VALUES (:e, '2026-11-01', 'periodic', 'pass')"), {"e": made["id"]})
    assert conn.execute(sa.text("SELECT made_via FROM inspection WHERE establishment_id = :e"),
                        {"e": made["id"]}).scalar() == "staff_app"  # recorded in geomap unless said otherwise
    with pytest.raises(sa.exc.IntegrityError), conn.begin_nested():
        conn.execute(sa.text("INSERT INTO inspection (establishment_id, inspected_on, kind, result, made_via) "
                             "VALUES (:e, '2026-11-02', 'periodic', 'pass', 'fax')"), {"e": made["id"]})


def test_a_platform_label_with_a_comma_is_one_item(conn, ward) -> None:
    rows = [establishment_row("X-3", "Quán E", ward.near(ward.west), **{
        "Nền tảng thương mại điện tử": "Zalo (Zalo OA, cửa hàng Zalo), be (beFood, beMart); Shopee"})]
    run_import(conn, "establishments", csv_bytes(rows), ward_id=ward.id, filename="a.csv")
    assert _flags(conn, ward.id)["Quán E"][2] == ["zalo", "be", "shopee"]


def _dashboard_script(url: str, ward_id: int) -> None:
    from geomap import db
    from geomap.ui.context import Context
    from geomap.ui.pages import dashboard as page
    from geomap.users import User

    user = User(id=None, username="test.manager", full_name="Cán bộ", role="ward_manager", ward_id=ward_id)
    page.render(Context(engine=db.get_engine(url), lang="vi", ward_slug="hoa-cuong", ward_id=ward_id, user=user))


def test_the_staff_page_takes_any_period(database_url, demo_ward, monkeypatch) -> None:
    from streamlit.testing.v1 import AppTest

    from geomap import config, status
    from geomap.dashboard import periods

    monkeypatch.setattr(config, "DATABASE_URL", database_url)  # the page's cached frames use the default engine

    at = AppTest.from_function(_dashboard_script, kwargs={"url": database_url, "ward_id": demo_ward["id"]},
                               default_timeout=120)
    at.run()
    assert not at.exception
    quarter = str(periods.containing(status.today(), "quarter"))
    assert at.selectbox(key="dash.period").value == quarter  # the plan reports by quarter
    options = at.selectbox(key="dash.period").options
    assert quarter in options and f"{status.today().year}-H{(status.today().month - 1) // 6 + 1}" in options
    labels = [m.label for m in at.metric]
    assert "Cơ sở sử dụng nền tảng số" in labels and "Kiểm tra thực hiện qua hệ thống số" in labels
    year = str(status.today().year)
    at.selectbox(key="dash.period").set_value(year).run()
    assert not at.exception and any(f"Kỳ {year}: từ 01/01/{year}" in c.value for c in at.caption)
    assert any("hóa đơn điện tử" in m.value for m in at.markdown)  # the definitions are on the page


def test_imported_inspections_count_as_entered_from_paper(conn, ward) -> None:
    run_import(conn, "establishments", csv_bytes([establishment_row("X-9", "Quán F", ward.near(ward.west))]),
               ward_id=ward.id, filename="a.csv")
    inspections = csv_bytes([{"Mã cơ sở": "X-9", "Ngày kiểm tra": "15/10/2026", "Hình thức kiểm tra": "Định kỳ",
                              "Kết quả": "Đạt"}])
    run_import(conn, "inspections", inspections, ward_id=ward.id, filename="b.csv")
    assert conn.execute(sa.text("SELECT made_via FROM inspection i JOIN establishment e ON e.id = i.establishment_id "
                                "WHERE e.code = 'X-9'")).scalar_one() == "paper"
    s = dashboard.compute(dashboard.load_frames(conn, ward.id), None, TODAY, trend_periods=0).summary
    assert (s.loc["digital_inspection_share", "num"], s.loc["digital_inspection_share", "den"]) == (0, 1)
