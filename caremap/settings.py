"""Typed settings from ``CAREMAP_*`` environment variables; defaults use the embedded store."""

from __future__ import annotations

import os
import secrets
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


def secret_key(settings: Settings) -> str:
    """``CAREMAP_SECRET_KEY``, else a random key made once and kept in ``instance/secret_key``
    (so that sessions survive restarts in development without a key in the code)."""
    configured = os.environ.get("CAREMAP_SECRET_KEY")
    if configured:
        return configured
    path = settings.instance_dir / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".secret_key.{os.getpid()}")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(secrets.token_urlsafe(48))
        try:
            os.link(draft, path)  # atomic: the first process to get here wins
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text(encoding="ascii").strip()
