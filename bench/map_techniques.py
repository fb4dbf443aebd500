"""How the browse map gets its points: three techniques compared on the same views.

``python -m bench techniques --postgis-url URL`` puts 100,000 SYNTHETIC points (FSA centroids
drawn by 2016 population, as :mod:`bench.synthetic` places services, each moved by about 2 km)
into a scratch schema ``caremap_bench_tiles`` of that PostGIS database (dropped and made again),
and answers the :data:`bench.browse_map.VIEWS` views of ``python -m bench map`` (a 1024 x 600
map, zoom 3 to 16, around FSA centroids) three ways, all in SQL, so that only the technique
differs:

* **grid JSON**: what ``/map/points`` does, the view's box grouped into 64-pixel cells in
  EPSG:3857 (a cluster per cell of several points, a marker per lone point), one query per view,
  answered as JSON (``[lat, lon, count]`` per cluster or marker, ids left out);
* **MVT points**: ``ST_AsMVT`` of every point in each 256-pixel tile the view touches (what a
  vector-tile layer over the raw points asks for), clustered by the client;
* **MVT clusters**: the same tiles, each point grouped into its 64-pixel cell inside
  ``ST_AsMVT`` (the server-side clustering of grid JSON, in tile form).

For each: the server's SQL time per view (the sum over its tiles: a browser asks for them at
once, but one server answers them on the same cores), p50 and p95, and the bytes per view,
gzipped (as sent), p50 and p95. Then the cost of **pre-built tiles**: the non-empty clustered
tiles of zoom 0 to 16 are counted, those of zoom 0 to :data:`PREBUILT_MAX_ZOOM` built, and the
time for all of them extrapolated from the mean per tile of the deepest zoom built; one set is
needed per combination of filters (type, population, open now, ...), and each edit changes one
tile per zoom.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import psycopg

from bench.browse_map import VIEW_PIXELS, VIEW_SEED, VIEWS, view_box
from bench.search_latency import REPO, sample_origins
from bench.synthetic import SEED
from caremap.mapcells import CELL_PIXELS, MARKER_ZOOM, cell_metres

POINTS = 100_000
SCHEMA = "caremap_bench_tiles"
JITTER_DEGREES = 0.02  # about 2 km
PREBUILT_MAX_ZOOM = 9
TILE_EXTENT = 4096  # ST_AsMVT's default extent, units per tile side
CELLS_PER_TILE = 256 // CELL_PIXELS


def _psycopg_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


@contextmanager
def scratch_points(url: str, points: list[tuple[float, float]]) -> Iterator[psycopg.Connection]:
    """A connection whose search path is a fresh schema holding ``points`` (lat, lon) as
    ``pt(id, latitude, longitude, geom)``, geom in EPSG:3857 with a GiST index."""
    with psycopg.connect(_psycopg_url(url), autocommit=True) as connection:
        connection.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        connection.execute(f"CREATE SCHEMA {SCHEMA}")
        connection.execute(f"SET search_path TO {SCHEMA}, public")
        connection.execute(
            "CREATE TABLE pt (id integer PRIMARY KEY, latitude float8, longitude float8)"
        )
        with connection.cursor().copy("COPY pt (id, latitude, longitude) FROM STDIN") as copy:
            for number, (latitude, longitude) in enumerate(points):
                copy.write_row((number, latitude, longitude))
        connection.execute(
            "ALTER TABLE pt ADD COLUMN geom geometry(Point, 3857) GENERATED ALWAYS AS "
            "(ST_Transform(ST_SetSRID(ST_MakePoint(longitude, latitude), 4326), 3857)) STORED"
        )
        connection.execute("CREATE INDEX pt_geom ON pt USING gist (geom)")
        connection.execute("CREATE INDEX pt_point ON pt (latitude, longitude, id)")
        connection.execute("ANALYZE pt")
        try:
            yield connection
        finally:
            connection.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")


def synthetic_points(data_dir: Path, n: int) -> list[tuple[float, float]]:
    """``n`` (lat, lon): FSA centroids by population, each moved by a normal jitter."""
    centres = np.array(sample_origins(data_dir, n, SEED))
    jitter = np.random.default_rng(SEED).normal(0, JITTER_DEGREES, centres.shape)
    return [(float(lat), float(lon)) for lat, lon in centres + jitter]


def views(data_dir: Path) -> list[tuple[str, int]]:
    """(bbox "west,south,east,north", zoom) of ``python -m bench map``'s sweep."""
    zooms = np.random.default_rng(VIEW_SEED).integers(3, 17, VIEWS)
    centres = sample_origins(data_dir, VIEWS, VIEW_SEED)
    return [
        (view_box(lat, lon, int(zoom)), int(zoom))
        for (lat, lon), zoom in zip(centres, zooms, strict=True)
    ]


GRID_SQL = """
SELECT count(*), avg(latitude), avg(longitude) FROM pt
WHERE latitude BETWEEN %(south)s AND %(north)s AND longitude BETWEEN %(west)s AND %(east)s
GROUP BY floor(radians(longitude) * 6378137 / %(size)s),
         floor(ln(tan(pi() / 4 + radians(latitude) / 2)) * 6378137 / %(size)s)
"""
MARKER_SQL = """
SELECT 1, latitude, longitude FROM pt
WHERE latitude BETWEEN %(south)s AND %(north)s AND longitude BETWEEN %(west)s AND %(east)s
"""
MVT_POINTS_SQL = """
WITH bounds AS (SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS envelope)
SELECT ST_AsMVT(tile, 'points') FROM (
  SELECT id, ST_AsMVTGeom(geom, bounds.envelope) AS geom FROM pt, bounds
  WHERE geom && bounds.envelope
) AS tile
"""
MVT_CLUSTERS_SQL = """
WITH bounds AS (SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS envelope)
SELECT ST_AsMVT(tile, 'clusters') FROM (
  SELECT count(*) AS count, ST_AsMVTGeom(ST_Centroid(ST_Collect(geom)), bounds.envelope) AS geom
  FROM pt, bounds WHERE geom && bounds.envelope
  GROUP BY bounds.envelope, floor(ST_X(geom) / %(size)s), floor(ST_Y(geom) / %(size)s)
) AS tile
"""


def _box(bbox: str) -> dict[str, float]:
    west, south, east, north = (float(part) for part in bbox.split(","))
    return {"west": west, "south": south, "east": east, "north": north}


def grid_json(connection: psycopg.Connection, bbox: str, zoom: int) -> bytes:
    """The view's clusters and markers as JSON, like ``/map/points`` without the records."""
    if zoom >= MARKER_ZOOM:
        rows = connection.execute(MARKER_SQL, _box(bbox)).fetchall()
    else:
        rows = connection.execute(GRID_SQL, {**_box(bbox), "size": cell_metres(zoom)}).fetchall()
    return json.dumps([[round(lat, 5), round(lon, 5), count] for count, lat, lon in rows]).encode()


def tiles_of(bbox: str, zoom: int) -> list[tuple[int, int, int]]:
    """The (z, x, y) XYZ tiles a view of ``bbox`` at ``zoom`` touches."""
    box = _box(bbox)
    n = 2**zoom

    def tile_x(lon: float) -> int:
        return min(n - 1, max(0, int((lon + 180) / 360 * n)))

    def tile_y(lat: float) -> int:
        y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
        return min(n - 1, max(0, int(y)))

    xs = range(tile_x(box["west"]), tile_x(box["east"]) + 1)
    ys = range(tile_y(box["north"]), tile_y(box["south"]) + 1)
    return [(zoom, x, y) for x in xs for y in ys]


def mvt(connection: psycopg.Connection, sql: str, bbox: str, zoom: int) -> bytes:
    """Every tile of the view, concatenated (what the client fetches for it)."""
    size = cell_metres(zoom)
    return b"".join(
        connection.execute(sql, {"z": z, "x": x, "y": y, "size": size}).fetchone()[0] or b""
        for z, x, y in tiles_of(bbox, zoom)
    )


Answer = Callable[[psycopg.Connection, str, int], bytes]


def measure(
    connection: psycopg.Connection, answer: Answer, sweep: list[tuple[str, int]]
) -> tuple[list[float], list[int]]:
    """Milliseconds and gzipped bytes per view."""
    times, sizes = [], []
    for bbox, zoom in sweep:
        started = time.perf_counter()
        body = answer(connection, bbox, zoom)
        times.append((time.perf_counter() - started) * 1000)
        sizes.append(len(gzip.compress(body, 6)))
    return times, sizes


def prebuilt_cost(connection: psycopg.Connection) -> tuple[int, float, int]:
    """(non-empty clustered tiles of zoom 0-16, seconds to build them all (extrapolated past
    :data:`PREBUILT_MAX_ZOOM`), bytes of those built)."""
    counts = {}
    for zoom in range(17):
        side = 2 * math.pi * 6378137 / 2**zoom
        counts[zoom] = connection.execute(
            "SELECT count(DISTINCT (floor((ST_X(geom) + pi() * 6378137) / %(side)s),"
            " floor((pi() * 6378137 - ST_Y(geom)) / %(side)s))) FROM pt",
            {"side": side},
        ).fetchone()[0]
    built_seconds, built_bytes, per_tile = 0.0, 0, 0.0
    for zoom in range(PREBUILT_MAX_ZOOM + 1):
        side = 2 * math.pi * 6378137 / 2**zoom
        tiles = connection.execute(
            "SELECT DISTINCT floor((ST_X(geom) + pi() * 6378137) / %(side)s)::int,"
            " floor((pi() * 6378137 - ST_Y(geom)) / %(side)s)::int FROM pt",
            {"side": side},
        ).fetchall()
        started = time.perf_counter()
        for x, y in tiles:
            body = connection.execute(
                MVT_CLUSTERS_SQL, {"z": zoom, "x": x, "y": y, "size": cell_metres(zoom)}
            ).fetchone()[0]
            built_bytes += len(body or b"")
        seconds = time.perf_counter() - started
        built_seconds += seconds
        per_tile = seconds / max(1, len(tiles))
    rest = sum(counts[zoom] for zoom in range(PREBUILT_MAX_ZOOM + 1, 17))
    return sum(counts.values()), built_seconds + rest * per_tile, built_bytes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench techniques", description=__doc__)
    parser.add_argument("--postgis-url", default=os.environ.get("CAREMAP_BENCH_POSTGIS_URL"))
    parser.add_argument("--points", type=int, default=POINTS)
    parser.add_argument("--data-dir", type=Path, default=REPO / "data")
    args = parser.parse_args(argv)
    if not args.postgis_url:
        print("needs --postgis-url or $CAREMAP_BENCH_POSTGIS_URL (a database with PostGIS)")
        return 2
    sweep = views(args.data_dir)
    techniques: dict[str, Answer] = {
        "grid JSON (/map/points)": grid_json,
        "MVT points": lambda c, b, z: mvt(c, MVT_POINTS_SQL, b, z),
        "MVT clusters": lambda c, b, z: mvt(c, MVT_CLUSTERS_SQL, b, z),
    }
    points = synthetic_points(args.data_dir, args.points)
    with scratch_points(args.postgis_url, points) as connection:
        for answer in techniques.values():  # warm the cache and the plans
            measure(connection, answer, sweep[:20])
        results = {name: measure(connection, answer, sweep) for name, answer in techniques.items()}
        tiles, build_seconds, built_bytes = prebuilt_cost(connection)
    print(
        f"{args.points:,} synthetic points, {VIEWS} views of {VIEW_PIXELS[0]}x{VIEW_PIXELS[1]} px"
        f" at zoom 3-16, PostGIS, one run; cells of {CELL_PIXELS} px"
    )
    print("technique | SQL ms p50 / p95 | gzipped KB per view p50 / p95")
    print("---|---|---")
    for name, (times, sizes) in results.items():
        ms = np.percentile(times, [50, 95])
        kb = np.percentile(sizes, [50, 95]) / 1024
        print(f"{name} | {ms[0]:.1f} / {ms[1]:.1f} | {kb[0]:.1f} / {kb[1]:.1f}")
    print(
        f"pre-built clustered tiles, zoom 0-16: {tiles:,} non-empty tiles, about "
        f"{build_seconds:.0f} s to build (zoom 0-{PREBUILT_MAX_ZOOM} built: "
        f"{built_bytes / 1024:,.0f} KB), per combination of filters"
    )
    return 0
