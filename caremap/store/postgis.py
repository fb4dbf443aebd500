"""The PostGIS store: public points as a generated ``geography`` column with a GiST index (on
``location`` and on ``public_listing``).

Nearest-first uses the index-assisted KNN operator ``<->`` on **geography** (spherical metres;
never on 4326 geometry, which orders by degrees), then re-ranks the candidates by
``ST_Distance(geography, geography)``, which is the exact WGS84 spheroid distance.
"""

from __future__ import annotations

import functools

import sqlalchemy as sa
from geoalchemy2 import Geography

from caremap.listing import COLUMNS, listing_of
from caremap.model import PublicListing
from caremap.store.base import RERANK_MARGIN, NearbyListing, NearbyLocation, Store

LOCATION = sa.table("location", sa.column("id"), sa.column("geog", Geography("POINT", 4326)))
# The generated column migration 0005 adds (the model does not map it: SQLite has none).
LISTING_GEOG = sa.literal_column("public_listing.geog", Geography("POINT", 4326))


def _point(
    latitude: float | sa.BindParameter, longitude: float | sa.BindParameter
) -> sa.ColumnElement:
    """A geography point; ST_MakePoint takes (lon, lat)."""
    geometry = sa.func.ST_SetSRID(sa.func.ST_MakePoint(longitude, latitude), 4326)
    return sa.cast(geometry, Geography("POINT", 4326))


class PostgisStore(Store):
    """PostgreSQL + PostGIS. Spatial searches are single statements: they run in autocommit
    mode (no BEGIN and ROLLBACK round trips around them)."""

    def __init__(self, engine: sa.Engine) -> None:
        super().__init__(engine)
        self._reads = engine.execution_options(isolation_level="AUTOCOMMIT")

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
        query_point = _point(latitude, longitude)
        candidates = sa.select(LOCATION.c.id, LOCATION.c.geog)
        if location_filter is not None:
            candidates = candidates.where(LOCATION.c.id.in_(location_filter.scalar_subquery()))
        if radius_m is not None:
            candidates = candidates.where(
                sa.func.ST_DWithin(LOCATION.c.geog, query_point, radius_m)
            )
        else:
            candidates = candidates.order_by(LOCATION.c.geog.op("<->")(query_point)).limit(
                limit + RERANK_MARGIN
            )
        inner = candidates.subquery()
        distance = sa.func.ST_Distance(inner.c.geog, query_point)
        ranked = (
            sa.select(inner.c.id, distance.label("distance_m"))
            .order_by(distance, inner.c.id)
            .limit(limit)
        )
        with self._reads.connect() as connection:
            rows = connection.execute(ranked).all()
        return [NearbyLocation(row.id, float(row.distance_m)) for row in rows]

    def nearest_listings(
        self,
        *,
        latitude: float,
        longitude: float,
        limit: int,
        radius_m: float | None = None,
        listing_filter: sa.ColumnElement[bool] | None = None,
    ) -> list[NearbyListing]:
        """One statement: the KNN candidates among the listings, re-ranked as in ``nearest``."""
        if limit <= 0:
            return []
        within = radius_m is not None
        statement = (
            _listings_statement(within)
            if listing_filter is None
            else _build_listings_statement(within, listing_filter)
        )
        parameters = {
            "latitude": latitude,
            "longitude": longitude,
            "limit": limit,
            "candidates": limit + RERANK_MARGIN,
            "radius_m": radius_m,
        }
        with self._reads.connect() as connection:
            rows = connection.execute(statement, parameters).all()
        return [NearbyListing(listing_of(row), float(row.distance_m)) for row in rows]


@functools.cache
def _listings_statement(within: bool) -> sa.Select:
    """The unfiltered statement, built once (building one costs more than running it)."""
    return _build_listings_statement(within, None)


def _build_listings_statement(
    within: bool, listing_filter: sa.ColumnElement[bool] | None
) -> sa.Select:
    """Bound parameters: latitude, longitude, limit, candidates, radius_m (if ``within``)."""
    query_point = _point(sa.bindparam("latitude"), sa.bindparam("longitude"))
    candidates = sa.select(*COLUMNS, LISTING_GEOG.label("geog")).select_from(
        PublicListing.__table__
    )
    if listing_filter is not None:
        candidates = candidates.where(listing_filter)
    if within:
        candidates = candidates.where(
            sa.func.ST_DWithin(LISTING_GEOG, query_point, sa.bindparam("radius_m"))
        )
    else:
        candidates = candidates.order_by(LISTING_GEOG.op("<->")(query_point)).limit(
            sa.bindparam("candidates")
        )
    inner = candidates.subquery()
    distance = sa.func.ST_Distance(inner.c.geog, query_point)
    return (
        sa.select(*(inner.c[column.key] for column in COLUMNS), distance.label("distance_m"))
        .order_by(distance, inner.c.id)
        .limit(sa.bindparam("limit"))
    )
