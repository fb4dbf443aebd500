"""What a source claims to list completely: for which service types, in which jurisdictions.

A sidecar (``NAME.source.toml``) declares it as tables::

    [[coverage]]
    jurisdictions = ["census_division:3520"]          # level:code, see data/jurisdictions.toml
    service_types = ["emergency_shelter", "drop_in"]  # service_type codes, data/vocabulary

The ``source`` table stores the same tables as JSON; the planner reads them as (jurisdiction,
service type) pairs (:func:`claimed_pairs`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

OLD_FORM = (
    'coverage = ["level:code", ...] (a bare list of jurisdictions) is no longer read: it '
    "claimed every service type. Declare [[coverage]] tables with jurisdictions = [...] and "
    "service_types = [...]"
)


@dataclass(frozen=True)
class CoverageClaim:
    """Jurisdictions ("level:code") whose services of these types a source lists completely."""

    jurisdictions: tuple[str, ...]
    service_types: tuple[str, ...]

    def as_dict(self) -> dict[str, list[str]]:
        return {
            "jurisdictions": list(self.jurisdictions),
            "service_types": list(self.service_types),
        }


def parse_claims(raw: object, source: str) -> tuple[CoverageClaim, ...]:
    """The ``coverage`` tables of a sidecar; ValueError naming the source and the fault."""
    if not isinstance(raw, list):
        raise ValueError(f"source {source!r}: coverage must be a list of [[coverage]] tables")
    return tuple(_claim(entry, source) for entry in raw)


def _claim(entry: object, source: str) -> CoverageClaim:
    if isinstance(entry, str):
        raise ValueError(f"source {source!r}: {OLD_FORM}")
    if not isinstance(entry, dict) or set(entry) != {"jurisdictions", "service_types"}:
        raise ValueError(
            f"source {source!r}: each [[coverage]] table has exactly jurisdictions = [...] and "
            f"service_types = [...], not {entry!r}"
        )
    lists = {key: entry[key] for key in ("jurisdictions", "service_types")}
    for key, values in lists.items():
        if (
            not values
            or not isinstance(values, list)
            or not all(isinstance(v, str) for v in values)
        ):
            raise ValueError(
                f"source {source!r}: coverage {key} must be a non-empty list of codes, "
                f"not {values!r}"
            )
    return CoverageClaim(tuple(lists["jurisdictions"]), tuple(lists["service_types"]))


def dump_claims(claims: tuple[CoverageClaim, ...]) -> str:
    """The JSON stored in ``source.coverage``."""
    return json.dumps([claim.as_dict() for claim in claims])


def claimed_pairs(stored: str | None) -> set[tuple[str, str]]:
    """(jurisdiction, service type) pairs of a stored ``source.coverage``. A jurisdiction
    stored in the bare-list form (by a store loaded before claims had types) claims nothing
    until the next ``caremap etl run`` stores the sidecar's tables."""
    return {
        (jurisdiction, service_type)
        for claim in json.loads(stored or "[]")
        if isinstance(claim, dict)
        for jurisdiction in claim["jurisdictions"]
        for service_type in claim["service_types"]
    }
