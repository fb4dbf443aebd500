"""Publishing: (re)build the ``public_listing`` read model from the public read model.

A listing is made only from :func:`caremap.queries.public_services` (so every point and address
went through :mod:`caremap.privacy`) and :func:`caremap.geojson.service_feature`. Whatever
changes services must call :func:`refresh` for them in the same transaction: the ETL does on
every load. The listings also record the :data:`PUBLISH_VERSION` of the code that built them;
when it differs (a new release), :func:`ensure_current` rebuilds every listing
(``Store.upgrade`` calls it, so ``caremap db upgrade`` and every ETL run do).
"""

from __future__ import annotations

from collections.abc import Iterable

import geopandas
import numpy as np
from sqlalchemy import Connection, delete, func, insert, select
from sqlalchemy.orm import Session

from caremap.geojson import service_feature
from caremap.listing import encode, encode_capacities, encode_record, place_of
from caremap.mapcells import maintained
from caremap.model import (
    Location,
    PublicListing,
    PublicListingCode,
    Service,
    ServiceAtLocation,
)
from caremap.paging import chunks
from caremap.privacy import PublicLocation
from caremap.queries import PublicService, public_services
from caremap.readonce import reading_once
from caremap.store.bulk import insert_rows

# The version of the code a listing is made by: this module and every project module it
# imports, directly or not. Bump it when a change there can change a listing; listings of
# another version are rebuilt. tests/test_code_versions.py fails until it is bumped.
PUBLISH_VERSION = 9
CHUNK = 2_000
# The Hilbert curve's extent: the globe, (min lon, min lat, max lon, max lat).
WORLD = (-180.0, -90.0, 180.0, 90.0)


@maintained  # the browse map's stored cells follow the listings
def refresh(connection: Connection, service_ids: Iterable[str] | None = None) -> None:
    """Rebuild the listings of the services ``service_ids`` (every service when None), in the
    connection's transaction; a service that no longer exists loses its listings.

    Listings are written in space order (the Hilbert curve through their public points, by
    chunks of services taken in that order too), so that neighbours share table pages: a
    nearest-first scan then reads a few pages instead of one per candidate (on PostGIS, a
    search's statement took 0.9 ms in a table written in id order, 0.6 ms in space order)."""
    everything = service_ids is None
    if everything:
        connection.execute(delete(PublicListing))
    ids = _in_space_order(connection, None if service_ids is None else set(service_ids))
    with reading_once():  # the merges, confidential streets and sources: none written here
        for chunk in chunks(ids, CHUNK):
            _refresh_chunk(connection, chunk, everything)


def _refresh_chunk(connection: Connection, chunk: list[str], everything: bool) -> None:
    """Rebuild the listings of one chunk of services (their old ones first deleted, unless
    every listing was)."""
    if not everything:
        connection.execute(delete(PublicListing).where(PublicListing.service_id.in_(chunk)))
    with Session(bind=connection) as session:
        services = public_services(session, chunk)
    rows = [
        listing_row(service, position, location)
        for service in services
        for position, location in enumerate(service.locations)
    ]
    if rows:
        curve = _hilbert([r["longitude"] for r in rows], [r["latitude"] for r in rows])
        in_order = [rows[i] for i in np.argsort(curve, kind="stable")]
        insert_rows(connection, PublicListing, in_order)


def _in_space_order(connection: Connection, service_ids: set[str] | None) -> list[str]:
    """The services (every one, or ``service_ids``, existing or not), by the Hilbert curve
    through the mean public point of their locations; those without one last, by id."""
    mean_point = (
        select(
            ServiceAtLocation.service_id,
            func.avg(Location.longitude).label("longitude"),
            func.avg(Location.latitude).label("latitude"),
        )
        .join(Location, Location.id == ServiceAtLocation.location_id)
        .group_by(ServiceAtLocation.service_id)
    )
    if service_ids is None:
        service_ids = set(connection.scalars(select(Service.id)))
    placed = {
        row.service_id: (row.longitude, row.latitude)
        for chunk in chunks(sorted(service_ids), CHUNK)
        for row in connection.execute(mean_point.where(ServiceAtLocation.service_id.in_(chunk)))
    }
    located = sorted(placed)
    order = _hilbert([placed[i][0] for i in located], [placed[i][1] for i in located])
    unplaced = sorted(service_ids - placed.keys())
    return [located[i] for i in np.argsort(order, kind="stable")] + unplaced


def _hilbert(longitudes: list[float], latitudes: list[float]) -> np.ndarray:
    """Distances along the Hilbert curve (geopandas) through (lon, lat) points in EPSG:4326,
    over the whole globe so that any subset sorts as the whole does."""
    if not longitudes:
        return np.array([], dtype=np.uint64)
    points = geopandas.GeoSeries(geopandas.points_from_xy(longitudes, latitudes), crs=4326)
    return points.hilbert_distance(total_bounds=WORLD).to_numpy()


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
        "place": place_of(service, location),
        "feature": encode(feature),
        "capacities": encode_capacities(service.capacities),
        "record": encode_record(service, location),
    }


def is_current(connection: Connection) -> bool:
    """Whether the listings were built by this version of the code."""
    stored = connection.execute(select(PublicListingCode.fingerprint)).scalar()
    return stored == _code_version()


def ensure_current(connection: Connection) -> None:
    """Rebuild every listing if another version of the code built them."""
    if is_current(connection):
        return
    refresh(connection)
    connection.execute(delete(PublicListingCode))
    connection.execute(insert(PublicListingCode).values(fingerprint=_code_version()))


def _code_version() -> str:
    """The ``public_listing_code`` value of this version of the code."""
    return f"publish {PUBLISH_VERSION}"
