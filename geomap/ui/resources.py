"""Cached resources of the staff app (the only place ``st.cache_resource`` is used)."""

from __future__ import annotations

import streamlit as st
from sqlalchemy.engine import Engine

from geomap import db
from geomap.map import view as mapview

#: the app's static folder (Streamlit serves ``<app dir>/static`` at ``/app/static`` when enabled)
STATIC_DIR = mapview.STATIC_DIR
#: the staff app's tab icon (served by Streamlit itself, never from a CDN)
FAVICON = STATIC_DIR / "favicon.png"
#: the vendored assets as seen from the streamlit-folium iframe (``/component/<name>/index.html``)
_ASSETS_FROM_COMPONENT = "../../app/static"


@st.cache_resource(show_spinner=False)
def engine() -> Engine:
    return db.get_engine()


@st.cache_resource(show_spinner=False)
def map_assets_url() -> str | None:
    """Where the map loads Leaflet from: the app's own copies, served by the app (None when it cannot
    serve them: the maps then link the vendored files on disk, which only a browser on this machine
    reaches; no map ever loads from the internet).

    Serving them ourselves lets the map work on a ward network without internet access;
    it needs ``server.enableStaticServing`` (set in ``.streamlit/config.toml``).
    """
    return _ASSETS_FROM_COMPONENT if _static_served() else None


#: the vendored assets as seen from a page's own HTML (``st.components.v1.html``: the app's origin)
_ASSETS_FROM_PAGE = "/app/static"


@st.cache_resource(show_spinner=False)
def page_assets_url() -> str | None:
    """Like :func:`map_assets_url`, for a map rendered as the page's own HTML (the city map)."""
    return _ASSETS_FROM_PAGE if _static_served() else None


def _static_served() -> bool:
    """Does the app serve ``static/`` with every vendored map asset in it?"""
    return bool(st.get_option("server.enableStaticServing")) and all(
        (STATIC_DIR / path).is_file() for path in mapview.vendored_files())
