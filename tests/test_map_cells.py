"""The browse map's stored cells (caremap.mapcells, both stores) and its filtered views counted
from the members (caremap.mapfilters) give the answer the live count gives, at every stored
zoom: after a load, after an edit, after a service is withdrawn by its source or removed before
republishing, and for a confidential service (its community point only). The time filters
(open now, a month, beds available) give what caremap.search.passes_time_filters gives, over
weekly, overnight, all-day and seasonal hours in several timezones and fresh and stale
availability counts."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt

import pytest
from sqlalchemy import delete, func, insert, select, update

from caremap import mapmembers
from caremap.listing import LonLatBox
from caremap.mapcells import (
    MARKER_ZOOM,
    STORED_ZOOMS,
    Cell,
    cell_range,
    recount,
    stored_cells,
)
from caremap.mapfilters import filtered_cells
from caremap.model import (
    Attribute,
    Language,
    Location,
    MapCell,
    MapCodeCell,
    MapHours,
    MapMember,
    PublicListing,
    Schedule,
    Service,
    ServiceAtLocation,
    ServiceCapacity,
)
from caremap.republish import services_changed
from caremap.search import Clock, Filters
from etl.pipeline import run
from tests.support.data import CONFIDENTIAL_FIXTURE, DATA_DIR, LISTINGS
from tests.support.livecells import live_cells

CLOCK = Clock(dt.datetime(2026, 12, 4, 15, 0, tzinfo=dt.UTC))
NO_FILTERS = Filters()
BOXES = [
    LonLatBox(-141, 41, -52, 84),  # Canada
    LonLatBox(-180, -85, 180, 85),  # the world
    LonLatBox(-79.6, 43.5, -79.1, 43.9),  # Toronto
    LonLatBox(-79.45, 43.64, -79.37, 43.67),  # downtown, edges through clusters
    LonLatBox(170, 40, -60, 70),  # across the antimeridian
]
SHARED = LISTINGS / "service_listings_shared.csv"


def comparable(cells: list[Cell]) -> list[tuple]:
    """Cells in one order: count, the one listing's id, the mean point."""
    return sorted(
        (c.count, c.first_id if c.count == 1 else "", c.latitude, c.longitude) for c in cells
    )


# Instants for the time filters: a Friday morning in Toronto; a Friday night in Vancouver
# (past midnight in Toronto: overnight hours); a Monday at noon in Toronto.
CLOCKS = [
    CLOCK,
    Clock(dt.datetime(2026, 12, 5, 6, 30, tzinfo=dt.UTC)),
    Clock(dt.datetime(2026, 12, 7, 17, 0, tzinfo=dt.UTC)),
]
TIME_FILTERS = [
    Filters(open_now=True),
    Filters(open_now=True, include_unknown=True),
    Filters(month=1),
    Filters(month=7),
    Filters(beds_available=True),
    Filters(beds_available=True, include_unknown=True),
    Filters(open_now=True, month=12, beds_available=True, include_unknown=True),
]
# (byday, opens, closes, valid from, valid to) of the hours given to the first services
HOURS = [
    ("MO,TU,WE,TH,FR", "09:00", "17:00", None, None),
    ("FR,SA", "20:00", "08:00", None, None),  # overnight
    ("MO,TU,WE,TH,FR,SA,SU", "00:00", "23:59", None, None),  # all day
    ("MO,WE,FR", "08:30", "16:30", "2026-11-01", "2027-03-31"),  # a winter season
    ("SA,SU", "10:00", "14:00", "2027-05-01", "2027-09-30"),  # a summer season
    ("TU,XX", "10:00", "10:00", None, None),  # an empty rule, an unknown day
    (None, None, None, "2026-12-01", "2026-12-31"),  # dates only
]
# (available, hours before CLOCK it was counted) of the counts given to the first services
COUNTS = [(3, 1), (0, 2), (5, 100), (None, 1), (2, 47)]


def comparable_cells(store, box, zoom, filters, clock) -> tuple[list[tuple], list[tuple]]:
    """The cells a view shows, from the stored tables and counted live."""
    with store.engine.connect() as connection:
        if filters == NO_FILTERS:
            stored = stored_cells(connection, cell_range(box, zoom))
        else:
            stored = filtered_cells(connection, box, zoom, filters, clock)
    return comparable(stored), comparable(live_cells(store, box, zoom, filters, clock))


def assert_cells_are_live(
    store, filters: Filters = NO_FILTERS, clock: Clock = CLOCK, boxes: list[LonLatBox] = BOXES
) -> int:
    """Every zoom's cells over every box equal, those stored and those counted live (and with
    filters, the markers of :data:`MARKER_ZOOM`); how many listings they count."""
    compared = 0
    for zoom in [*STORED_ZOOMS, *([] if filters == NO_FILTERS else [MARKER_ZOOM])]:
        for box in boxes:
            stored, live = comparable_cells(store, box, zoom, filters, clock)
            assert [c[:2] for c in stored] == [c[:2] for c in live], (zoom, box, filters)
            assert [x for c in stored for x in c[2:]] == pytest.approx(
                [x for c in live for x in c[2:]], abs=1e-9
            )
            compared += sum(cell[0] for cell in live)
    return compared


def vocabulary_filters(store) -> list[Filters]:
    """A service type, a language, two populations (any), two capabilities (all), a language
    and a service type: terms and codes the loaded services have."""
    with store.engine.connect() as connection:
        terms = connection.scalars(
            select(Attribute.taxonomy_term_id)
            .group_by(Attribute.taxonomy_term_id)
            .order_by(func.count().desc(), Attribute.taxonomy_term_id)
        ).all()
        languages = connection.scalars(select(Language.code).distinct()).all()
    pair = frozenset(terms[1:3])
    return [
        Filters(service_types=frozenset(terms[:1])),  # stored per code at low zooms
        Filters(languages=frozenset(languages[:1])),
        Filters(populations=pair),
        Filters(capabilities=pair),
        Filters(languages=frozenset(languages[:1]), service_types=frozenset(terms[:1])),
    ]


def assert_stored_cells_are_live(store) -> None:
    assert assert_cells_are_live(store) > 0
    for filters in [*vocabulary_filters(store), TIME_FILTERS[1], TIME_FILTERS[-1]]:
        assert_cells_are_live(store, filters)


def give_hours_and_counts(store) -> list[str]:
    """The first services given the :data:`HOURS` and :data:`COUNTS` (a few each, in turn),
    some of their locations another timezone, and republished; their ids."""
    with store.engine.connect() as connection:
        service_ids = connection.scalars(
            select(PublicListing.service_id).distinct().order_by(PublicListing.service_id)
        ).all()[:24]
    stamp = {"source_name": "test", "source_as_of": None, "imported_at": CLOCK.now}
    with store.engine.begin() as connection:
        for number, service_id in enumerate(service_ids):
            for rule in range(number % 3):
                byday, opens, closes, since, until = HOURS[(number + rule) % len(HOURS)]
                _add_hours(
                    connection, f"{number}-{rule}", service_id, byday, opens, closes, since, until
                )
            if number % 2:
                available, hours = COUNTS[number % len(COUNTS)]
                connection.execute(
                    insert(ServiceCapacity).values(
                        id=f"test-count-{number}",
                        source_record_id=str(number),
                        service_id=service_id,
                        unit="bed",
                        available=available,
                        maximum=10,
                        updated=CLOCK.now - dt.timedelta(hours=hours),
                        **stamp,
                    )
                )
            if number % 4 == 3:
                located = select(ServiceAtLocation.location_id).where(
                    ServiceAtLocation.service_id == service_id
                )
                zone = ("America/Vancouver", "America/St_Johns", None)[number % 3]
                connection.execute(
                    update(Location).where(Location.id.in_(located)).values(timezone=zone)
                )
        services_changed(connection, service_ids)
    return list(service_ids)


@pytest.fixture
def loaded(empty_store, tmp_path):
    run(empty_store, [SHARED, CONFIDENTIAL_FIXTURE], DATA_DIR, tmp_path, progress=False)
    give_hours_and_counts(empty_store)
    return empty_store


def first_service_location(store, where=True) -> tuple[str, str]:
    with store.session() as session:
        row = session.execute(
            select(ServiceAtLocation.service_id, ServiceAtLocation.location_id)
            .join(PublicListing, PublicListing.service_id == ServiceAtLocation.service_id)
            .where(where)
            .order_by(ServiceAtLocation.service_id)
            .limit(1)
        ).one()
    return row.service_id, row.location_id


def test_stored_cells_count_every_listing_after_a_load(loaded):
    assert_stored_cells_are_live(loaded)
    with loaded.engine.connect() as connection:
        listings = connection.scalar(select(PublicListing.id).limit(1))
        world = stored_cells(connection, cell_range(LonLatBox(-180, -85, 180, 85), 0))
        assert listings is not None
        assert sum(c.count for c in world) == len(
            connection.scalars(select(PublicListing.id)).all()
        )


def test_cells_counted_one_by_one_are_those_counted_afresh(loaded):
    """A first load counts every cell afresh (no members before); counting the same listings'
    cells one by one from no members, as later loads do, gives the same cells."""
    tables = (MapCell, MapCodeCell)
    with loaded.engine.begin() as connection:
        afresh = [sorted(connection.execute(select(t.__table__)).all()) for t in tables]
        for table in tables:
            connection.execute(delete(table))
        mapmembers.forget(connection, None)
        service_ids = connection.scalars(select(PublicListing.service_id).distinct()).all()
        recount(connection, sorted(service_ids))
        one_by_one = [sorted(connection.execute(select(t.__table__)).all()) for t in tables]
    assert afresh[1]  # the fixture's listings have terms
    for fresh, counted in zip(afresh, one_by_one, strict=True):
        assert [r[:-3] + r[-1:] for r in counted] == [r[:-3] + r[-1:] for r in fresh]
        sums = [[x for r in rows for x in r[-3:-1]] for rows in (counted, fresh)]
        assert sums[0] == pytest.approx(sums[1])


def test_an_edit_moves_only_its_cells(loaded):
    service_id, location_id = first_service_location(loaded, ~PublicListing.confidential)
    with loaded.engine.connect() as connection:
        cells_before = connection.execute(select(MapCell.__table__)).all()
    with loaded.engine.begin() as connection:
        connection.execute(
            update(Location)
            .where(Location.id == location_id)
            .values(latitude=62.45, longitude=-114.37)  # to Yellowknife
        )
        services_changed(connection, [service_id])
    assert_stored_cells_are_live(loaded)
    with loaded.engine.connect() as connection:
        cells_after = connection.execute(select(MapCell.__table__)).all()
    changed = set(cells_before) ^ set(cells_after)
    assert 0 < len({(c.zoom, c.x, c.y) for c in changed}) <= 2 * 2 * len(STORED_ZOOMS)


def test_a_service_withdrawn_by_its_source_leaves_its_cells(loaded, tmp_path):
    lines = SHARED.read_text(encoding="utf-8").splitlines(keepends=True)
    shorter = tmp_path / SHARED.name
    shorter.write_text("".join(lines[:1] + lines[2:]), encoding="utf-8")
    with loaded.engine.connect() as connection:
        before = len(connection.scalars(select(MapMember.id)).all())
    run(loaded, [shorter, CONFIDENTIAL_FIXTURE], DATA_DIR, tmp_path / "again", progress=False)
    with loaded.engine.connect() as connection:
        assert len(connection.scalars(select(MapMember.id)).all()) < before
    assert_stored_cells_are_live(loaded)


def test_a_service_removed_before_republishing_leaves_its_cells(loaded):
    service_id, _ = first_service_location(loaded)
    with loaded.engine.begin() as connection:
        connection.execute(delete(Service).where(Service.id == service_id))  # listings cascade
        services_changed(connection, [service_id])
    with loaded.engine.connect() as connection:
        assert (
            connection.scalars(select(MapMember.id).where(MapMember.service_id == service_id)).all()
            == []
        )
    assert_stored_cells_are_live(loaded)


def test_a_confidential_service_is_counted_at_its_public_point_only(loaded):
    with CONFIDENTIAL_FIXTURE.open(encoding="utf-8") as handle:
        real = [(float(r["latitude"]), float(r["longitude"])) for r in csv.DictReader(handle)]
    with loaded.engine.connect() as connection:
        public = connection.execute(
            select(PublicListing.id, PublicListing.latitude, PublicListing.longitude).where(
                PublicListing.confidential
            )
        ).all()
        members = set(
            connection.execute(select(MapMember.id, MapMember.latitude, MapMember.longitude)).all()
        )
    assert public and set(public) <= members
    for _, latitude, longitude in members:
        assert all(abs(latitude - lat) + abs(longitude - lon) > 1e-3 for lat, lon in real)
    assert_stored_cells_are_live(loaded)


def test_the_time_filters_give_what_the_listings_records_say(loaded):
    with loaded.engine.connect() as connection:
        zones = set(connection.scalars(select(MapHours.timezone)))
    assert len(zones) >= 2
    boxes = [BOXES[0], BOXES[3], BOXES[4]]  # Canada, downtown, across the antimeridian
    for clock in CLOCKS:
        passing = [assert_cells_are_live(loaded, filters, clock, boxes) for filters in TIME_FILTERS]
        assert any(passing)
    everyone = assert_cells_are_live(loaded)
    open_now = assert_cells_are_live(loaded, TIME_FILTERS[0])
    assert 0 < open_now < everyone


def test_the_time_filters_with_codes_give_what_the_listings_records_say(loaded):
    """A month with one code (its stored cells less the members out of season: fewer), and
    each time filter with codes of two facets (read from the rarer's range of map_term)."""
    one_code, *_, two_facets = vocabulary_filters(loaded)
    boxes = [BOXES[0], BOXES[3]]  # Canada, downtown
    in_season = dataclasses.replace(one_code, month=7)
    everyone = assert_cells_are_live(loaded, one_code, boxes=boxes)
    assert 0 < assert_cells_are_live(loaded, in_season, boxes=boxes) < everyone
    for filters in TIME_FILTERS:
        codes = {"languages": two_facets.languages, "service_types": two_facets.service_types}
        assert_cells_are_live(loaded, dataclasses.replace(filters, **codes), boxes=boxes)


def test_the_filters_follow_an_edit_of_hours_and_counts(loaded):
    with loaded.engine.connect() as connection:
        service_id = connection.scalar(
            select(MapHours.service_id).order_by(MapHours.service_id).limit(1)
        )
    with loaded.engine.begin() as connection:
        connection.execute(
            update(Schedule)
            .where(Schedule.service_id == service_id)
            .values(byday="SA", opens_at=dt.time(1, 0), closes_at=dt.time(2, 0))
        )
        connection.execute(
            update(ServiceCapacity)
            .where(ServiceCapacity.service_id == service_id)
            .values(available=0)
        )
        services_changed(connection, [service_id])
    for filters in TIME_FILTERS:
        assert_cells_are_live(loaded, filters, boxes=BOXES[:1])


def test_open_now_counts_a_listing_open_by_two_rules_at_once_once(loaded):
    """Overlapping rules and yesterday's hours running past midnight, all open at
    :data:`CLOCK` in any of the loaded timezones: three open rows of ``map_hours``, none
    ``alone``, one member counted, as live."""
    service_id, _ = first_service_location(loaded, ~PublicListing.confidential)
    rules = [("FR", "06:00", "20:00"), ("FR", "06:30", "21:00"), ("TH", "21:00", "12:00")]
    with loaded.engine.begin() as connection:
        connection.execute(delete(Schedule).where(Schedule.service_id == service_id))
        for number, (byday, opens, closes) in enumerate(rules):
            _add_hours(connection, f"twice-{number}", service_id, byday, opens, closes)
        services_changed(connection, [service_id])
    open_now = Filters(open_now=True)
    with loaded.engine.connect() as connection:
        [(member, latitude, longitude)] = connection.execute(
            select(MapMember.id, MapMember.latitude, MapMember.longitude).where(
                MapMember.service_id == service_id
            )
        )
        hours = select(MapHours.alone).where(MapHours.listing_id == member)
        assert connection.scalars(hours).all() == [False] * 3  # read through DISTINCT
        around = LonLatBox(longitude - 0.01, latitude - 0.01, longitude + 0.01, latitude + 0.01)
        markers = filtered_cells(connection, around, MARKER_ZOOM, open_now, CLOCK)
    assert [cell.count for cell in markers if cell.first_id == member] == [1]
    assert assert_cells_are_live(loaded, open_now, boxes=[BOXES[0], around]) > 0


def _add_hours(
    connection,
    key: str,
    service_id: str,
    byday: str | None,
    opens: str | None,
    closes: str | None,
    since: str | None = None,
    until: str | None = None,
) -> None:
    """A weekly rule of the service's hours (times and dates as ISO text, or None)."""
    connection.execute(
        insert(Schedule).values(
            id=f"test-hours-{key}",
            source_record_id=key,
            service_id=service_id,
            byday=byday,
            opens_at=opens and dt.time.fromisoformat(opens),
            closes_at=closes and dt.time.fromisoformat(closes),
            valid_from=since and dt.date.fromisoformat(since),
            valid_to=until and dt.date.fromisoformat(until),
            source_name="test",
            source_as_of=None,
            imported_at=CLOCK.now,
        )
    )
