"""The ``caremap`` command. Each command imports only what it needs, so the CLI starts fast."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import click

from caremap.settings import Settings, load_settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from caremap.store import Store


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
    from caremap.store import open_store
    from etl.pipeline import run, summary_line

    settings = _settings()
    sources = list(paths) or [settings.data_dir / "listings"]
    store = open_store(settings.database_url)
    try:
        reports = run(
            store, sources, settings.data_dir, report_dir or settings.instance_dir / "reports"
        )
        built = (
            None if no_coverage_build else _build_indicators(store, settings, only_if_stale=True)
        )
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


@main.group()
def coverage() -> None:
    """Accessibility scores: where care is within reach of the population, and where it is not."""


def _positive_finite(ctx: click.Context, param: click.Parameter, value: float) -> float:
    import math

    if not (math.isfinite(value) and value > 0):
        raise click.BadParameter(f"{value:g} is not a positive number")
    return value


_EXISTING_CSV = click.Path(exists=True, dir_okay=False, path_type=Path)


@coverage.command("compute")
@click.option(
    "--demand",
    "demand_path",
    metavar="D.csv",
    required=True,
    type=_EXISTING_CSV,
    help="Demand points: id, latitude, longitude, population (e.g. one row per dissemination "
    "area).",
)
@click.option(
    "--supply",
    "supply_path",
    metavar="S.csv",
    required=True,
    type=_EXISTING_CSV,
    help="Sites: id, latitude, longitude, capacity (e.g. beds).",
)
@click.option(
    "--method",
    required=True,
    type=click.Choice(["2sfca", "e2sfca", "fca", "nearest"], case_sensitive=False),
    help="The score (described above).",
)
@click.option(
    "--catchment-km",
    "catchment",
    metavar="K",
    required=True,
    type=float,
    callback=_positive_finite,
    help="Catchment: great-circle km, inclusive (a site exactly K km away counts); with "
    "--cost, in the cost's units (e.g. minutes).",
)
@click.option(
    "--decay",
    default=None,
    metavar="SPEC",
    help="Distance decay for e2sfca: 'step' (the default: Luo & Qi's weights 1, 0.68, 0.22 over "
    "thirds of the catchment), 'step:T1=W1,T2=W2,...' (weight W up to cost T, 0 beyond the "
    "last), 'gaussian' (exp(-d²/2σ²), σ = K/2) or 'gaussian:SIGMA'.",
)
@click.option(
    "--cost",
    "cost_path",
    metavar="C.csv",
    default=None,
    type=_EXISTING_CSV,
    help="Travel costs instead of straight lines: origin (a D.csv id), dest (an S.csv id), "
    "cost (e.g. minutes from OSRM, pgRouting or r5py). Absent pairs are unreachable.",
)
@click.option(
    "--out",
    "out_path",
    metavar="OUT.csv",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write id, score (and nearest_km or nearest_cost for nearest).",
)
def coverage_compute(
    demand_path: Path,
    supply_path: Path,
    method: str,
    catchment: float,
    decay: str | None,
    cost_path: Path | None,
    out_path: Path,
) -> None:
    """Score every demand point for access to the sites, and write OUT.csv.

    \b
    Methods (scores are raw, not normalised; definitions and normalisation as PySAL access):
      2sfca    capacity per person within reach (two-step floating catchment area):
               R_j = S_j / (population within K of site j); score_i = sum of R_j within K of i
      e2sfca   the same, with the distance decay --decay in both steps
      fca      capacity within K of i / population within K of i (i included)
      nearest  score 1 if a site is within K, else 0; nearest_km is the distance to the
               nearest site, whatever K (nearest_cost with --cost; empty if none reachable)
    A demand point with no site within K scores 0. So does everyone around a site with no
    population within its catchment (that site serves nobody).

    Distances without --cost are great-circle km on a sphere of radius 6,371.0088 km (the IUGG
    mean Earth radius; within 0.5 % of geodesic distances). Straight lines mislead where the
    trip is not straight: fly-in communities in the North (Nunavut, the fly-in First Nations of
    northern Ontario, Manitoba and Quebec, coastal Labrador) are a flight away, not 80 km; winter
    roads open for weeks a year; ferries, fjords and mountains lengthen trips on the coasts. For
    decisions there, pass a travel-time matrix with --cost (adding flights, ferries and winter
    roads the road network lacks); the catchment is then in the matrix's units, and pairs absent
    from it are unreachable. fca needs demand-to-demand distances, so it takes no --cost.

    Every bad input row is reported with its file, line and reason, and nothing is written;
    OUT.csv is replaced only by a complete result.
    """
    import logging
    import time

    method = method.lower()
    if decay is not None and method != "e2sfca":
        raise click.UsageError("--decay applies only to --method e2sfca")
    if cost_path is not None and method == "fca":
        raise click.UsageError(
            "--method fca needs demand-to-demand costs as well; it works on straight-line "
            "distances only (drop --cost, or use 2sfca/e2sfca with --cost)"
        )

    from caremap.coverage.accessibility import compute_coverage, parse_decay
    from caremap.coverage.io import CoverageInputError, read_costs, read_points, write_scores

    log = logging.getLogger("caremap.coverage")
    started = time.perf_counter()
    decay_function = None
    if method == "e2sfca":
        try:
            decay_function = parse_decay(decay or "step", catchment)
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--decay") from None

    problems = []
    points = {}
    for name, path, weight in (
        ("demand", demand_path, "population"),
        ("supply", supply_path, "capacity"),
    ):
        try:
            points[name] = read_points(path, weight)
        except CoverageInputError as error:
            problems.extend(error.problems)
    if problems:
        raise click.ClickException(f"{CoverageInputError(problems)}\nnothing was written")
    demand, supply = points["demand"], points["supply"]
    costs = None
    if cost_path is not None:
        try:
            costs = read_costs(
                cost_path, demand, supply,
                demand_label=str(demand_path), supply_label=str(supply_path),
            )  # fmt: skip
        except CoverageInputError as error:
            raise click.ClickException(f"{error}\nnothing was written") from None
    log.info("read %d demand points, %d sites in %.2f s", len(demand), len(supply),
             time.perf_counter() - started)  # fmt: skip

    result = compute_coverage(method, demand, supply, catchment, costs=costs, decay=decay_function)
    log.info("computed %s in %.2f s", method, time.perf_counter() - started)

    columns = {"score": result.score}
    if result.nearest is not None:
        columns["nearest_cost" if costs is not None else "nearest_km"] = result.nearest
    try:
        write_scores(out_path, demand.ids, columns)
    except OSError as error:
        raise click.ClickException(
            f"cannot write {out_path}: {error.strerror or error}; nothing was written"
        ) from None

    unit = "(cost units)" if costs is not None else "km"
    out_of_reach = ~result.in_reach
    people = demand.weight[out_of_reach].sum()
    summary = f"wrote {out_path}: {len(demand):,} demand points, {method}"
    if decay_function is not None:
        summary += f" ({decay_function})"
    if method != "nearest":
        summary += f", {result.pairs:,} demand-site pairs within {catchment:g} {unit}"
    click.echo(summary)
    click.echo(
        f"{int(out_of_reach.sum()):,} demand points ({people:,.0f} people) have no site within "
        f"{catchment:g} {unit}"
    )


@coverage.command("build")
def coverage_build() -> None:
    """Recompute the stored coverage indicators of every jurisdiction level (after an ETL run
    or an edit; `caremap etl run` does it for you). Month availability is judged on today's
    date, so run it daily to keep the planner's fast path."""
    from caremap.store import open_store

    settings = _settings()
    store = open_store(settings.database_url)
    try:
        store.upgrade()
        click.echo(f"coverage: {_build_indicators(store, settings)}")
    finally:
        store.dispose()


def _build_indicators(store: Store, settings: Settings, only_if_stale: bool = False) -> str:
    """Build the stored indicators (dated by the UTC day, like the planner's clock)."""
    import datetime as dt

    from caremap.coverage.stored import build, is_current

    now = dt.datetime.now(dt.UTC)
    if only_if_stale and is_current(store, now.date()):
        return "stored indicators are current"
    return build(store, settings.data_dir, now.date(), now).summary()


@main.group()
def users() -> None:
    """Accounts of the people who sign in: admins, moderators, and editors of organizations."""


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@users.command("add")
@click.argument("email")
@click.option(
    "--role",
    required=True,
    type=click.Choice(["admin", "moderator", "editor"]),
    help="admin: manages accounts; moderator: approves and verifies every organization's "
    "listings; editor: edits only the organizations given with --organization.",
)
@click.option(
    "--organization",
    "organization_ids",
    multiple=True,
    metavar="ID",
    help="An organization id the account edits (repeat for several; editors need one).",
)
@click.option("--name", "display_name", default="", help="The person's name, as shown to admins.")
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of stdin."
)
def users_add(
    email: str,
    role: str,
    organization_ids: tuple[str, ...],
    display_name: str,
    password_stdin: bool,
) -> None:
    """Add an account for EMAIL (the password is asked for, or read with --password-stdin)."""
    from caremap import accounts

    password = _read_password(password_stdin)
    with _store_session() as session:
        try:
            user = accounts.create_user(
                session,
                email=email,
                password=password,
                role=role,
                organization_ids=organization_ids,
                display_name=display_name,
            )
        except accounts.AccountError as error:
            raise click.ClickException(str(error)) from None
    click.echo(f"added {role} {user.email}")


@users.command("list")
def users_list() -> None:
    """Every account: e-mail, role, status and the organizations it edits."""
    from caremap import accounts

    with _store_session() as session:
        for user in accounts.list_users(session):
            status = "active" if user.active else "deactivated"
            organizations = ",".join(accounts.organization_ids_of(session, user.id)) or "-"
            click.echo(f"{user.email}\t{user.role}\t{status}\t{organizations}")


@users.command("set-password")
@click.argument("email")
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of stdin."
)
def users_set_password(email: str, password_stdin: bool) -> None:
    """Give the account of EMAIL a new password."""
    from caremap import accounts

    password = _read_password(password_stdin)
    with _store_session() as session:
        user = accounts.user_by_email(session, email)
        if user is None:
            raise click.ClickException(f"no account for {email}")
        try:
            accounts.set_password(session, user.id, password)
        except accounts.AccountError as error:
            raise click.ClickException(str(error)) from None
    click.echo(f"new password set for {user.email}")


@users.command("reset-link")
@click.argument("email")
@click.option(
    "--base-url",
    envvar="CAREMAP_BASE_URL",
    default="http://127.0.0.1:5000",
    show_default=True,
    help="The site's address as its users reach it (or CAREMAP_BASE_URL).",
)
def users_reset_link(email: str, base_url: str) -> None:
    """Print a one-time link with which the account of EMAIL sets a new password (it expires
    after CAREMAP_PASSWORD_RESET_HOURS, 24 by default). Hand it over by a safe channel."""
    import datetime as dt

    from caremap import accounts, credentials
    from caremap.settings import secret_key

    with _store_session() as session:
        user = accounts.user_by_email(session, email)
        if user is None or not user.active:
            raise click.ClickException(f"no active account for {email}")
        token = credentials.reset_token(secret_key(_settings()), user, dt.datetime.now(dt.UTC))
    click.echo(f"{base_url.rstrip('/')}/account/reset/{token}")


@contextlib.contextmanager
def _store_session() -> Iterator[Session]:
    """A session on the configured store, committed if the block succeeds."""
    from caremap.store import open_store

    store = open_store(_settings().database_url)
    try:
        if not store.is_current():
            raise click.ClickException("the store is not up to date: run 'caremap db upgrade'")
        with store.session() as session, session.begin():
            yield session
    finally:
        store.dispose()


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--debug", is_flag=True, help="Flask's reloading debug server (development only).")
def serve(host: str, port: int, debug: bool) -> None:
    """Serve the web app (waitress; Flask's debug server with --debug)."""
    from webmap import create_app, serving_app

    if debug:
        create_app().run(host=host, port=port, debug=True)
        return
    from waitress import serve as waitress_serve

    app = serving_app()

    click.echo(f"caremap on http://{host}:{port}/", err=True)
    waitress_serve(app, host=host, port=port, threads=8)


if __name__ == "__main__":
    sys.exit(main())
