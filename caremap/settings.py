"""Typed settings from ``CAREMAP_*`` environment variables; defaults use the embedded store."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCE_DIR = PROJECT_ROOT / "instance"
DEFAULT_TILES_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
DEFAULT_TILES_ATTRIBUTION = "&copy; OpenStreetMap contributors"


def _env(name: str, default: str) -> str:
    return os.environ.get(f"CAREMAP_{name}", default)


def default_database_url(instance_dir: Path = DEFAULT_INSTANCE_DIR) -> str:
    """The embedded store: a SQLite file under ``instance/``."""
    return f"sqlite:///{instance_dir / 'caremap.sqlite'}"


@dataclass(frozen=True)
class Settings:
    """Everything configurable about caremap. Build with :func:`load_settings`."""

    database_url: str
    data_dir: Path
    instance_dir: Path
    tiles_url: str = DEFAULT_TILES_URL
    tiles_attribution: str = DEFAULT_TILES_ATTRIBUTION


def load_settings() -> Settings:
    """Read settings from the environment (``CAREMAP_DATABASE_URL``, ``CAREMAP_TILES_URL`` …)."""
    instance_dir = Path(_env("INSTANCE_DIR", str(DEFAULT_INSTANCE_DIR)))
    return Settings(
        database_url=_env("DATABASE_URL", default_database_url(instance_dir)),
        data_dir=Path(_env("DATA_DIR", str(PROJECT_ROOT / "data"))),
        instance_dir=instance_dir,
        tiles_url=_env("TILES_URL", DEFAULT_TILES_URL),
        tiles_attribution=_env("TILES_ATTRIBUTION", DEFAULT_TILES_ATTRIBUTION),
    )
