"""Report text and photos are public only once a moderator approves them (issue 18; FixMyStreet's practice).

Before: the tracking page, Open311 JSON and XML show the category, place and status but neither the
description, nor the free-text address, nor a photo. After approval: the moderator's text (edited here),
the address and the photos. Withheld again: hidden again. Only roles holding ``moderate_reports``.
"""

from __future__ import annotations

import itertools
import re

import pytest
import sqlalchemy as sa
from conftest import staff_user
from fastapi.testclient import TestClient
from reports_fixtures import ensure_ward, inside_point
from test_photos import jpeg_with_gps

from geomap import auth
from geomap.field_reports import ReportError, reads, workflow
from geomap.web import create_app

SECRET = "Ông Nguyễn Văn Tư 0905123456 đổ rác"
EDITED = "Rác đổ trước nhà số 12 (đã lược bỏ thông tin cá nhân)"
ADDRESS = "Kiệt 27 Núi Thành"


@pytest.fixture(scope="module")
def client(request, database_url, engine):
    ensure_ward(request, engine)
    app = create_app(database_url)
    for limiter in app.state.limits.limiters():
        limiter.configure(0, 1)
    with TestClient(app, follow_redirects=False) as c:
        yield c


_made = itertools.count(1)


@pytest.fixture
def report(client, engine) -> tuple[int, str]:
    """A new report (its own point: a replay of the same submission would find the earlier one)."""
    lon, lat = inside_point()
    lon += next(_made) * 1e-5
    r = client.post("/report", data={"category": "garbage", "description": SECRET, "lat": f"{lat}", "lon": f"{lon}"},
                    files=[("photos", ("a.jpg", jpeg_with_gps(size=(80, 60)), "image/jpeg"))])
    assert r.status_code == 303, r.text[:300]
    public_id = re.search(r"(PA-[A-Z0-9-]+)", r.headers["location"]).group(1)
    with engine.begin() as c:  # a free-text address, as Open311 clients and staff intake give one
        report_id = c.execute(sa.text("UPDATE field_report SET address = :a WHERE public_id = :p RETURNING id"),
                              {"a": ADDRESS, "p": public_id}).scalar_one()
    return report_id, public_id


def public_outputs(client, public_id: str) -> dict[str, str]:
    return {
        "track": client.get(f"/report/track/{public_id}").text,
        "track_en": client.get(f"/report/track/{public_id}?lang=en").text,
        "json": client.get(f"/open311/v2/requests/{public_id}.json").text,
        "xml": client.get(f"/open311/v2/requests/{public_id}.xml").text,
        "list": client.get("/open311/v2/requests.json").text,
        "list_xml": client.get("/open311/v2/requests.xml").text,
    }


def test_unmoderated_text_address_and_photo_are_not_public(client, report):
    _, public_id = report
    out = public_outputs(client, public_id)
    for name, text in out.items():
        assert "0905123456" not in text and "Nguyễn Văn Tư" not in text and ADDRESS not in text, name
    assert public_id in out["list"] and public_id in out["track"]  # the report itself is listed, anonymised
    assert "chờ phường xem xét" in out["track"] and "waiting for the ward&#39;s review" in out["track_en"]
    one = client.get(f"/open311/v2/requests/{public_id}.json").json()[0]
    assert one["description"] is None and one["address"] is None and one["media_url"] is None
    assert one["service_code"] == "garbage" and one["lat"] and one["status"] == "open"
    assert client.get(f"/report/track/{public_id}/photo/1").status_code == 404
    assert "/photo/1" not in out["track"]


def test_approved_text_and_photo_become_public_then_withheld_again(client, report, engine):
    report_id, public_id = report
    manager = staff_user("ward_manager", id=None)
    workflow.moderate(engine, report_id, "approved", user=manager, public_text=EDITED)
    out = public_outputs(client, public_id)
    assert EDITED in out["track"] and EDITED in out["json"] and EDITED in out["xml"] and EDITED in out["list"]
    assert ADDRESS in out["json"] and ADDRESS in out["xml"]
    assert "0905123456" not in str(out)  # the reporter's own words stay private: the edited text is published
    one = client.get(f"/open311/v2/requests/{public_id}.json").json()[0]
    assert one["media_url"].endswith(f"/report/track/{public_id}/photo/1")
    photo = client.get(f"/report/track/{public_id}/photo/1")
    assert photo.status_code == 200 and photo.headers["content-type"] == "image/jpeg"
    assert 'src="/report/track/' in out["track"]

    # approved without photos: text yes, photos no
    workflow.moderate(engine, report_id, "approved", user=manager, photos=False)
    assert SECRET in client.get(f"/report/track/{public_id}").text  # default: the reporter's text as it is
    assert client.get(f"/report/track/{public_id}/photo/1").status_code == 404

    workflow.moderate(engine, report_id, "withheld", user=manager)
    out = public_outputs(client, public_id)
    assert SECRET not in str(out) and EDITED not in str(out) and ADDRESS not in str(out)
    assert "không công khai nội dung" in out["track"]
    assert client.get(f"/report/track/{public_id}/photo/1").status_code == 404
    # staff still see everything
    staff = reads.get(engine, report_id)
    assert staff["description"] == SECRET and staff["moderation"] == "withheld"
    assert reads.staff_photo(engine, public_id, 1) is not None
    with engine.connect() as c:
        audit = c.execute(sa.text("SELECT count(*) FROM audit_log WHERE entity_type = 'field_report' "
                                  "AND entity_id = :i AND action = 'moderate'"), {"i": report_id}).scalar()
    assert audit == 3


def test_only_moderators_moderate_and_an_empty_text_is_refused(engine, report):
    report_id, _ = report
    with pytest.raises(auth.PermissionDenied):
        workflow.moderate(engine, report_id, "approved", user=staff_user("inspector"))
    with pytest.raises(ReportError) as err:
        workflow.moderate(engine, report_id, "approved", user=staff_user("data_officer"), public_text="   ")
    assert "trống" in err.value.message("vi")
    with pytest.raises(ReportError):
        workflow.moderate(engine, report_id, "publish", user=None)
    assert reads.get(engine, report_id)["moderation"] == "pending"  # nothing changed
    with engine.connect() as c:
        ward_id = c.execute(sa.text("SELECT ward_id FROM field_report WHERE id = :i"), {"i": report_id}).scalar_one()
    # the staff page's "to moderate" list
    assert [r["id"] for r in reads.work_list(engine, ward_id, moderation=["pending"], ids=[report_id])] == [report_id]
    assert reads.work_list(engine, ward_id, moderation=["approved"], ids=[report_id]) == []


def test_the_form_says_what_will_be_public(client):
    vi, en = client.get("/report").text, client.get("/report?lang=en").text
    assert "chỉ được công khai sau khi cán bộ phường xem xét" in vi and "không bao giờ công khai" in vi
    assert "become public only after ward staff review them" in en and "never published" in en
