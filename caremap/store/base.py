"""The store interface shared by the embedded and PostGIS implementations."""

from __future__ import annotations

import abc
import contextlib
import functools
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Select,
    bindparam,
    create_engine,
    event,
    select,
)
from sqlalchemy.engine import make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

from caremap import publish
from caremap.listing import (
    Listing,
    ListingKey,
    ListingRead,
    WholeRead,
    listings_with_ids,
    read_of,
)
from caremap.model import PublicListing

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
# Nearest-neighbour candidates are fetched by a spherical (or chordal) index, then re-ranked by
# the exact WGS84 geodesic distance; this many extra candidates absorb the small disagreement.
RERANK_MARGIN = 16
# The WGS84 geodesic distance between two points over their great-circle distance on the sphere
# of radius EARTH_RADIUS_M lies within [0.99442, 1.00449] (the ellipsoid's radii of curvature
# over that radius). The lower bound, rounded down, proves a nearest-first search by the sphere
# complete: a point farther than r on the sphere is farther than this x r on the ellipsoid.
GEODESIC_OVER_SPHERE_MIN = 0.994
# Pooled connections are replaced after this long (instead of a round trip to test each one
# before use; after a database restart, the first failing request invalidates the pool).
POOL_RECYCLE_S = 300
# SQLite: the page size of a new database file. A listing's row (its Feature and record JSON) is
# about 3 KiB: one to a 4 KiB page, a quarter of each left empty, five to a 16 KiB page; and a
# load's commit writes a fourth as many pages (frames) to the WAL and back into the file.
PAGE_SIZE = 16_384


class StoreError(RuntimeError):
    """A store cannot be opened or used as asked; the message is safe to show."""


@dataclass(frozen=True)
class NearbyLocation:
    """A location's id and its geodesic distance in metres from the query point (public point)."""

    location_id: str
    distance_m: float


@dataclass(frozen=True)
class NearbyListing:
    """A published listing and its geodesic distance in metres from the query point."""

    listing: ListingKey  # a Listing when read with its Feature
    distance_m: float


Nearby = TypeVar("Nearby", NearbyLocation, NearbyListing)


@dataclass(frozen=True)
class NearestFirst(Generic[Nearby]):
    """What one nearest-first scan proved: ``found`` nearest first (ties by id), at least as
    many as asked when there are that many; every point left out (within the radius) is at
    least ``beyond_m`` away (infinite when none is), so the scan's spare candidates nearer than
    that come for free to a caller that re-ranks (a search rounding confidential distances)."""

    found: list[Nearby]
    beyond_m: float = math.inf


Candidate = TypeVar("Candidate")


def proven_nearest(
    ranked: list[Candidate], distance_m: Callable[[Candidate], float], reach_m: float
) -> tuple[list[Candidate], float]:
    """The candidates of a nearest-first scan (re-ranked by geodesic metres) that are certainly
    the nearest, and the distance every point left out is at least. A point left out is at
    least ``reach_m`` away on the sphere (the farthest candidate's spherical distance; infinite
    when every point was a candidate), so at least ``GEODESIC_OVER_SPHERE_MIN`` x ``reach_m``
    on the spheroid."""
    beyond_m = reach_m * GEODESIC_OVER_SPHERE_MIN
    return [c for c in ranked if distance_m(c) < beyond_m], beyond_m


class Store(abc.ABC):
    """One engine per process, a session per unit of work, spatial queries on public points."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def session(self) -> Session:
        """A new ORM session; use it as a context manager."""
        return self._sessions()

    def upgrade(self) -> None:
        """Create or migrate the schema to the newest revision (Alembic), then rebuild the
        published listings if another version of the code built them."""
        with self.engine.begin() as connection:
            config = _alembic_config(connection)
            command.upgrade(config, "head")
            publish.ensure_current(connection)

    def large_transaction(self, connection: Connection) -> contextlib.AbstractContextManager[None]:
        """Within: ``connection`` set up for a transaction that writes much (a load); nothing
        changes by default."""
        return contextlib.nullcontext()

    @abc.abstractmethod
    def exclusive(self, name: str) -> contextlib.AbstractContextManager[None]:
        """Hold the store-wide lock ``name`` inside the ``with`` block, waiting while another
        process (or store object) holds it."""

    def is_current(self) -> bool:
        """Whether the schema is at the newest revision and the listings are this code's."""
        with self.engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
            return current == _newest_revision() and publish.is_current(connection)

    def nearest(
        self,
        *,
        latitude: float,
        longitude: float,
        limit: int,
        radius_m: float | None = None,
        location_filter: Select | None = None,
    ) -> list[NearbyLocation]:
        """Up to ``limit`` locations nearest-first by geodesic metres from (lat, lon) to their
        public point, optionally only within ``radius_m`` and only among the locations whose
        ids ``location_filter`` (a SELECT of ``location.id``) returns."""
        return self.nearest_first(
            latitude=latitude,
            longitude=longitude,
            limit=limit,
            radius_m=radius_m,
            location_filter=location_filter,
        ).found[:limit]

    @abc.abstractmethod
    def nearest_first(
        self,
        *,
        latitude: float,
        longitude: float,
        limit: int,
        radius_m: float | None = None,
        location_filter: Select | None = None,
    ) -> NearestFirst[NearbyLocation]:
        """:meth:`nearest`, with whatever more the scan proved to come next."""

    def nearest_listings(
        self,
        *,
        latitude: float,
        longitude: float,
        limit: int,
        radius_m: float | None = None,
        listing_filter: ColumnElement[bool] | None = None,
        read: ListingRead = ListingRead.RECORD,
        whole: WholeRead | None = None,
    ) -> NearestFirst[NearbyListing]:
        """The ``limit`` (or more) published listings nearest-first (ties by id) by geodesic
        metres from (lat, lon) to their public point, optionally only within ``radius_m`` and
        only those ``listing_filter`` (a condition on ``public_listing``) passes; ``read``
        says how much of each is read, and a store may read the candidates ``whole`` names
        with more (a listing read with its Feature is a :class:`Listing`).

        This default finds the nearest locations, then their listings: a listing left out is
        at a location left out. It reads every listing with ``read``."""
        located = None
        if listing_filter is not None:
            located = select(PublicListing.location_id).where(listing_filter)
        nearby = self.nearest_first(
            latitude=latitude,
            longitude=longitude,
            limit=limit,
            radius_m=radius_m,
            location_filter=located,
        )
        distances = {n.location_id: n.distance_m for n in nearby.found}
        query = _listings_at_locations(read)
        if listing_filter is not None:
            query = query.where(listing_filter)
        with self.engine.connect() as connection:
            rows = connection.execute(query, {"location_ids": list(distances)}).all()
        found = [NearbyListing(read_of(row, read), distances[row.location_id]) for row in rows]
        found.sort(key=lambda n: (n.distance_m, n.listing.id))
        return NearestFirst(found, nearby.beyond_m)

    def listings_with_ids(self, ids: Sequence[str], with_record: bool) -> dict[str, Listing]:
        """The published listings with these ids, by id, with their Features and bed counts
        (and their records, ``with_record``); an id no listing has is left out."""
        with self.engine.connect() as connection:
            return listings_with_ids(connection, ids, with_record)

    def dispose(self) -> None:
        self.engine.dispose()


@functools.cache
def _listings_at_locations(read: ListingRead) -> Select:
    """What ``read`` reads of the listings at the locations bound as ``location_ids``. Built
    once: building a statement with a list of ids each time took a third of an embedded
    search's store time."""
    return select(*read.columns, PublicListing.location_id).where(
        PublicListing.location_id.in_(bindparam("location_ids", expanding=True))
    )


@functools.cache
def _newest_revision() -> str | None:
    """The newest migration's revision, read from the scripts once per process (they do not
    change while it runs; ``/health`` asks on every probe)."""
    return ScriptDirectory.from_config(_alembic_config(None)).get_current_head()


def _alembic_config(connection: Connection | None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def open_store(url: str) -> Store:
    """Open the store named by a SQLAlchemy URL (``sqlite:///…`` or ``postgresql+psycopg://…``)."""
    dialect = make_url(url).get_dialect().name
    if dialect == "sqlite":
        from caremap.store.embedded import EmbeddedStore

        return EmbeddedStore(_sqlite_engine(url))
    if dialect == "postgresql":
        from caremap.store.postgis import PostgisStore

        return PostgisStore(create_engine(url, pool_recycle=POOL_RECYCLE_S))
    raise StoreError(
        f"Unsupported database URL {make_url(url).render_as_string()!r}: "
        "use sqlite:///PATH or postgresql+psycopg://…"
    )


def _sqlite_engine(url: str) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA page_size={PAGE_SIZE}")  # a new database's; no-op otherwise
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()
        # SQLite's own lower() folds ASCII letters only; PostgreSQL's folds É to é too.
        dbapi_connection.create_function("lower", 1, _lower, deterministic=True)

    return engine


def _lower(text: str | None) -> str | None:
    return None if text is None else text.lower()
