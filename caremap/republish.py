"""What follows every write to services, in the writer's transaction: their published listings
are rebuilt (:mod:`caremap.publish`) and the stored coverage indicators, when the change can
alter one, are forgotten (:mod:`caremap.coverage.stored`). Every site that writes services,
their children or their locations calls :func:`services_changed`."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection

from caremap import publish
from caremap.coverage import stored


def services_changed(
    connection: Connection, service_ids: Iterable[str] | None, *, coverage: bool = True
) -> None:
    """Republish the services ``service_ids`` (every one when None) and forget the stored
    coverage indicators; ``coverage`` False keeps them, for a change no indicator reads (an
    availability count, a verification stamp)."""
    publish.refresh(connection, service_ids)
    if coverage:
        stored.invalidate(connection)
