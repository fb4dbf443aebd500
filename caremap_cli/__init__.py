"""The ``caremap`` command. Each command imports only what it needs, so the CLI starts fast;
the coverage and users groups live in their own modules."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from caremap.settings import Settings, SettingsError, configuration_markdown, load_settings
from caremap_cli.coverage import build_indicators, coverage
from caremap_cli.users import users


def _settings() -> Settings:
    return load_settings()


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log progress details.")
def main(verbose: bool) -> None:
    """caremap: a map and directory of care centres across Canada."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        load_settings()  # a wrong CAREMAP_* value stops every command here, named
    except SettingsError as error:
        raise click.ClickException(str(error)) from None


main.add_command(coverage)
main.add_command(users)


@main.command("settings")
def settings_table() -> None:
    """Print the table of CAREMAP_* settings (docs/configuration.md)."""
    click.echo(configuration_markdown(), nl=False)


@main.group()
def db() -> None:
    """The store named by CAREMAP_DATABASE_URL."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Create the store, or migrate it to the newest schema."""
    from caremap.store import open_store

    settings = _settings()
    store = open_store(settings.database_url)
    try:
        store.upgrade()
    finally:
        store.dispose()
    click.echo("store is at the newest schema")


@main.group()
def etl() -> None:
    """Extract, normalise, geocode, validate and load service listings."""


@etl.command("run")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--report-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Where rejected-row CSVs go (default: INSTANCE/reports).",
)
@click.option(
    "--no-coverage-build",
    is_flag=True,
    help="Do not recompute the stored coverage indicators afterwards.",
)
def etl_run(paths: tuple[Path, ...], report_dir: Path | None, no_coverage_build: bool) -> None:
    """Load PATHS (files, folders, or HSDS 3.0 data packages: a folder with datapackage.json
    or a zip of one; default: everything under data/listings/)."""
    from caremap.matching import match_counts
    from caremap.store import open_store
    from etl.pipeline import matching_line, run, summary_line

    settings = _settings()
    sources = list(paths) or [settings.data_dir / "listings"]
    store = open_store(settings.database_url)
    try:
        reports = run(
            store, sources, settings.data_dir, report_dir or settings.instance_dir / "reports"
        )
        with store.engine.connect() as connection:
            matched = match_counts(connection)
        built = None if no_coverage_build else build_indicators(store, settings, only_if_stale=True)
    except (FileNotFoundError, ValueError) as error:
        raise click.ClickException(str(error)) from error
    finally:
        store.dispose()
    for report in reports:
        click.echo(f"{report.source}: {summary_line(report)}")
        for row in report.rejected:
            click.echo(f"  {row.where}: rejected: {row.reason}")
        for line, record_id, warning in report.warnings:
            click.echo(f"  line {line} ({record_id}): warning: {warning}")
        if report.rejected_csv:
            click.echo(f"  rejected rows written to {report.rejected_csv}")
        for edited in report.counts.edits_over_source if report.counts else ():
            click.echo(f"  {edited}: changed by the source and by an editor; the edit is kept")
    click.echo(f"matching: {matching_line(matched)}")
    if built:
        click.echo(f"coverage: {built}")


@main.group()
def export() -> None:
    """Write the public directory in open formats."""


@export.command("hsds")
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write the data package into (created if needed).",
)
def export_hsds(out_dir: Path) -> None:
    """Write an HSDS 3.0 tabular data package (CSV files and datapackage.json) of the public
    listings: confidential locations at their public point, with city and province only."""
    from caremap.hsds.package import export_package
    from caremap.store import open_store

    settings = _settings()
    store = open_store(settings.database_url)
    try:
        counts = export_package(store, settings.data_dir, out_dir)
    finally:
        store.dispose()
    click.echo(f"wrote {out_dir}: {counts.summary()}")


@main.command()
@click.argument("in_path", metavar="IN.csv", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--out",
    "out_path",
    required=True,
    type=click.Path(path_type=Path),
    help="Where to write the geocoded CSV.",
)
def geocode(in_path: Path, out_path: Path) -> None:
    """Add latitude, longitude and precision to a CSV of addresses, with the offline gazetteer.

    IN.csv needs the columns street_address, city, province, postal_code; every other column is
    passed through unchanged."""
    from caremap.gazetteer import load_gazetteer
    from caremap.geocoder import Geocoder
    from etl.geocode import geocode_csv

    settings = _settings()
    try:
        stats = geocode_csv(in_path, out_path, Geocoder(load_gazetteer(settings.data_dir)))
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"wrote {out_path}: {stats.summary()}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Worker processes (about one per CPU core).",
)
@click.option("--debug", is_flag=True, help="Flask's reloading debug server (development only).")
def serve(host: str, port: int, workers: int, debug: bool) -> None:
    """Serve the web app (granian; Flask's debug server with --debug)."""
    if debug:
        from webmap import create_app

        create_app().run(host=host, port=port, debug=True)
        return
    from webmap.server import serve as serve_app

    _require_current_store()
    serve_app(host, port, workers)


def _require_current_store() -> None:
    """Refuse to serve a store whose schema or listings are older than the code: every page
    would fail."""
    from caremap.store import open_store

    settings = _settings()
    store = open_store(settings.database_url)
    shown = store.engine.url.render_as_string(hide_password=True)
    try:
        current = store.is_current()
    finally:
        store.dispose()
    if not current:
        raise click.ClickException(
            f"the store at {shown} is not at the newest schema: run "
            "'caremap db upgrade' (or 'caremap etl run', which upgrades it first)"
        )
