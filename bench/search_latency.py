"""Search latency: ``/api/v1/services?lat=&lon=&limit=10`` over HTTP vs the bare nearest query.

Input: :mod:`bench.synthetic` rows (100,000 by default; SYNTHETIC, not real services) loaded by
the real ETL (``etl.pipeline.run``) into both stores. The loaded stores are kept between runs:
the embedded store as a file under ``bench/out/`` (gitignored) and PostGIS as the schema
``caremap_search_bench``, both keyed by the row count, the seed, the pipeline fingerprint
(``etl/fingerprint.py``) and the code of the synthetic generator, model and migrations; a
changed key (or ``--rebuild``) loads them again. After a PostGIS load the tables are ANALYZEd,
as autovacuum would soon do. A reused store whose published listings were built by other code
gets them rebuilt (``Store.upgrade``, as after a release).

Origins: a fixed-seed sample of query points (300) drawn from the FSA centroids with probability
proportional to their 2016 population, the same for every method. Each store is served by a real
HTTP server in a subprocess on 127.0.0.1: granian as ``caremap serve`` runs it
(:mod:`webmap.server`), and on PostGIS also waitress (4 threads) running the same
``serving_app()``, for comparison. Each is requested sequentially over one keep-alive connection
by a minimal HTTP/1.1 client (:class:`LeanClient`: the standard library's ``http.client`` costs
about 0.3 ms a response of its own); each sample is the wall time from sending the request to
having read the whole body. Methods, per store:

* PostGIS: HTTP; HTTP from waitress, HTTP within 100 km and the floor (all three for
  information: :mod:`bench.search_floor`, the nearest 10 Features through the same server, app
  and store read, and nothing else, which says what of the ratio the stack costs); the app
  in-process (Flask test client, no socket; for information); ``PostgisStore.nearest``
  in-process (for information); the raw nearest-neighbour SQL through psycopg,
  ``SELECT id, ST_Distance(geog, q) FROM location ORDER BY geog <-> q LIMIT 10``.
* embedded: HTTP; the app in-process (for information); ``EmbeddedStore.nearest`` in-process
  (k-d tree + geodesic re-rank); a brute-force numpy haversine over every public point (arrays
  read once) with ``argpartition`` for the 10 nearest.

Every method first answers 20 warm-up origins (another sample), untimed. Then each method is
timed over all the origins in one block (steady state: interleaving the methods request by
request would leave the sub-millisecond in-process methods with cold CPU caches after every
40 ms request, and triple their times); there are ``--rounds`` (5) rounds of blocks, the order
of the methods rotating from round to round, so a busy spell on the machine (a few hundred
milliseconds of another job's work lands on one block, and on the HTTP methods' three processes
harder than on the others' two) is spread over them. p50/p95 are over every sample (origins x
rounds). All timings are ``time.perf_counter``.

Targets: PostGIS HTTP p95 <= 2.5 x the raw SQL's p95; embedded ``nearest`` >= 10 x faster than
brute force (p50 / p50). The exit status is 1 when a target fails. ``--profile`` adds a cProfile
of 100 API requests in-process (Flask test client; PostGIS when available, else embedded): the
top entries by cumulative time and the share of each stage of the request.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import json
import os
import pstats
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.etl_throughput import postgis_bench_url
from bench.profiling import phase_shares, trim_paths
from bench.search_floor import FLOOR_PATH
from bench.synthetic import SEED, overlay_data_dir, write_listings
from caremap import publish
from caremap.gazetteer import load_gazetteer
from caremap.geodesy import EARTH_RADIUS_M
from caremap.jurisdictions import load_boundaries
from caremap.store import open_store
from caremap.vocabulary import load_vocabulary
from etl.fingerprint import pipeline_fingerprint
from etl.pipeline import run

REPO = Path(__file__).resolve().parent.parent
OUT_DIR = REPO / "bench" / "out"
POSTGIS_ENV = "CAREMAP_BENCH_POSTGIS_URL"
POSTGIS_SCHEMA = "caremap_search_bench"
DEFAULT_ROWS = 100_000
DEFAULT_ORIGINS = 300
ORIGIN_SEED = SEED + 300
WARM_UP_ORIGINS = 20
LIMIT = 10
# A radius search is timed too (for information): the radius choices go up to 250 km.
INFO_RADIUS_KM = 100
GRANIAN = "granian"
WAITRESS = "waitress"
FLOOR = "granian floor"  # granian serving FLOOR_APP
FLOOR_APP = "bench.search_floor:floor_app"
WAITRESS_THREADS = 4
SERVER_START_TIMEOUT_S = 90.0
# A response may take this long: a server's first search builds its point index (100,000
# points), which on a busy machine took over a minute.
RESPONSE_TIMEOUT_S = 300.0
SERVER_STOP_TIMEOUT_S = 10.0
TARGET_HTTP_OVER_RAW = 2.5
TARGET_SPEEDUP = 10.0
PROFILE_REQUESTS = 100
DEFAULT_ROUNDS = 5
# Haversine (sphere) vs WGS84 geodesic distances differ by up to ~0.6 %.
SPHERE_TOLERANCE = 0.006
PROFILE_TOP = 15
# Files whose change makes a cached store stale, besides etl/fingerprint.py's own list.
KEY_FILES = [
    REPO / "bench" / "synthetic.py",
    REPO / "caremap" / "model.py",
    *sorted((REPO / "caremap" / "migrations" / "versions").glob("*.py")),
]
RAW_SQL = (
    "SELECT id, ST_Distance(geog, ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326)::geography) "
    "FROM location "
    "ORDER BY geog <-> ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326)::geography "
    "LIMIT %(limit)s"
)


# --- building (or reusing) the two stores ------------------------------------------------


def cache_key(rows: int, data_dir: Path) -> str:
    """What the loaded stores depend on: rows, seed, pipeline fingerprint, generator, schema."""
    digest = hashlib.sha256(f"rows={rows} seed={SEED}\n".encode())
    digest.update(pipeline_fingerprint(data_dir).encode())
    for path in KEY_FILES:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _schema_url(url: str, schema: str = POSTGIS_SCHEMA) -> str:
    bench_url = make_url(url).update_query_dict({"options": f"-csearch_path={schema},public"})
    return bench_url.render_as_string(hide_password=False)


def _marker(key: str, rows: int, services: int) -> str:
    return f"caremap search benchmark: key={key} rows={rows} services={services}"


def _count_services(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT count(*) FROM service")).scalar_one())
    finally:
        engine.dispose()


def postgis_is_current(url: str, key: str, rows: int) -> bool:
    """Whether the schema holds a finished load with this key and its recorded service count."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            comment = connection.execute(
                text(
                    "SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace "
                    "WHERE nspname = :schema"
                ),
                {"schema": POSTGIS_SCHEMA},
            ).scalar()
            if not comment or not comment.startswith(_marker(key, rows, 0).rsplit("=", 1)[0]):
                return False
            expected = int(comment.rsplit("=", 1)[1])
            table = connection.execute(
                text("SELECT to_regclass(:name)"), {"name": f'"{POSTGIS_SCHEMA}".service'}
            ).scalar()
            if table is None:
                return False
            count = connection.execute(
                text(f'SELECT count(*) FROM "{POSTGIS_SCHEMA}".service')
            ).scalar_one()
            return count == expected
    finally:
        engine.dispose()


def _load(url: str, listing: Path, data_dir: Path, work: Path, label: str) -> tuple[float, int]:
    """(seconds, rows rejected) for ``etl.pipeline.run`` of ``listing`` into the store."""
    store = open_store(url)
    try:
        started = time.perf_counter()
        (report,) = run(store, [listing], data_dir, work / f"reports-{label}", progress=False)
        seconds = time.perf_counter() - started
        with store.engine.begin() as connection:
            if store.dialect == "sqlite":  # one self-contained file to cache
                connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
            else:
                connection.execute(text("ANALYZE"))
    finally:
        store.dispose()
    return seconds, len(report.rejected)


def build_embedded(path: Path, listing: Path, data_dir: Path, work: Path) -> tuple[float, int]:
    """Load into a fresh file and move it to ``path``; older cached stores are removed."""
    for old in OUT_DIR.glob("search-embedded-*.sqlite3*"):
        old.unlink()
    partial = path.with_name(path.name.replace(".sqlite3", ".partial.sqlite3"))
    seconds, rejected = _load(f"sqlite:///{partial}", listing, data_dir, work, "embedded")
    for suffix in ("-wal", "-shm"):
        Path(f"{partial}{suffix}").unlink(missing_ok=True)
    partial.rename(path)
    return seconds, rejected


def build_postgis(
    url: str, key: str, rows: int, listing: Path, data_dir: Path, work: Path
) -> tuple[float, int]:
    """Drop and recreate the schema, load, then mark it finished (a schema comment)."""
    bench_url = postgis_bench_url(url, POSTGIS_SCHEMA)
    seconds, rejected = _load(bench_url, listing, data_dir, work, "postgis")
    services = _count_services(bench_url)
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            marker = _marker(key, rows, services).replace("'", "''")
            connection.execute(text(f"COMMENT ON SCHEMA \"{POSTGIS_SCHEMA}\" IS '{marker}'"))
    finally:
        engine.dispose()
    return seconds, rejected


# --- origins, methods and timing ---------------------------------------------------------


def sample_origins(data_dir: Path, n: int, seed: int) -> list[tuple[float, float]]:
    """``n`` FSA centroids (lat, lon), drawn with replacement, weighted by 2016 population."""
    fsas = pd.read_csv(
        data_dir / "gazetteer/fsa_centroids_geonames_pop2016.csv",
        dtype={"fsa": str},
        keep_default_na=False,
    )
    fsas["pop2016"] = pd.to_numeric(fsas["pop2016"], errors="coerce").fillna(0)
    fsas = fsas[fsas["pop2016"] > 0].reset_index(drop=True)
    weights = fsas["pop2016"].to_numpy(float)
    picks = np.random.default_rng(seed).choice(len(fsas), size=n, p=weights / weights.sum())
    return [
        (round(float(fsas.at[i, "latitude"]), 5), round(float(fsas.at[i, "longitude"]), 5))
        for i in picks
    ]


@dataclass
class Method:
    """One way of answering "the 10 nearest to (lat, lon)"; ``call`` returns its raw answer and
    ``ids`` turns that answer into location ids nearest first (checked after timing)."""

    name: str
    store: str
    call: Callable[[float, float], object]
    ids: Callable[[object], list[str]]
    info: bool = False  # not part of a target
    distances: Callable[[object], list[float]] | None = None  # metres, nearest first
    samples: list[float] = field(default_factory=list)
    answers: list[object] = field(default_factory=list)

    def percentile_ms(self, q: float) -> float:
        return float(np.percentile(self.samples, q)) * 1000


def _api_path(latitude: float, longitude: float, radius_km: float | None = None) -> str:
    within = "" if radius_km is None else f"&radius_km={radius_km:g}"
    return f"/api/v1/services?lat={latitude}&lon={longitude}&limit={LIMIT}{within}"


def _feature_location_ids(answer: object) -> list[str]:
    status, body = answer  # type: ignore[misc]
    if status != 200:
        raise RuntimeError(f"HTTP {status}: {body[:200]!r}")
    return [f["properties"]["location_id"] for f in json.loads(body)["features"]]


class LeanClient:
    """Sequential GETs over one keep-alive socket, read by a minimal HTTP/1.1 response reader
    (status line, headers, a Content-Length body). The timing instrument: the standard
    library's http.client parses each response's headers with the email package, about 0.3 ms
    a response on this machine, which is the client's time, not the server's."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.socket = self._connect()

    def _connect(self) -> socket.socket:
        connection = socket.create_connection(("127.0.0.1", self.port), timeout=RESPONSE_TIMEOUT_S)
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection

    def _reconnect_if_closed(self) -> None:
        """A new connection if the server closed this one while it was idle (its keep-alive
        timeout, when other methods' blocks took long on a busy machine)."""
        self.socket.setblocking(False)  # a peek that does not wait for data
        try:
            closed = self.socket.recv(1, socket.MSG_PEEK) == b""
        except BlockingIOError:  # nothing to read: the connection is open
            closed = False
        finally:
            self.socket.settimeout(RESPONSE_TIMEOUT_S)
        if closed:
            self.socket.close()
            self.socket = self._connect()

    def get(self, path: str) -> tuple[int, bytes]:
        self._reconnect_if_closed()
        self.socket.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        received = b""
        while b"\r\n\r\n" not in received:
            received += self._receive()
        head, body = received.split(b"\r\n\r\n", 1)
        status_line, *headers = head.decode("latin-1").split("\r\n")
        fields = dict(line.lower().split(":", 1) for line in headers)
        if "content-length" not in fields:
            raise RuntimeError(f"no Content-Length in the response to {path}: {head!r}")
        length = int(fields["content-length"])
        while len(body) < length:
            body += self._receive()
        return int(status_line.split()[1]), body

    def _receive(self) -> bytes:
        chunk = self.socket.recv(1 << 16)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        return chunk

    def close(self) -> None:
        self.socket.close()


def http_method(
    store: str, port: int, server: str, radius_km: float | None = None, info: bool = False
) -> tuple[Method, LeanClient]:
    """Timed HTTP searches of the server on ``port``."""
    client = LeanClient(port)
    within = "" if radius_km is None else f" radius_km={radius_km:g}"
    method = Method(
        f"HTTP /api/v1/services{within} ({server})",
        store,
        lambda lat, lon: client.get(_api_path(lat, lon, radius_km)),
        _feature_location_ids,
        info=info,
    )
    return method, client


def floor_method(store: str, port: int) -> tuple[Method, LeanClient]:
    """Timed HTTP requests of :data:`bench.search_floor.FLOOR_PATH` (the nearest 10 Features
    and nothing else) from the floor server on ``port``."""
    client = LeanClient(port)
    method = Method(
        f"HTTP {FLOOR_PATH}: nearest {LIMIT} Features, nothing else ({FLOOR})",
        store,
        lambda lat, lon: client.get(f"{FLOOR_PATH}?lat={lat}&lon={lon}&limit={LIMIT}"),
        _feature_location_ids,
        info=True,
    )
    return method, client


def test_client_method(store: str, app) -> Method:
    client = app.test_client()

    def call(lat: float, lon: float) -> tuple[int, bytes]:
        response = client.get(_api_path(lat, lon))
        return response.status_code, response.get_data()

    return Method("API in-process (Flask test client)", store, call, _feature_location_ids, True)


def nearest_method(store_label: str, store, info: bool) -> Method:
    name = f"{type(store).__name__}.nearest in-process"
    return Method(
        name,
        store_label,
        lambda lat, lon: store.nearest(latitude=lat, longitude=lon, limit=LIMIT),
        lambda answer: [n.location_id for n in answer],  # type: ignore[attr-defined]
        info,
        lambda answer: [n.distance_m for n in answer],  # type: ignore[attr-defined]
    )


def raw_sql_method(url: str):
    """The bare nearest-neighbour query through psycopg (auto-prepared after 5 runs)."""
    import psycopg

    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = psycopg.connect(conninfo, autocommit=True)

    def call(lat: float, lon: float) -> list[tuple]:
        with connection.cursor() as cursor:
            cursor.execute(RAW_SQL, {"lat": lat, "lon": lon, "limit": LIMIT})
            return cursor.fetchall()

    method = Method(
        "raw nearest SQL (psycopg)",
        "PostGIS",
        call,
        lambda rows: [r[0] for r in rows],
        distances=lambda rows: [float(r[1]) for r in rows],
    )
    return method, connection


class BruteForce:
    """Haversine from one point to every public point (numpy), then the ``k`` smallest."""

    def __init__(self, url: str) -> None:
        engine = create_engine(url)
        try:
            with engine.connect() as connection:
                rows = connection.execute(
                    text("SELECT id, latitude, longitude FROM location ORDER BY id")
                ).all()
        finally:
            engine.dispose()
        self.ids = np.array([r[0] for r in rows], dtype=object)
        self.latitudes = np.radians(np.array([r[1] for r in rows], dtype=float))
        self.longitudes = np.radians(np.array([r[2] for r in rows], dtype=float))
        self.cos_latitudes = np.cos(self.latitudes)

    def nearest(self, latitude: float, longitude: float, k: int) -> tuple[np.ndarray, np.ndarray]:
        lat, lon = np.radians(latitude), np.radians(longitude)
        h = (
            np.sin((self.latitudes - lat) / 2) ** 2
            + np.cos(lat) * self.cos_latitudes * np.sin((self.longitudes - lon) / 2) ** 2
        )
        k = min(k, h.size)
        nearest = np.argpartition(h, k - 1)[:k]
        nearest = nearest[np.lexsort((nearest, h[nearest]))]  # ties by id, like the store
        metres = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(h[nearest], 1.0)))
        return self.ids[nearest], metres


def brute_force_method(brute: BruteForce) -> Method:
    return Method(
        "brute-force numpy haversine",
        "embedded",
        lambda lat, lon: brute.nearest(lat, lon, LIMIT),
        lambda answer: list(answer[0]),  # type: ignore[index]
        distances=lambda answer: list(answer[1]),  # type: ignore[index]
    )


def time_methods(methods: list[Method], origins: list[tuple[float, float]], rounds: int) -> None:
    """Per round, each method over every origin in one block; the order of the methods rotates
    from round to round. Answers are kept from the first round (checked after timing)."""
    clock = time.perf_counter
    for round_ in range(rounds):
        for j in range(len(methods)):
            method = methods[(round_ + j) % len(methods)]
            call, samples = method.call, method.samples
            for lat, lon in origins:
                started = clock()
                answer = call(lat, lon)
                samples.append(clock() - started)
                if round_ == 0:
                    method.answers.append(answer)


# --- the HTTP server ---------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _server_command(server: str, port: int) -> list[str]:
    """granian as ``caremap serve`` runs it, or waitress running the same ``serving_app()``."""
    if server == GRANIAN:
        return [sys.executable, "-m", "caremap_cli", "serve", "--port", str(port)]
    if server == FLOOR:
        code = f"from webmap.server import serve; serve('127.0.0.1', {port}, factory='{FLOOR_APP}')"
        return [sys.executable, "-c", code]
    code = (
        "from waitress import serve; from webmap import serving_app; "
        f"serve(serving_app(), host='127.0.0.1', port={port}, threads={WAITRESS_THREADS})"
    )
    return [sys.executable, "-c", code]


@contextmanager
def app_server(server: str, database_url: str, log_path: Path):
    """``server`` (GRANIAN or WAITRESS) serving the app on the store, in a subprocess; yields
    its port."""
    port = _free_port()
    env = dict(os.environ, CAREMAP_DATABASE_URL=database_url, CAREMAP_TILES_URL="")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            _server_command(server, port),
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for_health(port, process, log_path)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=SERVER_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=SERVER_STOP_TIMEOUT_S)


def _wait_for_health(port: int, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited ({process.returncode}); see {log_path}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as reply:
                if reply.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the server did not answer /health in {SERVER_START_TIMEOUT_S:.0f} s")


# --- checks and output -------------------------------------------------------------------


def _agreement(a: Method, b: Method, tolerance: float) -> tuple[int, int]:
    """(origins where both give the same 10 location ids, origins where their 10 distances
    agree within ``tolerance`` relative, i.e. any difference is a tie or a ranking that a
    spherical and an ellipsoidal distance order differently)."""
    same_ids = same_distances = 0
    for x, y in zip(a.answers, b.answers, strict=True):
        same_ids += set(a.ids(x)) == set(b.ids(y))
        if a.distances and b.distances:
            dx, dy = np.asarray(a.distances(x)), np.asarray(b.distances(y))
            same_distances += dx.shape == dy.shape and bool(
                np.all(np.abs(dx - dy) <= tolerance * np.maximum(dy, 1.0))
            )
    return same_ids, same_distances


def _check_http(method: Method) -> str:
    sizes = [len(body) for _, body in method.answers]  # type: ignore[misc]
    short = sum(len(method.ids(answer)) != LIMIT for answer in method.answers)
    note = f"{method.store} {method.name}: every answer HTTP 200"
    note += f", {short} with fewer than {LIMIT} features" if short else f", {LIMIT} features each"
    return note + f", body {np.mean(sizes) / 1024:.1f} KiB on average"


def _print_table(methods: list[Method]) -> None:
    header = ("method", "store", "p50 ms", "p95 ms")
    body = [
        (
            m.name + (" (info)" if m.info else ""),
            m.store,
            f"{m.percentile_ms(50):.2f}",
            f"{m.percentile_ms(95):.2f}",
        )
        for m in methods
    ]
    widths = [max(len(row[i]) for row in (header, *body)) for i in range(len(header))]

    def line(cells: tuple[str, ...]) -> str:
        return " | ".join(
            c.ljust(w) if i < 2 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    print(line(header))
    print("-+-".join("-" * w for w in widths))
    for row in body:
        print(line(row))


# --- profile -----------------------------------------------------------------------------

# Stages of one API request worth naming in the profile summary: (file suffix, function, label).
PHASES = [
    ("webmap/common/searching.py", "vocabulary_codes", "vocabulary codes (cached a minute)"),
    ("webmap/common/params.py", "parse_search", "parse parameters"),
    ("caremap/search.py", "search", "search()"),
    ("caremap/store/postgis.py", "nearest_listings", "  store.nearest_listings"),
    ("caremap/store/base.py", "nearest_listings", "  store.nearest_listings"),
    ("caremap/store/postgis.py", "_nearest_rows", "    of which the statement(s)"),
    ("caremap/store/embedded.py", "nearest", "    of which nearest locations"),
    ("caremap/search.py", "_ranked", "  filters and public distances"),
    ("caremap/search.py", "_fresh", "  fresh bed counts"),
    ("caremap/geojson.py", "with_search_members", "GeoJSON features (stored text + members)"),
    ("caremap/geojson.py", "feature_collection_text", "FeatureCollection text"),
    ("webmap/__init__.py", "_security_headers", "security headers"),
    ("flask/app.py", "preprocess_request", "before-request hooks"),
    ("flask/app.py", "process_response", "after-request hooks and session"),
]


def profile_requests(app, origins: list[tuple[float, float]]) -> str:
    """cProfile of API requests through the Flask test client (no socket)."""
    client = app.test_client()
    for lat, lon in origins[:10]:
        client.get(_api_path(lat, lon))
    profiler = cProfile.Profile()
    profiler.enable()
    for lat, lon in origins:
        client.get(_api_path(lat, lon))
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(PROFILE_TOP)
    return trim_paths(out.getvalue()) + phase_shares(
        stats,
        PHASES,
        ("flask/app.py", "wsgi_app"),
        "Stages (cumulative share of Flask's wsgi_app; cProfile inflates Python code):",
    )


def _prepare_stores(args: argparse.Namespace, data_dir: Path, work: Path) -> tuple[str, str | None]:
    """(embedded URL, PostGIS URL or None), loading whichever is missing or stale."""
    started = time.perf_counter()
    key = cache_key(args.rows, data_dir)
    embedded_path = OUT_DIR / f"search-embedded-{args.rows}-{key}.sqlite3"
    need_embedded = args.rebuild or not embedded_path.exists()
    postgis_url = None
    need_postgis = False
    if args.postgis_url:
        try:
            postgis_url = _schema_url(args.postgis_url)
            need_postgis = args.rebuild or not postgis_is_current(args.postgis_url, key, args.rows)
        except Exception as error:
            print(f"PostGIS skipped: {error}")
            postgis_url = None
    else:
        print(f"PostGIS skipped: no --postgis-url given and ${POSTGIS_ENV} is not set.")
    print(
        f"Store key {key} (rows, seed, pipeline fingerprint, generator, schema), "
        f"computed in {time.perf_counter() - started:.1f} s."
    )
    if need_embedded or need_postgis:
        started = time.perf_counter()
        listings = write_listings(work / "listings", args.data_dir, args.rows)
        print(
            f"Input: {listings.rows:,} SYNTHETIC rows ({listings.with_coordinates:,} with "
            f"coordinates) in {listings.fsas_sampled:,} FSAs, generated in "
            f"{time.perf_counter() - started:.1f} s"
        )
        load_gazetteer(data_dir), load_boundaries(data_dir), load_vocabulary(data_dir)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    if need_embedded:
        seconds, rejected = build_embedded(embedded_path, listings.path, data_dir, work)
        print(
            f"embedded store: built in {seconds:.1f} s ({args.rows / seconds:,.0f} rows/s, "
            f"{rejected:,} rejected) -> {embedded_path.relative_to(REPO)}"
        )
    else:
        print(f"embedded store: reused {embedded_path.relative_to(REPO)} (no load)")
    if postgis_url and need_postgis:
        seconds, rejected = build_postgis(
            args.postgis_url, key, args.rows, listings.path, data_dir, work
        )
        print(
            f"PostGIS store: built in {seconds:.1f} s ({args.rows / seconds:,.0f} rows/s, "
            f"{rejected:,} rejected) in schema {POSTGIS_SCHEMA}"
        )
    elif postgis_url:
        print(f"PostGIS store: reused schema {POSTGIS_SCHEMA} (no load)")
    embedded_url = f"sqlite:///{embedded_path}"
    for label, url in (("embedded", embedded_url), ("PostGIS", postgis_url)):
        if url:
            republish(label, url)
    return embedded_url, postgis_url


def republish(label: str, url: str) -> None:
    """Rebuild a reused store's listings if other code built them (as ``caremap db upgrade``
    would after a release)."""
    store = open_store(url)
    try:
        with store.engine.connect() as connection:
            if publish.is_current(connection):
                return
        started = time.perf_counter()
        store.upgrade()
        print(f"{label} store: listings rebuilt in {time.perf_counter() - started:.1f} s")
    finally:
        store.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench search",
        description=__doc__,
        formatter_class=argparse.RawTextHelpFormatter,
    )
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, help="synthetic rows (100,000)")
    parser.add_argument(
        "--origins", type=int, default=DEFAULT_ORIGINS, help="query points per method (300)"
    )
    parser.add_argument(
        "--postgis-url",
        default=os.environ.get(POSTGIS_ENV),
        help=f"PostGIS database to benchmark too (default: ${POSTGIS_ENV}); the schema "
        f"{POSTGIS_SCHEMA!r} in it is (re)created when missing or stale",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=DEFAULT_ROUNDS,
        help=f"timed blocks per method, each over every origin ({DEFAULT_ROUNDS})",
    )
    parser.add_argument(
        "--rebuild", action="store_true", help="load both stores again even if cached"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help=f"cProfile {PROFILE_REQUESTS} API requests in-process; print the top "
        f"{PROFILE_TOP} entries by cumulative time",
    )
    parser.add_argument("--data-dir", type=Path, default=REPO / "data")
    args = parser.parse_args(argv)

    run_started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="caremap-bench-search-") as tmp:
        work = Path(tmp)
        data_dir = overlay_data_dir(work / "data", args.data_dir)
        embedded_url, postgis_url = _prepare_stores(args, data_dir, work)
        origins = sample_origins(args.data_dir, args.origins, ORIGIN_SEED)
        warm_up = sample_origins(args.data_dir, WARM_UP_ORIGINS, ORIGIN_SEED + 1)
        print(
            f"Origins: {len(origins)} FSA centroids sampled by 2016 population "
            f"({len(set(origins))} distinct), seed {ORIGIN_SEED}; limit={LIMIT}."
        )
        result = _measure(args, embedded_url, postgis_url, origins, warm_up)
    print(f"Whole run {time.perf_counter() - run_started:.0f} s.")
    return result


def _measure(
    args: argparse.Namespace,
    embedded_url: str,
    postgis_url: str | None,
    origins: list[tuple[float, float]],
    warm_up: list[tuple[float, float]],
) -> int:
    from webmap import create_app

    os.environ.setdefault("CAREMAP_TILES_URL", "")
    cleanups: list[Callable[[], None]] = []
    methods: list[Method] = []
    apps = {}
    try:
        with _servers(embedded_url, postgis_url) as ports:
            started = time.perf_counter()
            if postgis_url:
                timed = [
                    http_method("PostGIS", ports[("PostGIS", GRANIAN)], GRANIAN),
                    http_method("PostGIS", ports[("PostGIS", WAITRESS)], WAITRESS, info=True),
                    http_method(
                        "PostGIS",
                        ports[("PostGIS", GRANIAN)],
                        GRANIAN,
                        radius_km=INFO_RADIUS_KM,
                        info=True,
                    ),
                    floor_method("PostGIS", ports[("PostGIS", FLOOR)]),
                ]
                cleanups += [client.close for _, client in timed]
                apps["PostGIS"] = create_app({"DATABASE_URL": postgis_url, "TILES_URL": ""})
                raw, connection = raw_sql_method(postgis_url)
                cleanups.append(connection.close)
                methods += [
                    *(method for method, _ in timed),
                    test_client_method("PostGIS", apps["PostGIS"]),
                    nearest_method("PostGIS", apps["PostGIS"].extensions["caremap_store"], True),
                    raw,
                ]
            method, client = http_method("embedded", ports[("embedded", GRANIAN)], GRANIAN)
            cleanups.append(client.close)
            apps["embedded"] = create_app({"DATABASE_URL": embedded_url, "TILES_URL": ""})
            brute = BruteForce(embedded_url)
            methods += [
                method,
                test_client_method("embedded", apps["embedded"]),
                nearest_method("embedded", apps["embedded"].extensions["caremap_store"], False),
                brute_force_method(brute),
            ]
            for method in methods:  # warm up: first index build, prepared statements, caches
                for lat, lon in warm_up:
                    method.ids(method.call(lat, lon))
            print(
                f"Warm-up: {len(warm_up)} requests per method (untimed), "
                f"{time.perf_counter() - started:.1f} s; {brute.ids.size:,} public points."
            )
            load_before = os.getloadavg()[0]
            started = time.perf_counter()
            time_methods(methods, origins, args.rounds)
            timed_s = time.perf_counter() - started
            load_after = os.getloadavg()[0]
    finally:
        for cleanup in cleanups:
            cleanup()

    print()
    print(
        f"{len(origins)} origins x {args.rounds} rounds x {len(methods)} methods, in blocks, "
        f"in {timed_s:.1f} s (per-request wall time; sequential keep-alive requests; granian as "
        f"`caremap serve` runs it, {WAITRESS_THREADS}-thread waitress):"
    )
    _print_table(methods)
    print()
    by: dict[tuple[str, str], Method] = {}
    for m in methods:  # by store and first word; the first of a kind is the one with a target
        by.setdefault((m.store, m.name.split(" ")[0]), m)
    for m in methods:
        if m.name.startswith("HTTP") or (m.info and m.name.startswith("API")):
            print(_check_http(m))
    embedded_nearest = by[("embedded", "EmbeddedStore.nearest")]
    brute_m = by[("embedded", "brute-force")]
    n = len(origins)
    same_ids, same_distances = _agreement(embedded_nearest, brute_m, SPHERE_TOLERANCE)
    print(
        f"embedded nearest vs brute force: same 10 locations for {same_ids}/{n} origins, "
        f"same 10 distances (within {SPHERE_TOLERANCE:.1%}: sphere vs ellipsoid) for "
        f"{same_distances}/{n}"
    )
    if postgis_url:
        raw_m = by[("PostGIS", "raw")]
        postgis_nearest = by[("PostGIS", "PostgisStore.nearest")]
        same_ids, same_distances = _agreement(postgis_nearest, raw_m, 1e-9)
        print(
            f"PostGIS nearest vs raw SQL: same 10 locations for {same_ids}/{n}, same 10 "
            f"distances for {same_distances}/{n} (the raw SQL breaks ties arbitrarily)"
        )
        same_ids, same_distances = _agreement(postgis_nearest, embedded_nearest, 1e-6)
        print(
            f"PostGIS nearest vs embedded nearest: same 10 locations for {same_ids}/{n}, "
            f"same 10 distances for {same_distances}/{n}"
        )
    cores = os.cpu_count() or 1
    print(
        f"Load average (1 min) {load_before:.2f} before, {load_after:.2f} after, on {cores} "
        "cores: other work on the machine makes the timings noisy; compare ratios."
    )
    print()
    checks = _checks(methods, by, bool(postgis_url))
    failed = not all(ok for _, ok, _ in checks)
    if args.profile:
        label = "PostGIS" if "PostGIS" in apps else "embedded"
        print(
            f"\ncProfile, {PROFILE_REQUESTS} API requests in-process on {label} "
            f"(Flask test client; top {PROFILE_TOP}):"
        )
        print(profile_requests(apps[label], origins[:PROFILE_REQUESTS]))
    elif failed:
        print("A target failed: run with --profile for where an API request spends its time.")
    for app in apps.values():
        app.extensions["caremap_store"].dispose()
    return 1 if failed else 0


def _checks(
    methods: list[Method], by: dict[tuple[str, str], Method], postgis: bool
) -> list[tuple[str, bool, str]]:
    """The targets (name, met, figures), printed with the ratios given for information."""
    embedded_nearest = by[("embedded", "EmbeddedStore.nearest")]
    brute_m = by[("embedded", "brute-force")]
    checks = []
    if postgis:
        http_m, raw_m = by[("PostGIS", "HTTP")], by[("PostGIS", "raw")]
        ratio = http_m.percentile_ms(95) / raw_m.percentile_ms(95)
        checks.append(
            (
                f"PostGIS: HTTP p95 <= {TARGET_HTTP_OVER_RAW:g} x raw SQL p95",
                ratio <= TARGET_HTTP_OVER_RAW,
                (
                    f"{http_m.percentile_ms(95):.2f} ms vs {raw_m.percentile_ms(95):.2f} ms = "
                    f"{ratio:.1f} x; p50 {http_m.percentile_ms(50) / raw_m.percentile_ms(50):.1f} x"
                ),
            )
        )
    else:
        print("(PostGIS target not checked: no PostGIS.)")
    p50 = brute_m.percentile_ms(50) / embedded_nearest.percentile_ms(50)
    p95 = brute_m.percentile_ms(95) / embedded_nearest.percentile_ms(95)
    checks.append(
        (
            f"embedded: nearest >= {TARGET_SPEEDUP:g} x faster than brute force (p50)",
            p50 >= TARGET_SPEEDUP,
            f"{p50:.1f} x; p95 {p95:.1f} x",
        )
    )
    for name, ok, value in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {name} ({value})")
    if postgis:
        floor_m = next(m for m in methods if m.name.startswith(f"HTTP {FLOOR_PATH}"))
        print(
            f"info  PostGIS: the floor (HTTP {FLOOR_PATH}) p95 = "
            f"{floor_m.percentile_ms(95) / raw_m.percentile_ms(95):.1f} x raw SQL p95 "
            f"(p50 {floor_m.percentile_ms(50) / raw_m.percentile_ms(50):.1f} x); the search p95 "
            f"= {http_m.percentile_ms(95) / floor_m.percentile_ms(95):.1f} x the floor's"
        )
    http_e = by[("embedded", "HTTP")]
    print(
        f"info  embedded: HTTP / in-process nearest = "
        f"{http_e.percentile_ms(50) / embedded_nearest.percentile_ms(50):.0f} x (p50), "
        f"{http_e.percentile_ms(95) / embedded_nearest.percentile_ms(95):.0f} x (p95)"
    )
    return checks


@contextmanager
def _servers(embedded_url: str, postgis_url: str | None):
    """Every server up at once (each idle while another is timed); their ports by (store,
    server): granian on each store, and on PostGIS waitress and the floor for comparison."""
    started = time.perf_counter()
    wanted = [("embedded", GRANIAN, embedded_url)]
    if postgis_url:
        wanted += [("PostGIS", server, postgis_url) for server in (GRANIAN, WAITRESS, FLOOR)]
    with ExitStack() as stack:
        ports = {
            (store, server): stack.enter_context(
                app_server(server, url, OUT_DIR / f"search-server-{store}-{server}.log".lower())
            )
            for store, server, url in wanted
        }
        print(
            f"Servers up ({', '.join(f'{server} on {store}' for store, server in ports)}; "
            f"/health answered) in {time.perf_counter() - started:.1f} s."
        )
        yield ports
