"""The command line: geomap import / template / dashboard report, against the demo ward."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from geomap import cli, config, db, i18n, profiles


@pytest.fixture
def cli_db(monkeypatch, database_url, demo_ward):
    monkeypatch.setattr(config, "DATABASE_URL", database_url)
    return demo_ward


def _file(tmp_path, good: bool = True):
    inside = profiles.get("hoa-cuong").boundary().representative_point()
    day = "01/02/2025" if good else "30/02/2025"
    path = tmp_path / "cli.csv"
    path.write_text("Mã cơ sở;Tên cơ sở;Loại hình;Mã ngành VSIC;Kinh độ;Vĩ độ;Ngày cấp\n"
                    f"CLI-0001;Quán Dòng Lệnh;Hộ kinh doanh;5610;{inside.x};{inside.y};{day}\n", encoding="utf-8")
    return path


def test_import_dry_run_then_real_run(cli_db, tmp_path, capsys, database_url) -> None:
    path = _file(tmp_path)
    assert cli.main(["import", "establishments", str(path), "--dry-run", "--ward", "hoa-cuong"]) == 0
    assert "thêm mới 1" in capsys.readouterr().out
    engine = db.get_engine(database_url)
    count = "SELECT count(*) FROM establishment WHERE code = 'CLI-0001'"
    with engine.connect() as c:
        assert c.execute(sa.text(count)).scalar() == 0
    try:
        assert cli.main(["import", "establishments", str(path), "--lang", "en", "--report",
                         str(tmp_path / "plan.csv")]) == 0
        assert "Imported: insert 1" in capsys.readouterr().out
        assert (tmp_path / "plan.csv").read_text(encoding="utf-8-sig").startswith("Row,Action")
        with engine.connect() as c:
            assert c.execute(sa.text(count)).scalar() == 1
        assert cli.main(["import", "establishments", str(path), "--dry-run"]) == 0
        assert "không đổi 1" in capsys.readouterr().out
    finally:
        with db.transaction(engine) as c:
            c.execute(sa.text("DELETE FROM establishment WHERE code = 'CLI-0001'"))


def test_import_refuses_a_bad_file_with_a_row_message(cli_db, tmp_path, capsys) -> None:
    assert cli.main(["import", "establishments", str(_file(tmp_path, good=False))]) == 1
    err = capsys.readouterr().err
    assert "Dòng 2" in err and "30/02/2025" in err and "chưa ghi dữ liệu nào" in err
    assert cli.main(["import", "licences", str(tmp_path / "khong-co.xlsx")]) == 1
    assert "khong-co.xlsx" in capsys.readouterr().err


def test_template_and_dashboard_report(cli_db, tmp_path) -> None:
    assert cli.main(["template", str(tmp_path / "mau.xlsx")]) == 0
    assert "Từ điển dữ liệu" in load_workbook(tmp_path / "mau.xlsx").sheetnames
    month = f"{dt.date.today():%Y-%m}"
    assert cli.main(["dashboard", "report", str(tmp_path / "bc.xlsx"), "--period", month]) == 0
    wb = load_workbook(tmp_path / "bc.xlsx")
    assert wb.sheetnames[0] == "Tổng hợp" and wb["Tổng hợp"]["A2"].value == "Phường Hòa Cường"
    first = [r[0] for r in wb["Tổng hợp"].iter_rows(max_row=8, values_only=True)]
    assert i18n.t("app.synthetic_notice", "vi") in first  # the demo ward is synthetic, and the report says so
    assert cli.main(["dashboard", "report", str(tmp_path / "x.xlsx"), "--period", "2026-13"]) == 1
    half = f"{dt.date.today().year}-H{(dt.date.today().month - 1) // 6 + 1}"
    for period in (half, str(dt.date.today().year)):  # half-years and years too (issue 17)
        assert cli.main(["dashboard", "report", str(tmp_path / f"{period}.xlsx"), "--period", period]) == 0
        summary = {r[0]: r for r in load_workbook(tmp_path / f"{period}.xlsx")["Tổng hợp"].iter_rows(values_only=True)
                   if r and r[0]}
        assert summary["Kỳ báo cáo"][1] == period and summary["Quầy/sạp giao dịch QR/POS"][1] > 0


def test_import_as_a_named_user_checks_rights_and_names_them(cli_db, tmp_path, capsys, database_url) -> None:
    from geomap import auth

    engine = db.get_engine(database_url)
    with db.transaction(engine) as c:
        auth.create_user(c, "cli_nhap", "Người Nhập", "data_officer", "mat-khau-dai-1")
        auth.create_user(c, "cli_kiem", "Người Kiểm", "inspector", "mat-khau-dai-1")
    path = _file(tmp_path)
    try:
        # the dry run checks the same rights as the real run: an inspector's is refused too
        assert cli.main(["import", "establishments", str(path), "--dry-run", "--user", "cli_kiem"]) == 1
        out = capsys.readouterr()
        assert "Traceback" not in out.err and "import_records" in out.err
        assert "thêm mới" not in out.out
        assert cli.main(["import", "establishments", str(path), "--dry-run", "--user", "cli_nhap"]) == 0
        assert "thêm mới 1" in capsys.readouterr().out
        assert cli.main(["import", "establishments", str(path), "--user", "cli_kiem"]) == 1
        assert "Traceback" not in capsys.readouterr().err
        assert cli.main(["import", "establishments", str(path), "--user", "khong_co_ai"]) == 1
        assert "khong_co_ai" in capsys.readouterr().err
        with engine.connect() as c:
            assert c.execute(sa.text("SELECT count(*) FROM establishment WHERE code = 'CLI-0001'")).scalar() == 0
        assert cli.main(["import", "establishments", str(path), "--user", "cli_nhap"]) == 0
        with engine.connect() as c:
            who = c.execute(sa.text(
                "SELECT a.username FROM audit_log a JOIN establishment e ON a.entity_id = e.id "
                "WHERE a.entity_type = 'establishment' AND e.code = 'CLI-0001'")).scalars().all()
        assert who and set(who) == {"cli_nhap"}
    finally:
        with db.transaction(engine) as c:
            c.execute(sa.text("DELETE FROM establishment WHERE code = 'CLI-0001'"))
            c.execute(sa.text("DELETE FROM app_user WHERE username IN ('cli_nhap', 'cli_kiem')"))
