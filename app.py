"""Staff app entry point: ``streamlit run app.py``. A thin router; pages live in geomap.ui.pages."""

from geomap.ui.router import main

main()
