"""Reads made once in a unit of work that writes none of them (a web page's GET request, a
publishing pass): the small tables every public read model consults on each call (the merges,
the confidential address lines, the sources). A service's page builds up to four read models
(its own, its next steps', their links'), each consulting them; publishing builds one per chunk
of services. Outside :func:`reading_once` every call reads: a load, an edit or a merge reads
them again after it writes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from sqlalchemy import Connection

T = TypeVar("T")
_reads: ContextVar[dict[tuple[str, Any], Any] | None] = ContextVar("caremap_reads", default=None)


@contextmanager
def reading_once() -> Iterator[None]:
    """Within: each :func:`once` read is made once per store; nothing may be written."""
    token = _reads.set({})
    try:
        yield
    finally:
        _reads.reset(token)


def once(connection: Connection, name: str, read: Callable[[], T]) -> T:
    """``read()``, or within :func:`reading_once` what it returned the first time for this
    ``name`` and store (callers must not change it)."""
    reads = _reads.get()
    if reads is None:
        return read()
    key = (name, connection.engine)
    if key not in reads:
        reads[key] = read()
    found: T = reads[key]
    return found
