"""Pages of a long list (hundreds of organizations): which rows, and how many pages in all;
and a long list taken in chunks (ids in one SQL ``IN`` list, records inserted at once)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

T = TypeVar("T")
ID_CHUNK = 500  # ids in one SQL IN (...) list


@dataclass(frozen=True)
class Page(Generic[T]):
    """Page ``number`` (from 1) of ``pages``, holding ``items`` of ``total`` in all."""

    items: list[T]
    number: int
    pages: int
    total: int


def page_of(
    session: Session, query: Select[*tuple[Any, ...]], number: int, per_page: int
) -> Page[Any]:
    """The rows of an ordered query on page ``number`` (clamped to the pages there are)."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    pages = max(1, -(-total // per_page))
    number = min(max(1, number), pages)
    rows = session.execute(query.limit(per_page).offset((number - 1) * per_page)).all()
    return Page(list(rows), number, pages, total)


def chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """``items`` in lists of ``size`` (the last one shorter), taken from the iterable as needed."""
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk
