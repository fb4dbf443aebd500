"""HSDS objects (as the HSDS API returns them) nested from public tables
(:func:`caremap.hsds.tables.read_tables`). Empty fields are left out, as HSDS's schemas type
them as strings or numbers, never null."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from caremap.hsds.tables import Rows

Object = dict[str, Any]


def clean(row: dict) -> Object:
    """The row without its empty fields."""
    return {key: value for key, value in row.items() if value is not None}


class Nester:
    """Nests the rows of one :func:`read_tables` answer (and the taxonomies) into objects."""

    def __init__(self, tables: dict[str, Rows], taxonomies: dict[str, Rows]) -> None:
        self.tables = tables
        self.by_id = {name: {row["id"]: row for row in rows} for name, rows in tables.items()}
        self.terms = {row["id"]: row for row in taxonomies["taxonomy_term"]}
        self.children: dict[tuple[str, str, str], Rows] = defaultdict(list)
        for name in (
            "phone", "schedule", "language", "service_at_location", "attribute", "service_area",
        ):  # fmt: skip
            for row in tables[name]:
                for key in ("service_id", "location_id", "link_id"):
                    if row.get(key):
                        self.children[(name, key, row[key])].append(row)
        for name in ("address", "accessibility"):
            for row in tables[name]:
                self.children[(name, "location_id", row["location_id"])].append(row)
        for row in tables["location"]:
            self.children[("location", "organization_id", row["organization_id"])].append(row)
        for row in tables["metadata"]:
            self.children[("metadata", "resource_id", row["resource_id"])].append(row)

    def _of(self, table: str, key: str, value: str) -> list[Object]:
        return [clean(row) for row in self.children.get((table, key, value), [])]

    def attributes(self, link_id: str) -> list[Object]:
        found = []
        for row in self.children.get(("attribute", "link_id", link_id), []):
            attribute = clean(row)
            term = self.terms.get(row["taxonomy_term_id"])
            if term is not None:
                attribute["taxonomy_term"] = clean(term)
            found.append(attribute)
        return found

    def organization(self, organization_id: str | None) -> Object | None:
        row = self.by_id["organization"].get(organization_id) if organization_id else None
        return clean(row) if row else None

    def service_list_item(self, service: dict) -> Object:
        """A service with its one-to-one fields and its organization."""
        item = clean(service)
        organization = self.organization(service["organization_id"])
        if organization is not None:
            item["organization"] = organization
        return item

    def service(self, service: dict) -> Object:
        """A fully nested service."""
        sid = service["id"]
        item = self.service_list_item(service)
        item["phones"] = self._of("phone", "service_id", sid)
        item["schedules"] = self._of("schedule", "service_id", sid)
        item["languages"] = self._of("language", "service_id", sid)
        item["service_areas"] = self._of("service_area", "service_id", sid)
        item["service_at_locations"] = [
            self.service_at_location(row, with_service=False)
            for row in self.children.get(("service_at_location", "service_id", sid), [])
        ]
        item["attributes"] = self.attributes(sid)
        item["metadata"] = self._of("metadata", "resource_id", sid)
        return item

    def location(self, location: dict) -> Object:
        """A fully nested location (public point, public address)."""
        lid = location["id"]
        item = clean(location)
        item["addresses"] = self._of("address", "location_id", lid)
        item["accessibility"] = self._of("accessibility", "location_id", lid)
        item["phones"] = self._of("phone", "location_id", lid)
        item["schedules"] = self._of("schedule", "location_id", lid)
        item["languages"] = self._of("language", "location_id", lid)
        item["attributes"] = self.attributes(lid)
        return item

    def service_at_location_list_item(self, link: dict) -> Object:
        item = clean(link)
        item["location"] = clean(self.by_id["location"][link["location_id"]])
        item["service"] = self.service_list_item(self.by_id["service"][link["service_id"]])
        return item

    def service_at_location(self, link: dict, with_service: bool = True) -> Object:
        """A fully nested service_at_location (its service too, unless nested in it)."""
        item = clean(link)
        item["location"] = self.location(self.by_id["location"][link["location_id"]])
        item["attributes"] = self.attributes(link["id"])
        if with_service:
            item["service"] = self.service(self.by_id["service"][link["service_id"]])
        return item

    def organization_full(self, organization: dict, full_service: bool) -> Object:
        """An organization with its services (one-to-one fields, or fully nested) and
        locations."""
        oid = organization["id"]
        item = clean(organization)
        services = [s for s in self.tables["service"] if s["organization_id"] == oid]
        item["services"] = [
            self.service(s) if full_service else self.service_list_item(s) for s in services
        ]
        item["locations"] = [
            self.location(row)
            for row in self.children.get(("location", "organization_id", oid), [])
        ]
        item["attributes"] = self.attributes(oid)
        return item
