"""Field reports: intake validation, replay, location checks, workflow, deadlines, duplicates (real PostGIS)."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from conftest import staff_user
from language_check import data_values, foreign_words
from reports_fixtures import ensure_ward, inside_point, offset

from geomap import field_reports, i18n, links, profiles
from geomap.field_reports import ReportError, deadlines, hotspot_links, hotspots, intake, reads, workflow
from geomap.models import REPORT_STATUSES
from geomap.users import User

UTC = dt.UTC


@pytest.fixture(scope="module")
def ward(request, engine) -> int:
    return ensure_ward(request, engine)


@pytest.fixture(scope="module")
def inside() -> tuple[float, float]:
    """(lon, lat) of a point well inside the ward."""
    return inside_point()


@pytest.fixture
def officer(conn) -> User:
    uid = conn.execute(sa.text(
        "INSERT INTO app_user (username, full_name, role, password_hash) VALUES "
        "('test_officer_r5', 'Nguyễn Văn Xử Lý', 'inspector', 'x') RETURNING id")).scalar()
    return User(id=uid, username="test_officer_r5", full_name="Nguyễn Văn Xử Lý", role="inspector")


def make(conn, ward, lonlat, *, category="garbage", text="Rác đổ trộm ở góc đường", at=None, client="t", **kw):
    data = intake.validate(category=category, description=text, lat=lonlat[1], lon=lonlat[0], **kw)
    return intake.submit(conn, data, ward_id=ward, client=client, at=at)


# --- validation -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, field", [
    ({"description": ""}, "description"),
    ({"description": "   \n "}, "description"),
    ({"description": "x" * 10_000}, "description"),
    ({"category": "nonsense"}, "category"),
    ({"lat": 0, "lon": 0}, "location"),
    ({"lat": None, "lon": None}, "location"),
    ({"lat": "abc", "lon": "108.2"}, "location"),
    ({"lat": 95, "lon": 108.2}, "location"),
])
def test_validate_rejects_with_field(kwargs, field):
    base = {"category": "garbage", "description": "ok", "lat": 16.04, "lon": 108.22}
    with pytest.raises(ReportError) as err:
        intake.validate(**{**base, **kwargs})
    assert err.value.field == field
    assert err.value.message("vi") and err.value.message("en") != err.value.message("vi")


def test_validate_long_description_message_gives_length():
    with pytest.raises(ReportError) as err:
        intake.validate(category="garbage", description="ả" * 10_000, lat=16.04, lon=108.22)
    assert "10,000" in err.value.message("en") and "2,000" in err.value.message("en")


def test_hostile_text_is_stored_verbatim_minus_controls(conn, ward, inside):
    hostile = "<script>alert('x')</script> '; DROP TABLE field_report; --\x00 Phở"
    done = make(conn, ward, inside, text=hostile)
    stored = conn.execute(sa.text("SELECT description FROM field_report WHERE id = :i"), {"i": done.id}).scalar()
    assert stored == "<script>alert('x')</script> '; DROP TABLE field_report; -- Phở"


# --- intake ---------------------------------------------------------------------------------------


def test_submit_writes_report_history_and_audit(conn, ward, inside):
    done = make(conn, ward, inside)
    assert done.created and done.public_id.startswith("PA-") and done.public_id != str(done.id)
    row = conn.execute(sa.text("SELECT status, channel, ward_id FROM field_report WHERE id = :i"),
                       {"i": done.id}).one()
    assert tuple(row) == ("new", "web", ward)
    hist = conn.execute(sa.text("SELECT status_to FROM field_report_update WHERE report_id = :i"),
                        {"i": done.id}).scalars().all()
    assert hist == ["new"]
    assert conn.execute(sa.text(
        "SELECT count(*) FROM audit_log WHERE entity_type = 'field_report' AND entity_id = :i"),
        {"i": done.id}).scalar() == 1


def test_replay_within_a_minute_returns_same_report(conn, ward, inside):
    at = dt.datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    first = make(conn, ward, inside, at=at, client="1.2.3.4|phone")
    again = make(conn, ward, inside, at=at + dt.timedelta(seconds=30), client="1.2.3.4|phone")
    assert not again.created and again.public_id == first.public_id
    other_client = make(conn, ward, inside, at=at + dt.timedelta(seconds=30), client="5.6.7.8|phone")
    later = make(conn, ward, inside, at=at + dt.timedelta(seconds=61), client="1.2.3.4|phone")
    changed = make(conn, ward, inside, at=at + dt.timedelta(seconds=5), client="1.2.3.4|phone", text="Khác hẳn")
    assert other_client.created and later.created and changed.created
    assert len({first.id, other_client.id, later.id, changed.id}) == 4


def test_outside_ward_rejected_and_nothing_stored(conn, ward):
    before = conn.execute(sa.text("SELECT count(*) FROM field_report")).scalar()
    with pytest.raises(ReportError) as err:
        make(conn, ward, (105.85, 21.03))  # Hà Nội
    assert err.value.field == "location" and "Hòa Cường" in err.value.message("vi")
    assert conn.execute(sa.text("SELECT count(*) FROM field_report")).scalar() == before


def test_failure_after_insert_rolls_everything_back(engine, ward, inside, monkeypatch):
    """An error after the report row is written leaves nothing behind (one transaction)."""
    def boom(*a, **k):
        raise RuntimeError("audit down")
    monkeypatch.setattr(intake.audit, "record", boom)
    data = intake.validate(category="garbage", description="rollback probe 5", lat=inside[1], lon=inside[0])
    with pytest.raises(RuntimeError):
        intake.submit(engine, data, ward_id=ward, client="rb")
    with engine.connect() as c:
        assert c.execute(sa.text(
            "SELECT count(*) FROM field_report WHERE description = 'rollback probe 5'")).scalar() == 0
        assert c.execute(sa.text(
            "SELECT count(*) FROM field_report_update u LEFT JOIN field_report f ON f.id = u.report_id "
            "WHERE f.id IS NULL")).scalar() == 0


# --- deadlines ------------------------------------------------------------------------------------


def test_deadline_counts_working_days_and_holidays():
    days = {"garbage": 2, "infrastructure": 7, "other": 10}
    monday = dt.datetime(2026, 3, 2, 3, 0, tzinfo=UTC)  # 10:00 in Đà Nẵng
    due = deadlines.deadline_for("garbage", monday, days).astimezone(deadlines.LOCAL_TZ)
    assert (due.date(), due.hour) == (dt.date(2026, 3, 4), 17)
    friday = dt.datetime(2026, 3, 6, 3, 0, tzinfo=UTC)
    assert deadlines.deadline_for("garbage", friday, days).astimezone(deadlines.LOCAL_TZ).date() == \
        dt.date(2026, 3, 10)
    saturday = dt.datetime(2026, 3, 7, 3, 0, tzinfo=UTC)
    assert deadlines.deadline_for("garbage", saturday, days).astimezone(deadlines.LOCAL_TZ).date() == \
        dt.date(2026, 3, 11)
    # 29 April 2026: 30 April and 1 May are public holidays, then a weekend
    before_holiday = dt.datetime(2026, 4, 29, 3, 0, tzinfo=UTC)
    assert deadlines.deadline_for("garbage", before_holiday, days).astimezone(deadlines.LOCAL_TZ).date() == \
        dt.date(2026, 5, 5)
    # unknown category falls back to "other"
    assert deadlines.deadline_for("sanitation", monday, days).astimezone(deadlines.LOCAL_TZ).date() == \
        dt.date(2026, 3, 16)


def test_deadline_stored_from_ward_profile(conn, ward, inside):
    """The stored deadline follows the ward profile's working days, checked against dates counted by hand
    (not against deadline_for itself): reported Monday 2 March 2026, 10:00 in Đà Nẵng; no public holiday
    falls in the next fortnight; a deadline ends at 17:00 local time (10:00 UTC)."""
    at = dt.datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
    days = profiles.get("hoa-cuong").report_deadline_days
    assert (days["garbage"], days["infrastructure"]) == (2, 7)  # the counts the dates below were worked out for
    expected = {
        "garbage": dt.datetime(2026, 3, 4, 10, 0, tzinfo=UTC),  # Tue 3, Wed 4 March
        "infrastructure": dt.datetime(2026, 3, 11, 10, 0, tzinfo=UTC),  # Tue 3 … Fri 6, Mon 9 … Wed 11 March
    }
    for cat, due in expected.items():
        done = make(conn, ward, inside, category=cat, at=at, text=f"deadline {cat}")
        stored = conn.execute(sa.text("SELECT deadline_at FROM field_report WHERE id = :i"), {"i": done.id}).scalar()
        assert stored == due and done.deadline_at == due, cat
        assert (stored.astimezone(deadlines.LOCAL_TZ).date(), stored.astimezone(deadlines.LOCAL_TZ).hour) == (
            due.date(), 17)


def test_overdue_and_due_soon(conn, ward, inside):
    old = make(conn, ward, inside, at=dt.datetime(2026, 3, 2, 3, 0, tzinfo=UTC), text="overdue one")
    fresh = make(conn, ward, inside, at=dt.datetime(2026, 3, 9, 3, 0, tzinfo=UTC), text="due soon one")
    now = dt.datetime(2026, 3, 10, 12, 0, tzinfo=UTC)  # fresh is due 11 March 17:00 local
    over = {r["id"] for r in reads.overdue(conn, ward, now=now)}
    soon = {r["id"] for r in reads.due_soon(conn, ward, hours=48, now=now)}
    assert old.id in over and fresh.id not in over
    assert fresh.id in soon and old.id not in soon
    workflow.transition(conn, old.id, "resolved", user=None, note="done")
    assert old.id not in {r["id"] for r in reads.overdue(conn, ward, now=now)}


# --- workflow ---------------------------------------------------------------------------------------


def test_full_workflow_with_history(conn, ward, inside, officer):
    done = make(conn, ward, inside, text="workflow")
    workflow.transition(conn, done.id, "received", user=officer, note="Đã tiếp nhận")
    state = workflow.assign(conn, done.id, officer.id, user=officer)
    assert state["status"] == "assigned" and state["assignee_id"] == officer.id
    workflow.transition(conn, done.id, "in_progress", user=officer, note="Đang xử lý")
    state = workflow.transition(conn, done.id, "resolved", user=officer, note="Đã dọn")
    assert state["resolved_at"] is not None
    workflow.transition(conn, done.id, "closed", user=officer)
    detail = reads.get(conn, done.id)
    statuses = [h["status_to"] for h in detail["history"] if h["status_to"]]
    assert statuses == ["new", "received", "assigned", "in_progress", "resolved", "closed"]
    assert all(h["by_name"] == "Nguyễn Văn Xử Lý" for h in detail["history"][1:])
    view = reads.public_view(conn, done.public_id)
    assert view["status"] == "closed" and "reporter_contact" not in view
    # the internal assignment note naming the officer is not public
    assert not any("Phân công cho" in (h["note"] or "") for h in view["history"])
    audit_actions = conn.execute(sa.text(
        "SELECT action FROM audit_log WHERE entity_type = 'field_report' AND entity_id = :i ORDER BY id"),
        {"i": done.id}).scalars().all()
    assert audit_actions == ["create", "status", "assign", "status", "status", "status"]


#: the workflow's rules, written out: every status change the workflow must refuse (the
def done_channel(conn, report_id: int) -> str:
    return conn.execute(sa.text("SELECT channel FROM field_report WHERE id = :i"), {"i": report_id}).scalar()


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_assignment_is_stored_as_its_assignee_and_told_in_the_readers_language(conn, ward, inside, officer, lang):
    """The assignment step keeps the assignee's id, not a Vietnamese sentence; the staff history says it in
    the reader's language; the public history never names staff."""
    done = make(conn, ward, inside, text="assign words")
    workflow.transition(conn, done.id, "received", user=officer)
    workflow.assign(conn, done.id, officer.id, user=officer)
    history = reads.get(conn, done.id)["history"]
    step = next(h for h in history if h["status_to"] is None)
    assert step["assignee_id"] == officer.id and step["note"] is None and not step["is_public"]
    assert [h["note"] for h in history] == [None] * 4  # the app stores no sentence of its own
    told = [reads.step_note(h, lang) for h in history]
    assert ("Assigned to" if lang == "en" else "Phân công cho") + " Nguyễn Văn Xử Lý" in told
    assert told[0] == i18n.t("rep.step.received_via", lang).format(
        channel=i18n.code_label("report_channel", done_channel(conn, done.id), lang))
    assert foreign_words("\n".join(told), lang, data_values(conn, lang)) == []
    view = reads.public_view(conn, done.public_id)
    assert [h["status_to"] for h in view["history"]] == ["new", "received", "assigned"]
    assert foreign_words("\n".join(reads.step_note(h, lang) for h in view["history"]), lang,
                         data_values(conn, lang)) == []
    assert "Nguyễn Văn Xử Lý" not in repr(view) and "assignee" not in repr(view)


#: complement of the allowed changes in the issue: new → received → assigned → in progress →
#: resolved → closed; duplicate / not the ward's from any open status; reopening)
FORBIDDEN: dict[str, set[str]] = {
    "new": {"new"},
    "received": {"new", "received"},
    "assigned": {"new", "assigned", "closed"},
    "in_progress": {"new", "received", "in_progress", "closed"},
    "resolved": {"new", "received", "assigned", "resolved", "duplicate", "not_ward"},
    "closed": {"new", "assigned", "in_progress", "resolved", "closed", "duplicate", "not_ward"},
    "duplicate": {"new", "assigned", "in_progress", "resolved", "closed", "duplicate", "not_ward"},
    "not_ward": {"new", "assigned", "in_progress", "resolved", "closed", "duplicate", "not_ward"},
}
ALLOWED_SAMPLE = [("new", "received"), ("new", "resolved"), ("received", "closed"), ("assigned", "received"),
                  ("in_progress", "assigned"), ("in_progress", "not_ward"), ("resolved", "in_progress"),
                  ("resolved", "closed"), ("closed", "received"), ("duplicate", "received"),
                  ("not_ward", "received")]


def bring_to(conn, ward, inside, officer, status: str, text: str):
    """A fresh report in ``status``, reached through allowed changes."""
    done = make(conn, ward, inside, text=text)
    if status == "duplicate":
        original = make(conn, ward, inside, text=f"{text} (original)")
        workflow.mark_duplicate(conn, done.id, original.id, user=officer)
    elif status != "new":
        workflow.transition(conn, done.id, status, user=officer, note="lý do: bước chuẩn bị")
    assert reads.get(conn, done.id)["status"] == status
    return done


def test_forbidden_table_is_the_complement_of_the_workflow():
    statuses = set(REPORT_STATUSES)
    assert set(FORBIDDEN) == statuses
    for src in statuses:
        assert FORBIDDEN[src] == statuses - field_reports.TRANSITIONS[src], src
    assert all(t not in FORBIDDEN[s] for s, t in ALLOWED_SAMPLE)


@pytest.mark.parametrize("src, dst", [(s, t) for s, targets in FORBIDDEN.items() for t in sorted(targets)])
def test_forbidden_transitions(conn, ward, inside, officer, src, dst):
    done = bring_to(conn, ward, inside, officer, src, f"forbidden {src} -> {dst}")
    steps = len(reads.get(conn, done.id)["history"])
    with pytest.raises(ReportError) as err:
        if dst == "duplicate":
            original = make(conn, ward, inside, text=f"forbidden {src} -> {dst} (original)")
            workflow.mark_duplicate(conn, done.id, original.id, user=officer)
        else:
            workflow.transition(conn, done.id, dst, user=officer, note="không được phép")
    assert err.value.code == "transition" and err.value.field == "status"
    after = reads.get(conn, done.id)
    assert after["status"] == src and len(after["history"]) == steps  # nothing written


@pytest.mark.parametrize("src, dst", ALLOWED_SAMPLE)
def test_allowed_transitions(conn, ward, inside, officer, src, dst):
    done = bring_to(conn, ward, inside, officer, src, f"allowed {src} -> {dst}")
    state = workflow.transition(conn, done.id, dst, user=officer, note="được phép")
    assert state["status"] == dst
    last = reads.get(conn, done.id)["history"][-1]
    assert (last["status_from"], last["status_to"], last["note"]) == (src, dst, "được phép")
    if dst == "received" and src in field_reports.SET_ASIDE_STATUSES:
        assert state["duplicate_of_id"] is None


def test_transition_errors(conn, ward, inside, officer):
    done = make(conn, ward, inside, text="forbidden")
    with pytest.raises(ReportError) as err:
        workflow.transition(conn, done.id, "bogus", user=officer)
    assert err.value.field == "status"
    with pytest.raises(ReportError) as err:
        workflow.transition(conn, done.id, "duplicate", user=officer)  # needs the original: mark_duplicate
    assert err.value.field == "status"
    workflow.transition(conn, done.id, "closed", user=officer)
    with pytest.raises(ReportError) as err:
        workflow.transition(conn, done.id, "resolved", user=officer)
    assert err.value.code == "transition"
    with pytest.raises(ReportError):
        workflow.assign(conn, done.id, officer.id, user=officer)
    workflow.transition(conn, done.id, "received", user=officer)  # reopening is allowed
    with pytest.raises(ReportError) as err:
        workflow.transition(conn, done.id, "not_ward", user=officer)  # but needs a reason
    assert err.value.field == "note"


def test_transitions_table_is_consistent():
    for src, targets in field_reports.TRANSITIONS.items():
        assert src not in targets
        assert targets
    # every status is reachable from new
    seen, todo = {"new"}, ["new"]
    while todo:
        for nxt in field_reports.TRANSITIONS[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    assert seen == set(field_reports.TRANSITIONS)


def test_assign_rejects_unknown_user(conn, ward, inside):
    done = make(conn, ward, inside, text="assign unknown")
    with pytest.raises(ReportError) as err:
        workflow.assign(conn, done.id, 999_999, user=None)
    assert err.value.field == "assignee"


# --- duplicates -------------------------------------------------------------------------------------


def test_duplicate_suggestions(conn, ward, inside, officer):
    t0 = dt.datetime(2026, 6, 1, 3, 0, tzinfo=UTC)
    near = make(conn, ward, offset(inside, 20), at=t0, text="dup near")
    far = make(conn, ward, offset(inside, 120), at=t0, text="dup far")
    other_cat = make(conn, ward, offset(inside, 10), category="sanitation", at=t0, text="dup other cat")
    too_old = make(conn, ward, offset(inside, 5), at=t0 - dt.timedelta(days=40), text="dup too old")
    closed_recent = make(conn, ward, offset(inside, 30), at=t0 - dt.timedelta(days=5), text="dup closed")
    workflow.transition(conn, closed_recent.id, "closed", user=officer)
    not_ward = make(conn, ward, offset(inside, 15), at=t0, text="dup not ward")
    workflow.transition(conn, not_ward.id, "not_ward", user=officer, note="Điện lực")
    new = make(conn, ward, inside, at=t0 + dt.timedelta(days=1), text="dup new")
    found = intake.suggest_duplicates(conn, new.id)
    ids = [r["id"] for r in found]
    assert near.id in ids and closed_recent.id in ids
    assert far.id not in ids and other_cat.id not in ids and too_old.id not in ids and not_ward.id not in ids
    assert ids.index(near.id) < ids.index(closed_recent.id)  # nearest first
    assert all(r["distance_m"] <= 50 for r in found)
    assert abs(next(r for r in found if r["id"] == near.id)["distance_m"] - 20) < 1


def test_mark_duplicate_follows_chain(conn, ward, inside, officer):
    a = make(conn, ward, inside, text="orig A")
    b = make(conn, ward, inside, text="dup B")
    c = make(conn, ward, inside, text="dup C")
    workflow.mark_duplicate(conn, b.id, a.id, user=officer)
    state = workflow.mark_duplicate(conn, c.id, b.id, user=officer, note="cùng chỗ")
    assert state["status"] == "duplicate" and state["duplicate_of_id"] == a.id
    with pytest.raises(ReportError):
        workflow.mark_duplicate(conn, a.id, b.id, user=officer)  # would point at itself via the chain
    view = reads.public_view(conn, c.public_id)
    assert view["duplicate_of_public_id"] == a.public_id  # the page names the original in its reader's language
    # the history keeps what the officer wrote, not a sentence of one language
    assert [h["note"] for h in view["history"] if h["status_to"] == "duplicate"] == ["cùng chỗ"]


def test_public_ids_are_unique_and_unguessable():
    ids = {intake.new_public_id() for _ in range(5000)}
    assert len(ids) == 5000
    assert all(len(i) == 17 and not set(i[3:].replace("-", "")) - set(intake._PUBLIC_ALPHABET) for i in ids)


def test_concurrent_replays_create_one_report(engine, ward, inside):
    """Eight identical submissions at once (a double-tapped button on a flaky network): one report."""
    from concurrent.futures import ThreadPoolExecutor

    text = "concurrent replay probe 5"
    data = intake.validate(category="garbage", description=text, lat=inside[1], lon=inside[0])
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: intake.submit(engine, data, ward_id=ward, client="same-phone"), range(8)))
    assert len({r.public_id for r in results}) == 1 and sum(r.created for r in results) == 1
    with engine.connect() as c:
        assert c.execute(sa.text("SELECT count(*) FROM field_report WHERE description = :t"), {"t": text}).scalar() == 1


def test_cli_overdue_and_hotspots(engine, database_url, ward, inside, monkeypatch, capsys):
    from geomap import cli, config

    monkeypatch.setattr(config, "DATABASE_URL", database_url)
    data = intake.validate(category="garbage", description="cli overdue probe", lat=inside[1], lon=inside[0])
    done = intake.submit(engine, data, ward_id=ward, client="cli", at=dt.datetime(2026, 1, 5, 3, tzinfo=UTC))
    assert cli.main(["reports", "overdue", "--ward", "hoa-cuong"]) == 0
    out = capsys.readouterr().out
    assert done.public_id in out and "Rác thải" in out
    assert cli.main(["reports", "hotspots", "--ward", "hoa-cuong", "--days", "30", "--lang", "en"]) == 0
    assert "permutations" in capsys.readouterr().out
    assert cli.main(["reports", "overdue", "--ward", "no-such-ward"]) == 1


# --- personal data ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role, sees", [("inspector", False), ("data_officer", True), ("ward_manager", True),
                                        ("admin", True)])
def test_reporter_identity_only_for_view_personal(conn, ward, inside, role, sees):
    """The staff page's detail and list go through redact_for: inspectors (no view_personal) never get
    the reporter's name or contact; data officers do."""
    data = intake.validate(category="garbage", description="personal data probe", lat=inside[1], lon=inside[0],
                           reporter_name="Trần Thị Riêng Tư", reporter_contact="0905 123 456", consent=True)
    done = intake.submit(conn, data, ward_id=ward, client="pd")
    user = staff_user(role)
    detail = reads.redact_for(reads.get(conn, done.id), user)
    listed = [reads.redact_for(r, user) for r in reads.work_list(conn, ward, ids=[done.id])]
    for record in (detail, listed[0]):
        assert record["public_id"] == done.public_id and record["description"] == "personal data probe"
        if sees:
            assert (record["reporter_name"], record["reporter_contact"]) == ("Trần Thị Riêng Tư", "0905 123 456")
        else:
            assert "reporter_name" not in record and "reporter_contact" not in record
            assert "Riêng Tư" not in str(record) and "0905" not in str(record)
    assert (reads.hidden_fields(user) == frozenset()) == sees
    assert reads.hidden_fields(None) == {"reporter_name", "reporter_contact"}  # the public


# --- duplicates flagged in the work list ------------------------------------------------------------


def test_work_list_flags_likely_duplicates_in_one_query(conn, ward, inside, officer):
    t0 = dt.datetime(2019, 7, 1, 3, 0, tzinfo=UTC)  # years before the demo ward's reports: no neighbours there
    first = make(conn, ward, offset(inside, 400), at=t0, text="flag first")
    second = make(conn, ward, offset(inside, 420), at=t0 + dt.timedelta(days=2), text="flag second")
    lonely = make(conn, ward, offset(inside, 600), at=t0, text="flag lonely")
    other_cat = make(conn, ward, offset(inside, 410), category="sanitation", at=t0 + dt.timedelta(days=1),
                     text="flag other category")
    set_aside = make(conn, ward, offset(inside, 405), at=t0 + dt.timedelta(days=3), text="flag set aside")
    workflow.mark_duplicate(conn, set_aside.id, first.id, user=officer)
    ids = [first.id, second.id, lonely.id, other_cat.id, set_aside.id]
    statements = []

    def count(*args):
        statements.append(args[2])
    sa.event.listen(conn, "before_cursor_execute", count)
    try:
        rows = {r["id"]: r for r in reads.work_list(conn, ward, ids=ids, with_duplicates=True)}
    finally:
        sa.event.remove(conn, "before_cursor_execute", count)
    assert len(statements) == 1
    flags = {i: rows[i]["likely_duplicate"] for i in ids}
    assert flags == {first.id: False, second.id: True, lonely.id: False, other_cat.id: False,
                     set_aside.id: False}
    # the flag is the same rule as the detail view's suggestions (for open reports)
    for i in (first.id, second.id, lonely.id, other_cat.id):
        assert flags[i] == bool(intake.suggest_duplicates(conn, i))
    assert "likely_duplicate" not in reads.work_list(conn, ward, ids=ids)[0]


# --- hotspot -> report list links ---------------------------------------------------------------------


def _as_streamlit_reads(link: str) -> dict[str, str]:
    """Query parameters as st.query_params gives them: urllib's parse_qs (``+`` -> space), last value."""
    from urllib.parse import parse_qs, urlsplit

    return {k: v[-1] for k, v in parse_qs(urlsplit(link).query, keep_blank_values=True).items()}


def test_cells_link_round_trip_keeps_offset_categories_and_ward():
    since = dt.datetime(2026, 1, 1, tzinfo=deadlines.LOCAL_TZ)
    until = dt.datetime(2026, 3, 31, 23, 30, tzinfo=deadlines.LOCAL_TZ)
    cells = ["8a65b56628e7fff", "8a65b56628effff"]
    link = links.report_cells(cells, ward="hoa-cuong", since=since, until=until,
                              categories=["garbage", "sanitation"])
    assert link.startswith("/reports?") and "+07:00" not in link and "%2B07:00" in link
    assert _as_streamlit_reads(link)["ward"] == "hoa-cuong"  # the router's parameter: a new tab opens on this ward
    parsed = hotspot_links.parse_cells_link(_as_streamlit_reads(link))
    assert parsed == hotspot_links.CellFilter(tuple(cells), since, until, ("garbage", "sanitation"), "hoa-cuong")
    assert parsed.since.utcoffset() == dt.timedelta(hours=7)
    squares = ["sq250:3141:-59", "sq250:3142:-59"]
    bare = hotspot_links.parse_cells_link(_as_streamlit_reads(
        links.report_cells(squares, ward="thanh-khe", since=since, until=until)))
    assert bare.categories == () and bare.cells == tuple(squares) and bare.ward == "thanh-khe"
    unnamed = links.report_cells(cells[:1], ward=None, since=since, until=until)
    assert "ward" not in _as_streamlit_reads(unnamed) and hotspot_links.parse_cells_link(
        _as_streamlit_reads(unnamed)).ward is None
    assert hotspot_links.parse_cells_link({}) is None and hotspot_links.parse_cells_link({"cell": " , "}) is None


@pytest.mark.parametrize("cells", [
    "8a65b56628e7fff,sq250:3141:-59",  # H3 and squares
    "8a65b56628e7fff,8965b56628fffff",  # H3 resolutions 10 and 9
    "sq250:3141:-59,sq100:1:2",  # two square sizes
])
def test_link_cells_must_be_of_one_grid(conn, ward, cells):
    """reports_in_cells reads every cell in one grid: a mix would match nothing for the others, silently."""
    assert all(hotspots.is_cell_id(c) for c in cells.split(","))
    with pytest.raises(ReportError) as err:
        hotspot_links.parse_cells_link({"cell": cells})
    assert err.value.field == "cell" and "one grid" in err.value.message("en")
    assert "cùng một lưới" in err.value.message("vi")
    now = dt.datetime.now(dt.UTC)
    with pytest.raises(ReportError):
        reads.reports_in_cells(conn, ward, cells.split(","), since=now - dt.timedelta(days=30), until=now)


def test_unencoded_old_link_is_read_not_crashed():
    """Links written before the fix (``+07:00`` unencoded) arrive as ``… 07:00``: still understood."""
    old = "/reports?cell=8a65b56628e7fff&since=2026-01-01T00:00:00+07:00&until=2026-02-01T00:00:00+07:00"
    parsed = hotspot_links.parse_cells_link(_as_streamlit_reads(old))
    assert parsed.since == dt.datetime(2026, 1, 1, tzinfo=deadlines.LOCAL_TZ)
    assert parsed.until == dt.datetime(2026, 2, 1, tzinfo=deadlines.LOCAL_TZ)


@pytest.mark.parametrize("params, field", [
    ({"cell": "8a65b56628e7fff", "since": "yesterday"}, "since"),
    ({"cell": "8a65b56628e7fff", "until": "2026-13-45"}, "until"),
    ({"cell": "8a65b56628e7fff", "since": "2026-03-01", "until": "2026-02-01"}, "since"),
    ({"cell": "8a65b56628e7fff", "category": "potholes"}, "category"),
    ({"cell": "not-a-cell"}, "cell"),
    ({"cell": "sq250:1:x"}, "cell"),
    ({"cell": "8a65b56628e7fff", "ward": "../admin"}, "ward"),
])
def test_bad_links_give_a_clear_message(params, field):
    with pytest.raises(ReportError) as err:
        hotspot_links.parse_cells_link(params)
    assert err.value.field == field and err.value.message("en") != err.value.message("vi")


def test_naive_link_dates_are_local_time():
    parsed = hotspot_links.parse_cells_link({"cell": "8a65b56628e7fff", "since": "2026-03-01", "until": "2026-03-02"})
    assert parsed.since == dt.datetime(2026, 3, 1, tzinfo=deadlines.LOCAL_TZ)
