"""Base-map tiles served from a local MBTiles file: a ward intranet needs no tile server (issue 13)."""

from __future__ import annotations

import io
import sqlite3

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from geomap import config
from geomap.web import create_app


def _tile_png(colour: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (256, 256), colour).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
def mbtiles(tmp_path, monkeypatch):
    """An MBTiles file (the spec's schema, TMS rows) with two tiles over Hòa Cường at zoom 16."""
    path = tmp_path / "phuong.mbtiles"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE metadata (name text, value text)")
    con.execute("CREATE TABLE tiles (zoom_level integer, tile_column integer, tile_row integer, tile_data blob)")
    con.executemany("INSERT INTO metadata VALUES (?, ?)", [("name", "Hòa Cường"), ("format", "png")])
    # XYZ (16, 52469, 30410) is stored at TMS row 2^16 - 1 - 30410
    con.execute("INSERT INTO tiles VALUES (16, 52469, ?, ?)", ((1 << 16) - 1 - 30410, _tile_png((200, 10, 10))))
    con.execute("INSERT INTO tiles VALUES (16, 52470, ?, ?)", ((1 << 16) - 1 - 30410, _tile_png((10, 10, 200))))
    con.commit()
    con.close()
    monkeypatch.setattr(config, "TILE_MBTILES", str(path))
    return path


def test_tiles_come_from_the_file_in_xyz_numbering(mbtiles, database_url):
    with TestClient(create_app(database_url)) as client:
        r = client.get("/basemap/16/52469/30410")
        assert r.status_code == 200 and r.headers["content-type"] == "image/png"
        assert "max-age" in r.headers["cache-control"]
        assert Image.open(io.BytesIO(r.content)).getpixel((128, 128)) == (200, 10, 10)  # the tile itself, decoded
        assert Image.open(io.BytesIO(client.get("/basemap/16/52470/30410").content)).getpixel((5, 5)) == (10, 10, 200)
        assert client.get("/basemap/16/52471/30410").status_code == 404  # not in the file: a grey square
        assert client.get("/basemap/2/4/0").status_code == 404  # outside the zoom level's grid
        assert client.get("/basemap/99/0/0").status_code in (400, 404, 422)
        assert client.get("/basemap/16/-1/0").status_code in (400, 404, 422)


def test_without_a_file_there_is_no_basemap(monkeypatch, database_url):
    monkeypatch.setattr(config, "TILE_MBTILES", None)
    with TestClient(create_app(database_url)) as client:
        assert client.get("/basemap/16/52469/30410").status_code == 404
