"""Cached resources of the staff app (the only place ``st.cache_resource`` is used)."""

from __future__ import annotations

import streamlit as st
from sqlalchemy.engine import Engine

from geomap import db


@st.cache_resource(show_spinner=False)
def engine() -> Engine:
    return db.get_engine()
