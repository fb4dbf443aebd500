"""Typed settings from ``CAREMAP_*`` environment variables; defaults use the embedded store.

This is the one place that reads them: :func:`load_settings` parses each variable into its
field's type (a wrong value stops the program at start with a message naming the variable), and
:func:`configuration_markdown` writes their table (``docs/configuration.md``)."""

from __future__ import annotations

import math
import os
import secrets
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import Field, dataclass, field, fields
from pathlib import Path
from typing import Any, get_type_hints

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCE_DIR = PROJECT_ROOT / "instance"
DEFAULT_TILES_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
DEFAULT_TILES_ATTRIBUTION = "&copy; OpenStreetMap contributors"
PREFIX = "CAREMAP_"
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})
TYPE_WORDS = {str: "text", int: "whole number", float: "number", bool: "true/false", Path: "folder"}
TESTS_ONLY = {
    "CAREMAP_TEST_POSTGIS_URL": "a PostGIS database for the store tests (skipped without it)",
    "CAREMAP_CHROMIUM": "the Chromium or Chrome for the browser tests",
    "CAREMAP_REQUIRE_ALL_TESTS": "`1`: a skipped test fails the run (CI)",
    "CAREMAP_BENCH_POSTGIS_URL": "a PostGIS database for the benchmarks under `bench/`",
    "CAREMAP_PG_DB": "the database `scripts/start-postgis.sh` creates",
    "CAREMAP_PG_USER": "its owner",
    "CAREMAP_PG_PASSWORD": "the owner's password",
}


class SettingsError(ValueError):
    """A ``CAREMAP_*`` variable whose value is not of its setting's type."""


def default_database_url(instance_dir: Path = DEFAULT_INSTANCE_DIR) -> str:
    """The embedded store: a SQLite file under ``instance/``."""
    return f"sqlite:///{instance_dir / 'caremap.sqlite'}"


def _about(meaning: str, shown: str | None = None, minimum: float = 0) -> dict[str, Any]:
    """A setting's metadata: what it means, its default as the docs state it (when not its
    value), and the least value of a number."""
    return {"help": meaning, "shown": shown, "minimum": minimum}


@dataclass(frozen=True)
class Settings:
    """Everything configurable about caremap. Build with :func:`load_settings`."""

    database_url: str = field(
        default=default_database_url(),
        metadata=_about(
            "the store: `sqlite:///…` (embedded) or `postgresql+psycopg://…` (PostGIS)",
            "`sqlite:///` + `CAREMAP_INSTANCE_DIR/caremap.sqlite`",
        ),
    )
    data_dir: Path = field(
        default=PROJECT_ROOT / "data", metadata=_about("bundled data and vocabulary", "`data/`")
    )
    instance_dir: Path = field(
        default=DEFAULT_INSTANCE_DIR,
        metadata=_about("embedded store, ETL reports, uploads", "`instance/`"),
    )
    tiles_url: str = field(
        default=DEFAULT_TILES_URL,
        metadata=_about(
            "map tiles; empty = no tiles (the only other host a page may load from)",
            "OpenStreetMap's tile server",
        ),
    )
    tiles_attribution: str = field(
        default=DEFAULT_TILES_ATTRIBUTION,
        metadata=_about("shown on the map", "© OpenStreetMap contributors"),
    )
    secret_key: str = field(
        default="",
        metadata=_about(
            "signs sessions of signed-in editors and password reset links; set it in production",
            "made once in `CAREMAP_INSTANCE_DIR/secret_key`",
        ),
    )
    session_cookie_secure: bool = field(
        default=True,
        metadata=_about(
            "`false` only for plain-http development on another host than localhost "
            "(the language cookie follows it)"
        ),
    )
    login_rate_limit: str = field(
        default="10 per minute;50 per hour",
        metadata=_about(
            "failed sign-ins per client address, over every account; failed password changes and "
            "reset links count alike. Counted in the database, so every worker shares the counts"
        ),
    )
    login_account_rate_limit: str = field(
        default="5 per minute;20 per hour",
        metadata=_about(
            "failed sign-ins per account from one client address. Nothing limits an account over "
            "every address, so nobody can lock another person out: the right password from another "
            "address gets in"
        ),
    )
    proxy_hops: int = field(
        default=0,
        metadata=_about(
            "how many reverse proxies stand in front of the app; set it behind one, so that the "
            "sign-in limits count each client's address (`X-Forwarded-For`), not the proxy's, and "
            "HTTPS (so `Strict-Transport-Security`) is seen through it (`X-Forwarded-Proto`, "
            "`-Host`); with `0` those headers are ignored"
        ),
    )
    password_reset_hours: int = field(
        default=24, metadata=_about("how long a password reset link works (once)", minimum=1)
    )
    base_url: str = field(
        default="http://127.0.0.1:5000",
        metadata=_about("the site's address, for links `caremap users reset-link` prints"),
    )
    quick_exit_url: str = field(
        default="https://www.theweathernetwork.com/ca",
        metadata=_about("where the quick-exit button and the Esc key go", "a weather site"),
    )
    beds_stale_hours: float = field(
        default=48.0,
        metadata=_about(
            'a bed count older than this is not shown as current, nor used by "bed available now"'
        ),
    )
    stale_months: int = field(
        default=12,
        metadata=_about(
            "the moderation queue and dashboard flag listings not updated for this long", minimum=1
        ),
    )
    max_content_length: int = field(
        default=10 * 1024 * 1024,
        metadata=_about("bytes per request (a bulk upload): beyond, HTTP 413", minimum=1),
    )
    bulk_max_rows: int = field(
        default=5_000, metadata=_about("listings in one bulk upload", minimum=1)
    )
    bulk_time_limit: int = field(
        default=60, metadata=_about("seconds to check one bulk upload", minimum=1)
    )
    bulk_max_unzipped_bytes: int = field(
        default=50 * 1024 * 1024,
        metadata=_about("bytes of a zipped bulk upload once unzipped", minimum=1),
    )
    bulk_upload_hours: float = field(
        default=24.0,
        metadata=_about("how long an uploaded file waits for its uploader to apply it", minimum=1),
    )
    display_timezone: str = field(
        default="America/Toronto",
        metadata=_about(
            "the time zone (IANA name) in which pages show times, with its abbreviation "
            "(EST, HNE …); the API and CSV files give times in UTC (ISO 8601)"
        ),
    )
    bulk_upload_dir: Path = field(
        default=DEFAULT_INSTANCE_DIR / "uploads",
        metadata=_about(
            "where uploaded files wait between the dry run and the apply",
            "`CAREMAP_INSTANCE_DIR/uploads`",
        ),
    )

    def flask_config(self) -> dict[str, Any]:
        """The settings as Flask config keys (``DATABASE_URL``, ``PROXY_HOPS`` …)."""
        return {f.name.upper(): getattr(self, f.name) for f in fields(self)}


# Settings whose default lies in the instance folder, which is itself a setting.
UNDER_INSTANCE: dict[str, Callable[[Path], object]] = {
    "database_url": default_database_url,
    "bulk_upload_dir": lambda instance_dir: instance_dir / "uploads",
}


def env_name(setting: Field[Any]) -> str:
    return PREFIX + setting.name.upper()


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read settings from the environment (``CAREMAP_DATABASE_URL``, ``CAREMAP_TILES_URL`` …);
    SettingsError names the variable whose value is wrong."""
    environ = os.environ if environ is None else environ
    types = get_type_hints(Settings)
    values: dict[str, Any] = {
        f.name: _parse(env_name(f), environ[env_name(f)], types[f.name], f.metadata["minimum"])
        for f in fields(Settings)
        if env_name(f) in environ
    }
    if "display_timezone" in values:
        _check_time_zone(env_name(_field("display_timezone")), values["display_timezone"])
    instance_dir = values.get("instance_dir", DEFAULT_INSTANCE_DIR)
    for name, default in UNDER_INSTANCE.items():
        values.setdefault(name, default(instance_dir))
    return Settings(**values)


def _field(name: str) -> Field[Any]:
    return next(f for f in fields(Settings) if f.name == name)


def _check_time_zone(variable: str, name: str) -> None:
    try:
        zoneinfo.ZoneInfo(name)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        raise SettingsError(
            f"{variable}={name!r}: expected a time zone name such as America/Toronto"
        ) from None


def _parse(variable: str, text: str, kind: type, minimum: float) -> object:
    if kind is bool:
        word = text.strip().lower()
        if word not in TRUE_WORDS | FALSE_WORDS:
            raise SettingsError(f"{variable}={text!r}: expected true or false")
        return word in TRUE_WORDS
    if kind in (int, float):
        noun = "a whole number" if kind is int else "a number"
        try:
            number = kind(text)
        except ValueError:
            raise SettingsError(f"{variable}={text!r}: expected {noun}") from None
        if not (math.isfinite(number) and number >= minimum):
            raise SettingsError(f"{variable}={text!r}: expected {noun} of at least {minimum:g}")
        return number
    if kind is Path and not text:
        raise SettingsError(f"{variable} is empty: expected a folder")
    return kind(text)


def configuration_markdown() -> str:
    """``docs/configuration.md``: every setting with its default and meaning."""
    lines = [
        "# Configuration",
        "",
        "Settings are environment variables, read once at start (`caremap.settings`; a wrong",
        "value stops the program with a message naming the variable). This page is generated:",
        "`caremap settings > docs/configuration.md`.",
        "",
        "| variable | type | default | meaning |",
        "| --- | --- | --- | --- |",
    ]
    types = get_type_hints(Settings)
    for setting in fields(Settings):
        default = setting.metadata["shown"] or _shown(setting.default)
        kind = TYPE_WORDS[types[setting.name]]
        lines.append(f"| `{env_name(setting)}` | {kind} | {default} | {setting.metadata['help']} |")
    lines += ["", "For the tests only:", "", "| variable | meaning |", "| --- | --- |"]
    lines += [f"| `{name}` | {meaning} |" for name, meaning in TESTS_ONLY.items()]
    return "\n".join(lines) + "\n"


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, float):
        return f"`{value:g}`"
    return f"`{value}`"


def secret_key(settings: Settings) -> str:
    """``CAREMAP_SECRET_KEY``, else a random key made once and kept in ``instance/secret_key``
    (so that sessions survive restarts in development without a key in the code)."""
    if settings.secret_key:
        return settings.secret_key
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
