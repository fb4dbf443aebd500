"""Validators for HSDS 3.0 documents from the official schemas bundled in data/standards."""

from __future__ import annotations

import csv
import functools
import json
from pathlib import Path

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.conftest import DATA_DIR

STANDARD = DATA_DIR / "standards" / "hsds-3.0"
SCHEMAS = STANDARD / "schema"
BASE = "https://hsds.invalid/schema/"


@functools.cache
def _registry() -> Registry:
    """Every schema under a made-up base URI, so their relative ``$ref``s resolve."""
    resources = []
    for path in [*SCHEMAS.glob("*.json"), *SCHEMAS.glob("compiled/*.json")]:
        contents = json.loads(path.read_text(encoding="utf-8"))
        uri = BASE + path.relative_to(SCHEMAS).as_posix()
        resources.append((uri, Resource.from_contents(contents, DRAFT202012)))
    return Registry().with_resources(resources)


@functools.cache
def validator(name: str) -> Draft202012Validator:
    """A validator (formats checked: uuid, email, date-time, …) for ``name``, e.g.
    ``compiled/service_list.json``, ``taxonomy.json``, or ``Page`` (the API's paged list)."""
    if name == "Page":
        openapi = json.loads((SCHEMAS / "openapi.json").read_text(encoding="utf-8"))
        schema = openapi["components"]["schemas"]["Page"]
    else:
        schema = {"$ref": BASE + name}
    return Draft202012Validator(
        schema, registry=_registry(), format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def errors(name: str, document: object) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator(name).iter_errors(document)
    ]


def standard_resources() -> dict[str, dict]:
    descriptor = json.loads((STANDARD / "datapackage.json").read_text(encoding="utf-8"))
    return {resource["name"]: resource for resource in descriptor["resources"]}


def typed_rows(folder: Path, resource: dict) -> list[dict]:
    """A CSV resource's rows typed as its schema says; empty cells are absent, except a
    required string, which is ''."""
    fields = {f["name"]: f for f in resource["schema"]["fields"]}
    with (folder / resource["path"]).open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    typed = []
    for row in rows:
        item = {}
        for name, value in row.items():
            field = fields[name]
            required = field.get("constraints", {}).get("required")
            if value == "" and not (required and field["type"] == "string"):
                continue
            if field["type"] == "number":
                item[name] = float(value)
            elif field["type"] == "integer":
                item[name] = int(value)
            else:
                item[name] = value
        typed.append(item)
    return typed
