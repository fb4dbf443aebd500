"""The PostGIS store: public points as a generated ``geography`` column with a GiST index (on
``location`` and on ``public_listing``).

Nearest-first uses the index-assisted KNN operator ``<->`` on **geography** (spherical metres;
never on 4326 geometry, which orders by degrees), within a radius also ``ST_DWithin`` (exact on
the spheroid, index-assisted). The candidates are re-ranked in Python by exact WGS84 geodesic
metres (``pyproj.Geod``, as on the embedded store: PostGIS's spheroid ``ST_Distance`` is the same
algorithm, and costs as much per point as the index scan that finds it), and widened until they
provably hold the exact answer (:func:`_nearest_rows`).

The unfiltered statements (every API search's), compiled once by SQLAlchemy, run on psycopg as
server-side prepared statements (no per-request compilation or result rows to build).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, cast

import psycopg
import sqlalchemy as sa
from geoalchemy2 import Geography

from caremap.geodesy import distance_m
from caremap.listing import (
    KEY_COLUMNS,
    Listing,
    ListingRead,
    WholeRead,
    key_or_whole,
    listing_of,
    read_of,
)
from caremap.model import PublicListing
from caremap.store.base import (
    POOL_RECYCLE_S,
    NearbyListing,
    NearbyLocation,
    NearestFirst,
    Store,
    proven_nearest,
)

LOCATION = sa.table(
    "location",
    sa.column("id"),
    sa.column("latitude"),
    sa.column("longitude"),
    sa.column("geog", Geography("POINT", 4326)),
)
# A table's public point: (latitude, longitude, geog); geog is the generated column migrations
# 0001 and 0005 add (the model does not map it: SQLite has none).
LOCATION_POINT = (LOCATION.c.latitude, LOCATION.c.longitude, LOCATION.c.geog)
LISTING_POINT = (
    PublicListing.latitude,
    PublicListing.longitude,
    sa.literal_column("public_listing.geog", Geography("POINT", 4326)),
)
# Nearest-first asks the KNN scan for CANDIDATE_MARGIN points more than wanted, and one more per
# SPARE_PER wanted: they usually prove the answer exact (the sphere's order and the ellipsoid's
# differ among points within about 0.5 % of one distance, so the more points wanted, the more
# spare ones proving them takes) and give a few more points, which a search rounding
# confidential distances may need; else the scan is run again with WIDEN times as many (at
# 100,000 services, for about 4 % of the origins of a search counting 101 places).
CANDIDATE_MARGIN = 6
SPARE_PER = 8
WIDEN = 2

Rows = Sequence[Sequence[Any]]


@dataclass(frozen=True)
class _Prepared:
    """A statement compiled once for the driver: its SQL and the values of its constants."""

    sql: str
    constants: dict[str, Any]


def _point(
    latitude: float | sa.BindParameter, longitude: float | sa.BindParameter
) -> sa.ColumnElement:
    """A geography point; ST_MakePoint takes (lon, lat)."""
    geometry = sa.func.ST_SetSRID(sa.func.ST_MakePoint(longitude, latitude), 4326)
    return sa.cast(geometry, Geography("POINT", 4326))


class PostgisStore(Store):
    """PostgreSQL + PostGIS. Spatial searches are single statements: they run on a pool of
    autocommit connections of their own (no BEGIN and ROLLBACK round trips around them, and
    no isolation level to set and reset at every checkout)."""

    def __init__(self, engine: sa.Engine) -> None:
        super().__init__(engine)
        self._reads = sa.create_engine(
            engine.url,
            isolation_level="AUTOCOMMIT",
            pool_reset_on_return=None,  # no transaction is ever left open
            pool_recycle=POOL_RECYCLE_S,
        )
        self._prepared: dict[object, _Prepared] = {}

    def nearest_first(
        self,
        *,
        latitude: float,
        longitude: float,
        limit: int,
        radius_m: float | None = None,
        location_filter: sa.Select | None = None,
    ) -> NearestFirst[NearbyLocation]:
        if limit <= 0:
            return NearestFirst([])
        within = radius_m is not None
        if location_filter is None:
            run = self._prepared_runner((_locations, within), lambda: _locations(None, within))
        else:
            where = LOCATION.c.id.in_(location_filter.scalar_subquery())
            run = self._executor(_locations(where, within))
        ranked, beyond_m = _nearest_rows(run, latitude, longitude, limit, radius_m)
        return NearestFirst([NearbyLocation(row[0], m) for row, m in ranked], beyond_m)

    def nearest_listings(
        self,
        *,
        latitude: float,
        longitude: float,
        limit: int,
        radius_m: float | None = None,
        listing_filter: sa.ColumnElement[bool] | None = None,
        read: ListingRead = ListingRead.RECORD,
        whole: WholeRead | None = None,
    ) -> NearestFirst[NearbyListing]:
        """One statement: the KNN candidates among the listings, re-ranked as in ``nearest``
        (a second, wider one in the rare case the first cannot prove its answer exact); the
        candidates ``whole`` names are read whole in it."""
        if limit <= 0:
            return NearestFirst([])
        within = radius_m is not None
        whole_read = None if whole is None else whole.read
        key = (read, whole_read, within)
        if listing_filter is None:
            run = self._prepared_runner(key, lambda: _listings(read, whole_read, None, within))
        else:
            run = self._executor(_listings(read, whole_read, listing_filter, within))
        bounds = {} if whole is None else {"whole_start": whole.start, "whole_stop": whole.stop}
        ranked, beyond_m = _nearest_rows(run, latitude, longitude, limit, radius_m, bounds)
        if whole is None:
            found = [NearbyListing(read_of(row, read), m) for row, m in ranked]
        else:
            found = [NearbyListing(key_or_whole(row, whole.read), m) for row, m in ranked]
        return NearestFirst(found, beyond_m)

    def listings_with_ids(self, ids: Sequence[str], with_record: bool) -> dict[str, Listing]:
        """As the default, by one prepared statement (no transaction: one round trip)."""
        run = self._prepared_runner(("with ids", with_record), lambda: _with_id_array(with_record))
        return {row[0]: listing_of(row, with_record) for row in run({"ids": list(ids)})}

    def _executor(self, statement: sa.Select) -> Callable[[dict[str, Any]], Rows]:
        def run(parameters: dict[str, Any]) -> Rows:
            with self._reads.connect() as connection:
                return connection.execute(statement, parameters).all()

        return run

    def _prepared_runner(
        self, key: object, build: Callable[[], sa.Select]
    ) -> Callable[[dict[str, Any]], Rows]:
        """The statement ``build`` makes, compiled once per ``key``, run on the driver's
        connection as a server-side prepared statement (SQLAlchemy would compile it and build
        result rows on every request: as long as the query itself)."""
        prepared = self._prepared.get(key)
        if prepared is None:
            compiled = build().compile(dialect=self.engine.dialect)
            constants = {k: v for k, v in compiled.params.items() if v is not None}
            prepared = self._prepared[key] = _Prepared(str(compiled), constants)

        def run(parameters: dict[str, Any]) -> Rows:
            connection = self._reads.raw_connection()
            driver = cast("psycopg.Connection[Any]", connection.driver_connection)
            try:
                with driver.cursor(binary=True) as cursor:  # no float parsing
                    cursor.execute(prepared.sql, {**prepared.constants, **parameters}, prepare=True)
                    return cursor.fetchall()
            except psycopg.OperationalError:
                if driver.broken:  # the server went away: so did every pooled connection
                    connection.invalidate()
                    self._reads.dispose(close=False)
                raise
            finally:
                connection.close()

        return run

    @contextlib.contextmanager
    def exclusive(self, name: str) -> Iterator[None]:
        """A session-level advisory lock (``pg_advisory_lock``) on a connection of its own,
        keyed by ``name`` and the schema (tests give each store a schema of its own)."""
        key = sa.text("SELECT hashtextextended(:name || current_schema(), 0)")
        with self.engine.connect() as connection:
            lock_id = connection.execute(key, {"name": name}).scalar_one()
            connection.execute(sa.text("SELECT pg_advisory_lock(:id)"), {"id": lock_id})
            connection.commit()
            try:
                yield
            finally:
                connection.execute(sa.text("SELECT pg_advisory_unlock(:id)"), {"id": lock_id})
                connection.commit()

    def dispose(self) -> None:
        self._reads.dispose()
        super().dispose()


def _nearest_rows(
    run: Callable[[dict[str, Any]], Rows],
    latitude: float,
    longitude: float,
    limit: int,
    radius_m: float | None,
    bounds: dict[str, int] | None = None,
) -> tuple[list[tuple[Sequence[Any], float]], float]:
    """Rows of a :func:`_candidates` statement with their geodesic metres, nearest first (ties
    by id): at least ``limit`` of them when there are that many, all certainly the nearest;
    and the distance every row left out is at least (infinite when none is). The statement
    is run with more candidates until that holds; ``bounds`` are its other parameters."""
    parameters = {"latitude": latitude, "longitude": longitude, "radius_m": radius_m}
    parameters |= bounds or {}
    candidates = limit + CANDIDATE_MARGIN + limit // SPARE_PER
    while True:
        rows = run({**parameters, "candidates": candidates})
        ranked = _by_geodesic(rows, latitude, longitude, radius_m)
        # Fewer rows than asked: every point (within the radius) is a candidate.
        reach_m = rows[-1][-1] if len(rows) == candidates else math.inf
        proven, beyond_m = proven_nearest(ranked, lambda pair: pair[1], reach_m)
        if len(proven) >= limit or math.isinf(reach_m):
            return proven, beyond_m
        candidates *= WIDEN


def _by_geodesic(
    rows: Rows, latitude: float, longitude: float, radius_m: float | None
) -> list[tuple[Sequence[Any], float]]:
    """Candidate rows (ending with latitude, longitude, sphere_m) and their exact WGS84
    geodesic metres, nearest first, ties by id (the first column); within ``radius_m``."""
    # One pyproj call per row: for a few dozen rows, faster than building arrays for one call.
    ranked = [
        (row, distance_m(lat1=latitude, lon1=longitude, lat2=row[-3], lon2=row[-2])) for row in rows
    ]
    ranked.sort(key=lambda pair: (pair[1], pair[0][0]))
    if radius_m is None:
        return ranked
    return [pair for pair in ranked if pair[1] <= radius_m]


def _locations(where: sa.ColumnElement[bool] | None, within: bool) -> sa.Select:
    return _candidates((LOCATION.c.id,), LOCATION_POINT, where, within)


def _listings(
    read: ListingRead,
    whole_read: ListingRead | None,
    where: sa.ColumnElement[bool] | None,
    within: bool,
) -> sa.Select:
    """:func:`_candidates` among the listings, read with ``read``; with ``whole_read``, read
    with that from the candidate ``whole_start`` (0-based, nearest first on the sphere) up to
    ``whole_stop`` and as keys (the rest of its columns NULL) otherwise."""
    if whole_read is None:
        return _candidates(read.columns, LISTING_POINT, where, within)
    if read is not ListingRead.KEY:
        raise ValueError("only a read of keys reads some candidates whole")
    near = _candidates(whole_read.columns, LISTING_POINT, where, within).subquery()
    keys, more = near.c[: len(KEY_COLUMNS)], near.c[len(KEY_COLUMNS) : -3]
    latitude, longitude, sphere = near.c[-3:]
    rank = sa.func.row_number().over(order_by=(sphere, near.c.id))  # 1-based
    shown = sa.and_(rank > sa.bindparam("whole_start"), rank <= sa.bindparam("whole_stop"))
    whole = [sa.case((shown, column)).label(column.name) for column in more]
    return sa.select(*keys, *whole, latitude, longitude, sphere).order_by(sphere, near.c.id)


def _with_id_array(with_record: bool) -> sa.Select:
    """The listings whose ids are bound as the array ``ids`` (one prepared statement for any
    number of ids)."""
    columns = ListingRead.whole(with_record).columns
    return sa.select(*columns).where(PublicListing.id == sa.func.any(sa.bindparam("ids")))


def _candidates(
    columns: Sequence[Any],
    public_point: tuple[Any, Any, sa.ColumnElement],
    where: sa.ColumnElement[bool] | None,
    within: bool,
) -> sa.Select:
    """``columns`` (the first named ``id``), then the public point's latitude and longitude
    and its spherical metres, of the ``candidates`` points nearest the query point on the
    sphere (the index-assisted KNN operator ``<->``); with ``within``, only those within
    ``radius_m`` on the spheroid (``ST_DWithin``, exact and index-assisted). Bound parameters:
    latitude, longitude, candidates; radius_m. The geodesic re-rank is :func:`_by_geodesic`'s
    (pyproj, as on the embedded store): a spheroid distance costs PostGIS as much as the
    index scan that finds the point."""
    latitude, longitude, geog = public_point
    point = _point(sa.bindparam("latitude"), sa.bindparam("longitude"))
    sphere = geog.op("<->", return_type=sa.Float())(point)
    query = sa.select(*columns, latitude, longitude, sphere.label("sphere_m"))
    if where is not None:
        query = query.where(where)
    if within:
        query = query.where(sa.func.ST_DWithin(geog, point, sa.bindparam("radius_m")))
    return query.order_by(sphere).limit(sa.bindparam("candidates"))
