"""Code version constants stay honest: each covers a module and every project module it imports,
directly or not, and a change to that code fails here until the constant is bumped (or judged
unable to change what it builds) and the new digest is recorded below."""

from __future__ import annotations

import ast
import hashlib
from dataclasses import dataclass
from pathlib import Path

import pytest

from caremap.publish import PUBLISH_VERSION
from etl.fingerprint import PIPELINE_VERSION

PROJECT = Path(__file__).resolve().parent.parent
PACKAGES = ("caremap", "etl")


@dataclass(frozen=True)
class Versioned:
    constant: str
    home: str  # the file that defines the constant
    value: int
    roots: tuple[str, ...]  # the modules it versions, with all they import
    recorded: tuple[int, str]  # the constant's value and the digest of its code at that value


VERSIONED = [
    Versioned(
        "PUBLISH_VERSION",
        "caremap/publish.py",
        PUBLISH_VERSION,
        ("caremap.publish",),
        (9, "0a2e2464473834f06e85f1364b1be408610462f385fa983d9baf78f462cd4533"),
    ),
    Versioned(
        "PIPELINE_VERSION",
        "etl/fingerprint.py",
        PIPELINE_VERSION,
        ("etl.pipeline", "etl.hsds"),
        (5, "1181df2d2fba0bd6c6ed7d236aeef7cb86752381adf36c36fb4ce86a149f91bc"),
    ),
]


def _module_file(name: str) -> Path | None:
    """The project file of module ``name``; None for a module outside the project or a name
    that is not a module (a class or function imported from one)."""
    if name.split(".")[0] not in PACKAGES:
        return None
    base = PROJECT.joinpath(*name.split("."))
    for path in (base / "__init__.py", base.with_suffix(".py")):
        if path.is_file():
            return path
    return None


def _imported(name: str) -> set[str]:
    """The project modules (and their packages) that module ``name`` imports anywhere in it."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(_module_file(name).read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    parents = {".".join(n.split(".")[:end]) for n in names for end in range(1, n.count(".") + 1)}
    return {n for n in names | parents if _module_file(n) is not None}


def covered_modules(roots: tuple[str, ...]) -> list[str]:
    """``roots`` and every project module they import, directly or not, by name."""
    seen: set[str] = set()
    pending = list(roots)
    while pending:
        name = pending.pop()
        if name not in seen:
            seen.add(name)
            pending += _imported(name)
    return sorted(seen)


def code_digest(roots: tuple[str, ...]) -> str:
    digest = hashlib.sha256()
    for name in covered_modules(roots):
        digest.update(f"{name}\n".encode())
        digest.update(_module_file(name).read_bytes())
    return digest.hexdigest()


@pytest.mark.parametrize("versioned", VERSIONED, ids=lambda v: v.constant)
def test_a_code_change_bumps_its_version(versioned):
    found = (versioned.value, code_digest(versioned.roots))
    assert found == versioned.recorded, (
        f"the code {versioned.constant} versions changed: bump {versioned.constant} in "
        f"{versioned.home} if the change can alter what that code builds, then record "
        f"{found} for it in {Path(__file__).name}"
    )


def test_the_pipeline_version_covers_every_module_the_pipeline_uses():
    covered = covered_modules(("etl.pipeline", "etl.hsds"))
    assert {"caremap.hsds", "caremap.normalise", "caremap.privacy", "etl.transform"} <= set(covered)
    assert all(name.split(".")[0] in PACKAGES for name in covered)


def test_the_publish_version_covers_the_read_model_and_privacy():
    covered = covered_modules(("caremap.publish",))
    assert {"caremap.queries", "caremap.privacy", "caremap.geojson", "caremap.listing"} <= set(
        covered
    )
    assert "etl.pipeline" not in covered
