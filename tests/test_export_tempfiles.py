"""An export killed mid-way (SIGKILL: no ``finally`` runs) leaves its temporary files; the next export
into that folder removes them. File names say what a file holds: ``--format csv --out x.csv``."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import pytest
from export_fixtures import SLUG
from export_fixtures import loaded as loaded_fixture

from geomap import export
from geomap.export.selection import ExportError

PROJECT = Path(__file__).resolve().parent.parent

#: an export whose GeoPackage writer stops half-way, inside an open SQLite transaction (so its
#: ``-journal`` exists), says so, and waits to be killed
_KILLED_EXPORT = textwrap.dedent("""
    import sqlite3, sys, time
    from pathlib import Path
    from geomap import db, export
    from geomap.export import writers

    real = writers.WRITERS["gpkg"]

    def half_then_hang(path, bundle):
        real(path, bundle)
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA journal_mode=DELETE")
        conn.execute("BEGIN EXCLUSIVE")
        conn.execute("CREATE TABLE half_written (x)")
        conn.execute("INSERT INTO half_written VALUES (1)")
        Path(sys.argv[3]).write_text("ready")
        time.sleep(600)

    writers.WRITERS["gpkg"] = half_then_hang
    export.export(db.get_engine(sys.argv[1]), fmt=sys.argv[4], ward=sys.argv[5], dest=Path(sys.argv[2]),
                  layers=["establishments"])
""")


@pytest.fixture(scope="module")
def ward(engine):
    yield from loaded_fixture(engine)


def _killed_export(database_url: str, out: Path, flag: Path, fmt: str = "gpkg") -> None:
    proc = subprocess.Popen([sys.executable, "-c", _KILLED_EXPORT, database_url, str(out), str(flag), fmt, SLUG],
                            cwd=PROJECT, env={**os.environ, "PYTHONPATH": str(PROJECT)})
    try:
        for _ in range(1200):  # until the writer is half-way (or the process failed)
            if flag.exists() or proc.poll() is not None:
                break
            time.sleep(0.1)
        assert flag.exists(), f"the export never got half-way (exit {proc.poll()})"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL


def test_killed_export_leaves_nothing_after_the_next_run(engine, database_url, ward, tmp_path):
    out = tmp_path / "exports"
    out.mkdir()
    flag = tmp_path / "ready"
    _killed_export(database_url, out / "city.gpkg", flag)
    left = sorted(p.name for p in out.iterdir())
    # what issue 18 saw: the temporary GeoPackage and its journal beside the target; never the target itself
    assert "city.gpkg" not in left and any(n.endswith(".gpkg") for n in left) and any(n.endswith("-journal")
                                                                                     for n in left), left
    assert all(n.startswith(".partial-") for n in left)

    result = export.export(engine, fmt="gpkg", ward=SLUG, dest=out / "city.gpkg", layers=["establishments"])
    assert sorted(p.name for p in out.iterdir()) == ["city.gpkg"] and result.path == out / "city.gpkg"


def test_killed_zip_export_scratch_folder_is_removed(engine, database_url, ward, tmp_path):
    """The zipped formats write in a scratch folder first: a kill there is cleaned the same way."""
    out = tmp_path / "z"
    out.mkdir()
    scratch = out / ".export-999999999-abcd1234"  # a process id that cannot exist
    (scratch / "sub").mkdir(parents=True)
    (scratch / "establishments.csv").write_text("half")
    partial = out / ".partial-999999999-0123456789-feed.csv.zip"
    partial.write_bytes(b"PK")
    legacy = out / ".partial-0a1b2c3d4e-old.gpkg"  # the name before the process id was in it
    legacy.write_bytes(b"x")
    os.utime(legacy, (time.time() - 3600, time.time() - 3600))
    fresh_legacy = out / ".partial-ffffffffff-other.gpkg"  # could be an older version's export running now
    fresh_legacy.write_bytes(b"x")
    running = out / f".partial-{os.getppid()}-0123456789-running.gpkg"  # a live process: another export
    running.write_bytes(b"x")
    mine = out / "notes.partial.txt"  # the user's own file, whatever its name
    mine.write_text("keep")
    export.export(engine, fmt="csv", ward=SLUG, dest=out, layers=["establishments"])
    names = sorted(p.name for p in out.iterdir())
    assert scratch.name not in names and partial.name not in names and legacy.name not in names
    assert {fresh_legacy.name, running.name, mine.name} <= set(names)
    assert len([n for n in names if n.endswith(".csv.zip")]) == 1


def test_csv_named_csv_is_a_csv(engine, ward, tmp_path):
    """One layer into x.csv: a real CSV file (UTF-8, BOM). Several: refused with a clear message, nothing
    written. Other formats whose name says something else: refused too."""
    one = export.export(engine, fmt="csv", ward=SLUG, dest=tmp_path / "x.csv", layers=["establishments"])
    assert one.path == tmp_path / "x.csv" and not zipfile.is_zipfile(one.path)
    raw = one.path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))
    assert rows and "wkt" in rows[0] and any("Phở Hòa Cường" in r.get("name", "") for r in rows)

    with pytest.raises(ExportError) as err:
        export.export(engine, fmt="csv", ward=SLUG, dest=tmp_path / "all.csv", layers=["establishments", "markets"])
    assert "ZIP" in err.value.message("vi") and ".csv.zip" in err.value.message("en")
    with pytest.raises(ExportError) as err:
        export.export(engine, fmt="gpkg", ward=SLUG, dest=tmp_path / "city.shp", layers=["markets"])
    assert "does not match the GeoPackage format" in err.value.message("en") and ".gpkg" in err.value.message("vi")
    with pytest.raises(ExportError):
        export.export(engine, fmt="geojson", ward=SLUG, dest=tmp_path / "city.geojson", layers=["markets"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.csv"]

    # names that match: the format's own suffix, any .zip for a zipped format, an existing file without one
    assert export.check_name(tmp_path / "a.csv.zip", "csv", 3) == "csv"
    assert export.check_name(tmp_path / "a.zip", "geojson", 3) == "geojson"
    assert export.check_name(tmp_path / "feed", "gpkg", 3) == "gpkg"
    assert export.check_name(tmp_path / "A.GPKG", "gpkg", 3) == "gpkg"


def test_command_line_csv_names(database_url, ward, tmp_path, monkeypatch, capsys):
    from geomap import cli, config

    monkeypatch.setattr(config, "DATABASE_URL", database_url)
    assert cli.main(["export", "--ward", SLUG, "--format", "csv", "--layers", "establishments,markets",
                     "--out", str(tmp_path / "x.csv")]) == 1
    assert "ZIP" in capsys.readouterr().err and not (tmp_path / "x.csv").exists()
    assert cli.main(["export", "--ward", SLUG, "--format", "csv", "--layers", "establishments",
                     "--out", str(tmp_path / "x.csv")]) == 0
    assert not zipfile.is_zipfile(tmp_path / "x.csv")
