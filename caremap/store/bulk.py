"""Bulk inserts on either store: ``COPY … FROM STDIN`` on PostGIS (psycopg 3), one
``executemany`` of the compiled ``INSERT`` elsewhere. Both write what ``insert(table)`` with the
same rows would: the columns' bind processing (:class:`caremap.model.UtcDateTime`) and scalar
defaults are applied to every row."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Connection, Table, insert


def insert_rows(
    connection: Connection, target: Table | type[Any], rows: Sequence[dict[str, Any]]
) -> None:
    """Insert ``rows`` (dicts with the same keys, by column name) into ``target`` (a table or
    a mapped class) in the connection's transaction."""
    if not rows:
        return
    table = target if isinstance(target, Table) else target.__table__
    if connection.dialect.name == "postgresql" and connection.dialect.driver == "psycopg":
        _copy(connection, table, rows)
    else:
        connection.execute(insert(table), list(rows))


def _copy(connection: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    names = list(rows[0])
    defaults = {
        column.name: column.default.arg  # type: ignore[attr-defined]
        for column in table.columns
        if column.name not in names and column.default is not None and column.default.is_scalar
    }
    columns = [table.columns[name] for name in [*names, *defaults]]
    processors = [column.type._cached_bind_processor(connection.dialect) for column in columns]
    quote = connection.dialect.identifier_preparer.quote
    statement = f"COPY {quote(table.name)} ({', '.join(quote(c.name) for c in columns)}) FROM STDIN"
    fixed = list(defaults.values())
    driver = cast(Any, connection.connection.driver_connection)  # psycopg.Connection
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            values = [*(row[name] for name in names), *fixed]
            copy.write_row(
                [
                    value if process is None or value is None else process(value)
                    for value, process in zip(values, processors, strict=True)
                ]
            )
