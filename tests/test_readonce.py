"""A GET request reads the merges, the confidential address lines and the sources once
(:mod:`caremap.readonce`); outside one, each call reads the store as it is then."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import event

from caremap.readonce import once, reading_once
from tests.test_matching import service_id_of

# What each read once selects from (its statement's FROM clause).
READ_ONCE = {
    "merges": "FROM listing_match",
    "sources": "FROM source",
    "confidential streets": "FROM location JOIN address",
}


def statements_of(engine, act: Callable[[], object]) -> list[str]:
    """The SQL statements ``engine`` runs while ``act()`` runs."""
    statements: list[str] = []

    def record(connection, cursor, statement, parameters, context, executemany):
        statements.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", record)
    try:
        act()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return statements


@pytest.mark.parametrize(
    ("page", "reads"),
    [
        ("/services/{}", set(READ_ONCE)),
        ("/services/{}/print", set(READ_ONCE)),
        ("/hsds/services/{}", {"merges", "confidential streets"}),  # HSDS names no source
    ],
)
def test_a_page_reads_the_merges_streets_and_sources_once(app, client, loaded_store, page, reads):
    """A service's page builds its public view, its next steps and their links (each of
    which consults the merges and the confidential address lines), and reads each once."""
    url = page.format(service_id_of(loaded_store, "confidential_listings", "TEST-SAFE-1"))
    responses = []
    engine = app.extensions["caremap_store"].engine
    statements = statements_of(engine, lambda: responses.append(client.get(url)))
    assert responses[0].status_code == 200
    for name, found in READ_ONCE.items():
        assert sum(found in statement for statement in statements) == (name in reads), name


def test_outside_reading_once_every_call_reads(loaded_store, empty_store):
    reads: list[str] = []

    def read(name: str) -> Callable[[], str]:
        return lambda: reads.append(name) or name

    with loaded_store.engine.connect() as loaded, empty_store.engine.connect() as empty:
        assert [once(loaded, "x", read("loaded")) for _ in range(2)] == ["loaded"] * 2
        assert reads == ["loaded", "loaded"]
        reads.clear()
        with reading_once():
            for _ in range(2):
                assert once(loaded, "x", read("loaded")) == "loaded"
                assert once(loaded, "y", read("loaded y")) == "loaded y"
                assert once(empty, "x", read("empty")) == "empty"  # each store its own
        assert reads == ["loaded", "loaded y", "empty"]
        assert once(loaded, "x", read("again")) == "again"
