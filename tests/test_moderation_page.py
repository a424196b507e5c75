"""The staff page's moderation step (Streamlit's AppTest, no browser): a moderator edits the public
text and publishes it; a role without ``moderate_reports`` only sees the state."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from reports_fixtures import ensure_ward, inside_point
from streamlit.testing.v1 import AppTest

from geomap.field_reports import intake, reads


def _moderation_step(database_url: str, report_id: int, role: str) -> None:
    from conftest import staff_user

    from geomap import db
    from geomap.field_reports import reads
    from geomap.ui.context import Context
    from geomap.ui.pages import reports

    engine = db.get_engine(database_url)
    report = reads.get(engine, report_id)
    ctx = Context(engine=engine, lang="vi", ward_slug="hoa-cuong", ward_id=0, user=staff_user(role))
    reports._moderation(ctx, engine, report)


@pytest.fixture
def report_id(request, engine) -> int:
    ensure_ward(request, engine)
    lon, lat = inside_point()
    data = intake.validate(category="garbage", description="Chị Lan 0905111222 đổ rác ra hẻm", lat=f"{lat}",
                           lon=f"{lon + 0.0003}", channel="web")
    done = intake.submit(engine, data, ward_slug="hoa-cuong", client="test-moderation-page")
    yield done.id
    with engine.begin() as c:
        c.execute(sa.text("DELETE FROM field_report WHERE id = :i"), {"i": done.id})


def test_a_moderator_publishes_an_edited_text(database_url, engine, report_id):
    at = AppTest.from_function(_moderation_step, args=(database_url, report_id, "ward_manager"),
                               default_timeout=60)
    at.run()
    assert not at.exception
    assert "chờ duyệt" in at.expander[0].label  # pending: the expander is open with the reporter's text
    assert at.text_area[0].value == "Chị Lan 0905111222 đổ rác ra hẻm"
    at.text_area[0].input("Có người đổ rác ra hẻm")  # inside the form: sent with its submit button
    at.button[0].click().run()  # "Duyệt công khai"
    assert not at.exception
    after = reads.get(engine, report_id)
    assert after["moderation"] == "approved" and after["public_description"] == "Có người đổ rác ra hẻm"
    assert reads.public_view(engine, after["public_id"])["description"] == "Có người đổ rác ra hẻm"


def test_without_the_right_the_state_is_shown_not_the_form(database_url, engine, report_id):
    at = AppTest.from_function(_moderation_step, args=(database_url, report_id, "inspector"), default_timeout=60)
    at.run()
    assert not at.exception and len(at.text_area) == 0 and len(at.button) == 0
    assert any("chờ duyệt" in t.value for t in at.text)
