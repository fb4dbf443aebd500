"""Editing with moderation on both stores, without the web: change sets, approval and
rejection, conflicts, verification, stale listings, history and revert."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select

from caremap import accounts, changes, history
from caremap.capacity import set_available
from caremap.changes import ChangeError, ConflictError
from caremap.model import Base, ChangeSet, Location, PublicListing, Service, ServiceCapacity
from tests.support.world import World

NOW = dt.datetime(2026, 11, 29, 15, 0, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(hours=1)
WINTER_NIGHTS = {
    "byday": "MO,TU,WE,TH,FR,SA,SU",
    "opens_at": "20:00",
    "closes_at": "08:00",
    "valid_from": "2026-12-01",
    "valid_to": "2027-03-31",
    "description": "Mon-Sun 8 pm-8 am",
}
WEEKDAYS = {
    "byday": "MO,TU,WE,TH,FR",
    "opens_at": "09:00",
    "closes_at": "17:00",
    "valid_from": None,
    "valid_to": "2027-08-31",
    "description": None,
}


def who(session, world: World, name: str) -> accounts.Principal:
    return accounts.principal_of(session, world.users[name])


def published_name(session, service_id: str) -> str:
    return session.scalars(
        select(PublicListing.service_name).where(PublicListing.service_id == service_id)
    ).one()


def test_migration_matches_the_model(empty_store):
    with empty_store.engine.connect() as connection:
        diffs = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert [d for d in diffs if re.search(r"change_set|'change'|metadata", repr(d))] == []


def test_an_editors_change_waits_for_a_moderator(world):
    edits = {
        "name": "Winter Respite Centre",
        "schedules": [WEEKDAYS],
        "capability": ["accepts_pets"],
    }
    with world.store.session() as session, session.begin():
        proposed = changes.propose(
            session, who(session, world, "editor_a"), world.service_a, edits, NOW
        )
        assert proposed.status == "pending"
        assert sorted(c.field_name for c in proposed.changes) == ["capability", "name", "schedules"]
        change_set_id = proposed.id
    with world.store.session() as session, session.begin():
        assert published_name(session, world.service_a) == "Winter Respite Centre (test)"
        assert changes.current_values(session, world.service_a)["schedules"] == [WINTER_NIGHTS]
        assert [c.id for c in changes.pending_change_sets(session)] == [change_set_id]
        with pytest.raises(PermissionError):
            changes.approve(session, who(session, world, "editor_a"), change_set_id, LATER)
        changes.approve(session, who(session, world, "moderator"), change_set_id, LATER, "ok")
    with world.store.session() as session:
        values = changes.current_values(session, world.service_a)
        assert values["name"] == "Winter Respite Centre"
        assert values["schedules"] == [WEEKDAYS] and values["capability"] == ["accepts_pets"]
        assert session.get(Service, world.service_a).last_verified_at == LATER
        assert published_name(session, world.service_a) == "Winter Respite Centre"
        decided = session.get(ChangeSet, change_set_id)
        assert (decided.status, decided.comment, decided.decided_at) == ("approved", "ok", LATER)
        entries = history.of_service(session, world.service_a)
        assert {(e.field_name, e.last_action_type, e.updated_by) for e in entries} == {
            (f, "update", "editor_a@example.org") for f in ("name", "schedules", "capability")
        }
        name = next(e for e in entries if e.field_name == "name")
        assert (name.resource_type, name.resource_id) == ("service", world.service_a)
        assert json.loads(name.previous_value) == "Winter Respite Centre (test)"
        assert json.loads(name.replacement_value) == "Winter Respite Centre"
        assert changes.pending_change_sets(session) == []


def test_a_moderators_own_change_applies_at_once(world):
    with world.store.session() as session, session.begin():
        moderator = who(session, world, "moderator")
        done = changes.propose(session, moderator, world.service_b, {"languages": ["fr"]}, NOW)
        assert done.status == "approved" and done.decided_by == moderator.id
        assert changes.current_values(session, world.service_b)["languages"] == ["fr"]
        assert (
            changes.propose(session, moderator, world.service_b, {"languages": ["fr"]}, NOW) is None
        )


def test_others_may_not_propose_and_bad_values_are_refused(world):
    with world.store.session() as session:
        editor_b = who(session, world, "editor_b")
        with pytest.raises(PermissionError):
            changes.propose(session, editor_b, world.service_a, {"name": "Mine"}, NOW)
        admin = who(session, world, "admin")
        with pytest.raises(ChangeError, match="not editable: status"):
            changes.propose(session, admin, world.service_a, {"status": "inactive"}, NOW)
        with pytest.raises(ChangeError, match="not population terms of the vocabulary: cats"):
            changes.propose(session, admin, world.service_a, {"population": ["cats"]}, NOW)
        session.rollback()
        with pytest.raises(ChangeError, match="name may not be empty"):
            changes.propose(session, admin, world.service_a, {"name": " "}, NOW)
        session.rollback()
        late = {**WEEKDAYS, "valid_from": "2027-09-01"}
        with pytest.raises(ChangeError, match="valid_from is after valid_to"):
            changes.propose(session, admin, world.service_a, {"schedules": [late]}, NOW)
        session.rollback()
        with pytest.raises(changes.NotFound):
            changes.propose(session, admin, "nope", {"name": "x"}, NOW)


def test_a_conflicting_change_set_is_refused_not_applied(world):
    with world.store.session() as session, session.begin():
        editor = who(session, world, "editor_a")
        first = changes.propose(session, editor, world.service_a, {"name": "First"}, NOW).id
        second = changes.propose(session, editor, world.service_a, {"name": "Second"}, NOW).id
    with world.store.session() as session, session.begin():
        changes.approve(session, who(session, world, "moderator"), first, LATER)
    with world.store.session() as session:
        with pytest.raises(ConflictError, match=r"changed since this was proposed.*: name"):
            changes.approve(session, who(session, world, "moderator"), second, LATER)
        session.rollback()
        assert session.get(Service, world.service_a).name == "First"
        assert session.get(ChangeSet, second).status == "pending"


def test_rejecting_needs_a_reason_and_changes_nothing(world):
    with world.store.session() as session, session.begin():
        proposed = changes.propose(
            session, who(session, world, "editor_b"), world.service_b, {"description": "x"}, NOW
        )
        moderator = who(session, world, "moderator")
        with pytest.raises(ChangeError, match="say why"):
            changes.reject(session, moderator, proposed.id, "  ", LATER)
        changes.reject(session, moderator, proposed.id, "Too short.", LATER)
        assert (proposed.status, proposed.comment) == ("rejected", "Too short.")
        with pytest.raises(ChangeError, match="already rejected"):
            changes.approve(session, moderator, proposed.id, LATER)
    with world.store.session() as session:
        assert session.get(Service, world.service_b).description is None
        assert history.of_service(session, world.service_b) == []


def test_verify_stamps_and_logs(world):
    with world.store.session() as session, session.begin():
        with pytest.raises(PermissionError):
            changes.verify(session, who(session, world, "editor_b"), world.service_a, NOW)
        changes.verify(session, who(session, world, "editor_a"), world.service_a, NOW)
    with world.store.session() as session:
        assert session.get(Service, world.service_a).last_verified_at == NOW
        [entry] = history.of_service(session, world.service_a)
        assert (entry.last_action_type, entry.field_name) == ("verify", "last_verified_at")
        assert json.loads(entry.replacement_value) == NOW.isoformat()
        with pytest.raises(ChangeError, match="cannot be reverted"):
            changes.revert(session, who(session, world, "admin"), entry.id, LATER)


def test_revert_puts_the_previous_value_back_unless_it_changed_since(world):
    with world.store.session() as session, session.begin():
        moderator = who(session, world, "moderator")
        edits = {"schedules": [WEEKDAYS], "name": "Renamed"}
        changes.propose(session, moderator, world.service_a, edits, NOW)
    with world.store.session() as session, session.begin():
        entries = {e.field_name: e.id for e in history.of_service(session, world.service_a)}
        editor = who(session, world, "editor_a")
        with pytest.raises(PermissionError):
            changes.revert(session, who(session, world, "editor_b"), entries["schedules"], LATER)
        pending = changes.revert(session, editor, entries["schedules"], LATER)
        assert (pending.status, pending.action) == ("pending", "revert")
        changes.approve(session, who(session, world, "moderator"), pending.id, LATER)
        assert changes.current_values(session, world.service_a)["schedules"] == [WINTER_NIGHTS]
        changes.propose(
            session, who(session, world, "admin"), world.service_a, {"name": "B"}, LATER
        )
    with world.store.session() as session:
        with pytest.raises(ConflictError, match="name"):
            changes.revert(session, who(session, world, "admin"), entries["name"], LATER)
        newest = history.of_service(session, world.service_a)
        assert [e.last_action_type for e in newest[:2]] == ["update", "revert"]


def test_a_revert_of_hours_takes_the_open_24_7_capability_they_brought_with_them(world):
    around_the_clock = {**WEEKDAYS, "byday": changes.EVERY_DAY, "opens_at": "00:00",
                        "closes_at": "23:59", "valid_to": None}  # fmt: skip
    with world.store.session() as session, session.begin():
        admin = who(session, world, "admin")
        changes.propose(session, admin, world.service_a, {"schedules": [around_the_clock]}, NOW)
        assert "open_24_7" in changes.current_values(session, world.service_a)["capability"]
    with world.store.session() as session, session.begin():
        [hours] = [
            e.id for e in history.of_service(session, world.service_a)
            if e.field_name == "schedules"
        ]  # fmt: skip
        reverted = changes.revert(session, who(session, world, "admin"), hours, LATER)
        assert sorted(c.field_name for c in reverted.changes) == ["capability", "schedules"]
    with world.store.session() as session:
        values = changes.current_values(session, world.service_a)
        assert values["schedules"] == [WINTER_NIGHTS]
        assert "open_24_7" not in values["capability"]


def test_capacity_updates_publish_at_once_are_logged_and_revert_at_once(world):
    with world.store.session() as session, session.begin():
        editor = who(session, world, "editor_a")
        before = session.get(ServiceCapacity, world.capacity_a).available
        set_available(session, world.service_a, world.capacity_a, 7, NOW, editor)
        [entry] = history.of_service(session, world.service_a)
        assert (entry.resource_type, entry.resource_id) == ("service_capacity", world.capacity_a)
        assert (entry.last_action_type, json.loads(entry.replacement_value)) == ("capacity", 7)
        reverted = changes.revert(session, editor, entry.id, LATER)
        assert reverted.status == "approved"
        capacity = session.get(ServiceCapacity, world.capacity_a)
        assert (capacity.available, capacity.updated) == (before, LATER)
        set_available(session, world.service_a, world.capacity_a, 7, LATER, editor)
        capacity.maximum = 5  # fewer beds since: 7 is no longer possible
        newest = history.of_service(session, world.service_a)[0]
        set_available(session, world.service_a, world.capacity_a, 5, LATER, editor)
        with pytest.raises(ConflictError):
            changes.revert(session, editor, newest.id, LATER)
        with pytest.raises(ChangeError, match="available must be between 0 and 5"):
            changes.revert(
                session, editor, history.of_service(session, world.service_a)[0].id, LATER
            )


def test_stale_services(world):
    with world.store.session() as session, session.begin():
        changes.verify(session, who(session, world, "admin"), world.service_a, NOW)
        stale = changes.stale_services(session, 6, NOW + dt.timedelta(days=30))
        assert world.service_a not in {s.id for s in stale} and world.service_b in {
            s.id for s in stale
        }
        stale = changes.stale_services(session, 6, NOW + dt.timedelta(days=200))
        assert stale[-1].id == world.service_a and stale[-1].last_verified_at == NOW
        assert stale[0].organization


@pytest.mark.parametrize(
    ("now", "months", "expected"),
    [
        (dt.datetime(2026, 8, 31, 9, tzinfo=dt.UTC), 6, dt.datetime(2026, 2, 28, 9, tzinfo=dt.UTC)),
        (dt.datetime(2026, 1, 15, tzinfo=dt.UTC), 1, dt.datetime(2025, 12, 15, tzinfo=dt.UTC)),
        (dt.datetime(2026, 3, 31, tzinfo=dt.UTC), 25, dt.datetime(2024, 2, 29, tzinfo=dt.UTC)),
    ],
)
def test_months_before(now, months, expected):
    assert changes.months_before(now, months) == expected


def rerun_with(world: World, tmp_path, name: str, *replacements: tuple[str, str]):
    """Run the ETL again on the test listings with text replaced; its report for them."""
    from etl.pipeline import run
    from tests.conftest import CONFIDENTIAL_FIXTURE, DATA_DIR, TEST_DATA

    seasonal = TEST_DATA / "seasonal_listings.csv"
    text = seasonal.read_text(encoding="utf-8")
    for old, new in replacements:
        text = text.replace(old, new)
    changed = tmp_path / name / seasonal.name
    changed.parent.mkdir()
    changed.write_text(text, encoding="utf-8")
    reports = run(world.store, [changed, CONFIDENTIAL_FIXTURE], DATA_DIR, tmp_path)
    return next(r for r in reports if r.path == changed)


def test_edits_survive_a_changed_open_data_row_and_conflicts_are_reported(world, tmp_path):
    """The open-data source changes a row an editor changed: every edited field is applied
    again over it; the source's other changes stand; a field both changed is reported."""
    with world.store.session() as session, session.begin():
        admin = who(session, world, "admin")
        changes.propose(
            session, admin, world.service_a, {"name": "Edited", "capability": ["accepts_pets"]}, NOW
        )
        set_available(session, world.service_a, world.capacity_a, 3, NOW, admin)
    unchanged = rerun_with(world, tmp_path, "same")
    assert unchanged.counts.updated == 0
    with world.store.session() as session:
        assert session.get(Service, world.service_a).name == "Edited"

    phone = rerun_with(world, tmp_path, "phone", ("416-555-0120", "416-555-0199"))
    assert (phone.counts.updated, phone.counts.edits_kept) == (1, 3)
    assert phone.counts.edits_over_source == ()
    with world.store.session() as session:
        service = session.get(Service, world.service_a)
        assert service.name == "Edited"
        assert [p.number for p in service.phones] == ["+14165550199"]
        assert changes.current_values(session, world.service_a)["capability"] == ["accepts_pets"]
        assert session.get(ServiceCapacity, world.capacity_a).available == 3
        assert service.last_verified_at == NOW
        assert published_name(session, world.service_a) == "Edited"

    both = rerun_with(
        world, tmp_path, "both", ("Winter Respite Centre (test)", "Winter Respite Centre (renamed)")
    )
    assert both.counts.edits_over_source == (f"{world.service_a}: name",)
    with world.store.session() as session:
        assert session.get(Service, world.service_a).name == "Edited"
        assert [e.field_name for e in history.of_service(session, world.service_a)] == [
            "available",
            "capability",
            "name",
        ]


def test_an_organizations_own_upload_replaces_its_edits(world, tmp_path):
    """A bulk import is the organization's latest word: nothing is applied over it."""
    from dataclasses import replace

    from etl.load import SourceInfo, load_source, record_id
    from etl.pipeline import check, load_reference
    from tests.conftest import DATA_DIR

    example = DATA_DIR / "templates" / "listings_example.csv"
    info = SourceInfo(name=f"upload-{world.org_a}", title="upload", organization_id=world.org_a)
    records = []

    def load_kept_records(good, kept):
        records.extend(good)
        return load_source(world.store, info, records, kept)

    reference = load_reference(DATA_DIR)
    check(world.store, reference, example, info, load_kept_records, organization="Test Org")
    first = records[0]
    service_id = record_id(info.name, first.source_record_id, "service")
    with world.store.session() as session, session.begin():
        changes.propose(session, who(session, world, "admin"), service_id, {"name": "Edited"}, NOW)
    renamed = [replace(first, service_name="Renamed by upload"), *records[1:]]
    counts = load_source(world.store, info, renamed)
    assert (counts.updated, counts.edits_kept) == (1, 0)
    with world.store.session() as session:
        assert session.get(Service, service_id).name == "Renamed by upload"


WRITES = ("INSERT", "UPDATE", "DELETE")


def while_another_decides(world: World, first, second) -> Exception | None:
    """Run ``first(session)`` in a transaction kept open until ``second(session)``, in another
    thread and session, is about to write or to lock a row (having read what it read); then
    commit ``first`` and let ``second`` finish. What ``second`` raised, or None."""
    import threading

    from sqlalchemy import event

    about_to_write = threading.Event()
    outcome: list[Exception | None] = []

    def run_second() -> None:
        try:
            with world.store.session() as session, session.begin():
                second(session)
            outcome.append(None)
        except Exception as error:
            outcome.append(error)

    thread = threading.Thread(target=run_second)

    def watch(_connection, _cursor, statement: str, *_args) -> None:
        writing = statement.lstrip().upper().startswith(WRITES) or "FOR UPDATE" in statement
        if threading.current_thread() is thread and writing:
            about_to_write.set()

    event.listen(world.store.engine, "before_cursor_execute", watch)
    try:
        with world.store.session() as session, session.begin():
            first(session)
            thread.start()
            assert about_to_write.wait(timeout=60), "the second never came to write"
        thread.join()
    finally:
        event.remove(world.store.engine, "before_cursor_execute", watch)
    return outcome[0]


@pytest.mark.parametrize(
    ("first", "second", "status", "entries"),
    [
        ("approve", "approve", "approved", ["name"]),
        ("approve", "reject", "approved", ["name"]),
        ("reject", "approve", "rejected", []),
        ("reject", "reject", "rejected", []),
    ],
)
def test_of_two_moderators_deciding_at_once_exactly_one_does(world, first, second, status, entries):
    with world.store.session() as session, session.begin():
        editor = who(session, world, "editor_a")
        change_set_id = changes.propose(session, editor, world.service_a, {"name": "Once"}, NOW).id

    def deciding(how: str, name: str):
        def decide(session) -> None:
            principal = who(session, world, name)
            if how == "approve":
                changes.approve(session, principal, change_set_id, LATER)
            else:
                changes.reject(session, principal, change_set_id, f"No, says {name}.", LATER)

        return decide

    refused = while_another_decides(world, deciding(first, "moderator"), deciding(second, "admin"))
    assert isinstance(refused, changes.AlreadyDecided), refused
    assert f"already {status}" in str(refused)
    with world.store.session() as session:
        decided = session.get(ChangeSet, change_set_id)
        assert (decided.status, decided.decided_by) == (status, world.users["moderator"])
        assert decided.comment in ("", "No, says moderator.")
        assert [e.field_name for e in history.of_service(session, world.service_a)] == entries


def test_of_two_reverts_of_one_entry_at_once_the_second_finds_it_reverted(world):
    with world.store.session() as session, session.begin():
        changes.propose(
            session, who(session, world, "moderator"), world.service_a, {"name": "B"}, NOW
        )
        [entry] = history.of_service(session, world.service_a)

    def reverting(name: str):
        return lambda session: changes.revert(session, who(session, world, name), entry.id, LATER)

    refused = while_another_decides(world, reverting("moderator"), reverting("admin"))
    assert isinstance(refused, ConflictError), refused
    with world.store.session() as session:
        kinds = [e.last_action_type for e in history.of_service(session, world.service_a)]
        assert kinds == ["revert", "update"]


def test_two_bed_counts_at_once_are_both_logged_each_with_the_count_it_replaced(world):
    with world.store.session() as session:
        before = session.get(ServiceCapacity, world.capacity_a).available

    def counting(name: str, available: int):
        def count(session) -> None:
            editor = who(session, world, name)
            set_available(session, world.service_a, world.capacity_a, available, LATER, editor)

        return count

    assert while_another_decides(world, counting("editor_a", 1), counting("moderator", 2)) is None
    with world.store.session() as session:
        assert session.get(ServiceCapacity, world.capacity_a).available == 2
        logged = [
            (json.loads(e.previous_value), json.loads(e.replacement_value))
            for e in reversed(history.of_service(session, world.service_a))
        ]
        assert logged == [(before, 1), (1, 2)]


def test_location_edits_survive_a_changed_open_data_row(world, tmp_path):
    """A location's edits are applied again too, and the location placed again from them."""
    moved = {"latitude": 43.6532, "longitude": -79.3832, "precision": "manual"}
    with world.store.session() as session, session.begin():
        admin = who(session, world, "admin")
        changes.propose_record(
            session, admin, "location", world.location_a, {"name": "Side door", "point": moved}, NOW
        )
    report = rerun_with(world, tmp_path, "phone", ("416-555-0120", "416-555-0199"))
    assert report.counts.edits_kept == 2
    with world.store.session() as session:
        location = session.get(Location, world.location_a)
        assert location.name == "Side door"
        assert (location.private_latitude, location.private_longitude) == (43.6532, -79.3832)
        assert (location.latitude, location.longitude) == (43.6532, -79.3832)  # not confidential
        assert location.geocode_precision == "manual" and location.cduid == "3520"
