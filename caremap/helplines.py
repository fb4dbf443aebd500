"""Services without a location that serve an area (crisis and help lines): those serving a point.

A line serves all of Canada or some provinces and territories (``service_area``). It is never a
place: it has no point, no distance and no rank; a search shows the lines of its origin's
province or territory and the national ones, a browse without an origin the national ones.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session, joinedload

from caremap.jurisdictions import Boundaries
from caremap.model import Service, ServiceArea, Source
from caremap.normalise import PROVINCES, display_phone
from caremap.queries import PublicSchedule
from caremap.reasons import N_, Reason

CANADA = "CA"  # the area code of all of Canada; a province's or territory's is its abbreviation
ABBR_OF_PRUID = {province.pruid: province.abbr for province in PROVINCES.values()}


def area_code(pruid: str | None) -> str:
    """The area code of a service area's ``pruid`` (None: all of Canada)."""
    return ABBR_OF_PRUID[pruid] if pruid else CANADA


def area_fields(code: str) -> dict[str, str | None]:
    """The stored ``name``, ``extent_type`` and ``pruid`` of the area ``code`` (:data:`CANADA`
    or a province's or territory's abbreviation)."""
    province = PROVINCES.get(code)
    if province is None:
        return {"name": "Canada", "extent_type": "country", "pruid": None}
    return {"name": province.name_en, "extent_type": "province", "pruid": province.pruid}


class OutsideCanada(ValueError):
    """The point is in no province or territory: no line serves it."""


@dataclass(frozen=True)
class HelplinePhone:
    number: str  # E.164, or a short number as dialled ("211")
    extension: str
    description: str
    display: str  # as people write it here ("800-265-3333", "2-1-1")


@dataclass(frozen=True)
class Helpline:
    """A line and what a person needs to call it; ``areas`` are the names of the areas it
    serves ("Canada", "Nunavut"), ``pruids`` their codes ('' for all of Canada)."""

    id: str
    name: str
    name_fr: str
    phones: tuple[HelplinePhone, ...]
    url: str
    description: str
    schedules: tuple[PublicSchedule, ...]
    areas: tuple[str, ...]
    pruids: tuple[str, ...]
    source: str
    source_title: str
    licence: str

    @property
    def national(self) -> bool:
        return "" in self.pruids

    def as_json(self) -> dict[str, object]:
        """The line as a JSON object (the ``helplines`` member of the search API)."""
        return {
            "id": self.id,
            "name": self.name,
            "name_fr": self.name_fr or None,
            "phones": [vars(phone) for phone in self.phones],
            "url": self.url or None,
            "description": self.description or None,
            "hours": [s.description for s in self.schedules if s.description],
            "service_area": [
                {"name": name, "pruid": pruid or None}
                for name, pruid in zip(self.areas, self.pruids, strict=True)
            ],
            "source": {"name": self.source, "title": self.source_title, "licence": self.licence},
        }


@dataclass(frozen=True)
class Province:
    """A province or territory: its PRUID and its names in English and French."""

    pruid: str
    name_en: str
    name_fr: str

    def name(self, language: str) -> str:
        return self.name_fr if language == "fr" else self.name_en


@functools.cache  # boundaries are one per process, hashed by identity
def province_named(pruid: str, boundaries: Boundaries) -> Province:
    """The province or territory whose PRUID is ``pruid``."""
    frame = boundaries.provinces.frame
    names = zip(frame["PRUID"], frame["PRENAME"], frame["PRFNAME"], strict=True)
    name_en, name_fr = next((en, fr) for uid, en, fr in names if uid == pruid)
    return Province(pruid, str(name_en), str(name_fr))


def province_of(latitude: float, longitude: float, boundaries: Boundaries) -> str:
    """The PRUID of the province or territory holding (lat, lon); raises :class:`OutsideCanada`."""
    pruids = boundaries.provinces_of(np.array([latitude]), np.array([longitude]))
    if pruids[0] is None:
        raise OutsideCanada(
            Reason(
                N_("%(point)s is outside Canada: no help line serves it."),
                point=f"{latitude:g}, {longitude:g}",
            )
        )
    return str(pruids[0])


def helplines_for(
    session: Session, latitude: float, longitude: float, boundaries: Boundaries
) -> list[Helpline]:
    """The lines serving the point (lat, lon): its province's or territory's, then the national
    ones, each group by name. Raises :class:`OutsideCanada`."""
    return helplines_in(session, province_of(latitude, longitude, boundaries))


def helplines_in(session: Session, pruid: str) -> list[Helpline]:
    """The lines serving the province or territory ``pruid``: its own, then the national ones,
    each group by name."""
    return _lines(session, or_(ServiceArea.pruid == pruid, ServiceArea.pruid.is_(None)), pruid)


def national_helplines(session: Session) -> list[Helpline]:
    """The lines serving all of Canada, by name."""
    return _lines(session, ServiceArea.pruid.is_(None), None)


def _lines(session: Session, served: ColumnElement[bool], pruid: str | None) -> list[Helpline]:
    """The active lines ``served`` picks, with their phones, areas, hours and source, read by
    one statement (the lines are few; a search reads them on every request)."""
    ids = select(ServiceArea.service_id).where(served)
    rows = session.execute(
        select(Service, Source)
        .join(Source, Source.name == Service.source_name)
        .where(Service.id.in_(ids), Service.status == "active")
        .options(
            joinedload(Service.phones),
            joinedload(Service.service_areas),
            joinedload(Service.schedules),
        )
    ).unique()
    lines = [_helpline(service, source) for service, source in rows]
    return sorted(lines, key=lambda line: (pruid is not None and line.national, line.name))


def _helpline(service: Service, source: Source) -> Helpline:
    areas = service.service_areas
    return Helpline(
        id=service.id,
        name=service.name,
        name_fr=service.alternate_name or "",
        phones=tuple(
            HelplinePhone(
                phone.number,
                phone.extension or "",
                phone.description or "",
                display_phone(phone.number),
            )
            for phone in service.phones
        ),
        url=service.url or "",
        description=service.description or "",
        schedules=tuple(
            PublicSchedule(
                s.byday, s.opens_at, s.closes_at, s.valid_from, s.valid_to, s.description
            )
            for s in service.schedules
        ),
        areas=tuple(area.name for area in areas),
        pruids=tuple(area.pruid or "" for area in areas),
        source=source.name,
        source_title=source.title,
        licence=source.licence or "",
    )
