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
from contextlib import contextmanager
from pathlib import Path

from click.testing import CliRunner

from caremap.cli import main
from caremap.settings import PROJECT_ROOT

START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0
LEAFLET = PROJECT_ROOT / "webmap" / "static" / "vendor" / "leaflet" / "leaflet.js"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def _serving(database_url: str, tmp_path: Path) -> Iterator[http.client.HTTPConnection]:
    """``caremap serve`` on a free port; yields a keep-alive connection to it once /health
    answers, and stops the server with SIGTERM (as docker does) afterwards."""
    port = _free_port()
    env = dict(
        os.environ,
        CAREMAP_DATABASE_URL=database_url,
        CAREMAP_INSTANCE_DIR=str(tmp_path / "instance"),
        CAREMAP_TILES_URL="",
        CAREMAP_SECRET_KEY="test",
    )
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "caremap.cli", "serve", "--port", str(port), "--workers", "2"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        _wait_for_health(connection, process, log)
        yield connection
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
    with _serving(loaded_store_url, tmp_path) as connection:
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
