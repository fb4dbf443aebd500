"""The store as HSDS tables of public rows, keyed by HSDS table name, values ready for JSON.

Locations and addresses pass through :func:`caremap.privacy.public_location`: a confidential
location has only its public point, and its address only city and province. Nothing here reads
``private_*`` columns or geocoding details.

A service merged into another entry (:mod:`caremap.matching`) is no HSDS record of its own:
neither it nor its rows are published, its next steps are the kept entry's, and the kept
entry's ``metadata`` rows name every source record of the entry (:func:`source_metadata`).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from caremap.helplines import area_code
from caremap.hsds import (
    CONFIDENTIAL_CODE,
    CONFIDENTIAL_TERM_ROW,
    PROFILE_TAXONOMY,
    PROFILE_TAXONOMY_ROW,
    area_uri,
    derived_uuid,
    taxonomy_uuid,
    term_uuid,
)
from caremap.links import published_links
from caremap.matching import merges
from caremap.model import Service, ServiceLink, Taxonomy, TaxonomyTerm
from caremap.paging import ID_CHUNK, chunks
from caremap.privacy import private_lines, public_location, public_name, without_address
from caremap.queries import ConfidentialStreets, ServiceRecords, read_service_records

Rows = list[dict[str, Any]]
RECORD_TABLES = (
    "organization",
    "service",
    "service_at_location",
    "location",
    "address",
    "phone",
    "schedule",
    "language",
    "accessibility",
    "attribute",
    "service_capacity",
    "service_area",
    "service_link",
    "metadata",
)


def read_tables(session: Session, service_ids: list[str] | None = None) -> dict[str, Rows]:
    """Public HSDS rows of the public entries (all, or those of ``service_ids``) and of
    everything they link to (:func:`caremap.queries.read_service_records`); services by name,
    every other table by id."""
    merged_into = merges(session.connection())
    records = read_service_records(session, _public_ids(session, service_ids, merged_into))
    streets = records.streets
    located, location_lines = _public_locations(records)
    tables: dict[str, Rows] = {
        "organization": [organization_row(row, streets) for row in _dicts(records.organizations)],
        "service": [
            _service(row, row["organization_name"], streets) for row in _dicts(records.services)
        ],
        "service_at_location": [_pick(row, SAL_FIELDS) for row in _dicts(records.links)],
        **located,
        "phone": [_phone(row) for row in _dicts(_public_phones(records))],
        "schedule": [_schedule(row) for row in _dicts(records.schedules)],
        "language": [_pick(row, LANGUAGE_FIELDS) for row in _dicts(records.languages)],
        "service_capacity": [_capacity(row) for row in _dicts(records.capacities)],
        "service_area": [_service_area(row) for row in records.service_areas],
    }
    tables["attribute"] = _attributes(records.attributes) + _confidential_attributes(
        tables["location"], {key for key, row in records.locations.items() if row.confidential}
    )
    _hide_streets_in_children(tables, streets, location_lines)
    tables["service_link"] = read_service_links(session, [row["id"] for row in tables["service"]])
    located_at = records.locations
    confidential = {
        link.service_id for link in records.links if located_at[link.location_id].confidential
    }
    tables["metadata"] = source_metadata(session, records.services, merged_into, confidential)
    tables["service"].sort(key=lambda row: (row["name"], row["id"]))
    for name in RECORD_TABLES:
        if name != "service":
            tables[name].sort(key=lambda row: row["id"])
    return tables


def _public_ids(
    session: Session, service_ids: list[str] | None, merged_into: dict[str, str]
) -> list[str] | None:
    """The ids of the public entries among ``service_ids`` (None: every service, when none is
    merged into another)."""
    if service_ids is None:
        if not merged_into:
            return None
        service_ids = list(session.scalars(select(Service.id)))
    return [i for i in service_ids if i not in merged_into]


def source_metadata(
    session: Session, services: list[Row], merged_into: dict[str, str], confidential: set[str]
) -> Rows:
    """HSDS ``metadata`` rows naming each entry's source records: its own (``import``) and
    those of the services merged into it (``merge``), each as field ``source_id`` set to the
    record's id in its source (``updated_by``) on the source's date. A ``confidential`` entry
    withholds the id of a record merged into it: that record, in its own source, may give the
    address."""
    kept = {row.id for row in services}
    taken_in = [merged for merged, entry in merged_into.items() if entry in kept]
    rows = [(row, row.id, IMPORTED) for row in services]
    rows += [(row, merged_into[row.id], MERGED_IN) for row in _service_sources(session, taken_in)]
    withheld: dict[str, int] = defaultdict(int)  # records withheld so far, by entry

    def record_id(row: Row, entry: str, action: str) -> tuple[str, str]:
        """The row's id and the record id it gives: for a record withheld, neither is derived
        from the record (its service id is derived from its source's id)."""
        if action != MERGED_IN or entry not in confidential:
            return derived_uuid(row.id, f"source|{entry}"), row.source_record_id
        withheld[entry] += 1
        return derived_uuid(entry, f"withheld source|{withheld[entry]}"), ""

    metadata = []
    for row, entry, action in sorted(rows, key=lambda r: (r[1], r[2], r[0].source_name)):
        row_id, given = record_id(row, entry, action)
        metadata.append(
            {
                "id": row_id,
                "resource_id": entry,
                "resource_type": "service",
                "last_action_date": _iso_date(row.source_as_of)
                or row.imported_at.date().isoformat(),
                "last_action_type": action,
                "field_name": "source_id",
                "previous_value": "",
                "replacement_value": given,
                "updated_by": row.source_name,
            }
        )
    return metadata


def _service_sources(session: Session, ids: list[str]) -> list[Row]:
    """The source, record id, date and import time of the services ``ids``."""
    columns = (
        Service.id,
        Service.source_name,
        Service.source_record_id,
        Service.source_as_of,
        Service.imported_at,
    )
    return [
        row
        for chunk in chunks(sorted(ids), ID_CHUNK)
        for row in session.execute(select(*columns).where(Service.id.in_(chunk)))
    ]


def _public_phones(records: ServiceRecords) -> list[Row]:
    """The phones, without those of a confidential location: its own line would lead to it
    (a service's phones, its public intake lines, stay)."""
    confidential = {key for key, row in records.locations.items() if row.confidential}
    return [row for row in records.phones if row.location_id not in confidential]


def _hide_streets_in_children(
    tables: dict[str, Rows],
    streets: ConfidentialStreets,
    location_lines: dict[str, tuple[str | None, ...]],
) -> None:
    """The text of the rows of services and locations (links, phones, schedules, languages,
    capacities) without the address of a confidential location their service concerns or
    their location has."""
    organization_of = {row["id"]: row["organization_id"] for row in tables["service"]}
    for name, fields in CHILD_TEXT.items():
        for row in tables[name]:
            service_id = row.get("service_id")
            lines = location_lines.get(row.get("location_id") or "", ())
            if service_id is not None and service_id in organization_of:
                lines += streets.of_service(service_id, organization_of[service_id])
            row.update({f: without_address(row[f], lines) for f in fields})


def read_service_links(session: Session, service_ids: list[str] | None = None) -> Rows:
    """The links (:mod:`caremap.links`) from the public entries (all, or ``service_ids``), by
    id, as published (:func:`caremap.links.published_links`): a link from or to a service
    merged into another entry is the kept entry's."""
    merged_into = merges(session.connection())
    wanted = None if service_ids is None else set(service_ids)
    query = select(ServiceLink).order_by(ServiceLink.id)
    if wanted is not None:
        ends_in = [*wanted, *(m for m, kept in merged_into.items() if kept in wanted)]
        query = query.where(ServiceLink.from_service_id.in_(ends_in))
    links = published_links(session, session.scalars(query).all())
    return [
        {field: getattr(link, field) for field in SERVICE_LINK_FIELDS}
        for link in links
        if wanted is None or link.from_service_id in wanted
    ]


def read_taxonomies(session: Session) -> dict[str, Rows]:
    """Every taxonomy and term (the vocabulary, then this profile's own), HSDS ids."""
    connection = session.connection()
    taxonomies = [
        {
            "id": taxonomy_uuid(row.id),
            "name": row.name,
            "description": row.description,
            "uri": row.uri,
            "version": row.version,
        }
        for row in connection.execute(select(Taxonomy.__table__).order_by(Taxonomy.id))
    ]
    names = {row.id: row.name for row in connection.execute(select(Taxonomy.id, Taxonomy.name))}
    terms = [
        {
            "id": term_uuid(row.code),
            "code": row.code,
            "name": row.name,
            "description": row.description,
            "parent_id": term_uuid(row.parent_id) if row.parent_id else None,
            "taxonomy": names.get(row.taxonomy_id),
            "language": "en",
            "taxonomy_id": taxonomy_uuid(row.taxonomy_id),
        }
        for row in connection.execute(select(TaxonomyTerm.__table__).order_by(TaxonomyTerm.code))
    ]
    profile_id = taxonomy_uuid(PROFILE_TAXONOMY)
    taxonomies.append({"id": profile_id, **PROFILE_TAXONOMY_ROW})
    terms.append(
        {
            "id": term_uuid(CONFIDENTIAL_CODE),
            **CONFIDENTIAL_TERM_ROW,
            "parent_id": None,
            "taxonomy": PROFILE_TAXONOMY_ROW["name"],
            "language": "en",
            "taxonomy_id": profile_id,
        }
    )
    return {"taxonomy": taxonomies, "taxonomy_term": terms}


# --- rows ---------------------------------------------------------------------------------

SAL_FIELDS = ("id", "service_id", "location_id", "description")
SERVICE_LINK_FIELDS = (
    "id", "from_service_id", "to_service_id", "link_type", "description", "description_fr",
    "source_url",
)  # fmt: skip
LANGUAGE_FIELDS = ("id", "service_id", "location_id", "name", "code", "note")
IMPORTED, MERGED_IN = "import", "merge"  # metadata's last_action_type of a source record


def _pick(row: dict, fields: Iterable[str]) -> dict:
    return {field: _jsonable(row[field]) for field in fields}


def _jsonable(value: object) -> object:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return value


SERVICE_TEXT = (
    "alternate_name", "description", "interpretation_services", "application_process",
    "eligibility_description", "alert",
)  # fmt: skip
CHILD_TEXT = {
    "service_at_location": ("description",),
    "phone": ("description",),
    "schedule": ("description", "notes"),
    "language": ("note",),
    "service_capacity": ("description",),
}


def organization_row(row: dict, streets: ConfidentialStreets) -> dict:
    """An organization's HSDS row; its text without the address of a confidential location
    it concerns."""
    organization = _pick(row, ("id", "name", "alternate_name", "description", "email", "website"))
    lines = streets.of_organization(row["id"])
    organization["name"] = public_name(row["name"], lines)
    for field in ("alternate_name", "description"):
        organization[field] = without_address(row[field], lines)
    return organization


def _service(row: dict, organization: str, streets: ConfidentialStreets) -> dict:
    """A service's HSDS row; its text without the address of a confidential location it
    concerns."""
    fields = (
        "id", "organization_id", "name", "alternate_name", "description", "url", "email",
        "status", "interpretation_services", "application_process", "eligibility_description",
        "alert",
    )  # fmt: skip
    service = _pick(row, fields)
    service["name"] = streets.names(row["id"], row["organization_id"], row["name"], organization)[0]
    lines = streets.of_service(row["id"], row["organization_id"])
    for field in SERVICE_TEXT:
        service[field] = without_address(service[field], lines)
    service["assured_date"] = _iso_date(row["source_as_of"])
    service["last_modified"] = _jsonable(row["imported_at"])
    return service


def _iso_date(text: str | None) -> str | None:
    """``text`` if it is an ISO date (HSDS ``assured_date``), else None."""
    try:
        return dt.date.fromisoformat(text).isoformat() if text else None
    except ValueError:
        return None


def _phone(row: dict) -> dict:
    phone = _pick(row, ("id", "service_id", "location_id", "organization_id", "number", "type"))
    extension = row["extension"] or ""
    phone["extension"] = int(extension) if extension.isdigit() else None
    phone["description"] = row["description"]
    return phone


def _schedule(row: dict) -> dict:
    fields = (
        "id", "service_id", "location_id", "valid_from", "valid_to", "freq", "byday",
        "opens_at", "closes_at", "description", "notes",
    )  # fmt: skip
    return _pick(row, fields)


def _capacity(row: dict) -> dict:
    fields = ("id", "service_id", "unit", "available", "maximum", "description", "updated")
    return _pick(row, fields)


def _service_area(row: Row) -> dict:
    """A service area: its name, and its ISO 3166 code as ``uri`` (no polygon: ``extent`` and
    ``extent_type`` stay empty)."""
    return {
        "id": row.id,
        "service_id": row.service_id,
        "name": row.name,
        "description": None,
        "extent": None,
        "extent_type": None,
        "uri": area_uri(area_code(row.pruid)),
    }


def _public_locations(
    records: ServiceRecords,
) -> tuple[dict[str, Rows], dict[str, tuple[str | None, ...]]]:
    """Locations, addresses and accessibility notes as the public may see them, and the
    private address lines of the confidential ones, by location id."""
    by_location: dict[str, list[str]] = {}
    for note in records.accessibility:
        by_location.setdefault(note.location_id, []).append(note.description)
    tables: dict[str, Rows] = {"location": [], "address": [], "accessibility": []}
    lines_of = {}
    for row in records.locations.values():
        address = records.addresses.get(row.id)
        public = public_location(row, address, by_location.get(row.id, []))
        lines = lines_of[row.id] = private_lines(row, address)
        tables["location"].append(
            {
                "id": public.id,
                "location_type": row.location_type,
                "organization_id": row.organization_id,
                "name": public.name,
                "alternate_name": without_address(row.alternate_name, lines),
                "description": without_address(row.description, lines),
                "latitude": public.latitude,
                "longitude": public.longitude,
            }
        )
        if public.address is not None and address is not None:
            tables["address"].append(
                {
                    "id": address.id,
                    "location_id": public.id,
                    "address_1": public.address.street,
                    "city": public.address.city,
                    "state_province": public.address.province,
                    "postal_code": public.address.postal_code,
                    "country": address.country,
                    "address_type": address.address_type,
                }
            )
    tables["accessibility"] = [
        {"id": n.id, "location_id": n.location_id, "description": description}
        for n in records.accessibility
        if (description := without_address(n.description, lines_of[n.location_id]))
    ]
    return tables, lines_of


def _attributes(attributes: list[Row]) -> Rows:
    return [
        {
            "id": row.id,
            "link_id": row.link_id,
            "taxonomy_term_id": term_uuid(row.code),
            "link_type": row.link_type,
            "link_entity": row.link_entity,
            "value": row.value,
        }
        for row in attributes
    ]


def _confidential_attributes(locations: Rows, confidential: set[str]) -> Rows:
    return [
        {
            "id": derived_uuid(row["id"], CONFIDENTIAL_CODE),
            "link_id": row["id"],
            "taxonomy_term_id": term_uuid(CONFIDENTIAL_CODE),
            "link_type": "location",
            "link_entity": "location",
            "value": None,
        }
        for row in locations
        if row["id"] in confidential
    ]


def _dicts(rows: list[Row]) -> Rows:
    return [dict(row._mapping) for row in rows]
