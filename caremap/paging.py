"""Pages of a long list (hundreds of organizations): which rows, and how many pages in all."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

T = TypeVar("T")


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
