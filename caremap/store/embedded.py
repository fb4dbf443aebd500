"""The embedded store: a SQLite file, with spatial work done in-process.

This Python cannot load SpatiaLite (see STACK-NOTES), so public points are indexed in memory with
a k-d tree over unit-sphere vectors (chord length orders points like great-circle distance), and
candidates are re-ranked by exact WGS84 geodesic metres with ``pyproj.Geod``. The index is rebuilt
when ``store_meta.locations_version`` changes; SQLite triggers bump it on every location write.
"""

from __future__ import annotations

import collections
import contextlib
import fcntl
import math
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree
from sqlalchemy import Connection, Engine, Select, event, select

from caremap.geodesy import (
    EARTH_RADIUS_M,
    arc_from_chord,
    chord_from_arc,
    geodesic_distances_m,
    unit_vectors,
)
from caremap.model import Location
from caremap.store.base import (
    RERANK_MARGIN,
    NearbyLocation,
    NearestFirst,
    Store,
    proven_nearest,
)
from caremap.store.locations_version import locations_version

VERSION_CHECK_INTERVAL_S = 1.0
LARGE_TRANSACTION_CACHE_KIB = 128 * 1024  # SQLite's page cache (per connection) for a load
# A geodesic (ellipsoid) radius is at most ~0.6 % longer than the spherical one it is found with.
SPHERE_SLACK = 1.01
_MEMORY_LOCKS: collections.defaultdict[str, threading.Lock] = collections.defaultdict(
    threading.Lock
)


@dataclass(frozen=True)
class _PointIndex:
    version: int
    ids: np.ndarray
    latitudes: np.ndarray
    longitudes: np.ndarray
    tree: cKDTree | None
    positions: dict[str, int]


class EmbeddedStore(Store):
    """SQLite + an in-process k-d tree over the public points."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self._index: _PointIndex | None = None
        self._checked_at = float("-inf")
        self._lock = threading.Lock()
        # A commit through this engine may have changed locations: look at the version again.
        event.listen(engine, "commit", self._forget_check)

    @contextlib.contextmanager
    def exclusive(self, name: str) -> Iterator[None]:
        """A lock file next to the database file (``DATABASE.NAME.lock``), locked with
        ``flock``; an in-memory database has a lock in this process only."""
        database = self.engine.url.database
        if not database or database == ":memory:":
            with _MEMORY_LOCKS[name]:
                yield
            return
        with Path(f"{database}.{name}.lock").open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def large_transaction(self, connection: Connection) -> Iterator[None]:
        """Within: a page cache of up to :data:`LARGE_TRANSACTION_CACHE_KIB` for ``connection``.
        A first load of 10,000 services writes about 100 MB of pages in one transaction, then
        reads them back to publish them: with SQLite's default 2 MB, it wrote pages out to the
        WAL and read them in again all along (a twentieth of the load's CPU time)."""
        driver = connection.connection.driver_connection
        assert driver is not None  # noqa: S101 - a pool connection has its DB-API connection
        (before,) = driver.execute("PRAGMA cache_size").fetchone()
        driver.execute(f"PRAGMA cache_size = -{LARGE_TRANSACTION_CACHE_KIB}")
        try:
            yield
        finally:
            driver.execute(f"PRAGMA cache_size = {int(before)}")

    def _forget_check(self, _connection: object) -> None:
        self._checked_at = float("-inf")

    def nearest_first(
        self,
        *,
        latitude: float,
        longitude: float,
        limit: int,
        radius_m: float | None = None,
        location_filter: Select | None = None,
    ) -> NearestFirst[NearbyLocation]:
        index = self._current_index()
        if index.tree is None or limit <= 0:
            return NearestFirst([])
        allowed = None if location_filter is None else self._allowed(index, location_filter)
        k = limit + RERANK_MARGIN
        while True:  # widen until the candidates certainly hold the nearest
            candidates, reach_m = _candidates(index, latitude, longitude, k, radius_m, allowed)
            distances = geodesic_distances_m(
                latitude, longitude, index.latitudes[candidates], index.longitudes[candidates]
            )
            # Ties (several services at one address) go by id; positions are in id order.
            order = np.lexsort((candidates, distances))
            hits = [
                NearbyLocation(str(index.ids[candidates[i]]), float(distances[i]))
                for i in order
                if radius_m is None or distances[i] <= radius_m
            ]
            proven, beyond_m = proven_nearest(hits, lambda hit: hit.distance_m, reach_m)
            if len(proven) >= limit or math.isinf(reach_m):
                return NearestFirst(proven, beyond_m)
            k *= 4

    def _allowed(self, index: _PointIndex, location_filter: Select) -> np.ndarray:
        """A mask over the index positions of the locations the filter selects."""
        with self.engine.connect() as connection:
            ids = connection.execute(location_filter).scalars().all()
        positions = [index.positions[i] for i in ids if i in index.positions]
        mask = np.zeros(len(index.ids), dtype=bool)
        mask[positions] = True
        return mask

    def _current_index(self) -> _PointIndex:
        """The index, rebuilt when the locations' version moved. The version is read after
        every commit through this engine, and at most once a second otherwise (another
        process's writes show within ``VERSION_CHECK_INTERVAL_S``)."""
        now = time.monotonic()
        if self._index is not None and now - self._checked_at < VERSION_CHECK_INTERVAL_S:
            return self._index
        with self.engine.connect() as connection:
            version = locations_version(connection)
            with self._lock:
                if self._index is None or self._index.version != version:
                    self._index = _build_index(connection, version)
                self._checked_at = now
                return self._index


def _build_index(connection: Connection, version: int) -> _PointIndex:
    rows = connection.execute(
        select(Location.id, Location.latitude, Location.longitude).order_by(Location.id)
    ).all()
    ids = np.array([r[0] for r in rows], dtype=object)
    latitudes = np.array([r[1] for r in rows], dtype=float)
    longitudes = np.array([r[2] for r in rows], dtype=float)
    tree = cKDTree(unit_vectors(latitudes, longitudes)) if rows else None
    positions = {location_id: i for i, location_id in enumerate(ids)}
    return _PointIndex(version, ids, latitudes, longitudes, tree, positions)


def _candidates(
    index: _PointIndex,
    latitude: float,
    longitude: float,
    wanted: int,
    radius_m: float | None,
    allowed: np.ndarray | None,
) -> tuple[np.ndarray, float]:
    """Positions of the points that can be among the answer, before exact re-ranking, and how
    far on the sphere any point left out is at least (infinite when none is): within a radius,
    every point inside it; otherwise the ``wanted`` nearest allowed points on the sphere, fewer
    when there are none left."""
    assert index.tree is not None  # noqa: S101 - callers skip an index without points
    query = unit_vectors(np.array([latitude]), np.array([longitude]))[0]
    if radius_m is not None:
        chord = chord_from_arc(radius_m * SPHERE_SLACK, radius=EARTH_RADIUS_M)
        found = np.array(index.tree.query_ball_point(query, chord), dtype=int)
        return (found if allowed is None else found[allowed[found]]), np.inf
    total = len(index.ids)
    k = min(total, wanted)
    while True:  # widen until enough allowed points are among the k nearest, or all are
        nearest_chords, nearest = index.tree.query(query, k=k)
        chords, found = np.atleast_1d(nearest_chords), np.atleast_1d(nearest)
        if allowed is not None:
            found = found[allowed[found]]
        if found.size >= wanted or k == total:
            break
        k = min(total, k * 4)
    if k == total:
        return found, np.inf
    return found, float(arc_from_chord(chords[-1], radius=EARTH_RADIUS_M))
