"""Bulk inserts on either store: ``COPY … FROM STDIN`` on PostGIS (psycopg 3), one
``executemany`` of a plain ``INSERT`` on SQLite. Both write what ``insert(table)`` with the same
rows would: the columns' bind processing (:class:`caremap.model.UtcDateTime`) and scalar
defaults are applied to every row here, not by SQLAlchemy's statement machinery row by row.

On SQLite, the rows a bulk insert adds to a table whose row trigger counts them are counted at
once (:func:`caremap.store.locations_version.inserts_counted_once`)."""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Column, Connection, Table, TypeDecorator, insert

from caremap.store.locations_version import inserts_counted_once


def insert_rows(
    connection: Connection, target: Table | type[Any], rows: Sequence[dict[str, Any]]
) -> None:
    """Insert ``rows`` (dicts with the same keys, by column name) into ``target`` (a table or
    a mapped class) in the connection's transaction."""
    if rows:
        names = list(rows[0])
        insert_values(connection, target, names, list(map(_picker(names), rows)))


def insert_values(
    connection: Connection,
    target: Table | type[Any],
    names: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    constants: Mapping[str, Any] | None = None,
) -> None:
    """Insert ``rows`` (tuples of the columns ``names``), each with the ``constants`` (values
    by column name, the same in every row: bind-processed once), into ``target`` (a table or
    a mapped class) in the connection's transaction."""
    if not rows:
        return
    table = target if isinstance(target, Table) else target.__table__
    constants = dict(constants or {})
    dialect = connection.dialect
    by_copy = dialect.name == "postgresql" and dialect.driver == "psycopg"
    if not by_copy and dialect.name != "sqlite":  # another driver: SQLAlchemy's own insert
        connection.execute(
            insert(table), [dict(zip(names, row, strict=True)) | constants for row in rows]
        )
        return
    columns = _columns(table, [*names, *constants])
    write = _copy if by_copy else _executemany
    write(connection, table, columns, _values(connection, columns, rows, constants))


def _copy(
    connection: Connection, table: Table, columns: list[Column], values: list[tuple[Any, ...]]
) -> None:
    statement = f"COPY {_quoted(connection, table, columns)} FROM STDIN"
    driver = cast(Any, connection.connection.driver_connection)  # psycopg.Connection
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for row in values:
            copy.write_row(row)


def _executemany(
    connection: Connection, table: Table, columns: list[Column], values: list[tuple[Any, ...]]
) -> None:
    marks = ", ".join("?" * len(columns))
    quoted = _quoted(connection, table, columns)
    statement = f"INSERT INTO {quoted} VALUES ({marks})"  # noqa: S608 - names quoted, values bound
    with inserts_counted_once(connection, table.name, len(values)):
        connection.exec_driver_sql(statement, values)


def _quoted(connection: Connection, table: Table, columns: list[Column]) -> str:
    """``table (column, …)``, quoted as the dialect needs."""
    quote = connection.dialect.identifier_preparer.quote
    return f"{quote(table.name)} ({', '.join(quote(column.name) for column in columns)})"


def _columns(table: Table, names: list[str]) -> list[Column]:
    """The columns named, then those not named that have a scalar default."""
    defaulted = [
        column
        for column in table.columns
        if column.name not in names and column.default is not None and column.default.is_scalar
    ]
    return [*(table.columns[name] for name in names), *defaulted]


def _values(
    connection: Connection,
    columns: list[Column],
    rows: Sequence[tuple[Any, ...]],
    constants: dict[str, Any],
) -> list[tuple[Any, ...]]:
    """Each row's values for ``columns`` (:func:`_columns` of its names and the constants'),
    bind-processed column by column; the constants and scalar defaults once. A decorated
    type's processor (:class:`caremap.model.UtcDateTime`) remembers what it made of each
    value (a load stamps every row with one time); SQLAlchemy's own (float, boolean) are
    cheaper to call than to remember, their values mostly all different."""
    named = len(rows[0])
    processors = [column.type._cached_bind_processor(connection.dialect) for column in columns]
    fixed = tuple(
        value if value is None or process is None else process(value)
        for value, process in zip(
            (_fixed(column, constants) for column in columns[named:]),
            processors[named:],
            strict=True,
        )
    )
    steps = [
        (i, _Memo(process) if isinstance(columns[i].type, TypeDecorator) else process)
        for i, process in enumerate(processors[:named])
        if process is not None
    ]
    if steps:
        by_column: list[Sequence[Any]] = list(zip(*rows, strict=True))
        for i, process in steps:
            by_column[i] = [None if value is None else process(value) for value in by_column[i]]
        rows = list(zip(*by_column, strict=True))
    return [row + fixed for row in rows] if fixed else list(rows)


def _fixed(column: Column, constants: dict[str, Any]) -> Any:
    """The value of a column not named in the rows: a constant's, else its scalar default."""
    if column.name in constants:
        return constants[column.name]
    return column.default.arg  # type: ignore[union-attr]


def _picker(names: list[str]) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    """What gives a row's values of ``names``, as a tuple (``itemgetter``: a third of the time
    of a comprehension)."""
    get = operator.itemgetter(*names)
    return get if len(names) > 1 else lambda row: (get(row),)


class _Memo:
    """A bind processor that remembers what it made of each (hashable) value."""

    def __init__(self, process: Callable[[Any], Any]) -> None:
        self.process = process
        self.made: dict[Any, Any] = {}

    def __call__(self, value: Any) -> Any:
        key = (type(value), value)  # equal values of two types may be written each its way
        try:
            made = self.made.get(key, _UNMADE)
        except TypeError:  # unhashable
            return self.process(value)
        if made is _UNMADE:
            made = self.made[key] = self.process(value)
        return made


_UNMADE = object()
