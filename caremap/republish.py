"""What follows every write to services, in the writer's transaction: their published listings
are rebuilt (:mod:`caremap.publish`) and the stored coverage indicators the change can alter are
forgotten (:mod:`caremap.coverage.stored`), with the services' stored supply
(:mod:`caremap.coverage.supply`). Every site that writes services, their children or
their locations calls :func:`services_changed`."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import Connection

from caremap import publish
from caremap.coverage import stored, supply


def services_changed(
    connection: Connection,
    service_ids: Iterable[str] | None,
    *,
    coverage: bool = True,
    data_dir: Path | None = None,
) -> None:
    """Republish the services ``service_ids`` (every one when None) and forget the stored
    coverage indicators they can alter (every one when None; ``data_dir``: where the
    boundaries are, the settings' by default); ``coverage`` False keeps them, for a change no
    indicator reads (an availability count, a verification stamp)."""
    if service_ids is None or not coverage or not stored.any_stored(connection):
        publish.refresh(connection, service_ids)
        if coverage:
            stored.invalidate(connection)
        return
    ids = list(service_ids)
    before = stored.footprints(connection, ids)
    publish.refresh(connection, ids)
    stored.forget(connection, before + stored.footprints(connection, ids), data_dir)
    supply.drop(connection, ids)
