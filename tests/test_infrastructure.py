"""The deployment and CI files: docker-compose.yml, Dockerfile, .dockerignore and .ci/run.

No Docker engine is needed: docker-compose (Debian's package, which .ci/run installs) validates
and resolves the compose file, and the resolved file is then checked service by service.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
CI_RUN = ROOT / ".ci" / "run"
DATABASE_URL = "postgresql+psycopg://caremap:caremap@db:5432/caremap"
SERVE = ["caremap", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "3"]
NO_COMPOSE = (
    "docker-compose is not on PATH; install Debian's package: apt-get install -y "
    "--no-install-recommends docker-compose (.ci/run does)"
)


def _docker_compose(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    executable = shutil.which("docker-compose")
    if executable is None:
        pytest.skip(NO_COMPOSE)
    return subprocess.run(
        [executable, "-f", str(COMPOSE_FILE), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _yaml_to_data(text: str) -> Any:
    """Parse YAML without adding a dependency: PyYAML if this venv has it, else the Python that
    runs docker-compose 1.x (Debian's, which always has PyYAML)."""
    try:
        import yaml
    except ImportError:
        pass
    else:
        return yaml.safe_load(text)
    executable = shutil.which("docker-compose")
    if executable is None:
        pytest.skip(NO_COMPOSE)
    first_line = Path(executable).read_bytes().split(b"\n", 1)[0].decode(errors="replace")
    interpreter = first_line[2:].split() if first_line.startswith("#!") else []
    if not interpreter or "python" not in " ".join(interpreter):
        pytest.skip(f"no YAML parser: PyYAML is not installed and {executable} is not Python")
    result = subprocess.run(
        [
            *interpreter,
            "-c",
            "import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)",
        ],
        input=text,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _resolved_compose(**environment: str | None) -> dict[str, Any]:
    """`docker-compose config` output as data, with extra (or, for None, removed) variables."""
    env = dict(os.environ)
    for name, value in environment.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    result = _docker_compose("config", env=env)
    assert result.returncode == 0, result.stderr
    return _yaml_to_data(result.stdout)


def _healthcheck_command(service: dict[str, Any]) -> str:
    test = service["healthcheck"]["test"]
    return test if isinstance(test, str) else " ".join(test)


def test_compose_file_is_valid():
    result = _docker_compose("config", "-q")
    assert result.returncode == 0, result.stderr


def test_compose_services():
    config = _resolved_compose(CAREMAP_TILES_URL=None)
    services = config["services"]
    assert set(services) == {"db", "etl", "app"}

    db = services["db"]
    assert db["image"] == "postgis/postgis:16-3.4"
    assert {db["environment"][f"POSTGRES_{key}"] for key in ("USER", "PASSWORD", "DB")} == {
        "caremap"
    }
    volume = str(db["volumes"][0]).split(":")[0]
    assert volume in config["volumes"], "the database lives in a named volume"
    health = _healthcheck_command(db)
    assert "pg_isready" in health
    assert "-U caremap" in health
    assert "-d caremap" in health

    etl = services["etl"]
    assert etl["command"] == ["caremap", "etl", "run"]
    assert etl["restart"] == "no"
    assert etl["depends_on"]["db"]["condition"] == "service_healthy"
    assert etl["environment"]["CAREMAP_DATABASE_URL"] == DATABASE_URL

    app = services["app"]
    assert app["command"] == SERVE
    assert app["depends_on"]["db"]["condition"] == "service_healthy"
    assert app["depends_on"]["etl"]["condition"] == "service_completed_successfully"
    assert app["environment"]["CAREMAP_DATABASE_URL"] == DATABASE_URL
    assert app["environment"].get("CAREMAP_TILES_URL") is None, "unset: the app's OSM default"
    assert any(str(port.get("published")) == "8000" for port in app["ports"])
    health = _healthcheck_command(app)
    assert "urllib" in health
    assert "http://127.0.0.1:8000/health" in health

    assert app["build"] == etl["build"]
    assert app["image"] == etl["image"], "etl and app run the same image"


def test_compose_passes_a_tile_url_through_unmangled():
    url = "https://tiles.example.org/{z}/{x}/{y}.png?key=abc"
    config = _resolved_compose(CAREMAP_TILES_URL=url)
    assert config["services"]["app"]["environment"]["CAREMAP_TILES_URL"] == url


def test_dockerfile():
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.11-slim\b", text, re.MULTILINE)
    users = re.findall(r"^USER\s+(\S+)", text, re.MULTILINE)
    assert users, "the image runs as a non-root user"
    assert users[-1] not in {"root", "0"}
    assert "pip install --no-cache-dir -e ." in text
    assert "CAREMAP_DATA_DIR=/app/data" in text
    assert "CAREMAP_INSTANCE_DIR=/app/instance" in text
    cmd = re.search(r"^CMD\s+(\[.*\])\s*$", text, re.MULTILINE)
    assert cmd is not None
    assert json.loads(cmd.group(1)) == SERVE


def test_dockerignore_keeps_local_state_out_of_the_image():
    patterns = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".git", ".venv", "instance", "**/__pycache__", "bench/out"} <= patterns
    # Needed inside the image: the package metadata, the data and the code.
    assert not patterns & {"README.md", "pyproject.toml", "data", "caremap", "etl", "webmap"}


def test_ci_run_is_valid_bash_and_runs_make_test():
    result = subprocess.run(
        ["bash", "-n", str(CI_RUN)], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0, result.stderr
    text = CI_RUN.read_text(encoding="utf-8")
    assert "set -euo pipefail" in text
    assert re.search(r"^make test\b", text, re.MULTILINE), ".ci/run runs the README's command"
    assert "export CAREMAP_REQUIRE_ALL_TESTS=1" in text
    assert "export CAREMAP_CHROMIUM=/usr/bin/chromium" in text
    assert "scripts/start-postgis.sh" in text
    assert "docker-compose -f docker-compose.yml config -q" in text
