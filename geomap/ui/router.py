"""The staff app's router: page config, language and ward pickers, navigation by role."""

from __future__ import annotations

import streamlit as st
from sqlalchemy.exc import DBAPIError

from geomap import config, db, i18n, links
from geomap.errors import GeomapError
from geomap.ui import auth, resources, widgets
from geomap.ui import pages as page_registry
from geomap.ui.context import Context
from geomap.ui.resources import engine
from geomap.wards import data as ward_data


def main() -> None:
    # the tab icon is a file the app serves itself: an emoji or ":material/…" icon makes the browser
    # fetch it from a font/emoji CDN, which a ward intranet cannot reach
    st.set_page_config(page_title="Bản đồ số kinh doanh", page_icon=str(resources.FAVICON), layout="wide")
    lang = st.sidebar.radio(
        "Ngôn ngữ / Language", list(i18n.LANGUAGES), format_func=i18n.LANGUAGES.get, horizontal=True,
        index=list(i18n.LANGUAGES).index(_first_language()), key="lang",
    )
    try:
        eng = engine()
        wards = ward_data.loaded_wards(eng)
    except (GeomapError, DBAPIError) as exc:
        _explain(exc)
        st.stop()
    if not wards:
        st.warning("Chưa có dữ liệu phường: chạy 'geomap demo load'." if lang == "vi"
                   else "No ward loaded yet: run 'geomap demo load'.")
        st.stop()
    user = auth.require_user()
    # an account bound to one ward sees that ward only; a city-wide account (no ward) picks any
    wards = [w for w in wards if user.ward_id is None or w["id"] == user.ward_id]
    if not wards:
        st.warning(i18n.t("app.no_ward_of_account", lang))
        st.stop()
    slugs = [w["slug"] for w in wards]
    asked = st.query_params.get(links.WARD_PARAM)  # a deep link names its ward
    default = slugs.index(asked) if asked in slugs else (
        slugs.index(config.DEFAULT_WARD) if config.DEFAULT_WARD in slugs else 0)
    slug = st.sidebar.selectbox(i18n.t("app.ward", lang), slugs, index=default,
                                format_func=lambda s: next(w["name"] for w in wards if w["slug"] == s), key="ward")
    ward = next(w for w in wards if w["slug"] == slug)
    ctx = Context(engine=eng, lang=lang, ward_slug=slug, ward_id=ward["id"], user=user)

    allowed = [p for p in page_registry.discover() if user.role in p.roles]
    st_pages = {p.key: st.Page(lambda p=p: _render(p, ctx), title=p.title(lang), icon=p.icon, url_path=p.key,
                               default=p.default) for p in allowed}
    nav = st.navigation(list(st_pages.values()))
    requested = auth.requested_page()
    if requested and requested[0] in st_pages and (
            requested[0] != nav.url_path or requested[1] != st.query_params.to_dict()):
        st.switch_page(st_pages[requested[0]], query_params=requested[1])  # the link opened before sign-in
    st.sidebar.caption(i18n.t("app.attribution", lang))
    with st.sidebar:
        widgets.speak(lang)  # Streamlit's own widget words in the user's language
    nav.run()


def _first_language() -> str:
    """The language a new browser session starts in: the link's ``?lang=``, else the one last chosen in the
    public service or the field app (its ``geomap_lang`` cookie, sent to both apps), else the configured one."""
    try:
        cookie = st.context.cookies.get(_LANG_COOKIE)
    except Exception:  # noqa: BLE001 - no request context (a script run outside a browser session)
        cookie = None
    for asked in (st.query_params.get(links.LANG_PARAM), cookie):
        if asked in i18n.LANGUAGES:
            return asked
    return config.LANGUAGE


#: the public service's language cookie (:mod:`geomap.web.field_pages`; not imported: no web here)
_LANG_COOKIE = "geomap_lang"


def _render(page: page_registry.Page, ctx: Context) -> None:
    """Render a page under the ward's synthetic-data label; a failure the user can act on is one
    clear sentence, not a traceback."""
    try:
        if _ward_is_synthetic(ctx.ward_id):
            st.info(ctx.t("app.synthetic_notice"), icon=":material/science:")
        page.render(ctx)
    except (GeomapError, DBAPIError) as exc:
        _explain(exc)


@st.cache_data(ttl=300, show_spinner=False)
def _ward_is_synthetic(ward_id: int) -> bool:
    return ward_data.ward_is_synthetic(engine(), ward_id)


def _explain(exc: GeomapError | DBAPIError) -> None:
    """One sentence for a database or user-fixable failure; anything else is a bug and re-raised."""
    readable = db.readable_error(exc)
    if readable is None:
        raise exc
    st.error(str(readable))
