"""Cross-source matching: one entry per real service.

After every ETL run, :func:`match_sources` pairs the services of different sources located in
the same census division within :data:`MAX_KM` of each other (exact points), scores each pair
field by field with rapidfuzz (:class:`Score`, its parts kept so a person sees why), and
records it in ``listing_match``: a pair scoring at least :data:`SURE` merges; one scoring at
least :data:`REVIEW` waits for a moderator, whose accept or reject is kept across runs (a pair
is keyed by both sources' record ids). A record merges with one other record at most, its best.

A merge publishes one entry (:func:`merges`): the service whose location is confidential if
either is, else the one placed more precisely (an address rather than a community), else the
newer; the other service is not published on its own.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from rapidfuzz import fuzz, utils
from sqlalchemy import (
    Connection,
    Select,
    and_,
    delete,
    distinct,
    func,
    insert,
    not_,
    or_,
    select,
    tuple_,
    update,
)

from caremap.geocoder import Precision
from caremap.geodesy import distance_m
from caremap.model import (
    Attribute,
    ListingMatch,
    Location,
    Organization,
    PublicListing,
    Service,
    ServiceAtLocation,
    ServiceCapacity,
    TaxonomyTerm,
)
from caremap.paging import ID_CHUNK, chunks
from caremap.readonce import once

MAX_KM = 30.0  # a community's point (NSPL) may lie this far from a street address in it
SURE = 80.0  # a score from which a pair merges without review (see SURE_NAME)
REVIEW = 65.0  # a score from which a pair goes to the moderators' queue
# Each field's weight in the score; a field one record lacks counts as UNKNOWN.
WEIGHTS = {"name": 0.5, "organization": 0.15, "client_group": 0.1, "beds": 0.25}
UNKNOWN = 50.0
SURE_NAME = 75.0  # a pair merges without review only if its names are at least this alike
MERGED, REVIEWING, ACCEPTED, REJECTED = "merged", "review", "accepted", "rejected"
DECIDED = (ACCEPTED, REJECTED)
PRECISION_RANK = {precision.value: rank for rank, precision in enumerate(Precision)}


@dataclass(frozen=True)
class Candidate:
    """What matching reads of one service at its (first) location."""

    service_id: str
    source: str
    record_id: str
    as_of: str
    organization: str
    name: str
    populations: frozenset[str]
    beds: int | None
    cduid: str
    latitude: float
    longitude: float
    confidential: bool
    precision: str

    @property
    def key(self) -> tuple[str, str]:
        return self.source, self.record_id


@dataclass(frozen=True)
class Score:
    """A pair's score (0–100), the weighted mean of its parts (field → 0–100, None when a
    record lacks the field); it is sure from :data:`SURE` with names alike from
    :data:`SURE_NAME`."""

    total: float
    parts: dict[str, float | None]

    @property
    def sure(self) -> bool:
        return self.total >= SURE and (self.parts["name"] or 0.0) >= SURE_NAME


@dataclass(frozen=True)
class MatchCounts:
    """What the last matching left: pairs found (scoring at least :data:`REVIEW`), pairs
    merged (by score or accepted by a moderator), pairs waiting for review."""

    pairs: int
    merged: int
    review: int


def score(a: Candidate, b: Candidate) -> Score:
    """How alike two records are, field by field."""
    parts: dict[str, float | None] = {
        "name": _text_likeness(a.name, b.name),
        "organization": _text_likeness(a.organization, b.organization),
        "client_group": _overlap(a.populations, b.populations),
        "beds": _ratio(a.beds, b.beds),
    }
    total = sum(WEIGHTS[f] * (UNKNOWN if part is None else part) for f, part in parts.items())
    return Score(round(total, 1), parts)


def _text_likeness(a: str, b: str) -> float | None:
    if not a.strip() or not b.strip():
        return None
    return round(fuzz.token_sort_ratio(a, b, processor=utils.default_process), 1)


def _overlap(a: frozenset[str], b: frozenset[str]) -> float | None:
    if not a or not b:
        return None
    return 100.0 if a & b else 0.0


def _ratio(a: int | None, b: int | None) -> float | None:
    if not a or not b:
        return None
    return round(100.0 * min(a, b) / max(a, b), 1)


def candidate_pairs(candidates: list[Candidate]) -> list[tuple[Candidate, Candidate]]:
    """Pairs of records of different sources in one census division within :data:`MAX_KM`,
    each pair in key order."""
    by_division: dict[str, list[Candidate]] = defaultdict(list)
    for candidate in candidates:
        by_division[candidate.cduid].append(candidate)
    pairs = []
    for group in by_division.values():
        group.sort(key=lambda c: c.key)
        pairs += [
            (a, b)
            for i, a in enumerate(group)
            for b in group[i + 1 :]
            if a.source != b.source and _near(a, b)
        ]
    return pairs


def _near(a: Candidate, b: Candidate) -> bool:
    metres = distance_m(lat1=a.latitude, lon1=a.longitude, lat2=b.latitude, lon2=b.longitude)
    return metres <= MAX_KM * 1000


def kept_and_merged(a: Candidate, b: Candidate) -> tuple[Candidate, Candidate]:
    """Which of a merged pair is published (confidential, else placed more precisely, else
    newer) and which it takes in."""

    def rank(c: Candidate) -> tuple[bool, int]:
        return not c.confidential, PRECISION_RANK.get(c.precision, len(PRECISION_RANK))

    first, second = sorted((a, b), key=rank)
    if rank(first) == rank(second) and second.as_of > first.as_of:
        first, second = second, first
    return first, second


def read_candidates(connection: Connection) -> list[Candidate]:
    """Every service at a location in a census division where services of more than one
    source are (any other has no pair), with what matching compares."""
    placed = (
        select(Location.cduid)
        .join(ServiceAtLocation, ServiceAtLocation.location_id == Location.id)
        .join(Service, Service.id == ServiceAtLocation.service_id)
        .where(Location.cduid.is_not(None))
        .group_by(Location.cduid)
        .having(func.count(distinct(Service.source_name)) > 1)
    )
    rows = connection.execute(
        select(
            Service.id,
            Service.source_name,
            Service.source_record_id,
            Service.source_as_of,
            Service.name,
            Organization.name.label("organization"),
            Location.cduid,
            Location.private_latitude,
            Location.private_longitude,
            Location.confidential,
            Location.geocode_precision,
        )
        .join(Organization, Organization.id == Service.organization_id)
        .join(ServiceAtLocation, ServiceAtLocation.service_id == Service.id)
        .join(Location, Location.id == ServiceAtLocation.location_id)
        .where(Location.cduid.in_(placed))
        .order_by(Service.id, Location.id)
    ).all()
    if not rows:
        return []
    populations = _populations(connection)
    beds = _beds(connection)
    found: dict[str, Candidate] = {}
    for row in rows:
        found.setdefault(
            row.id,
            Candidate(
                row.id,
                row.source_name,
                row.source_record_id,
                row.source_as_of or "",
                row.organization,
                row.name,
                frozenset(populations.get(row.id, ())),
                beds.get(row.id),
                row.cduid,
                row.private_latitude,
                row.private_longitude,
                row.confidential,
                row.geocode_precision,
            ),
        )
    return list(found.values())


def _populations(connection: Connection) -> dict[str, set[str]]:
    found: dict[str, set[str]] = defaultdict(set)
    rows = connection.execute(
        select(Attribute.link_id, TaxonomyTerm.code)
        .join(TaxonomyTerm, TaxonomyTerm.id == Attribute.taxonomy_term_id)
        .where(TaxonomyTerm.facet == "population", Attribute.link_type == "service")
    )
    for row in rows:
        found[row.link_id].add(row.code)
    return found


def _beds(connection: Connection) -> dict[str, int]:
    rows = connection.execute(
        select(ServiceCapacity.service_id, func.sum(ServiceCapacity.maximum))
        .where(ServiceCapacity.unit == "beds", ServiceCapacity.maximum.is_not(None))
        .group_by(ServiceCapacity.service_id)
    )
    return {service_id: int(total) for service_id, total in rows if total}


def match_sources(connection: Connection) -> MatchCounts:
    """Find, score and record the pairs of the loaded records (in the connection's
    transaction); moderators' decisions are kept. Returns the counts now stored."""
    decided = {
        _pair_key(row): row
        for row in connection.execute(select(ListingMatch).where(ListingMatch.status.in_(DECIDED)))
    }
    connection.execute(delete(ListingMatch).where(ListingMatch.status.not_in(DECIDED)))
    scored = [(score(a, b), a, b) for a, b in candidate_pairs(read_candidates(connection))]
    scored.sort(key=lambda item: (-item[0].total, item[1].key, item[2].key))
    taken: set[tuple[str, str]] = set()
    for found, a, b in scored:
        key = (*a.key, *b.key)
        decision = decided.pop(key, None)
        if found.total < REVIEW and decision is None:
            continue
        status = _status(found, decision.status if decision else None, a, b, taken)
        kept, merged = kept_and_merged(a, b)
        values = {
            "score": found.total,
            "parts": json.dumps(found.parts),
            "status": status,
            "kept_service_id": kept.service_id,
            "merged_service_id": merged.service_id,
        }
        if decision is None:
            connection.execute(
                insert(ListingMatch).values(
                    source_a=a.source,
                    record_a=a.record_id,
                    source_b=b.source,
                    record_b=b.record_id,
                    **values,
                )
            )
        else:
            if status == REVIEWING:  # accepted, but a record merged with a likelier one
                values |= {"decided_by": None, "decided_at": None}
            connection.execute(update(ListingMatch).where(*_where(key)).values(**values))
    _forget_services(connection, decided)
    return match_counts(connection)


def _forget_services(
    connection: Connection, unpaired: dict[tuple[str, str, str, str], Any]
) -> None:
    """The decided pairs not found again (a record left its source, or moved away) keep their
    decision and stand for no service until found again."""
    for key in unpaired:
        connection.execute(
            update(ListingMatch)
            .where(*_where(key))
            .values(kept_service_id=None, merged_service_id=None)
        )


def _status(
    found: Score,
    decision: str | None,
    a: Candidate,
    b: Candidate,
    taken: set[tuple[str, str]],
) -> str:
    """A pair's status: rejected as decided; merged (accepted, or sure) when neither record
    merged already, else waiting for review. Merging takes both records."""
    free = a.key not in taken and b.key not in taken
    if decision == REJECTED:
        return REJECTED
    if (decision == ACCEPTED or found.sure) and free:
        taken.update((a.key, b.key))
        return decision or MERGED
    return REVIEWING


def _pair_key(row: object) -> tuple[str, str, str, str]:
    return (row.source_a, row.record_a, row.source_b, row.record_b)  # type: ignore[attr-defined]


def _where(key: tuple[str, str, str, str]) -> list:
    columns = (
        ListingMatch.source_a,
        ListingMatch.record_a,
        ListingMatch.source_b,
        ListingMatch.record_b,
    )
    return [column == value for column, value in zip(columns, key, strict=True)]


def match_counts(connection: Connection) -> MatchCounts:
    """Pairs found, merged and waiting for review, as stored."""
    by_status = dict(
        connection.execute(
            select(ListingMatch.status, func.count()).group_by(ListingMatch.status)
        ).all()
    )
    return MatchCounts(
        pairs=sum(by_status.values()),
        merged=by_status.get(MERGED, 0) + by_status.get(ACCEPTED, 0),
        review=by_status.get(REVIEWING, 0),
    )


def matched_services(connection: Connection) -> set[str]:
    """Every service in a pair, whatever its status."""
    rows = connection.execute(select(ListingMatch.kept_service_id, ListingMatch.merged_service_id))
    return {service for row in rows for service in row if service}


def merges(connection: Connection) -> dict[str, str]:
    """The services merged into another entry: merged service id → kept service id (read
    once within :func:`caremap.readonce.reading_once`: callers must not change it)."""

    def read() -> dict[str, str]:
        rows = connection.execute(_merged_pairs(ListingMatch.kept_service_id))
        return {merged: kept for merged, kept in rows if merged and kept}

    return once(connection, "merges", read)


def still_listed(connection: Connection, service_ids: list[str]) -> set[str]:
    """Those of ``service_ids`` with published listings: merged since they were published."""
    return {
        service_id
        for chunk in chunks(service_ids, ID_CHUNK)
        for service_id in connection.scalars(
            select(PublicListing.service_id).where(PublicListing.service_id.in_(chunk)).distinct()
        )
    }


def merged_away() -> Select:
    """The ids of the services merged into another entry, as a subquery."""
    return _merged_pairs()


def _merged_pairs(*columns: Any) -> Select:
    return select(ListingMatch.merged_service_id, *columns).where(
        ListingMatch.status.in_((MERGED, ACCEPTED)),
        ListingMatch.merged_service_id.is_not(None),
    )


@dataclass(frozen=True)
class PairView:
    """A pair waiting for review, as a moderator sees it: the entry that would be kept, the
    record it would take in, the score and its parts; ``mergeable`` False when either record
    is merged with another already (a record merges with one other at most)."""

    key: tuple[str, str, str, str]
    kept_name: str
    kept_record: str
    merged_name: str
    merged_record: str
    score: float
    parts: dict[str, float | None]
    mergeable: bool


def review_queue(connection: Connection) -> list[PairView]:
    """The pairs waiting for review, the likeliest first."""
    names = dict(connection.execute(select(Service.id, Service.name)).all())
    records = {
        row.id: f"{row.source_name} {row.source_record_id}"
        for row in connection.execute(
            select(Service.id, Service.source_name, Service.source_record_id)
        )
    }
    rows = connection.execute(
        select(ListingMatch)
        .where(ListingMatch.status == REVIEWING)
        .order_by(ListingMatch.score.desc(), ListingMatch.record_a, ListingMatch.record_b)
    )
    taken = {service for pair in merges(connection).items() for service in pair}
    return [
        PairView(
            _pair_key(row),
            names.get(row.kept_service_id, ""),
            records.get(row.kept_service_id, ""),
            names.get(row.merged_service_id, ""),
            records.get(row.merged_service_id, ""),
            row.score,
            json.loads(row.parts),
            mergeable=not {row.kept_service_id, row.merged_service_id} & taken,
        )
        for row in rows
    ]


class AlreadyMerged(Exception):
    """A record of the pair is merged with another record already."""


def decide(
    connection: Connection, key: tuple[str, str, str, str], accept: bool, user_id: int | None
) -> bool:
    """Record a moderator's decision on a pair; False when there is no such pair. An accept
    raises :class:`AlreadyMerged` when either record is merged in another pair (a record
    merges with one other record at most)."""
    if accept and _merged_elsewhere(connection, key):
        raise AlreadyMerged(key)
    done = connection.execute(
        update(ListingMatch)
        .where(*_where(key))
        .values(
            status=ACCEPTED if accept else REJECTED,
            decided_by=user_id,
            decided_at=dt.datetime.now(dt.UTC),
        )
    )
    return bool(done.rowcount)


def _merged_elsewhere(connection: Connection, key: tuple[str, str, str, str]) -> bool:
    """Whether a record of the pair ``key`` is in another pair that merges."""
    records = [key[:2], key[2:]]
    ends = [
        tuple_(ListingMatch.source_a, ListingMatch.record_a).in_(records),
        tuple_(ListingMatch.source_b, ListingMatch.record_b).in_(records),
    ]
    others = _merged_pairs().where(or_(*ends), not_(and_(*_where(key))))
    return connection.execute(others.limit(1)).first() is not None
