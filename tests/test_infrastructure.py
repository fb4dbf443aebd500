"""The deployment and CI files: docker-compose.yml, Dockerfile, .dockerignore, .ci/run, the
Makefile's setup, the lock files and the pre-commit hooks.

No Docker engine is needed: docker-compose (Debian's package, which .ci/run installs) validates
and resolves the compose file, and the resolved file is then checked service by service.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
CI_RUN = ROOT / ".ci" / "run"
LOCK = "requirements/lock.txt"
RUNTIME_LOCK = "requirements/runtime.txt"
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


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions in order, as (KEYWORD, arguments), continuations joined."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for line in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        keyword, _, arguments = (pending + stripped).partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"
    return instructions


def _shell_commands(script: str) -> list[list[str]]:
    """The argument lists of a RUN line's commands (joined by &&)."""
    return [shlex.split(command) for command in script.split("&&")]


def _pip_installs(instructions: list[tuple[str, str]]) -> list[tuple[int, list[str]]]:
    """(instruction index, arguments after `pip install`) of every pip install the image runs."""
    return [
        (index, command[2:])
        for index, (keyword, arguments) in enumerate(instructions)
        if keyword == "RUN"
        for command in _shell_commands(arguments)
        if command[:2] == ["pip", "install"]
    ]


def test_dockerfile():
    instructions = _dockerfile_instructions()
    assert instructions[0] == ("FROM", "python:3.11-slim")
    users = [arguments for keyword, arguments in instructions if keyword == "USER"]
    assert users, "the image runs as a non-root user"
    assert users[-1] not in {"root", "0"}
    environment = dict(
        pair.split("=", 1)
        for keyword, arguments in instructions
        if keyword == "ENV"
        for pair in shlex.split(arguments)
    )
    assert environment["CAREMAP_DATA_DIR"] == "/app/data"
    assert environment["CAREMAP_INSTANCE_DIR"] == "/app/instance"
    cmd = [arguments for keyword, arguments in instructions if keyword == "CMD"]
    assert [json.loads(arguments) for arguments in cmd] == [SERVE]


def test_dockerfile_installs_the_runtime_lock_then_the_code_without_dependencies():
    instructions = _dockerfile_instructions()
    copy_all = instructions.index(("COPY", ". ."))
    installs = _pip_installs(instructions)
    assert installs and all("--no-cache-dir" in arguments for _, arguments in installs)
    locked = [
        (index, arguments[arguments.index("-r") + 1])
        for index, arguments in installs
        if "-r" in arguments
    ]
    assert locked == [(locked[0][0], RUNTIME_LOCK)], "the dependencies: the runtime lock only"
    assert locked[0][0] < copy_all, "in a layer of their own, before the code"
    assert "--require-hashes" in installs[0][1]
    lock_copied = [
        index
        for index, (keyword, arguments) in enumerate(instructions[:copy_all])
        if keyword == "COPY" and shlex.split(arguments)[0] == RUNTIME_LOCK
    ]
    assert lock_copied and lock_copied[0] < locked[0][0]
    code = [arguments for index, arguments in installs if index > copy_all]
    assert code == [["--no-cache-dir", "--no-deps", "-e", "."]], "the code, editable, as locked"


def test_dockerignore_keeps_local_state_out_of_the_image():
    patterns = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".git", ".venv", "instance", "**/__pycache__", "bench/out"} <= patterns
    # Needed inside the image: the package metadata, the data and the code.
    assert not patterns & {"README.md", "pyproject.toml", "data", "caremap", "etl", "webmap"}


def test_ci_run_is_valid_bash_and_stops_at_the_first_error():
    result = subprocess.run(
        ["bash", "-n", str(CI_RUN)], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0, result.stderr
    commands = [
        line.strip()
        for line in CI_RUN.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert commands[0] == "set -euo pipefail"


_CI_STUBS = {
    # Every APT package is already installed, so apt-get must not run.
    "dpkg": "exit 0",
    "apt-get": 'echo "apt-get $*" >>"$STUB_LOG"; exit 1',
    "chromium": "echo Chromium 1.0",
    "docker-compose": (
        'echo "docker-compose $*" >>"$STUB_LOG"\n'
        'if [ "$1" = version ]; then echo 1.29; exit 0; fi\n'
        'exit "${STUB_COMPOSE_RC:-0}"'
    ),
    "make": (
        'echo "make $* REQUIRE_ALL=${CAREMAP_REQUIRE_ALL_TESTS-} '
        'CHROMIUM=${CAREMAP_CHROMIUM-} POSTGIS=${CAREMAP_TEST_POSTGIS_URL-}" >>"$STUB_LOG"\n'
        'exit "${STUB_MAKE_RC:-0}"'
    ),
    # `bash scripts/start-postgis.sh`: its progress, then the URL as its last line.
    "bash": (
        'if [ "$1" = scripts/start-postgis.sh ]; then\n'
        '  echo "bash $*" >>"$STUB_LOG"; echo "starting"; printf "%s" "$STUB_POSTGIS_OUTPUT"\n'
        '  exit "${STUB_POSTGIS_RC:-0}"\n'
        "fi\n"
        'exec "$REAL_BASH" "$@"'
    ),
}
STUB_URL = "postgresql+psycopg://caremap:caremap@127.0.0.1:5432/caremap_test"


def _run_ci(tmp_path: Path, **stub_settings: str) -> tuple[int, list[str]]:
    """.ci/run with stand-ins for the machine (APT, Chromium, docker-compose, PostGIS, make) on
    PATH: its exit status, and the commands it ran, in order."""
    real_bash = shutil.which("bash")
    assert real_bash is not None
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    for name, body in _CI_STUBS.items():
        stub = stubs / name
        stub.write_text(f"#!{real_bash}\n{body}\n", encoding="utf-8")
        stub.chmod(0o755)
    log = tmp_path / "commands.log"
    log.touch()
    env = {
        "PATH": f"{stubs}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(tmp_path),
        "TMPDIR": str(tmp_path),
        "STUB_LOG": str(log),
        "REAL_BASH": real_bash,
        "STUB_POSTGIS_OUTPUT": STUB_URL + "\n",
        **stub_settings,
    }
    result = subprocess.run(
        [real_bash, str(CI_RUN)], check=False, env=env, capture_output=True, text=True, timeout=120
    )
    return result.returncode, log.read_text(encoding="utf-8").splitlines()


def test_ci_run_checks_the_compose_file_then_runs_make_test_with_every_test_required(tmp_path):
    status, commands = _run_ci(tmp_path)
    assert status == 0
    assert commands == [
        "docker-compose version --short",
        "bash scripts/start-postgis.sh",
        "docker-compose -f docker-compose.yml config -q",
        f"make test REQUIRE_ALL=1 CHROMIUM=/usr/bin/chromium POSTGIS={STUB_URL}",
    ]


def test_ci_run_fails_as_make_test_fails(tmp_path):
    status, commands = _run_ci(tmp_path, STUB_MAKE_RC="3")
    assert status == 3
    assert commands[-1].startswith("make test ")


@pytest.mark.parametrize(
    "failure",
    [
        {"STUB_COMPOSE_RC": "1"},  # an invalid compose file
        {"STUB_POSTGIS_OUTPUT": "no URL here\n"},
        {"STUB_POSTGIS_RC": "1"},  # start-postgis.sh failed after printing a URL (pipefail)
    ],
    ids=["compose-invalid", "postgis-no-url", "postgis-failed"],
)
def test_ci_run_stops_before_the_tests_when_a_step_fails(tmp_path, failure):
    status, commands = _run_ci(tmp_path, **failure)
    assert status != 0
    assert not any(command.startswith("make") for command in commands)


def _make_dry_run(*arguments: str) -> list[list[str]]:
    """The commands `make` would run (make -n), as argument lists."""
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not on PATH")
    result = subprocess.run(
        [make, "-n", "--no-print-directory", *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return [shlex.split(line) for line in result.stdout.splitlines() if line.strip()]


def test_make_setup_installs_the_lock_then_the_code_without_dependencies(tmp_path):
    python = f"{tmp_path}/venv/bin/python"
    pip_steps = [
        command[3:]
        for command in _make_dry_run("setup", f"VENV={tmp_path}/venv")
        if command[:4] == [python, "-m", "pip", "install"]
        or command[:4] == [python, "-m", "pip", "check"]
    ]
    assert pip_steps == [
        ["install", "--quiet", "--upgrade", "pip"],
        ["install", "--quiet", "--require-hashes", "-r", LOCK],
        ["install", "--quiet", "--no-deps", "-e", "."],
        ["check"],
    ]


def _locked(lock: str) -> dict[str, list[Requirement]]:
    """A uv/pip-tools lock file's pins by package name (several where markers tell them apart)."""
    pins: dict[str, list[Requirement]] = {}
    for line in (ROOT / lock).read_text(encoding="utf-8").splitlines():
        if line and not line[0].isspace() and not line.startswith("#"):
            pin = Requirement(line.removesuffix("\\").strip())
            pins.setdefault(canonicalize_name(pin.name), []).append(pin)
    return pins


def _version_here(pins: dict[str, list[Requirement]], name: str) -> str | None:
    """The version locked for this machine (marker evaluated here), None if none is."""
    versions = [
        next(iter(pin.specifier)).version
        for pin in pins.get(canonicalize_name(name), [])
        if pin.marker is None or pin.marker.evaluate()
    ]
    assert len(versions) <= 1, f"{name} is locked at {versions}"
    return versions[0] if versions else None


def _project_requirements() -> tuple[list[Requirement], list[Requirement]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    runtime = [Requirement(text) for text in project["dependencies"]]
    test = [Requirement(text) for text in project["optional-dependencies"]["test"]]
    return runtime, test


def test_the_lock_pins_every_requirement_of_pyproject_within_its_range():
    runtime, test = _project_requirements()
    pins = _locked(LOCK)
    stale = [
        f"{requirement} (locked: {_version_here(pins, requirement.name)})"
        for requirement in runtime + test
        if not requirement.specifier.contains(
            _version_here(pins, requirement.name) or "0.dev0", prereleases=True
        )
        or _version_here(pins, requirement.name) is None
    ]
    assert not stale, f"run `make lock`: {LOCK} is out of date with pyproject.toml: {stale}"


def test_the_runtime_lock_is_the_lock_without_the_test_tools():
    runtime, test = _project_requirements()
    pins, runtime_pins = _locked(LOCK), _locked(RUNTIME_LOCK)
    assert {name: [str(pin) for pin in pinned] for name, pinned in runtime_pins.items()} == {
        name: [str(pin) for pin in pins[name]] for name in runtime_pins
    }, f"run `make lock`: {RUNTIME_LOCK} has other versions than {LOCK}"
    assert all(_version_here(runtime_pins, requirement.name) for requirement in runtime)
    test_tools = {canonicalize_name(requirement.name) for requirement in test}
    # packaging is a runtime dependency too (of geopandas, among others).
    assert not (test_tools - {"packaging"}) & set(runtime_pins)


def test_pre_commit_runs_the_static_checks_of_make_test():
    config = _yaml_to_data((ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    hooks = [hook for repo in config["repos"] for hook in repo["hooks"]]
    assert {repo["repo"] for repo in config["repos"]} == {"local"}, "the tools of the lock"
    assert all(hook["language"] == "system" for hook in hooks)
    assert all(hook["pass_filenames"] is False for hook in hooks), "every file, as make test"
    static_checks = [
        shlex.join(command)
        for command in _make_dry_run("-o", "setup", "test", "VENV=.venv")
        if "pytest" not in command
    ]
    assert static_checks, "make test runs static checks"
    assert set(static_checks) <= {hook["entry"] for hook in hooks}
