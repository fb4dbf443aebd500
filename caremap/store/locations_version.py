"""The embedded store's ``store_meta.locations_version``: SQLite triggers (migration 0001) add
one to it for every location row written, and the store rebuilds its point index when it
moves (:mod:`caremap.store.embedded`). A bulk insert counts its rows at once instead."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlalchemy import Connection

_READ = "SELECT value FROM store_meta WHERE key = 'locations_version'"
# The row triggers that only count a table's inserted rows (a location insert moves
# ``locations_version``), by table, and what counts ``count`` rows at once.
_COUNTING_TRIGGERS = {"location": "location_version_insert"}
_COUNT = "UPDATE store_meta SET value = value + ? WHERE key = 'locations_version'"


@contextlib.contextmanager
def inserts_counted_once(connection: Connection, table: str, count: int) -> Iterator[None]:
    """Within (a transaction): ``table``'s counting trigger dropped, if it has one; after, the
    ``count`` rows inserted counted at once, and the trigger made again from its own text (a
    trigger run for each of 10,000 rows took twice the CPU of inserting them)."""
    name = _COUNTING_TRIGGERS.get(table)
    found = None
    if name is not None:
        query = "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?"
        found = connection.exec_driver_sql(query, (name,)).scalar()
    if found is None:
        yield
        return
    connection.exec_driver_sql(f"DROP TRIGGER {name}")
    try:
        yield
    finally:
        connection.exec_driver_sql(_COUNT, (count,))
        connection.exec_driver_sql(found)


def locations_version(connection: Connection) -> int:
    return int(connection.exec_driver_sql(_READ).scalar_one())
