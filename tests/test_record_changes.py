"""Editing organizations and locations with moderation, on both stores, without the web:
propose, approve, reject, revert; a moved location is placed again and republished, its public
point changing only through :mod:`caremap.privacy`."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from caremap import changes, history
from caremap.changes import ChangeError
from caremap.gazetteer import load_gazetteer
from caremap.model import (
    ChangeSet,
    CoverageIndicator,
    Location,
    Organization,
    PublicListing,
    ServiceAtLocation,
)
from caremap.privacy import PublicPointRule
from tests.conftest import DATA_DIR
from tests.support.world import World

NOW = dt.datetime(2026, 11, 29, 15, 0, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(hours=1)
# Inside Toronto, about 1 km from the test shelter (10 Test St, M5A 2N2).
MOVED = {"latitude": 43.6532, "longitude": -79.3832, "precision": "manual"}


def who(session, world: World, name: str):
    from caremap import accounts

    return accounts.principal_of(session, world.users[name])


def location_of(world: World, service_id: str) -> str:
    with world.store.session() as session:
        return session.scalars(
            select(ServiceAtLocation.location_id).where(ServiceAtLocation.service_id == service_id)
        ).one()


def listings_at(session, location_id: str) -> list[PublicListing]:
    return list(
        session.scalars(select(PublicListing).where(PublicListing.location_id == location_id))
    )


def test_an_organization_edit_is_moderated_republished_and_reverted(world):
    with world.store.session() as session, session.begin():
        editor = who(session, world, "editor_a")
        edits = {"name": "Test Org Renamed", "website": "https://example.org/shelter"}
        proposed = changes.propose_record(session, editor, "organization", world.org_a, edits, NOW)
        assert proposed.status == "pending"
        assert (proposed.record_type, proposed.record_id) == ("organization", world.org_a)
        assert proposed.service_id is None and proposed.organization_id == world.org_a
        rejected = changes.propose_record(
            session, editor, "organization", world.org_a, {"description": "Nope"}, NOW
        )
        changes.reject(session, who(session, world, "moderator"), rejected.id, "No.", LATER)
        with pytest.raises(PermissionError):
            changes.propose_record(
                session, who(session, world, "editor_b"), "organization", world.org_a, edits, NOW
            )
    with world.store.session() as session, session.begin():
        assert session.get(Organization, world.org_a).name == "Test Org"
        changes.approve(session, who(session, world, "moderator"), proposed.id, LATER)
    with world.store.session() as session, session.begin():
        organization = session.get(Organization, world.org_a)
        assert (organization.name, organization.last_verified_at) == ("Test Org Renamed", LATER)
        assert organization.description == ""
        record = json.loads(
            session.scalars(
                select(PublicListing.record).where(PublicListing.service_id == world.service_a)
            ).first()
        )
        assert record["service"]["organization"] == "Test Org Renamed"
        entries = history.of_record(session, "organization", world.org_a)
        assert {e.field_name for e in entries} == {"name", "website"}
        assert all(e.service_id is None for e in entries)
        name = next(e for e in entries if e.field_name == "name")
        reverted = changes.revert(session, who(session, world, "editor_a"), name.id, LATER)
        assert (reverted.status, reverted.record_type) == ("pending", "organization")
        changes.approve(session, who(session, world, "admin"), reverted.id, LATER)
        assert session.get(Organization, world.org_a).name == "Test Org"
        assert changes.change_sets_of(session, world.org_a, "organization")[0].id == reverted.id


@pytest.mark.parametrize(
    ("edits", "message"),
    [
        ({"name": " "}, "name may not be empty"),
        ({"email": "not an address"}, "is not an e-mail address"),
        ({"website": "javascript:alert(1)"}, "is not an http"),
    ],
)
def test_bad_organization_values_are_refused(world, edits, message):
    with world.store.session() as session:
        admin = who(session, world, "admin")
        with pytest.raises(ChangeError, match=message):
            changes.propose_record(session, admin, "organization", world.org_a, edits, NOW)


def test_a_moved_location_is_placed_again_and_republished(world):
    location_id = location_of(world, world.service_a)
    with world.store.session() as session, session.begin():
        session.add(_indicator())
    with world.store.session() as session, session.begin():
        edits = {"point": MOVED, "street": "1 Queen St W", "postal_code": "m5h 2n2"}
        proposed = changes.propose_record(
            session, who(session, world, "editor_a"), "location", location_id, edits, NOW
        )
        assert proposed.status == "pending"
        assert listings_at(session, location_id)[0].latitude == pytest.approx(43.6601)
        changes.approve(session, who(session, world, "moderator"), proposed.id, LATER)
    with world.store.session() as session:
        location = session.get(Location, location_id)
        assert (location.latitude, location.longitude) == (43.6532, -79.3832)
        assert (location.private_latitude, location.private_longitude) == (43.6532, -79.3832)
        assert (location.geocode_precision, location.public_point_rule) == ("manual", "exact")
        assert (location.pruid, location.cduid, location.timezone) == (
            "35",
            "3520",
            "America/Toronto",
        )
        assert location.last_verified_at == LATER
        [listing] = listings_at(session, location_id)
        assert (listing.latitude, listing.longitude) == (43.6532, -79.3832)
        assert "1 Queen St W" in listing.record and "M5H 2N2" in listing.record
        assert session.scalars(select(CoverageIndicator)).all() == []
        entries = history.of_record(session, "location", location_id)
        assert {e.field_name for e in entries} == {"point", "street", "postal_code"}
        values = changes.record_values(session, "location", location_id)
        assert values["point"] == MOVED and values["province"] == "ON"


def test_confidential_on_publishes_only_the_generalised_point(world):
    location_id = location_of(world, world.service_a)
    with world.store.session() as session, session.begin():
        admin = who(session, world, "admin")
        changes.propose_record(session, admin, "location", location_id, {"confidential": True}, NOW)
    fsa = load_gazetteer(DATA_DIR).fsa("M5A")
    with world.store.session() as session:
        location = session.get(Location, location_id)
        assert location.public_point_rule == PublicPointRule.FSA
        assert (location.latitude, location.longitude) == pytest.approx(
            (fsa.latitude, fsa.longitude)
        )
        assert (location.private_latitude, location.private_longitude) == (43.6601, -79.3745)
        [listing] = listings_at(session, location_id)
        assert listing.confidential
        for secret in ("10 Test St", "M5A 2N2", "43.6601", "-79.3745"):
            assert secret not in listing.record and secret not in listing.feature


def test_a_confidential_location_moves_without_its_public_point_moving(world):
    """Kenora's shelter has no postal code: its public point is the town's, wherever the
    exact point goes inside it."""
    location_id = location_of(world, world.service_b)
    exact = {"latitude": 49.7655, "longitude": -94.4811, "precision": "manual"}
    with world.store.session() as session, session.begin():
        before = session.get(Location, location_id)
        public = (before.latitude, before.longitude)
        moderator = who(session, world, "moderator")
        changes.propose_record(session, moderator, "location", location_id, {"point": exact}, NOW)
    with world.store.session() as session:
        location = session.get(Location, location_id)
        assert (location.latitude, location.longitude) == public
        assert (location.private_latitude, location.private_longitude) == (49.7655, -94.4811)
        [listing] = listings_at(session, location_id)
        assert "49.7655" not in listing.record + listing.feature
        assert "-94.4811" not in listing.record + listing.feature


@pytest.mark.parametrize(
    ("edits", "message"),
    [
        (
            {"point": {"latitude": 47.6, "longitude": -122.3, "precision": "manual"}},
            "not in Canada",
        ),
        (
            {"point": {"latitude": 45.5017, "longitude": -73.5673, "precision": "manual"}},
            "the point is in QC, but the address says ON",
        ),
        ({"point": {"latitude": 43.6, "longitude": -79.4, "precision": "guess"}}, "precision"),
        ({"point": {"latitude": "north", "longitude": -79.4, "precision": "manual"}}, "point"),
        ({"province": "Ontarioland"}, "not a Canadian province"),
        ({"postal_code": "12345"}, "not a Canadian postal code"),
        ({"province": ""}, "province may not be empty"),
    ],
)
def test_impossible_locations_are_refused(world, edits, message):
    location_id = location_of(world, world.service_a)
    with world.store.session() as session:
        admin = who(session, world, "admin")
        with pytest.raises(ChangeError, match=message):
            changes.propose_record(session, admin, "location", location_id, edits, NOW)


def test_another_organizations_location_cannot_be_edited(world):
    location_id = location_of(world, world.service_a)
    with world.store.session() as session:
        with pytest.raises(PermissionError):
            changes.propose_record(
                session, who(session, world, "editor_b"), "location", location_id,
                {"point": MOVED}, NOW,
            )  # fmt: skip
        assert session.scalars(select(ChangeSet)).all() == []
        with pytest.raises(ChangeError, match="not editable: public_point_rule"):
            changes.propose_record(
                session, who(session, world, "admin"), "location", location_id,
                {"public_point_rule": "exact"}, NOW,
            )  # fmt: skip


def _indicator() -> CoverageIndicator:
    return CoverageIndicator(
        level="province", code="35", service_type="", population_served="", month=0,
        status="ok", people=1, services=1, beds=1, as_of=NOW.date(), computed_at=NOW,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("record", "edits", "found"),
    [
        ("service", {"name": "Transition House B - 12 Imaginary Rd"}, "12 Imaginary Rd"),
        ("service", {"description": "Come to 12, imaginary road today"}, "12, imaginary road"),
        ("location", {"name": "Imaginary Road house"}, "Imaginary Road"),
        ("organization", {"name": "Shelter Society at 12 IMAGINARY"}, "12 IMAGINARY"),
    ],
)
def test_a_confidential_locations_street_is_refused_in_its_text(world, record, edits, found):
    """Kenora's confidential shelter is at 12 Imaginary Road: its editor may not write that
    into a name or a description of the service, its location or its organization."""
    record_id = {
        "service": world.service_b,
        "location": world.location_b,
        "organization": world.org_b,
    }[record]
    with world.store.session() as session:
        editor = who(session, world, "editor_b")
        with pytest.raises(changes.RevealsAddress) as refused:
            changes.propose_record(session, editor, record, record_id, edits, NOW)
    [field] = edits
    assert str(refused.value) == (
        f"{field}: it contains the street address of a confidential location ('{found}'), "
        "which may not be published"
    )
    with world.store.session() as session:
        assert changes.pending_change_sets(session) == []


def test_a_pending_name_with_the_street_is_refused_once_the_location_is_confidential(world):
    """Proposed while the location was public, approved after it became confidential."""
    location_id = location_of(world, world.service_a)
    with world.store.session() as session, session.begin():
        editor = who(session, world, "editor_a")
        change_set = changes.propose(
            session, editor, world.service_a, {"name": "Winter Respite - 10 Test St"}, NOW
        )
        admin = who(session, world, "admin")
        changes.propose_record(session, admin, "location", location_id, {"confidential": True}, NOW)
    with world.store.session() as session:
        moderator = who(session, world, "moderator")
        with pytest.raises(changes.RevealsAddress, match="'10 Test St'"):
            changes.approve(session, moderator, change_set.id, LATER)


def test_making_a_location_named_after_its_street_confidential_publishes_it_without(world):
    """Confidentiality is never refused: the name is published without the street."""
    location_id = location_of(world, world.service_a)
    with world.store.session() as session, session.begin():
        admin = who(session, world, "admin")
        changes.propose(
            session, admin, world.service_a, {"name": "Winter Respite, 10 Test St"}, NOW
        )
        changes.propose_record(session, admin, "location", location_id, {"confidential": True}, NOW)
    with world.store.session() as session:
        [listing] = listings_at(session, location_id)
        assert listing.service_name == "Winter Respite"
        assert "Test St" not in listing.record and "Test St" not in listing.feature
