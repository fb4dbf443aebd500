"""caremap's HSDS 3.0 profile: how the store's tables become Open Referral's Human Services
Data Specification (the API at ``/hsds/`` and ``caremap export hsds``) and back (``etl``).

Ids are UUIDs as HSDS asks: the store's own (UUID 5) for records, and UUID 5 of the code for
taxonomies and terms (the code itself is the term's ``code``). A confidential location is marked
by an ``attribute`` linking it to the term :data:`CONFIDENTIAL_CODE` of this profile's own small
taxonomy, since HSDS has no field for it; its point and address are public ones only.
"""

from __future__ import annotations

import functools
import uuid

from caremap.helplines import CANADA

HSDS_VERSION = "3.0"
NAMESPACE = uuid.UUID("0b6f3d0e-6a52-4c5e-9d1e-2f7a8c4b9e31")
PROFILE_TAXONOMY = "caremap-hsds"
CONFIDENTIAL_CODE = "confidential_location"
PROFILE_TAXONOMY_ROW = {
    "name": "caremap HSDS profile",
    "description": "Terms caremap uses to say in HSDS what HSDS has no field for.",
    "uri": None,
    "version": "1.0",
}
CONFIDENTIAL_TERM_ROW = {
    "code": CONFIDENTIAL_CODE,
    "name": "Confidential location",
    "description": (
        "The location's address is confidential (e.g. a shelter): its point is a "
        "community-level point and its address gives only the city and province."
    ),
}


@functools.lru_cache(maxsize=256)
def taxonomy_uuid(taxonomy_id: str) -> str:
    """The HSDS id of the taxonomy ``taxonomy_id`` (e.g. ``caremap``)."""
    return str(uuid.uuid5(NAMESPACE, f"taxonomy|{taxonomy_id}"))


@functools.lru_cache(maxsize=4096)  # the vocabulary's terms, listed with every HSDS record
def term_uuid(code: str) -> str:
    """The HSDS id of the vocabulary term ``code``."""
    return str(uuid.uuid5(NAMESPACE, f"taxonomy_term|{code}"))


def derived_uuid(record_id: str, kind: str) -> str:
    """The id of a row caremap derives from a record (e.g. the confidentiality attribute)."""
    return str(uuid.uuid5(NAMESPACE, f"{record_id}|{kind}"))


# A service area's ``uri``: its ISO 3166 code, Canada or one province or territory (3166-2).
COUNTRY_URI = "urn:iso:std:iso:3166:CA"
PROVINCE_URI = "urn:iso:std:iso:3166:-2:CA-"


def area_uri(code: str) -> str:
    """The ``uri`` of the service area ``code`` (:data:`caremap.helplines.CANADA`, or a
    province's or territory's abbreviation)."""
    return COUNTRY_URI if code == CANADA else f"{PROVINCE_URI}{code}"
