"""The PostGIS store: public points as a generated ``geography`` column with a GiST index (on
``location`` and on ``public_listing``).

Nearest-first uses the index-assisted KNN operator ``<->`` on **geography** (spherical metres;
never on 4326 geometry, which orders by degrees), then re-ranks the candidates by
``ST_Distance(geography, geography)``, which is the exact WGS84 spheroid distance. The candidates
are widened until they provably hold the exact answer (:func:`_certain`).

The unfiltered statements (every API search's), compiled once by SQLAlchemy, run on psycopg as
server-side prepared statements (no per-request compilation or result rows to build).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
import sqlalchemy as sa
from geoalchemy2 import Geography

from caremap.listing import COLUMNS, FEATURE_COLUMNS, listing_of
from caremap.store.base import (
    GEODESIC_OVER_SPHERE_MIN,
    POOL_RECYCLE_S,
    NearbyListing,
    NearbyLocation,
    Store,
)

LOCATION = sa.table("location", sa.column("id"), sa.column("geog", Geography("POINT", 4326)))
# The generated column migration 0005 adds (the model does not map it: SQLite has none).
LISTING_GEOG = sa.literal_column("public_listing.geog", Geography("POINT", 4326))
# Nearest-first asks the KNN scan for this many points more than wanted; they usually prove the
# answer exact, else the scan is run again with WIDEN times as many.
CANDIDATE_MARGIN = 8
WIDEN = 4

Rows = Sequence[Sequence[Any]]
# Builds a statement of :func:`_ranked` from a condition (or None) and ``within``.
Builder = Callable[[sa.ColumnElement[bool] | None, bool], sa.Select]


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
        self._prepared: dict[tuple[Builder, bool], _Prepared] = {}

    def nearest(
        self,
        *,
        latitude: float,
        longitude: float,
        limit: int,
        radius_m: float | None = None,
        location_filter: sa.Select | None = None,
    ) -> list[NearbyLocation]:
        if limit <= 0:
            return []
        within = radius_m is not None
        if location_filter is None:
            run = self._prepared_runner(_locations, within)
        else:
            where = LOCATION.c.id.in_(location_filter.scalar_subquery())
            run = self._executor(_locations(where, within))
        rows = _nearest_rows(run, latitude, longitude, limit, radius_m)
        return [NearbyLocation(row[0], float(row[1])) for row in rows]

    def nearest_listings(
        self,
        *,
        latitude: float,
        longitude: float,
        limit: int,
        radius_m: float | None = None,
        listing_filter: sa.ColumnElement[bool] | None = None,
        with_record: bool = True,
    ) -> list[NearbyListing]:
        """One statement: the KNN candidates among the listings, re-ranked as in ``nearest``
        (a second, wider one in the rare case the first cannot prove its answer exact)."""
        if limit <= 0:
            return []
        within = radius_m is not None
        build = _listings if with_record else _features
        if listing_filter is None:
            run = self._prepared_runner(build, within)
        else:
            run = self._executor(build(listing_filter, within))
        rows = _nearest_rows(run, latitude, longitude, limit, radius_m)
        distance = len(COLUMNS if with_record else FEATURE_COLUMNS)
        return [NearbyListing(listing_of(row, with_record), float(row[distance])) for row in rows]

    def _executor(self, statement: sa.Select) -> Callable[[dict[str, Any]], Rows]:
        def run(parameters: dict[str, Any]) -> Rows:
            with self._reads.connect() as connection:
                return connection.execute(statement, parameters).all()

        return run

    def _prepared_runner(self, build: Builder, within: bool) -> Callable[[dict[str, Any]], Rows]:
        """The unfiltered statement, compiled once, run on the driver's connection as a
        server-side prepared statement (SQLAlchemy would compile it and build result rows on
        every request: as long as the query itself)."""
        prepared = self._prepared.get((build, within))
        if prepared is None:
            compiled = build(None, within).compile(dialect=self.engine.dialect)
            constants = {k: v for k, v in compiled.params.items() if v is not None}
            prepared = self._prepared[(build, within)] = _Prepared(str(compiled), constants)

        def run(parameters: dict[str, Any]) -> Rows:
            connection = self._reads.raw_connection()
            driver = connection.driver_connection
            try:
                with driver.cursor() as cursor:
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

    def dispose(self) -> None:
        self._reads.dispose()
        super().dispose()


def _nearest_rows(
    run: Callable[[dict[str, Any]], Rows],
    latitude: float,
    longitude: float,
    limit: int,
    radius_m: float | None,
) -> Rows:
    """The rows of a :func:`_ranked` statement; without a radius, run with more candidates
    until they are certainly the nearest."""
    parameters = {"latitude": latitude, "longitude": longitude, "limit": limit}
    if radius_m is not None:
        return run({**parameters, "radius_m": radius_m})
    candidates = limit + CANDIDATE_MARGIN
    while True:
        rows = run({**parameters, "candidates": candidates})
        if _certain(rows, candidates):
            return rows
        candidates *= WIDEN


def _certain(rows: Rows, candidates: int) -> bool:
    """Whether re-ranked rows (ending with distance_m, reach_m, found) are exactly the nearest:
    fewer than ``candidates`` were found (every point was a candidate), or the last row is
    nearer than any point left out can be. A point left out is at least ``reach_m`` (the
    farthest candidate's spherical distance) away on the sphere, so more than the last row's
    distance on the spheroid when that is below ``GEODESIC_OVER_SPHERE_MIN`` x ``reach_m``
    (ties included: a point as near as the last row is never left out)."""
    if not rows:
        return True
    *_, distance_m, reach_m, found = rows[-1]
    return found < candidates or distance_m < reach_m * GEODESIC_OVER_SPHERE_MIN


def _locations(where: sa.ColumnElement[bool] | None, within: bool) -> sa.Select:
    return _ranked((LOCATION.c.id,), LOCATION.c.geog, where, within)


def _listings(where: sa.ColumnElement[bool] | None, within: bool) -> sa.Select:
    return _ranked(COLUMNS, LISTING_GEOG, where, within)


def _features(where: sa.ColumnElement[bool] | None, within: bool) -> sa.Select:
    return _ranked(FEATURE_COLUMNS, LISTING_GEOG, where, within)


def _ranked(
    columns: Sequence[Any],
    geog: sa.ColumnElement,
    where: sa.ColumnElement[bool] | None,
    within: bool,
) -> sa.Select:
    """``columns`` (the first named ``id``) of the points nearest the query point by geodesic
    distance, ties by id. Bound parameters: latitude, longitude, limit; radius_m (``within``)
    or candidates. Rows: the columns, distance_m; without a radius also reach_m and found.

    Within a radius, ``ST_DWithin`` on the spheroid selects exactly. Otherwise the KNN operator
    ``<->`` (index-assisted) finds ``candidates`` points nearest on the sphere, which are
    re-ranked on the spheroid; reach_m (the farthest candidate on the sphere) and found (how
    many there were) tell :func:`_certain` whether they hold the answer."""
    point = _point(sa.bindparam("latitude"), sa.bindparam("longitude"))
    candidates = sa.select(*columns, geog.label("geog"))
    if where is not None:
        candidates = candidates.where(where)
    if within:
        candidates = candidates.where(sa.func.ST_DWithin(geog, point, sa.bindparam("radius_m")))
    else:
        sphere = geog.op("<->", return_type=sa.Float())(point).label("sphere_m")
        candidates = (
            candidates.add_columns(sphere).order_by(sphere).limit(sa.bindparam("candidates"))
        )
    inner = candidates.subquery()
    distance = sa.func.ST_Distance(inner.c.geog, point)
    ranked = [*(inner.c[column.key] for column in columns), distance.label("distance_m")]
    if not within:
        ranked += [
            sa.func.max(inner.c.sphere_m).over().label("reach_m"),
            sa.func.count().over().label("found"),
        ]
    return sa.select(*ranked).order_by(distance, inner.c.id).limit(sa.bindparam("limit"))
