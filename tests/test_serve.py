"""``caremap serve``: the production server (granian) as a real process on each store."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner

from caremap.settings import PROJECT_ROOT
from caremap_cli import main

START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0
SERVE = [sys.executable, "-m", "caremap_cli", "serve"]
LEAFLET = PROJECT_ROOT / "webmap" / "static" / "vendor" / "leaflet" / "leaflet.js"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def _serving(
    database_url: str, tmp_path: Path, workers: int = 2
) -> Iterator[http.client.HTTPConnection]:
    """``caremap serve`` on a free port; yields a keep-alive connection to it once /health
    answers, and stops the server with SIGTERM (as docker does) afterwards."""
    with _server(database_url, tmp_path, workers) as (_, connection):
        yield connection


@contextmanager
def _server(
    database_url: str, tmp_path: Path, workers: int = 2
) -> Iterator[tuple[subprocess.Popen, http.client.HTTPConnection]]:
    """As :func:`_serving`, also yielding the server's main process."""
    port = _free_port()
    env = dict(
        os.environ,
        CAREMAP_DATABASE_URL=database_url,
        CAREMAP_INSTANCE_DIR=str(tmp_path / "instance"),
        CAREMAP_TILES_URL="",
        CAREMAP_SECRET_KEY="test",
    )
    tmp_path.mkdir(parents=True, exist_ok=True)
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*SERVE, "--port", str(port), "--workers", str(workers)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        _wait_for_health(connection, process, log)
        yield process, connection
    finally:
        connection.close()
        process.send_signal(signal.SIGTERM)
        try:
            returncode = process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            raise AssertionError(f"the server ignored SIGTERM: {log.read_text()}") from None
        assert returncode == 0, log.read_text()


def _wait_for_health(connection: http.client.HTTPConnection, process, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the server exited: {log.read_text()}"
        try:
            connection.request("GET", "/health")
            response = connection.getresponse()
            response.read()
            if response.status == 200:
                return
        except OSError:
            connection.close()
        time.sleep(0.2)
    raise AssertionError(f"no answer from /health in {START_TIMEOUT_S:.0f} s: {log.read_text()}")


def _get(connection: http.client.HTTPConnection, path: str) -> tuple[int, dict, bytes]:
    connection.request("GET", path)
    response = connection.getresponse()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()


def test_serve_answers_searches_pages_assets_and_errors(loaded_store_url, tmp_path):
    """One worker, as ``caremap serve`` starts by default (one keep-alive connection reaches
    one worker; two are tested replacing each other below)."""
    with _serving(loaded_store_url, tmp_path, workers=1) as connection:
        status, headers, body = _get(connection, "/api/v1/services?lat=43.65&lon=-79.38&limit=5")
        assert status == 200
        assert headers["content-type"] == "application/geo+json"
        assert headers["referrer-policy"] == "no-referrer"
        distances = [f["properties"]["distance_m"] for f in json.loads(body)["features"]]
        assert len(distances) == 5
        assert distances == sorted(distances)

        status, headers, body = _get(connection, "/?near=M5V%202T6&lang=fr")
        assert status == 200
        assert headers["content-type"].startswith("text/html")
        page = body.decode()
        assert '<html lang="fr">' in page
        assert "Recherche à partir de" in page  # the search ran: "Searching from" the postcode

        status, headers, body = _get(connection, "/static/vendor/leaflet/leaflet.js")
        assert status == 200
        assert body == LEAFLET.read_bytes()

        status, headers, body = _get(connection, "/api/v1/services?lat=91&lon=0")
        assert status == 400
        assert json.loads(body)["parameter"] == "lat"

        status, headers, body = _get(connection, "/services/no-such-service")
        assert status == 404
        assert headers["content-type"].startswith("text/html")


def test_serve_refuses_a_store_that_is_not_upgraded(tmp_path):
    empty = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    result = CliRunner().invoke(
        main,
        ["serve", "--port", str(_free_port())],
        env={"CAREMAP_DATABASE_URL": empty, "CAREMAP_INSTANCE_DIR": str(tmp_path / "instance")},
    )
    assert result.exit_code == 1
    assert "not at the newest schema" in result.output
    assert "caremap db upgrade" in result.output


# Planner pages and exports over every level: each request assigns points to the boundaries.
PLANNER_PATHS = [
    "/planner/?level=province",
    "/planner/?level=census_division&indicator=share_beyond",
    "/planner/?level=toronto_neighbourhood",
    "/planner/export.csv?level=census_division",
    "/planner/export.geojson?level=province",
    "/planner/export.gpkg?level=toronto_neighbourhood",
    "/planner/export.csv?level=province&indicator=access_score",
    "/planner/?level=census_division&add=48.38,-89.25,25",
]
FRESH_STARTS = 3


def _get_new(port: int, path: str) -> int:
    """The status of a GET on a connection of its own."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        return _get(connection, path)[0]
    finally:
        connection.close()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_serve_survives_concurrent_planner_requests_on_fresh_starts(loaded_store_url, tmp_path):
    """Concurrent first requests share each worker's boundaries and their spatial indexes (on
    one store: what is shared is not the store). One worker: every request goes to its
    threads, as many at once as it has (a second worker would take some of them, and cost
    a start of its own)."""
    for start in range(FRESH_STARTS):
        with _serving(loaded_store_url, tmp_path / str(start), workers=1) as connection:
            with ThreadPoolExecutor(len(PLANNER_PATHS)) as pool:
                statuses = list(pool.map(lambda p: _get_new(connection.port, p), PLANNER_PATHS))
            assert statuses == [200] * len(PLANNER_PATHS), f"start {start}"
            # On a connection of its own: the first one may have idled past keep-alive.
            assert _get_new(connection.port, "/health") == 200


def _workers(server: subprocess.Popen) -> set[int]:
    """The worker processes: the children of granian's main process."""
    tasks = Path(f"/proc/{server.pid}/task")
    return {
        int(pid) for children in tasks.glob("*/children") for pid in children.read_text().split()
    }


def _wait_for_workers(server: subprocess.Popen, log: Path, started: int) -> set[int]:
    """The two workers once granian has logged ``started`` worker starts in all."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        assert server.poll() is None, f"the server exited: {log.read_text()}"
        workers = _workers(server)
        if log.read_text().count("] Started worker-") == started and len(workers) == 2:
            return workers
        time.sleep(0.1)
    raise AssertionError(f"{started} worker starts not seen in {START_TIMEOUT_S:.0f} s")


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_serve_replaces_a_worker_that_dies(loaded_store_url, tmp_path):
    """A SIGKILLed worker is replaced (on one store: the worker's process is what is tested)."""
    log = tmp_path / "serve.log"
    with _server(loaded_store_url, tmp_path, workers=2) as (server, connection):
        original = _wait_for_workers(server, log, started=2)
        for killed, pid in enumerate(sorted(original), start=1):
            os.kill(pid, signal.SIGKILL)
            # The other worker answers (a connection made during the respawn may be reset).
            probe = http.client.HTTPConnection("127.0.0.1", connection.port, timeout=30)
            _wait_for_health(probe, server, log)
            probe.close()
            workers = _wait_for_workers(server, log, started=2 + killed)
            assert pid not in workers
        # Both original workers are gone: the replacements answer.
        assert not workers & original
        assert _get_new(connection.port, "/api/v1/services?lat=43.65&lon=-79.38&limit=1") == 200


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_serve_stops_while_a_replacement_worker_starts(loaded_store_url, tmp_path):
    """SIGTERM (on leaving ``_server``) while the replacement of a dead worker is loading
    the app: the server still stops."""
    log = tmp_path / "serve.log"
    with _server(loaded_store_url, tmp_path, workers=1) as (server, _):
        [pid] = _workers(server)
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + START_TIMEOUT_S
        while "Respawning worker-1" not in log.read_text():
            assert server.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
