"""Publishing: (re)build the ``public_listing`` read model from the public read model.

A listing is made only from :func:`caremap.queries.public_services` (so every point and address
went through :mod:`caremap.privacy`) and :func:`caremap.geojson.service_feature`. Whatever
changes services must call :func:`refresh` for them in the same transaction: the ETL does on
every load. The listings also record a fingerprint of the code that builds them; when it
changes (a new release), :func:`ensure_current` rebuilds every listing (``Store.upgrade`` calls
it, so ``caremap db upgrade`` and every ETL run do).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import Connection, delete, insert, select
from sqlalchemy.orm import Session

from caremap.geojson import service_feature
from caremap.listing import encode, encode_capacities, encode_record
from caremap.model import PublicListing, PublicListingCode
from caremap.privacy import PublicLocation
from caremap.queries import PublicService, public_services

PACKAGE = Path(__file__).resolve().parent
CODE = [
    PACKAGE / f"{name}.py"
    for name in ("geojson", "listing", "model", "normalise", "privacy", "publish", "queries")
]
CHUNK = 2_000


@functools.cache
def code_fingerprint() -> str:
    """A digest of the code a listing is made by."""
    digest = hashlib.sha256()
    for path in CODE:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def refresh(connection: Connection, service_ids: Iterable[str] | None = None) -> None:
    """Rebuild the listings of the services ``service_ids`` (every service when None), in the
    connection's transaction; a service that no longer exists loses its listings."""
    ids = None if service_ids is None else sorted(set(service_ids))
    if ids == []:
        return
    chunks = [None] if ids is None else [ids[i : i + CHUNK] for i in range(0, len(ids), CHUNK)]
    for chunk in chunks:
        stale = delete(PublicListing)
        if chunk is not None:
            stale = stale.where(PublicListing.service_id.in_(chunk))
        connection.execute(stale)
        with Session(bind=connection) as session:
            services = public_services(session, chunk)
        rows = [
            listing_row(service, position, location)
            for service in services
            for position, location in enumerate(service.locations)
        ]
        if rows:
            connection.execute(insert(PublicListing), rows)


def listing_row(service: PublicService, position: int, location: PublicLocation) -> dict:
    """The ``public_listing`` row of a service at one of its (public) locations."""
    feature = service_feature(service, location)
    return {
        "id": feature["id"],
        "service_id": service.id,
        "location_id": location.id,
        "position": position,
        "service_name": service.name,
        "latitude": location.latitude,
        "longitude": location.longitude,
        "confidential": location.confidential,
        "feature": encode(feature),
        "capacities": encode_capacities(service.capacities),
        "record": encode_record(service, location),
    }


def is_current(connection: Connection) -> bool:
    """Whether the listings were built by this code."""
    stored = connection.execute(select(PublicListingCode.fingerprint)).scalar()
    return stored == code_fingerprint()


def ensure_current(connection: Connection) -> None:
    """Rebuild every listing if another version of the code built them."""
    if is_current(connection):
        return
    refresh(connection)
    connection.execute(delete(PublicListingCode))
    connection.execute(insert(PublicListingCode).values(fingerprint=code_fingerprint()))
