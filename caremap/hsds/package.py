"""``caremap export hsds``: the public directory as an HSDS 3.0 tabular data package (a folder of
CSV files and a ``datapackage.json`` whose resources are HSDS's own), from
:mod:`caremap.hsds.tables`, so a confidential location is exported at its public point only.

Capacities (beds, rooms) have no HSDS 3.0 table: they go to the extra resource
``service_capacity`` (``service_capacities.csv``), shaped like HSDS 3.1's, which HSDS 3.0 tools
ignore; a service's usual next steps (:mod:`caremap.links`) go to the extra resource
``service_link`` (``service_links.csv``), a caremap extension.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from caremap.hsds import HSDS_VERSION
from caremap.hsds.tables import read_tables, read_taxonomies
from caremap.model import Source
from caremap.spreadsheet import SafeWriter
from caremap.store import Store

STANDARD = Path("standards") / "hsds-3.0" / "datapackage.json"
# HSDS tables caremap fills, in the order of the standard's data package.
TABLES = (
    "organization",
    "service",
    "attribute",
    "service_at_location",
    "location",
    "phone",
    "address",
    "schedule",
    "service_area",
    "language",
    "accessibility",
    "taxonomy_term",
    "metadata",
    "taxonomy",
)


def extension_resource(
    name: str, path: str, description: str, fields: list[dict], foreign_keys: list[dict]
) -> dict:
    """A tabular CSV resource of caremap's own beside HSDS's tables, keyed by ``id``."""
    return {
        "name": name,
        "path": path,
        "description": description,
        "format": "csv",
        "mediatype": "text/csv",
        "profile": "tabular-data-resource",
        "schema": {"primaryKey": "id", "fields": fields, "foreignKeys": foreign_keys},
    }


def _references_service(column: str) -> dict:
    return {"fields": column, "reference": {"resource": "service", "fields": "id"}}


_ID_FIELD = {"name": "id", "type": "string", "format": "uuid", "constraints": {"required": True}}
_REQUIRED = {"required": True}

CAPACITY_RESOURCE = extension_resource(
    "service_capacity",
    "service_capacities.csv",
    "caremap extension (HSDS 3.1 service_capacity): how many of a unit (beds, rooms) a "
    "service has (maximum) and has free (available), as of updated.",
    [
        _ID_FIELD,
        {"name": "service_id", "type": "string", "format": "uuid"},
        {"name": "unit", "type": "string", "constraints": _REQUIRED},
        {"name": "available", "type": "integer"},
        {"name": "maximum", "type": "integer"},
        {"name": "description", "type": "string"},
        {"name": "updated", "type": "datetime"},
    ],
    [_references_service("service_id")],
)

SERVICE_LINK_RESOURCE = extension_resource(
    "service_link",
    "service_links.csv",
    "caremap extension (continuum of care): a service's usual next steps, the services "
    "it refers people to (link_type refers_to) or receives them from (receives_from), "
    "with the reason in English (description) and French (description_fr) and the page "
    "that states it (source_url).",
    [
        _ID_FIELD,
        {"name": "from_service_id", "type": "string", "format": "uuid", "constraints": _REQUIRED},
        {"name": "to_service_id", "type": "string", "format": "uuid", "constraints": _REQUIRED},
        {
            "name": "link_type",
            "type": "string",
            "constraints": {"required": True, "enum": ["refers_to", "receives_from"]},
        },
        {"name": "description", "type": "string"},
        {"name": "description_fr", "type": "string"},
        {"name": "source_url", "type": "string", "format": "uri"},
    ],
    [_references_service("from_service_id"), _references_service("to_service_id")],
)


@dataclass(frozen=True)
class ExportCounts:
    """Rows written per resource name."""

    rows: dict[str, int]

    def summary(self) -> str:
        return ", ".join(f"{count} {name}" for name, count in self.rows.items())


def standard_resources(data_dir: Path) -> dict[str, dict]:
    """The resources of HSDS's own data package (bundled), by name."""
    descriptor = json.loads((data_dir / STANDARD).read_text(encoding="utf-8"))
    return {resource["name"]: resource for resource in descriptor["resources"]}


def export_package(store: Store, data_dir: Path, out: Path) -> ExportCounts:
    """Write the package into the folder ``out`` (created; files of the same names replaced)."""
    with store.session() as session:
        tables = read_tables(session) | read_taxonomies(session)
        sources = list(session.scalars(select(Source).order_by(Source.name)))
    standard = standard_resources(data_dir)
    resources = [copy.deepcopy(standard[name]) for name in TABLES]
    resources += [CAPACITY_RESOURCE, SERVICE_LINK_RESOURCE]
    out.mkdir(parents=True, exist_ok=True)
    counts = {}
    for resource in resources:
        rows = tables[resource["name"]]
        _write_csv(out / resource["path"], [f["name"] for f in resource["schema"]["fields"]], rows)
        counts[resource["name"]] = len(rows)
    descriptor = _descriptor(resources, sources)
    (out / "datapackage.json").write_text(
        json.dumps(descriptor, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return ExportCounts(counts)


def _descriptor(resources: list[dict], sources: list[Source]) -> dict:
    """The package descriptor; each source's licence and attribution travel with its data
    (a source's ``name`` is the ``updated_by`` of its records' ``metadata`` rows)."""
    return {
        "name": "caremap",
        "title": "caremap: care centres for victims of human trafficking and violence in Canada",
        "profile": "tabular-data-package",
        "version": f"{HSDS_VERSION}.0",
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "licenses": [
            {"name": "other-at", "title": source.licence} for source in sources if source.licence
        ],
        "sources": [
            {
                "name": source.name,
                "title": source.title,
                "path": source.url or "",
                "licence": source.licence or "",
                "attribution": source.attribution or "",
            }
            for source in sources
        ],
        "resources": resources,
    }


def _write_csv(path: Path, columns: list[str], rows: list[dict[str, Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = SafeWriter(handle)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(row.get(column)) for column in columns])


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
