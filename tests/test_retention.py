"""Reporters' personal data (Decree 13/2023): the purpose notice, consent, and ``geomap reports purge-personal``
erasing names, contacts, photos and outbox addresses of reports closed longer ago than the ward's retention
period (issue 17). Real PostGIS, real photo bytes read back from the database's own files."""

from __future__ import annotations

import datetime as dt
import io
import json
import re

import numpy as np
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from PIL import Image
from reports_fixtures import ensure_ward, inside_point
from streamlit.testing.v1 import AppTest

from geomap import cli, config, i18n, profiles
from geomap.field_reports import ReportError, intake, mail, photos, retention, workflow
from geomap.users import User
from geomap.web import create_app

SLUG = "luu-tru-thu"
#: the test ward lies one degree east of Hòa Cường (its outline moved), so no other test's report lands in it
SHIFT_LON = 1.0
MANAGER = User(id=None, username="quan.ly", full_name="Trần Quản Lý", role="ward_manager", ward_id=None)


@pytest.fixture(scope="module")
def ward(engine) -> int:
    """A ward of its own with a profile stored in the database (default retention: 12 months)."""
    prof = profiles.get("hoa-cuong")
    stored = {"report_deadline_days": profiles.PLAN_DEFAULTS["report_deadline_days"]}
    with engine.begin() as c:
        c.execute(sa.text("DELETE FROM ward WHERE slug = :s"), {"s": SLUG})
        ward_id = c.execute(sa.text(
            "INSERT INTO ward (slug, name, province, local_srid, profile, geom) VALUES (:s, 'Phường Lưu Trữ Thử', "
            ":p, 5899, CAST(:prof AS jsonb), ST_Multi(ST_Translate(ST_GeomFromText(:g, 4326), :dx, 0))) "
            "RETURNING id"),
            {"s": SLUG, "p": prof.province, "prof": json.dumps(stored), "g": prof.boundary().wkt,
             "dx": SHIFT_LON}).scalar()
    yield ward_id
    with engine.begin() as c:
        c.execute(sa.text("DELETE FROM ward WHERE id = :w"), {"w": ward_id})


def _point() -> tuple[float, float]:
    lon, lat = inside_point()
    return lon + SHIFT_LON, lat


def _photo(seed: int) -> photos.Photo:
    """A real JPEG of noise (incompressible, so PostgreSQL keeps it out of line, as a phone photo is)."""
    pixels = np.random.default_rng(seed).integers(0, 256, (220, 220, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="JPEG", quality=90)
    return photos.process(out.getvalue(), name=f"anh-{seed}.jpg")


def _report(engine, ward_id: int, *, closed_months_ago: float | None, contact: str | None = "lan@example.vn",
            n_photos: int = 2, seed: int = 0, status: str = "closed") -> int:
    """A report with a consenting reporter, photos and (contact an e-mail) outbox messages, moved to ``status``
    and then dated as if closed ``closed_months_ago`` (None: left open, reported two years ago)."""
    lon, lat = _point()
    now = dt.datetime.now(dt.UTC)
    data = intake.validate(category="garbage", description=f"Rác tồn đọng, mẫu lưu trữ {seed}", lat=lat, lon=lon,
                           reporter_name="Nguyễn Thị Lan" if contact else None, reporter_contact=contact,
                           photos=[_photo(seed * 10 + i) for i in range(n_photos)], consent=contact is not None)
    rid = intake.submit(engine, data, ward_id=ward_id, client=f"retention-{seed}").id
    if closed_months_ago is None:
        closed = now - dt.timedelta(days=730)
    else:
        for step in (["resolved", "closed"] if status == "closed" else [status]):
            workflow.transition(engine, rid, step, user=MANAGER, note="Đã dọn")
        closed = now - dt.timedelta(days=30.44 * closed_months_ago)
    with engine.begin() as c:  # as if it happened then
        c.execute(sa.text("UPDATE field_report_update SET at = :t WHERE report_id = :r AND status_to <> 'new'"),
                  {"t": closed, "r": rid})
        c.execute(sa.text("UPDATE field_report_update SET at = :t WHERE report_id = :r AND status_to = 'new'"),
                  {"t": closed - dt.timedelta(days=5), "r": rid})
        c.execute(sa.text("UPDATE field_report SET reported_at = :rep, resolved_at = CASE WHEN resolved_at IS NULL "
                          "THEN NULL ELSE CAST(:t AS timestamptz) END WHERE id = :r"),
                  {"t": closed, "rep": closed - dt.timedelta(days=5), "r": rid})
    return rid


def _state(engine, rid: int) -> dict:
    with engine.connect() as c:
        row = c.execute(sa.text(
            "SELECT public_id, reporter_name, reporter_contact, personal_erased_at, personal_erased_why, "
            "photos_erased, contact_consent_at, consent_notice, "
            "(SELECT count(*) FROM field_report_photo p WHERE p.report_id = f.id) AS photos, "
            "(SELECT count(*) FROM report_mail m WHERE m.report_id = f.id "
            " AND (m.to_address IS NOT NULL OR m.last_error LIKE '%@%')) AS addressed, "
            "(SELECT count(*) FROM report_mail m WHERE m.report_id = f.id) AS mails "
            "FROM field_report f WHERE id = :r"), {"r": rid}).mappings().one()
    return dict(row)


def _photo_files(engine) -> dict[str, bytes]:
    """The bytes of the photo table's files on disk (table and its TOAST table), by path in the data directory."""
    with engine.connect() as c:
        paths = c.execute(sa.text(
            "SELECT pg_relation_filepath(oid) FROM pg_class WHERE oid = 'field_report_photo'::regclass "
            "UNION ALL SELECT pg_relation_filepath(reltoastrelid) FROM pg_class "
            "WHERE oid = 'field_report_photo'::regclass")).scalars().all()
        c.execute(sa.text("CHECKPOINT"))  # what the table holds is on disk, not only in shared buffers
        return {p: _read_file(c, p) for p in paths}


def _read_file(c, path: str) -> bytes:
    data = c.execute(sa.text("SELECT pg_read_binary_file(:p, 0, 500000000, true)"), {"p": path}).scalar()
    return bytes(data or b"")


def _window(content: bytes) -> bytes:
    """A stretch of a photo's entropy-coded data: unique to it, and inside its first TOAST chunk."""
    return content[1000:1600]


def _stored_photos(engine, rid: int) -> list[bytes]:
    with engine.connect() as c:
        return [bytes(b) for b in c.execute(sa.text(
            "SELECT content FROM field_report_photo WHERE report_id = :r ORDER BY id"), {"r": rid}).scalars()]


def _audit(engine, entity_type: str, entity_id: int) -> list[dict]:
    with engine.connect() as c:
        return [dict(r) for r in c.execute(sa.text(
            "SELECT action, username, before, after, note FROM audit_log WHERE entity_type = :t AND entity_id = :i "
            "AND action IN ('erase_personal', 'purge_personal') ORDER BY id"), {"t": entity_type, "i": entity_id}
        ).mappings()]


@pytest.fixture
def cli_db(monkeypatch, database_url):
    monkeypatch.setattr(config, "DATABASE_URL", database_url)


# --- consent -----------------------------------------------------------------------------------------


def test_contact_needs_consent_and_none_is_asked_without_contact():
    lon, lat = _point()
    base = {"category": "garbage", "description": "Rác", "lat": lat, "lon": lon}
    assert intake.validate(**base).consent is False  # no contact: nothing to agree to
    assert intake.validate(**base, consent=True).consent is False  # nor recorded
    for given in ({"reporter_contact": "0905 111 222"}, {"reporter_name": "Lê Văn Tám"}):
        with pytest.raises(ReportError) as refused:
            intake.validate(**base, **given)
        assert refused.value.field == "consent"
        assert "đồng ý" in refused.value.message("vi") and "consent" in refused.value.message("en")
        assert intake.validate(**base, **given, consent=True).consent is True
    assert intake.validate(**base, reporter_contact="   ", consent=False).consent is False  # blank is no contact


def test_the_notice_says_what_why_who_how_long_and_how_to_delete():
    vi = retention.notice("vi", "Phường Hòa Cường", 12)
    en = retention.notice("en", "Phường Hòa Cường", 18)
    assert len(vi) == len(en) == len(retention.NOTICE_KEYS)
    text = " ".join(vi)
    for words in ("họ tên", "Để làm gì", "Ai được xem", "12 tháng", "xoá", "Ủy ban nhân dân Phường Hòa Cường"):
        assert words in text
    assert "18 more months" in " ".join(en) and "erased" in " ".join(en)
    assert re.fullmatch(r"tb-[0-9a-f]{10}", retention.NOTICE_VERSION)


def test_profile_retention_months(tmp_path):
    assert profiles.get("hoa-cuong").retention_months == 12
    good = tmp_path / "p.toml"
    good.write_text('name = "Phường X"\nretention_months = 24\n', encoding="utf-8")
    assert profiles.read_profile_file(good)["retention_months"] == 24
    for bad in ("0", '"12"', "121", "true"):
        path = tmp_path / "bad.toml"
        path.write_text(f'name = "Phường X"\nretention_months = {bad}\n', encoding="utf-8")
        with pytest.raises(profiles.ProfileFileError, match="retention_months"):
            profiles.read_profile_file(path)


def test_months_before_is_calendar_months():
    at = dt.datetime(2026, 3, 31, 9, 0, tzinfo=dt.UTC)
    assert retention.months_before(at, 1) == dt.datetime(2026, 2, 28, 9, 0, tzinfo=dt.UTC)
    assert retention.months_before(at, 12) == dt.datetime(2025, 3, 31, 9, 0, tzinfo=dt.UTC)
    assert retention.months_before(at, 15) == dt.datetime(2024, 12, 31, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def client(request, database_url, engine):
    ensure_ward(request, engine)
    app = create_app(database_url)
    app.state.limits.report.configure(0, 1)
    with TestClient(app, follow_redirects=False) as c:
        yield c


def _count(engine, description: str) -> int:
    with engine.connect() as c:
        return c.execute(sa.text("SELECT count(*) FROM field_report WHERE description = :d"),
                         {"d": description}).scalar()


def test_public_form_shows_the_notice_and_refuses_contact_without_consent(client, engine):
    page = client.get("/report")
    assert 'name="consent"' in page.text and "Thông tin cá nhân của bạn" in page.text
    assert "12 tháng" in page.text and retention.NOTICE_VERSION in page.text
    en = client.get("/report/privacy?lang=en")
    assert en.status_code == 200 and "How long" in en.text and "12 more months" in en.text
    lon, lat = inside_point()
    text = "Đèn hỏng, thử đồng ý liên hệ"
    form = {"category": "infrastructure", "description": text, "lat": f"{lat}", "lon": f"{lon}",
            "reporter_name": "Phạm Thị Mai", "reporter_contact": "mai@example.vn"}
    refused = client.post("/report", data=form)
    assert refused.status_code == 422 and "chưa đánh dấu ô đồng ý" in refused.text
    assert 'value="mai@example.vn"' in refused.text  # what was typed is kept for the second try
    assert _count(engine, text) == 0  # nothing stored
    assert client.post("/report", data={**form, "consent": "1"}).status_code == 303
    plain = "Đèn hỏng, thử không để liên hệ"
    assert client.post("/report", data={**form, "description": plain, "reporter_name": "",
                                        "reporter_contact": ""}).status_code == 303
    with engine.connect() as c:
        rows = {r.description: r for r in c.execute(sa.text(
            "SELECT description, reporter_contact, contact_consent_at, consent_notice FROM field_report "
            "WHERE description = ANY(:d)"), {"d": [text, plain]})}
    assert rows[text].reporter_contact == "mai@example.vn" and rows[text].consent_notice == retention.NOTICE_VERSION
    assert rows[text].contact_consent_at is not None
    assert rows[plain].contact_consent_at is None and rows[plain].consent_notice is None


def test_open311_keeps_contact_only_with_consent(client, engine):
    from geomap.accounts import apikeys
    from geomap.web.routes.open311 import CONSENT_REQUIRED

    key = apikeys.create(engine, "Ứng dụng thử đồng ý", ["open311"])
    lon, lat = inside_point()
    body = {"api_key": key, "service_code": "garbage", "lat": str(lat), "long": str(lon),
            "description": "Open311 thử đồng ý", "email": "bao@example.vn", "first_name": "Lê"}
    refused = client.post("/open311/v2/requests.json", data=body)
    assert refused.status_code == 400 and refused.json()[0]["description"] == CONSENT_REQUIRED
    assert _count(engine, "Open311 thử đồng ý") == 0
    made = client.post("/open311/v2/requests.json", data={**body, "consent": "true"})
    assert made.status_code == 201
    with engine.connect() as c:
        row = c.execute(sa.text("SELECT reporter_contact, consent_notice FROM field_report WHERE public_id = :p"),
                        {"p": made.json()[0]["service_request_id"]}).one()
    assert row.reporter_contact == "bao@example.vn" and row.consent_notice == retention.NOTICE_VERSION
    anonymous = client.post("/open311/v2/requests.json", data={
        k: v for k, v in body.items() if k not in ("email", "first_name")} | {"description": "Open311 ẩn danh"})
    assert anonymous.status_code == 201


# --- retention ---------------------------------------------------------------------------------------


def test_purge_erases_what_is_past_retention_and_keeps_the_rest(engine, ward, cli_db, capsys):
    kept = _report(engine, ward, closed_months_ago=11, seed=1)       # closed 11 months ago: kept
    old = _report(engine, ward, closed_months_ago=13, seed=2)        # closed 13 months ago: erased
    still_open = _report(engine, ward, closed_months_ago=None, seed=3)  # open for two years: kept
    set_aside = _report(engine, ward, closed_months_ago=13, seed=4, status="not_ward")  # set aside: erased
    nothing = _report(engine, ward, closed_months_ago=13, contact=None, n_photos=0, seed=5)  # nothing to erase
    with engine.begin() as c:  # a mail server's refusal names the recipient (SMTPRecipientsRefused)
        c.execute(sa.text("UPDATE report_mail SET last_error = "
                          "'{''lan@example.vn'': (550, b''mailbox unavailable'')}' WHERE id = "
                          "(SELECT min(id) FROM report_mail WHERE report_id = :r)"), {"r": old})
    before = {rid: _state(engine, rid) for rid in (kept, old, still_open, set_aside, nothing)}
    assert before[old]["reporter_contact"] == "lan@example.vn" and before[old]["photos"] == 2
    assert before[old]["addressed"] == 2 and before[old]["consent_notice"] == retention.NOTICE_VERSION
    old_photos, kept_photos = _stored_photos(engine, old), _stored_photos(engine, kept)
    files = _photo_files(engine)
    assert any(_window(p) in b for b in files.values() for p in old_photos)  # on disk now: the check can fail

    # a dry run lists and changes nothing
    assert cli.main(["reports", "purge-personal", "--ward", SLUG, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert before[old]["public_id"] in out and before[set_aside]["public_id"] in out and "would erase" in out
    for rid in (kept, still_open, nothing):
        assert before[rid]["public_id"] not in out
    assert {rid: _state(engine, rid) for rid in before} == before and _audit(engine, "ward", ward) == []

    # a long transaction in another database of the cluster (a report, a backup, another application) while the
    # run erases: its snapshot must not keep the deleted photos in the rewritten table
    other = sa.create_engine(sa.engine.make_url(engine.url).set(database="postgres"))
    with other.connect() as elsewhere:
        elsewhere.execute(sa.text("SELECT txid_current()"))
        assert cli.main(["reports", "purge-personal", "--ward", SLUG]) == 0
    other.dispose()
    out = capsys.readouterr().out
    assert "2 report(s), 4 photo(s), 3 mail address(es) erased; photo table compacted" in out
    after = {rid: _state(engine, rid) for rid in before}
    for rid in (old, set_aside):
        a = after[rid]
        assert a["reporter_name"] is None and a["reporter_contact"] is None and a["photos"] == 0
        assert a["photos_erased"] == 2 and a["personal_erased_why"] == "retention" and a["personal_erased_at"]
        assert a["addressed"] == 0 and a["mails"] == before[rid]["mails"]  # outbox: messages kept, no address
        assert a["consent_notice"] == retention.NOTICE_VERSION  # the consent record stays
    for rid in (kept, still_open, nothing):
        assert after[rid] == before[rid]
    # the erased photos left the table's files on disk; the kept ones are still there (the check reads the files)
    files_after = _photo_files(engine)
    with engine.connect() as c:
        for path in files:
            if path not in files_after:
                assert _read_file(c, path) == b""  # the old file, emptied when the table was rewritten
    for p in old_photos:
        assert not any(_window(p) in b for b in files_after.values())
    assert all(any(_window(p) in b for b in files_after.values()) for p in kept_photos)
    # audited: which fields went, never their values
    entries = _audit(engine, "field_report", old)
    assert [e["action"] for e in entries] == ["erase_personal"] and entries[0]["username"] == "system"
    assert entries[0]["before"] == {"reporter_name": True, "reporter_contact": True, "photos": 2,
                                    "mail_addresses": 2}
    assert "lan@example.vn" not in json.dumps(entries, default=str) and "Nguyễn Thị Lan" not in json.dumps(
        entries, default=str)
    run = _audit(engine, "ward", ward)
    assert len(run) == 1 and run[0]["after"]["reports"] == 2 and run[0]["after"]["retention_months"] == 12
    # an erased report's waiting messages are never sent, and a later status change mails nobody
    with engine.begin() as c:
        erased_mail = set(c.execute(sa.text("SELECT id FROM report_mail WHERE report_id = :r"), {"r": old}).scalars())
        assert len(erased_mail) == 2 and not erased_mail & {m["id"] for m in mail.data.pending_mail(c, 100_000)}
    workflow.transition(engine, old, "received", user=MANAGER)
    assert _state(engine, old) == after[old]

    # idempotent: a second run finds nothing and writes nothing
    assert cli.main(["reports", "purge-personal", "--ward", SLUG]) == 0
    assert "0 report(s), 0 photo(s), 0 mail address(es) erased; nothing left to erase" in capsys.readouterr().out
    assert {rid: _state(engine, rid) for rid in before} == after
    assert len(_audit(engine, "ward", ward)) == 1


def test_a_failing_run_changes_nothing(engine, ward):
    first = _report(engine, ward, closed_months_ago=14, seed=6)
    second = _report(engine, ward, closed_months_ago=15, seed=7)
    before = {rid: _state(engine, rid) for rid in (first, second)}
    with engine.begin() as c:  # the database refuses to delete the second report's photos
        c.execute(sa.text(
            "CREATE FUNCTION refuse_photo_delete() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF OLD.report_id = {second} THEN RAISE EXCEPTION 'photo store unavailable'; END IF; RETURN OLD; END $$"))
        c.execute(sa.text("CREATE TRIGGER refuse_photo_delete BEFORE DELETE ON field_report_photo "
                          "FOR EACH ROW EXECUTE FUNCTION refuse_photo_delete()"))
    try:
        with pytest.raises(sa.exc.DBAPIError, match="photo store unavailable"):
            retention.purge_personal(engine, SLUG)
        assert {rid: _state(engine, rid) for rid in before} == before  # all or nothing
    finally:
        with engine.begin() as c:
            c.execute(sa.text("DROP TRIGGER refuse_photo_delete ON field_report_photo"))
            c.execute(sa.text("DROP FUNCTION refuse_photo_delete()"))
    done = retention.purge_personal(engine, SLUG, compact=False)
    assert {r.public_id for r in done.reports} == {before[first]["public_id"], before[second]["public_id"]}
    assert not done.compacted


def test_a_reporter_may_ask_for_erasure_of_an_open_report(engine, ward, cli_db, capsys):
    rid = _report(engine, ward, closed_months_ago=None, seed=8)
    code = _state(engine, rid)["public_id"]
    assert cli.main(["reports", "purge-personal", "--ward", SLUG, "--report", code, "--no-compact"]) == 0
    assert code in capsys.readouterr().out
    state = _state(engine, rid)
    assert state["reporter_contact"] is None and state["photos"] == 0 and state["personal_erased_why"] == "request"
    assert cli.main(["reports", "purge-personal", "--ward", SLUG, "--report", "PA-KHNG-C0-MA"]) == 1
    assert "PA-KHNG-C0-MA" in capsys.readouterr().err


def test_erasure_on_request_needs_the_right_in_the_service(engine, ward):
    """The service itself refuses roles without ``erase_personal`` (not only the staff page's button)."""
    from conftest import staff_user

    from geomap.auth import PermissionDenied

    rid = _report(engine, ward, closed_months_ago=None, seed=9)
    code = _state(engine, rid)["public_id"]
    for role in ("inspector", "data_officer", "city"):
        with pytest.raises(PermissionDenied):
            retention.purge_personal(engine, SLUG, public_ids=[code], user=staff_user(role), compact=False)
    assert _state(engine, rid)["reporter_contact"] is not None
    retention.purge_personal(engine, SLUG, public_ids=[code], user=staff_user("ward_manager"), compact=False)
    assert _state(engine, rid)["reporter_contact"] is None


# --- the staff page -------------------------------------------------------------------------------------


def _personal_block(database_url: str, report_id: int, role: str, lang: str, slug: str) -> None:
    from conftest import staff_user

    from geomap import db
    from geomap.field_reports import reads
    from geomap.ui.context import Context
    from geomap.ui.pages import reports

    engine = db.get_engine(database_url)
    user = staff_user(role)
    report = reads.redact_for(reads.get(engine, report_id), user)
    reports._personal(Context(engine=engine, lang=lang, ward_slug=slug, ward_id=0, user=user), report)


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_staff_page_says_erased_instead_of_the_data(database_url, engine, ward, lang):
    erased = _report(engine, ward, closed_months_ago=13, seed=9)
    retention.purge_personal(engine, SLUG, compact=False)
    consenting = _report(engine, ward, closed_months_ago=1, seed=10)
    shown = AppTest.from_function(_personal_block, args=(database_url, erased, "data_officer", lang, SLUG),
                                  default_timeout=60)
    shown.run()
    texts = " ".join(t.value for t in shown.text)
    label = i18n.t("privacy.erased.retention", lang)
    assert not shown.exception and texts.count(label) == 2  # the reporter and the photos
    assert ("đã xoá theo thời hạn lưu trữ" in texts) == (lang == "vi")
    live = AppTest.from_function(_personal_block, args=(database_url, consenting, "data_officer", lang, SLUG),
                                 default_timeout=60)
    live.run()
    assert "lan@example.vn" in " ".join(t.value for t in live.text)
    assert retention.NOTICE_VERSION in " ".join(c.value for c in live.caption)
    inspector = AppTest.from_function(_personal_block, args=(database_url, consenting, "inspector", lang, SLUG),
                                      default_timeout=60)
    inspector.run()
    assert "lan@example.vn" not in " ".join(t.value for t in inspector.text)


def test_a_ward_manager_erases_on_request_from_the_staff_page(database_url, engine, ward):
    rid = _report(engine, ward, closed_months_ago=None, seed=11)
    officer = AppTest.from_function(_personal_block, args=(database_url, rid, "data_officer", "vi", SLUG),
                                    default_timeout=60)
    officer.run()
    assert not officer.exception and len(officer.button) == 0  # a data officer sees the contact, cannot erase
    manager = AppTest.from_function(_personal_block, args=(database_url, rid, "ward_manager", "vi", SLUG),
                                    default_timeout=60)
    manager.run()
    manager.button[0].click().run()  # without the confirmation: nothing happens
    assert _state(engine, rid)["reporter_contact"] == "lan@example.vn"
    manager.checkbox[0].check()
    manager.button[0].click().run()
    state = _state(engine, rid)
    assert state["reporter_contact"] is None and state["photos"] == 0 and state["personal_erased_why"] == "request"
    assert _audit(engine, "field_report", rid)[0]["username"] == "test.staff"
    manager.run()
    texts = " ".join(t.value for t in manager.text)
    assert "đã xoá theo yêu cầu của người phản ánh" in texts and len(manager.button) == 0
