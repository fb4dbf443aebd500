"""Front-line search: the services nearest a point that fit a person, nearest first.

Searches read the published listings (:mod:`caremap.listing`). Vocabulary filters (service
type, population, capability, language) run in the store as a condition; so do time filters
(open now, available in a month, beds available now), on the map's stored hours, seasons and
bed counts (:mod:`caremap.timefilters`), and each candidate's record is checked too, the
candidate set widening until enough services pass. A nearest-first search counts the matching
places up to ``COUNT_AHEAD`` past its offset, in the pass that reads its page, and beyond that
says only that more match. Distances and ranks of confidential locations use
their public point and are rounded up to a whole ``CONFIDENTIAL_DISTANCE_STEP_M``, so repeated
searches cannot home in on the real address.

Results are places (:class:`Place`): the programmes of one organization at one address are one
result, and the limit counts places. Only public listings placed at an address are grouped: a
confidential listing is always a place of its own, so no result says that two confidential
programmes share an address (or that one shares a public programme's).
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
from dataclasses import dataclass, field, replace
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, select

from caremap.geodesy import distance_m as geodesic_m
from caremap.geodesy import km_to_metres
from caremap.listing import (
    Listing,
    ListingKey,
    ListingRead,
    Timetable,
    WholeRead,
    listings_by_name,
)
from caremap.model import Attribute, Language, MapMember, PublicListing
from caremap.privacy import PublicLocation
from caremap.queries import (
    DEFAULT_TIMEZONE,
    END_OF_DAY,
    WEEKDAYS,
    PublicCapacity,
    PublicSchedule,
    PublicService,
    has_weekly_hours,
)
from caremap.store import NearbyListing, Store
from caremap.timefilters import member_time_conditions, month_span

CONFIDENTIAL_DISTANCE_STEP_M = 1_000.0
# A listing placed at its community is this far from its real address, or more: a distance to
# it is said in whole steps ("about 40 km"), or "in Kenora" within one step.
PLACE_DISTANCE_STEP_M = 5_000.0
MAX_MATCHES = 10_000  # matches listed by name at most
# A nearest-first search counts the matching places up to this many past its offset (or a page,
# if longer), then says only that more match: counting every match of a city is as costly as
# reading every listing in it, and "10 of more than 100" tells a worker as much.
COUNT_AHEAD = 100
# Programmes of one organization whose public points are this close are at one address (one
# source's point and another's for the same building differ by a few metres).
SAME_PLACE_M = 50.0
# Points SAME_PLACE_M apart differ by at most this much latitude (a degree of latitude is
# 110,574 m long or more).
SAME_PLACE_LATITUDE_DEG = SAME_PLACE_M / 110_000
NEAREST_BEYOND_RADIUS = 5
# With time filters, candidates read beyond those wanted: the store says which listings pass
# them, and the records seldom disagree.
TIME_SPARE = 10
DEFAULT_STALE_AFTER = dt.timedelta(hours=48)


@dataclass(frozen=True)
class Filters:
    """What the person needs. Within a facet: any of the codes (service types, populations,
    languages) or all of them (capabilities: a woman with a child and a substance-use issue
    needs a place that is both addiction-capable and accepts children)."""

    service_types: frozenset[str] = frozenset()
    populations: frozenset[str] = frozenset()
    capabilities: frozenset[str] = frozenset()
    languages: frozenset[str] = frozenset()
    open_now: bool = False
    month: int | None = None
    beds_available: bool = False
    include_unknown: bool = False  # with open_now or beds_available: also when not known

    @property
    def by_time(self) -> bool:
        return self.open_now or self.month is not None or self.beds_available

    @property
    def may_leave_out_unknown(self) -> bool:
        """Whether services may be left out only because their hours or bed counts are
        not known."""
        return (self.open_now or self.beds_available) and not self.include_unknown


@dataclass(frozen=True)
class SearchQuery:
    """Where from, how far, how many (after skipping ``offset``), and the filters. (lat, lon)
    in EPSG:4326; without them services are listed by name."""

    latitude: float | None = None
    longitude: float | None = None
    radius_km: float | None = None
    limit: int = 20
    filters: Filters = field(default_factory=Filters)
    offset: int = 0

    @property
    def has_origin(self) -> bool:
        return self.latitude is not None and self.longitude is not None


@dataclass(frozen=True)
class SearchHit:
    listing: Listing
    distance_m: float | None  # rounded up to a whole step for a confidential location
    fresh_capacities: tuple[PublicCapacity, ...]  # availability counts recent enough to show

    @property
    def service(self) -> PublicService:
        return self.listing.public[0]

    @property
    def location(self) -> PublicLocation:
        return self.listing.public[1]


@dataclass(frozen=True)
class Place:
    """One result: the programmes (hits) of one organization at one address, nearest first
    (by name without an origin); a single hit otherwise."""

    hits: tuple[SearchHit, ...]

    @property
    def lead(self) -> SearchHit:
        return self.hits[0]

    @property
    def id(self) -> str:
        """The lead's Feature id, which names the place."""
        return self.lead.listing.id

    @property
    def hours_known(self) -> bool:
        """Whether some programme's weekly hours are known."""
        return any(has_weekly_hours(hit.service.schedules) for hit in self.hits)

    @property
    def beds_known(self) -> bool:
        """Whether some programme has a recent bed count."""
        return any(hit.fresh_capacities for hit in self.hits)


@dataclass(frozen=True)
class SearchResult:
    """``beyond_radius`` means nothing matched within the radius and ``places`` are the
    nearest matching places farther away; no places means nothing matches anywhere. ``total``
    counts the matching places (nearest first, up to :func:`counted_up_to`; by name, those of
    the first ``MAX_MATCHES`` listings), of which ``places`` are those asked for; ``more`` says
    that more places match than ``total``. ``unknown`` counts the places left out only because
    their hours or bed counts are not known (``more_unknown``: at least that many)."""

    places: list[Place]
    total: int
    beyond_radius: bool = False
    unknown: int = 0
    more: bool = False
    more_unknown: bool = False

    @property
    def hits(self) -> list[SearchHit]:
        """Every programme of the places, in their order."""
        return [hit for place in self.places for hit in place.hits]


@dataclass(frozen=True)
class Clock:
    """The moment a search is made, and how old an availability count may be."""

    now: dt.datetime
    stale_after: dt.timedelta = DEFAULT_STALE_AFTER


def search(
    store: Store, query: SearchQuery, clock: Clock, *, read_model: bool = True
) -> SearchResult:
    """Services fitting ``query``, nearest first (by name without an origin). Without
    ``read_model`` the hits may lack their public read model (``SearchHit.service`` and
    ``location``): only their Feature, distance and fresh bed counts are wanted."""
    if not query.has_origin:
        return _search_by_name(store, query, clock, read_model)
    counted = _counted_nearest(store, query, clock, query.radius_km, _shown(query, read_model))
    unknown, more_unknown = _unknown_nearest(store, query, clock, counted)
    if counted.total or query.radius_km is None:
        page = _places(store, _page(counted, query), clock, read_model)
        return SearchResult(page, counted.total, False, unknown, counted.more, more_unknown)
    beyond = replace(query, radius_km=None, limit=min(query.limit, NEAREST_BEYOND_RADIUS))
    shown = _shown(beyond, read_model)
    farther = _places(store, _nearest(store, beyond, clock, None, shown=shown), clock, read_model)
    return SearchResult(farther, len(farther), bool(farther), unknown, False, more_unknown)


def _search_by_name(
    store: Store, query: SearchQuery, clock: Clock, read_model: bool
) -> SearchResult:
    matches = _listed_by_name(store, query, clock)
    places = _places(store, _page(matches, query), clock, read_model)
    unknown, more_unknown = _unknown_by_name(store, query, clock, matches)
    return SearchResult(places, matches.total, False, unknown, matches.more, more_unknown)


# A listing ranked as a search shows it: the distance that may be shown (None by name).
Ranked = tuple[float | None, ListingKey]


def _places(
    store: Store, groups: list[list[Ranked]], clock: Clock, read_model: bool
) -> list[Place]:
    """The groups of ranked listings as places, their listings read whole (with their records
    for ``read_model``) and their fresh bed counts: done for the places shown only. A listing
    gone since it was ranked (unpublished meanwhile) is left out, and so is a place left
    empty."""
    wanted = [key.id for group in groups for _, key in group if _whole(key, read_model) is None]
    read = store.listings_with_ids(wanted, read_model) if wanted else {}
    places = []
    for group in groups:
        hits = []
        for distance, key in group:
            listing = _whole(key, read_model) or read.get(key.id)
            if listing is not None:
                hits.append(SearchHit(listing, distance, _fresh(listing, clock)))
        if hits:
            places.append(Place(tuple(hits)))
    return places


def _whole(key: ListingKey, with_record: bool) -> Listing | None:
    """The listing, if it was read with its Feature (and its record, when ``with_record``)."""
    if isinstance(key, Listing) and (key.record is not None or not with_record):
        return key
    return None


def counted_up_to(query: SearchQuery) -> int:
    """How many matching places a nearest-first search counts at most."""
    return query.offset + max(query.limit, COUNT_AHEAD)


@dataclass(frozen=True)
class _Counted:
    """Matching places counted (nearest first, up to :func:`counted_up_to`; by name, those of
    the first ``MAX_MATCHES`` listings), each its ranked listings, and whether more match."""

    places: list[list[Ranked]]
    more: bool

    @property
    def total(self) -> int:
        return len(self.places)


def _page(counted: _Counted, query: SearchQuery) -> list[list[Ranked]]:
    return counted.places[query.offset : query.offset + query.limit]


def _counted_nearest(
    store: Store,
    query: SearchQuery,
    clock: Clock,
    radius_km: float | None,
    shown: WholeRead | None = None,
) -> _Counted:
    """One nearest-first pass gives the page and the count: the places up to
    :func:`counted_up_to`, and one more to tell whether more match; only those up to the end
    of the page need be whole and in their order. The candidates ``shown`` names (those the
    page is likely to show) are read whole in that pass."""
    counted = counted_up_to(query)
    every = replace(query, limit=counted + 1, offset=0)
    places = _nearest(store, every, clock, radius_km, query.offset + query.limit, shown)
    return _Counted(places[:counted], len(places) > counted)


def _shown(query: SearchQuery, read_model: bool) -> WholeRead:
    """The candidates a page of ``query`` is likely to show (its places' first listings, if
    each is the next candidate), and what showing them reads."""
    return WholeRead(query.offset, query.offset + query.limit, ListingRead.whole(read_model))


def _unknown_nearest(
    store: Store, query: SearchQuery, clock: Clock, known: _Counted
) -> tuple[int, bool]:
    """How many places the time filters leave out only because their hours or bed counts are
    not known, that is none of their programmes' (``known`` are those that pass them), and
    whether there may be more: when the places counted with them reach
    :func:`counted_up_to`, those left out among them, that is at least that many."""
    if not query.filters.may_leave_out_unknown:
        return 0, False
    with_unknown = replace(query, filters=replace(query.filters, include_unknown=True))
    every = _counted_nearest(store, with_unknown, clock, query.radius_km)
    if not every.more:
        return max(0, every.total - known.total), False
    edge = _distance(every.places[-1])
    known_within = sum(1 for place in known.places if _distance(place) <= edge)
    return max(0, every.total - known_within), True


def _unknown_by_name(
    store: Store, query: SearchQuery, clock: Clock, known: _Counted
) -> tuple[int, bool]:
    """As :func:`_unknown_nearest`, for a search by name: when either list reaches
    ``MAX_MATCHES`` listings, only that the places left out may be more is known."""
    if not query.filters.may_leave_out_unknown:
        return 0, False
    with_unknown = replace(query, filters=replace(query.filters, include_unknown=True))
    every = _listed_by_name(store, with_unknown, clock)
    return max(0, every.total - known.total), every.more or known.more


def listing_filter(filters: Filters) -> ColumnElement[bool] | None:
    """A condition on ``public_listing``: its service passes the vocabulary filters."""
    conditions = [
        _services_with_any(codes) for codes in (filters.service_types, filters.populations) if codes
    ]
    conditions += [_services_with_any({code}) for code in sorted(filters.capabilities)]
    if filters.languages:
        conditions.append(
            PublicListing.service_id.in_(
                select(Language.service_id).where(Language.code.in_(sorted(filters.languages)))
            )
        )
    return and_(*conditions) if conditions else None


def _may_pass(store: Store, filters: Filters, clock: Clock) -> ColumnElement[bool] | None:
    """A condition on ``public_listing``: the vocabulary filters and, with time filters, the
    listings whose stored hours, seasons and bed counts pass them (:mod:`caremap.timefilters`),
    so that only those are read (each one's record is checked too)."""
    where = listing_filter(filters)
    if not filters.by_time or filters.include_unknown:
        return where
    with store.engine.connect() as connection:
        times = member_time_conditions(connection, filters, clock)
    passing = PublicListing.id.in_(select(MapMember.id).where(*times))
    return passing if where is None else and_(where, passing)


def _services_with_any(codes: frozenset[str] | set[str]) -> ColumnElement[bool]:
    return PublicListing.service_id.in_(
        select(Attribute.link_id).where(Attribute.taxonomy_term_id.in_(sorted(codes)))
    )


def _nearest(
    store: Store,
    query: SearchQuery,
    clock: Clock,
    radius_km: float | None,
    whole: int | None = None,
    shown: WholeRead | None = None,
) -> list[list[Ranked]]:
    """The ``limit`` best places (their ranked listings), widening the candidates until
    enough pass the time filters and the first ``whole`` (all by default) are certainly the
    best and whole: none left out could rank before the last of them or belong to one (a
    confidential distance is rounded up, so it may rank after points fetched later; the
    store's spare candidates usually settle that without a second scan). The places after
    those are places (a listing left out joins one or ranks after them), maybe not whole.
    Without time filters, the candidates ``shown`` names are read whole (the others as
    keys); with them, every candidate is read with its record."""
    latitude, longitude = query.latitude, query.longitude
    if latitude is None or longitude is None:
        raise ValueError("a nearest-first search needs a point to start from")
    radius_m = None if radius_km is None else km_to_metres(radius_km)
    wanted = query.limit
    settled = wanted if whole is None else min(whole, wanted)
    candidates = wanted + TIME_SPARE if query.filters.by_time else wanted
    where = _may_pass(store, query.filters, clock)
    # The time filters check each record; otherwise a listing's key is enough to rank it.
    read = ListingRead.RECORD if query.filters.by_time else ListingRead.KEY
    while True:
        nearby = store.nearest_listings(
            latitude=latitude,
            longitude=longitude,
            limit=candidates,
            radius_m=radius_m,
            listing_filter=where,
            read=read,
            whole=None if query.filters.by_time else shown,
        )
        places = _grouped(_ranked(nearby.found, query.filters, clock, radius_m))
        # Whatever was left out is at least beyond_m away, so ranks after a shown distance
        # below it (a confidential one's shown distance is rounded up, never down), and
        # belongs to no place whose nearest programme is SAME_PLACE_M nearer than that.
        if math.isinf(nearby.beyond_m) or (
            len(places) >= wanted
            and _distance(places[settled - 1]) + SAME_PLACE_M < nearby.beyond_m
        ):
            return places[:wanted]
        candidates *= 4


def _ranked(
    nearby: list[NearbyListing], filters: Filters, clock: Clock, radius_m: float | None
) -> list[Ranked]:
    """The listings that pass the filters, with the distance that may be shown, best first."""
    ranked: list[tuple[float, ListingKey]] = []
    for near in nearby:
        listing = near.listing
        if not _passes(listing, filters, clock):
            continue
        distance = public_distance(near.distance_m, listing.confidential)
        if radius_m is not None and distance > radius_m:
            continue  # a confidential location whose rounded distance is out of range
        ranked.append((distance, listing))
    ranked.sort(key=lambda r: (r[0], r[1].service_name, r[1].service_id))
    return list(ranked)


def _distance(place: list[Ranked]) -> float:
    distance = place[0][0]
    if distance is None:
        raise ValueError("a nearest-first place has a distance")
    return distance


def _grouped(ranked: list[Ranked]) -> list[list[Ranked]]:
    """The ranked listings as places, in the order of each place's first listing: a listing
    with a place key (:func:`caremap.listing.place_of`: public, placed at an address) joins
    the first place of the same key whose first listing is within :data:`SAME_PLACE_M`; any
    other is a place of its own."""
    places: list[list[Ranked]] = []
    at_addresses: dict[str, list[_Address]] = {}  # by key, each list sorted by latitude
    for item in ranked:
        key = item[1]
        if key.place is None:
            places.append([item])
            continue
        known = at_addresses.setdefault(key.place, [])
        place = _same_place(known, key.latitude, key.longitude)
        if place is None:
            place = [item]
            bisect.insort(known, (key.latitude, len(places), key.longitude, place))
            places.append(place)
        else:
            place.append(item)
    return places


# A place's first listing: (latitude, the place's rank, longitude, the place's listings).
_Address = tuple[float, int, float, list[Ranked]]


def _same_place(known: list[_Address], latitude: float, longitude: float) -> list[Ranked] | None:
    """The best-ranked of the places ``known`` (sorted by latitude) whose first listing is
    within :data:`SAME_PLACE_M` of (lat, lon); None if none is."""
    found: _Address | None = None
    i = bisect.bisect_left(known, (latitude - SAME_PLACE_LATITUDE_DEG,))
    while i < len(known) and known[i][0] <= latitude + SAME_PLACE_LATITUDE_DEG:
        lat, rank, lon, _ = known[i]
        near = geodesic_m(lat1=latitude, lon1=longitude, lat2=lat, lon2=lon) <= SAME_PLACE_M
        if near and (found is None or rank < found[1]):
            found = known[i]
        i += 1
    return None if found is None else found[3]


def community_distance(distance_m: float) -> float | None:
    """What may be said of a distance to a listing placed at its community's centre (geocode
    precision ``place``: the source gives no address): None when the origin lies within
    :data:`PLACE_DISTANCE_STEP_M` of it (in that community), else the distance to the nearest
    whole step."""
    if distance_m < PLACE_DISTANCE_STEP_M:
        return None
    return round(distance_m / PLACE_DISTANCE_STEP_M) * PLACE_DISTANCE_STEP_M


def public_distance(distance_m: float, confidential: bool) -> float:
    """What may be shown of a distance: exact for a public address; for a confidential one,
    measured to its public point and rounded up to a whole step."""
    if not confidential:
        return distance_m
    return math.ceil(distance_m / CONFIDENTIAL_DISTANCE_STEP_M) * CONFIDENTIAL_DISTANCE_STEP_M


def _listed_by_name(store: Store, query: SearchQuery, clock: Clock) -> _Counted:
    """The matching places of the first ``MAX_MATCHES`` listings by name, and whether more
    listings may match."""
    filters = query.filters
    where = _may_pass(store, filters, clock)
    read = ListingRead.RECORD if filters.by_time else ListingRead.KEY
    with store.engine.connect() as connection:
        listings = listings_by_name(connection, where, MAX_MATCHES + 1, read)
    ranked: list[Ranked] = [
        (None, listing) for listing in listings[:MAX_MATCHES] if _passes(listing, filters, clock)
    ]
    return _Counted(_grouped(ranked), len(listings) > MAX_MATCHES)


def _passes(listing: ListingKey, filters: Filters, clock: Clock) -> bool:
    if not filters.by_time:
        return True
    if not isinstance(listing, Listing):
        raise TypeError(f"listing {listing.id} was read without its record")
    return passes_time_filters(listing.timetable, filters, clock)


def _fresh(listing: Listing, clock: Clock) -> tuple[PublicCapacity, ...]:
    return fresh_capacities(listing.counted_capacities, clock)


def passes_time_filters(timetable: Timetable, filters: Filters, clock: Clock) -> bool:
    """Whether a service at a location (its hours, seasons, bed counts and the location's
    timezone) passes the time filters."""
    unknown_passes = filters.include_unknown
    schedules = timetable.schedules
    if filters.open_now and not (
        is_open(schedules, _local(clock.now, timetable.timezone))
        or (unknown_passes and not has_weekly_hours(schedules))
    ):
        return False
    if filters.month is not None and not available_in_month(
        schedules, filters.month, clock.now.date()
    ):
        return False
    counts = fresh_capacities(timetable.capacities, clock)
    return not filters.beds_available or (
        any((c.available or 0) > 0 for c in counts) or (unknown_passes and not counts)
    )


def fresh_capacities(
    capacities: tuple[PublicCapacity, ...], clock: Clock
) -> tuple[PublicCapacity, ...]:
    """Capacities whose availability count is no older than the clock allows."""
    oldest = clock.now - clock.stale_after
    return tuple(
        c
        for c in capacities
        if c.available is not None and c.updated is not None and c.updated >= oldest
    )


def _local(now: dt.datetime, timezone: str | None) -> dt.datetime:
    return now.astimezone(ZoneInfo(timezone or DEFAULT_TIMEZONE))


def is_open(schedules: tuple[PublicSchedule, ...], local: dt.datetime) -> bool:
    """Whether some weekly rule is open at ``local`` time (overnight hours included); services
    with no weekly rule are not known to be open."""
    today, clock_time = local.date(), local.time()
    yesterday = today - dt.timedelta(days=1)
    for rule in schedules:
        if not rule.byday or rule.opens_at is None or rule.closes_at is None:
            continue
        days = rule.byday.split(",")
        if rule.opens_at <= rule.closes_at:
            closes_inclusive = rule.closes_at == END_OF_DAY
            if (
                _valid_on(rule, today)
                and WEEKDAYS[today.weekday()] in days
                and rule.opens_at <= clock_time
                and (clock_time < rule.closes_at or closes_inclusive)
            ):
                return True
        elif (
            _valid_on(rule, today)
            and WEEKDAYS[today.weekday()] in days
            and clock_time >= rule.opens_at
        ) or (
            _valid_on(rule, yesterday)
            and WEEKDAYS[yesterday.weekday()] in days
            and clock_time < rule.closes_at
        ):
            return True
    return False


def _valid_on(rule: PublicSchedule, day: dt.date) -> bool:
    return (rule.valid_from is None or rule.valid_from <= day) and (
        rule.valid_to is None or day <= rule.valid_to
    )


def available_in_month(schedules: tuple[PublicSchedule, ...], month: int, today: dt.date) -> bool:
    """Whether the service runs in the next occurrence of ``month`` (this year's if it is not
    over, else next year's). A service without seasonal dates runs all year."""
    seasonal = [s for s in schedules if s.valid_from is not None or s.valid_to is not None]
    if not seasonal:
        return True
    first, last = month_span(month, today)
    return any(
        (s.valid_from is None or s.valid_from <= last)
        and (s.valid_to is None or s.valid_to >= first)
        for s in seasonal
    )
