"""The staff app (Streamlit). ``app.py`` is a thin router over the pages in ``geomap.ui.pages``.

Pages read widgets, call one service function, render. Caching lives here only:
``st.cache_resource`` for the engine, ``st.cache_data`` for query results.
"""
