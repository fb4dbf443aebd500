"""Load a file of links between services (the continuum of care, :mod:`caremap.links`): each
row names two services by the source and record id they were loaded from, a type
(``refers_to`` or ``receives_from``), a reason in English and French and the page stating it.

A links file is a CSV file whose header has :data:`LINK_COLUMNS`. It is loaded after the
listings, in one transaction: its links replace those it gave before (a link an editor added
stays). A row that cannot be loaded (a service no source has, an unknown type, a repeated link)
is reported with its line and reason, like a listing row.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from caremap.links import LINK_TYPES, delete_links_of_source, service_of_record
from caremap.model import ServiceLink
from caremap.reasons import N_, Reason
from caremap.store import Store
from etl.extract import RowProblem, SourceRow, stream_rows
from etl.load import record_id
from etl.records import RejectedRow

LINK_COLUMNS = (
    "from_source",
    "from_source_id",
    "to_source",
    "to_source_id",
    "link_type",
    "description_en",
    "description_fr",
    "source_url",
)
REQUIRED = LINK_COLUMNS[:5]


def is_links_file(path: Path) -> bool:
    """A CSV file whose header names the link columns."""
    if path.suffix.lower() != ".csv" or not path.is_file():
        return False
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        header = next(csv.reader(handle), [])
    return set(REQUIRED) <= {name.strip() for name in header}


@dataclass
class LinksLoaded:
    """What loading a links file did: links written, and the rows reported."""

    loaded: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)


class _BadRow(ValueError):
    def __init__(self, reason: Reason, column: str = "", value: str = "") -> None:
        super().__init__(reason)
        self.reason, self.column, self.value = reason, column, value


def load_links(store: Store, path: Path, source: str, now: dt.datetime) -> LinksLoaded:
    """Replace the links of ``source`` (the file's name) with the file's good rows."""
    with stream_rows(path) as stream:
        missing = [c for c in REQUIRED if c not in stream.columns]
        if missing:
            raise ValueError(f"{path.name}: no {', '.join(missing)} column")
        items = list(stream.items)
    return load_link_rows(store, items, source, now)


def load_link_rows(
    store: Store,
    items: Sequence[SourceRow | RowProblem],
    source: str,
    now: dt.datetime,
    file: str = "",
) -> LinksLoaded:
    """Replace the links of ``source`` with the good rows of ``items`` (rows of a links
    file, or of the ``file`` of a package), in one transaction."""
    loaded = LinksLoaded()
    with store.session() as session, session.begin():
        delete_links_of_source(session, source)
        kept = _existing_keys(session)
        for item in items:
            if not isinstance(item, SourceRow):
                loaded.rejected.append(RejectedRow(item.line, item.reason, item.values, file))
                continue
            try:
                link = _link(session, item, source, now)
                key = (link.from_service_id, link.to_service_id, link.link_type)
                if key in kept:
                    raise _BadRow(Reason(N_("this link is given already (another row or an edit)")))
            except _BadRow as bad:
                loaded.rejected.append(
                    RejectedRow(item.line, bad.reason, item.values, file, bad.column, bad.value)
                )
                continue
            kept.add(key)
            session.add(link)
            loaded.loaded += 1
    return loaded


def _existing_keys(session: Session) -> set[tuple[str, str, str]]:
    rows = session.execute(
        select(ServiceLink.from_service_id, ServiceLink.to_service_id, ServiceLink.link_type)
    )
    return {tuple(row) for row in rows}  # type: ignore[misc]


def _link(session: Session, row: SourceRow, source: str, now: dt.datetime) -> ServiceLink:
    values = row.values
    for column in REQUIRED:
        if not values.get(column):
            raise _BadRow(Reason(N_("%(column)s is empty"), column=column), column)
    link_type = values["link_type"]
    if link_type not in LINK_TYPES:
        raise _BadRow(
            Reason(
                N_("%(value)s is not a type of link (%(types)s)"),
                value=repr(link_type),
                types=", ".join(LINK_TYPES),
            ),
            "link_type",
            link_type,
        )
    ends = [_service(session, values, end) for end in ("from", "to")]
    if ends[0] == ends[1]:
        raise _BadRow(Reason(N_("a service is not its own next step")))
    key = "|".join(values[c] for c in REQUIRED)
    return ServiceLink(
        id=record_id(source, key, "service_link"),
        from_service_id=ends[0],
        to_service_id=ends[1],
        link_type=link_type,
        description=values.get("description_en") or None,
        description_fr=values.get("description_fr") or None,
        source_url=values.get("source_url") or None,
        updated_at=now,
        source_name=source,
        source_record_id=key[:200],
        source_as_of=None,
        imported_at=now,
    )


def _service(session: Session, values: dict[str, str], end: str) -> str:
    source, source_id = values[f"{end}_source"], values[f"{end}_source_id"]
    found = service_of_record(session, source, source_id)
    if found is None:
        raise _BadRow(
            Reason(
                N_("no service was loaded from %(source)s record %(record)s"),
                source=repr(source),
                record=repr(source_id),
            ),
            f"{end}_source_id",
            source_id,
        )
    return found
