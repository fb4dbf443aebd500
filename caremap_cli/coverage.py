"""``caremap coverage``: accessibility scores and the planner's stored indicators."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from caremap.settings import Settings, load_settings

if TYPE_CHECKING:
    from caremap.store import Store


@click.group()
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

    settings = load_settings()
    store = open_store(settings.database_url)
    try:
        store.upgrade()
        click.echo(f"coverage: {build_indicators(store, settings)}")
    finally:
        store.dispose()


def build_indicators(store: Store, settings: Settings, only_if_stale: bool = False) -> str:
    """Build the stored indicators (dated by the UTC day, like the planner's clock): every one,
    or with ``only_if_stale`` only those missing (none when they are current)."""
    import datetime as dt

    from caremap.coverage.stored import build, is_current

    now = dt.datetime.now(dt.UTC)
    if only_if_stale and is_current(store, now.date()):
        return "stored indicators are current"
    return build(store, settings.data_dir, now.date(), now, incremental=only_if_stale).summary()


@coverage.command("table")
@click.option(
    "--write",
    "write_path",
    metavar="FILE.md",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Replace the table between the <!-- caremap coverage table --> markers of this file "
    "(README.md, docs/coverage.md) instead of printing it.",
)
def coverage_table(write_path: Path | None) -> None:
    """Per province and territory: the places the directory holds (by service type and
    source), their beds and beds per 100,000 people, beside Statistics Canada's count of
    shelters for victims of abuse: how complete the data is."""
    from caremap.coverage.completeness import completeness, markdown_table, replace_between_markers
    from caremap.store import open_store
    from caremap.vocabulary import load_vocabulary

    settings = load_settings()
    labels = {t.code: t.label_en for t in load_vocabulary(settings.data_dir).terms("service_type")}
    store = open_store(settings.database_url)
    try:
        store.upgrade()
        table = markdown_table(completeness(store, settings.data_dir), labels)
    finally:
        store.dispose()
    if write_path is None:
        click.echo(table, nl=False)
        return
    try:
        text = replace_between_markers(write_path.read_text(encoding="utf-8"), table)
    except ValueError as error:
        raise click.ClickException(f"{write_path}: {error}; nothing was written") from None
    write_path.write_text(text, encoding="utf-8")
    click.echo(f"wrote the coverage table in {write_path}")
