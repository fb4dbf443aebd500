"""New stores for tests, copied from templates: each backend migrates a template store (and
fills it, for a world of accounts or the loaded listings) once per session and process, and each
test gets its own copy of one.

- SQLite: the template's file is copied.
- PostGIS: each store is a schema of the test database (on the ``search_path`` before
  ``public``, where PostGIS is). A test gets a migrated schema from a pool, its rows replaced by
  the template's (the tables written to are truncated first: new files, as in a new store);
  afterwards the schema goes back to the pool if its tables, columns, indexes,
  constraints and sequences are still the template's (else it is dropped). A pooled schema was
  made by the migrations, so the app sees exactly the schema they produce.
"""

from __future__ import annotations

import abc
import dataclasses
import graphlib
import hashlib
import sqlite3
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from caremap.store import Store, open_store

# Test stores need not outlive a crash of the server: a commit does not wait for its WAL to
# reach the disk (the rows, constraints and answers are the same; commits are several times
# faster).
NO_FLUSH_WAIT = "-csynchronous_commit=off"
# Fills a migrated store (its URL given, and a folder for reports); returns what tests need of it.
Fill = Callable[[Store, str, Path], Any]
MIGRATED = "migrated"


def _no_fill(_store: Store, _url: str, _reports: Path) -> None:
    return None


class Stores(abc.ABC):
    """The stores of one backend for one test session: new ones, and copies of templates."""

    def __init__(self) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="caremap-templates-")
        self.directory = Path(self._folder.name)
        self._templates: dict[str, tuple[str, Any]] = {}

    @abc.abstractmethod
    def new_url(self, directory: Path) -> str:
        """A URL for a new, empty store (not migrated); :meth:`discard` it after use."""

    @abc.abstractmethod
    def discard(self, url: str) -> None:
        """Remove a store of :meth:`new_url`."""

    def template(self, name: str, fill: Fill = _no_fill) -> tuple[str, Any]:
        """The URL of the template ``name`` (migrated, then filled once by ``fill``) and what
        ``fill`` returned. Tests must not change a template: :meth:`copy` it."""
        if name not in self._templates:
            url = self.new_url(self.directory)
            store = open_store(url)
            try:
                store.upgrade()
                reports = self.directory / f"reports-{name}"
                reports.mkdir()
                self._templates[name] = url, fill(store, url, reports)
            finally:
                store.dispose()
        return self._templates[name]

    @contextmanager
    def copy(self, name: str, directory: Path, fill: Fill = _no_fill) -> Iterator[tuple[str, Any]]:
        """A store of the test's own with the template's content: its URL, and what ``fill``
        returned when it filled the template."""
        template_url, filled = self.template(name, fill)
        url = self._copy(template_url, directory)
        try:
            yield url, filled
        finally:
            self._release(url)

    @abc.abstractmethod
    def _copy(self, template_url: str, directory: Path) -> str: ...

    @abc.abstractmethod
    def _release(self, url: str) -> None: ...

    def close(self) -> None:
        for url, _ in self._templates.values():
            self.discard(url)
        self._templates.clear()
        self._folder.cleanup()


class SqliteStores(Stores):
    """Embedded stores: files; a copy is a copy of the template's file."""

    def new_url(self, directory: Path) -> str:
        return f"sqlite:///{directory / f'{uuid.uuid4().hex[:8]}.sqlite'}"

    def discard(self, url: str) -> None:
        """Files under the test's folder go with it."""

    def _copy(self, template_url: str, directory: Path) -> str:
        """SQLite's online backup: a consistent copy even while a session fixture holds the
        template open (its write-ahead log then exists beside the file)."""
        url = self.new_url(directory)
        with (
            closing(sqlite3.connect(_path(template_url))) as template,
            closing(sqlite3.connect(_path(url))) as copy,
        ):
            template.backup(copy)
        return url

    def _release(self, url: str) -> None:
        """The copy stays in the test's folder, for a look after a failure."""


def _path(url: str) -> str:
    database = make_url(url).database
    assert database, url
    return database


@dataclasses.dataclass(frozen=True)
class _Layout:
    """How to give a schema the rows of another: tables parents first, the columns to copy
    (generated ones are computed), the sequences; and a digest of the schema's definition."""

    tables: list[str]
    columns: dict[str, list[str]]
    sequences: list[str]
    digest: str

    def refill(self, target: str, written: list[str], source: str) -> str:
        """SQL that gives schema ``target`` the rows and sequence values of ``source``.

        The tables of ``target`` ever ``written`` are truncated (new, empty files: rows go in
        where they would in a new store, which tests of the physical order rely on)."""
        statements = []
        if written:
            tables = ", ".join(f"{_q(target)}.{_q(t)}" for t in written)
            statements.append(f"TRUNCATE {tables} CASCADE")
        for table in self.tables:
            columns = ", ".join(_q(c) for c in self.columns[table])
            statements.append(
                f"INSERT INTO {_q(target)}.{_q(table)} ({columns}) OVERRIDING SYSTEM VALUE "
                f"SELECT {columns} FROM {_q(source)}.{_q(table)}"
            )
        statements += [
            f"SELECT setval('{_q(target)}.{_q(s)}', last_value, is_called) "
            f"FROM {_q(source)}.{_q(s)}"
            for s in self.sequences
        ]
        return ";\n".join(statements)


# Everything a migration defines in a schema, one line each, with the schema's name as :schema.
DEFINITION = sa.text("""
SELECT concat_ws(' ', c.relname, c.relkind, array_to_string(c.reloptions, ','))
  FROM pg_class c WHERE c.relnamespace = CAST(:schema AS regnamespace)
UNION ALL
SELECT concat_ws(' ', c.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod),
                 a.attcollation::regcollation, a.attnotnull, a.attgenerated, a.attidentity,
                 a.attstorage, pg_get_expr(d.adbin, d.adrelid))
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE c.relnamespace = CAST(:schema AS regnamespace) AND a.attnum > 0
   AND NOT a.attisdropped
UNION ALL
SELECT concat_ws(' ', conrelid::regclass, conname, pg_get_constraintdef(oid))
  FROM pg_constraint WHERE connamespace = CAST(:schema AS regnamespace)
UNION ALL
SELECT pg_get_indexdef(i.indexrelid)
  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
 WHERE c.relnamespace = CAST(:schema AS regnamespace)
UNION ALL
SELECT concat_ws(' ', t.tgname, pg_get_triggerdef(t.oid))
  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE c.relnamespace = CAST(:schema AS regnamespace) AND NOT t.tgisinternal
UNION ALL
SELECT concat_ws(' ', p.proname, pg_get_function_identity_arguments(p.oid))
  FROM pg_proc p WHERE p.pronamespace = CAST(:schema AS regnamespace)
""")
COLUMNS = sa.text("""
SELECT c.relname, a.attname
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
 WHERE c.relnamespace = CAST(:schema AS regnamespace) AND c.relkind = 'r' AND a.attnum > 0
   AND NOT a.attisdropped AND a.attgenerated = ''
 ORDER BY c.relname, a.attnum
""")
PARENTS = sa.text("""
SELECT conrelid::regclass::text, confrelid::regclass::text
  FROM pg_constraint WHERE connamespace = CAST(:schema AS regnamespace) AND contype = 'f'
""")
# The tables with pages on disk: those a test (or the template's fill) ever wrote to.
WRITTEN = sa.text("""
SELECT relname FROM pg_class
 WHERE relnamespace = CAST(:schema AS regnamespace) AND relkind = 'r'
   AND pg_relation_size(oid) > 0
""")
SEQUENCES = sa.text("SELECT sequencename FROM pg_sequences WHERE schemaname = :schema")


class PostgisStores(Stores):
    """Schemas of the test database; copies are pooled migrated schemas, refilled."""

    def __init__(self, base_url: str) -> None:
        """Raises ``sqlalchemy.exc.OperationalError`` when the server cannot be reached."""
        self.base_url = base_url
        self._engine = sa.create_engine(
            base_url, pool_size=1, connect_args={"options": NO_FLUSH_WAIT}
        )
        with self._engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        super().__init__()
        self._pool: list[str] = []  # URLs of migrated schemas no test uses
        self._layout: _Layout | None = None

    def new_url(self, directory: Path) -> str:
        schema = f"t_{uuid.uuid4().hex[:12]}"
        with self._engine.begin() as connection:
            connection.execute(sa.text(f"CREATE SCHEMA {_q(schema)}"))
        return _schema_url(self.base_url, schema)

    def discard(self, url: str) -> None:
        with self._engine.begin() as connection:
            connection.execute(sa.text(f"DROP SCHEMA IF EXISTS {_q(_schema(url))} CASCADE"))

    def _copy(self, template_url: str, directory: Path) -> str:
        url = self._pool.pop() if self._pool else self._migrated()
        layout = self._layout_of(_schema(template_url))
        target = _schema(url)
        with self._engine.begin() as connection:
            connection.execute(sa.text("SET LOCAL lock_timeout = '10s'"))
            written = list(connection.scalars(WRITTEN, {"schema": target}))
            connection.exec_driver_sql(layout.refill(target, written, _schema(template_url)))
        return url

    def _migrated(self) -> str:
        url = self.new_url(self.directory)
        store = open_store(url)
        try:
            store.upgrade()
        finally:
            store.dispose()
        return url

    def _release(self, url: str) -> None:
        layout = self._layout
        assert layout is not None
        if self._digest(_schema(url)) == layout.digest:
            self._pool.append(url)
        else:
            self.discard(url)

    def close(self) -> None:
        for url in self._pool:
            self.discard(url)
        self._pool.clear()
        super().close()
        self._engine.dispose()

    def _layout_of(self, schema: str) -> _Layout:
        if self._layout is None:
            with self._engine.connect() as connection:
                columns: dict[str, list[str]] = {}
                for table, column in connection.execute(COLUMNS, {"schema": schema}):
                    columns.setdefault(table, []).append(column)
                order = graphlib.TopologicalSorter({table: set() for table in columns})
                for child, parent in connection.execute(PARENTS, {"schema": schema}):
                    if child != parent:
                        order.add(_unqualified(child), _unqualified(parent))
                sequences = list(connection.scalars(SEQUENCES, {"schema": schema}))
            tables = list(order.static_order())
            self._layout = _Layout(tables, columns, sequences, self._digest(schema))
        return self._layout

    def _digest(self, schema: str) -> str:
        with self._engine.connect() as connection:
            lines = connection.scalars(DEFINITION, {"schema": schema})
            text = "\n".join(sorted(line.replace(schema, "<schema>") for line in lines))
        return hashlib.sha256(text.encode()).hexdigest()


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _unqualified(name: str) -> str:
    return name.rsplit(".", 1)[-1].strip('"')


def _schema_url(base_url: str, schema: str) -> str:
    return (
        make_url(base_url)
        .update_query_dict({"options": f"-csearch_path={schema},public {NO_FLUSH_WAIT}"})
        .render_as_string(hide_password=False)
    )


def _schema(url: str) -> str:
    options = make_url(url).query["options"]
    assert isinstance(options, str)
    return options.removeprefix("-csearch_path=").split(",")[0]
