"""The directory's data model: HSDS 3.0 tables and names, plus provenance, verification,
confidentiality and jurisdiction.

Coordinates are WGS84 (EPSG:4326) degrees. ``location.latitude``/``location.longitude`` hold the
**public point** (HSDS's fields, what every public output shows); ``private_latitude`` /
``private_longitude`` hold the exact point, which differs from the public one only for a
confidential location (see :mod:`caremap.privacy`). On PostGIS a migration adds a generated
``geog`` geography column over the public point, with a GiST index.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[dt.datetime]):
    """An aware UTC datetime on every store (SQLite keeps no offset: it is restored on read)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: caremap stores aware UTC times")
        return value.astimezone(dt.UTC)

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value


Id = String(64)


def parent_fk(column: str) -> ForeignKey:
    """A foreign key to the row this one belongs to: deleting that row deletes this one."""
    return ForeignKey(column, ondelete="CASCADE")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Provenance:
    """Where a record came from: its source, its id there, the source's as-of date, load time."""

    source_name: Mapped[str] = mapped_column(String(100), index=True)
    source_record_id: Mapped[str] = mapped_column(String(200))
    source_as_of: Mapped[str | None] = mapped_column(String(50))
    imported_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class Source(Base):
    """A data source: one input file or feed, with the licence and attribution it requires."""

    __tablename__ = "source"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    licence: Mapped[str | None] = mapped_column(Text)
    attribution: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    # JSON list of "level:code" jurisdictions the source covers completely, e.g.
    # ["census_division:3520"]: elsewhere an absence of its services means "no data".
    coverage: Mapped[str | None] = mapped_column(Text)
    loaded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class SourceRecord(Base):
    """One row of a source as last loaded. ``raw_hash`` (the row's text and the pipeline's
    code and reference data) lets a re-run skip an unchanged row before transforming it;
    ``content_hash`` (the normalised record) decides whether anything is written."""

    __tablename__ = "source_record"

    source_name: Mapped[str] = mapped_column(
        ForeignKey("source.name", ondelete="CASCADE"), primary_key=True
    )
    source_record_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    raw_hash: Mapped[str | None] = mapped_column(String(64))
    warnings: Mapped[str | None] = mapped_column(Text)  # JSON list of the row's warnings
    line: Mapped[int] = mapped_column(Integer)
    loaded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class Organization(Provenance, Base):
    __tablename__ = "organization"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    alternate_name: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    email: Mapped[str | None] = mapped_column(Text)
    website: Mapped[str | None] = mapped_column(Text)
    last_verified_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())

    services: Mapped[list[Service]] = relationship(back_populates="organization")


class Service(Provenance, Base):
    __tablename__ = "service"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organization.id"), index=True)
    name: Mapped[str] = mapped_column(Text)
    alternate_name: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="active")
    interpretation_services: Mapped[str | None] = mapped_column(Text)
    application_process: Mapped[str | None] = mapped_column(Text)
    eligibility_description: Mapped[str | None] = mapped_column(Text)
    alert: Mapped[str | None] = mapped_column(Text)
    last_verified_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())

    organization: Mapped[Organization] = relationship(back_populates="services")
    service_at_locations: Mapped[list[ServiceAtLocation]] = relationship(back_populates="service")
    phones: Mapped[list[Phone]] = relationship(order_by="Phone.id")
    schedules: Mapped[list[Schedule]] = relationship(order_by="Schedule.id")
    languages: Mapped[list[Language]] = relationship(order_by="Language.id")
    capacities: Mapped[list[ServiceCapacity]] = relationship(order_by="ServiceCapacity.id")
    service_areas: Mapped[list[ServiceArea]] = relationship(order_by="ServiceArea.id")
    links: Mapped[list[ServiceLink]] = relationship(
        foreign_keys="ServiceLink.from_service_id", order_by="ServiceLink.id"
    )


class Location(Provenance, Base):
    __tablename__ = "location"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organization.id"), index=True)
    name: Mapped[str | None] = mapped_column(Text)
    alternate_name: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    location_type: Mapped[str] = mapped_column(String(20), default="physical")
    confidential: Mapped[bool] = mapped_column(Boolean, default=False)
    # Public point (lat, lon in EPSG:4326): exact, or generalised when confidential.
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    public_point_rule: Mapped[str] = mapped_column(String(20))
    # Exact point (lat, lon in EPSG:4326). Private for a confidential location.
    private_latitude: Mapped[float] = mapped_column(Float)
    private_longitude: Mapped[float] = mapped_column(Float)
    geocode_precision: Mapped[str] = mapped_column(String(30))
    geocode_matched: Mapped[str | None] = mapped_column(Text)
    pruid: Mapped[str | None] = mapped_column(String(2), index=True)
    cduid: Mapped[str | None] = mapped_column(String(4), index=True)
    timezone: Mapped[str | None] = mapped_column(String(40))  # IANA, for "open now"
    last_verified_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())

    addresses: Mapped[list[Address]] = relationship(order_by="Address.id")
    accessibility: Mapped[list[Accessibility]] = relationship(order_by="Accessibility.id")


class ServiceAtLocation(Provenance, Base):
    __tablename__ = "service_at_location"
    __table_args__ = (UniqueConstraint("service_id", "location_id"),)

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    service_id: Mapped[str] = mapped_column(parent_fk("service.id"), index=True)
    location_id: Mapped[str] = mapped_column(parent_fk("location.id"), index=True)
    description: Mapped[str | None] = mapped_column(Text)

    service: Mapped[Service] = relationship(back_populates="service_at_locations")
    location: Mapped[Location] = relationship()


class ServiceArea(Provenance, Base):
    """HSDS service_area: a province or territory (``pruid``), or all of Canada (``pruid``
    None), that a service without a location serves (a crisis or help line)."""

    __tablename__ = "service_area"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    service_id: Mapped[str] = mapped_column(parent_fk("service.id"), index=True)
    name: Mapped[str] = mapped_column(Text)
    extent_type: Mapped[str] = mapped_column(String(20))  # "country" or "province"
    pruid: Mapped[str | None] = mapped_column(String(2), index=True)


class ServiceLink(Provenance, Base):
    """A usual next step of the continuum of care (a caremap extension to HSDS 3.0): the
    service ``from_service_id`` refers people to (``refers_to``) or receives them from
    (``receives_from``) the service ``to_service_id``, with a short reason in English and
    French and the page that states it (``source_url``)."""

    __tablename__ = "service_link"
    __table_args__ = (UniqueConstraint("from_service_id", "to_service_id", "link_type"),)

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    from_service_id: Mapped[str] = mapped_column(parent_fk("service.id"), index=True)
    to_service_id: Mapped[str] = mapped_column(parent_fk("service.id"), index=True)
    link_type: Mapped[str] = mapped_column(String(20))  # "refers_to" or "receives_from"
    description: Mapped[str | None] = mapped_column(Text)
    description_fr: Mapped[str | None] = mapped_column(Text)
    source_url: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class Address(Provenance, Base):
    """A street address. For a confidential location ``address_1``/``address_2``/``postal_code``
    are private: public outputs show only city and province (see :mod:`caremap.privacy`)."""

    __tablename__ = "address"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    location_id: Mapped[str] = mapped_column(parent_fk("location.id"), index=True)
    attention: Mapped[str | None] = mapped_column(Text)
    address_1: Mapped[str] = mapped_column(Text, default="")
    address_2: Mapped[str | None] = mapped_column(Text)
    city: Mapped[str] = mapped_column(Text, default="")
    region: Mapped[str | None] = mapped_column(Text)
    state_province: Mapped[str] = mapped_column(String(2))
    postal_code: Mapped[str] = mapped_column(String(7), default="")
    country: Mapped[str] = mapped_column(String(2), default="CA")
    address_type: Mapped[str] = mapped_column(String(20), default="physical")


class Phone(Provenance, Base):
    __tablename__ = "phone"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    service_id: Mapped[str | None] = mapped_column(parent_fk("service.id"), index=True)
    location_id: Mapped[str | None] = mapped_column(parent_fk("location.id"), index=True)
    organization_id: Mapped[str | None] = mapped_column(ForeignKey("organization.id"))
    number: Mapped[str] = mapped_column(String(30))
    extension: Mapped[str | None] = mapped_column(String(20))
    type: Mapped[str | None] = mapped_column(String(20))
    description: Mapped[str | None] = mapped_column(Text)


class Schedule(Provenance, Base):
    """Opening hours as an RFC 5545-style rule; ``valid_from``/``valid_to`` carry seasons."""

    __tablename__ = "schedule"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    service_id: Mapped[str | None] = mapped_column(parent_fk("service.id"), index=True)
    location_id: Mapped[str | None] = mapped_column(parent_fk("location.id"), index=True)
    valid_from: Mapped[dt.date | None] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)
    freq: Mapped[str | None] = mapped_column(String(10))
    byday: Mapped[str | None] = mapped_column(String(40))
    opens_at: Mapped[dt.time | None] = mapped_column(Time)
    closes_at: Mapped[dt.time | None] = mapped_column(Time)
    description: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)


class Language(Provenance, Base):
    __tablename__ = "language"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    service_id: Mapped[str | None] = mapped_column(parent_fk("service.id"), index=True)
    location_id: Mapped[str | None] = mapped_column(parent_fk("location.id"), index=True)
    name: Mapped[str | None] = mapped_column(Text)
    code: Mapped[str | None] = mapped_column(String(10))
    note: Mapped[str | None] = mapped_column(Text)


class Accessibility(Provenance, Base):
    __tablename__ = "accessibility"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    location_id: Mapped[str] = mapped_column(parent_fk("location.id"), index=True)
    description: Mapped[str | None] = mapped_column(Text)
    details: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)


class ServiceCapacity(Provenance, Base):
    """HSDS 3.1 service_capacity: how many of ``unit`` are available now, out of ``maximum``."""

    __tablename__ = "service_capacity"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    service_id: Mapped[str] = mapped_column(parent_fk("service.id"), index=True)
    unit: Mapped[str] = mapped_column(String(30))
    available: Mapped[int | None] = mapped_column(Integer)
    maximum: Mapped[int | None] = mapped_column(Integer)
    description: Mapped[str | None] = mapped_column(Text)
    updated: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class Taxonomy(Base):
    __tablename__ = "taxonomy"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    uri: Mapped[str | None] = mapped_column(Text)
    version: Mapped[str | None] = mapped_column(String(20))


class TaxonomyTerm(Base):
    """A vocabulary term; ``name``/``description`` are English, the ``_fr`` columns French."""

    __tablename__ = "taxonomy_term"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    taxonomy_id: Mapped[str] = mapped_column(ForeignKey("taxonomy.id"))
    facet: Mapped[str] = mapped_column(String(30), index=True)
    name: Mapped[str] = mapped_column(Text)
    name_fr: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    description_fr: Mapped[str] = mapped_column(Text)
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("taxonomy_term.id"))


class Attribute(Base):
    """Links a taxonomy term to a record (HSDS ``attribute``): service types, populations, …"""

    __tablename__ = "attribute"
    __table_args__ = (UniqueConstraint("link_id", "taxonomy_term_id"),)

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    link_id: Mapped[str] = mapped_column(Id, index=True)
    link_type: Mapped[str] = mapped_column(String(30))
    link_entity: Mapped[str] = mapped_column(String(30))
    taxonomy_term_id: Mapped[str] = mapped_column(ForeignKey("taxonomy_term.id"), index=True)
    value: Mapped[str | None] = mapped_column(Text)
    source_name: Mapped[str] = mapped_column(String(100), index=True)


class Jurisdiction(Base):
    """A province/territory (``level='province'``, PRUID) or census division (``'census_division'``,
    CDUID), with its population and outline from the bundled boundaries. The outline (EPSG:4326,
    WKB) is simplified for display; point-in-polygon assignment uses the full boundary files."""

    __tablename__ = "jurisdiction"

    level: Mapped[str] = mapped_column(String(30), primary_key=True)
    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name_en: Mapped[str] = mapped_column(Text)
    name_fr: Mapped[str] = mapped_column(Text)
    parent_code: Mapped[str | None] = mapped_column(String(20))
    population_2016: Mapped[int | None] = mapped_column(Integer)
    population_2021: Mapped[int | None] = mapped_column(Integer)
    outline_wkb: Mapped[bytes] = mapped_column(LargeBinary)


class CoverageIndicator(Base):
    """A stored coverage indicator (``caremap coverage build``): one jurisdiction under one
    standard selection. ``service_type``/``population_served`` are ``''`` for "all" and
    ``month`` is 0 for "any month"; the 2SFCA uses services as supply and a 50 km catchment.
    ``as_of`` is the date month availability was judged on."""

    __tablename__ = "coverage_indicator"

    level: Mapped[str] = mapped_column(String(30), primary_key=True)
    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    service_type: Mapped[str] = mapped_column(String(60), primary_key=True)
    population_served: Mapped[str] = mapped_column(String(60), primary_key=True)
    month: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(10))
    people: Mapped[int] = mapped_column(Integer)
    services: Mapped[int] = mapped_column(Integer)
    beds: Mapped[int] = mapped_column(Integer)
    services_per_100k: Mapped[float | None] = mapped_column(Float)
    beds_per_10k: Mapped[float | None] = mapped_column(Float)
    share_beyond_10km: Mapped[float | None] = mapped_column(Float)
    share_beyond_25km: Mapped[float | None] = mapped_column(Float)
    share_beyond_50km: Mapped[float | None] = mapped_column(Float)
    share_beyond_100km: Mapped[float | None] = mapped_column(Float)
    share_beyond_250km: Mapped[float | None] = mapped_column(Float)
    access_score: Mapped[float | None] = mapped_column(Float)
    as_of: Mapped[dt.date] = mapped_column(Date)
    computed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class CoverageSupply(Base):
    """A published listing's public point as stored coverage counts it, with what the
    selections read of its service (:mod:`caremap.coverage.supply`): kept by ``caremap coverage
    build`` and dropped with its service's listings. ``service_types`` and ``populations`` are
    codes separated by spaces; ``seasons`` JSON, the (valid from, valid to) of each seasonal
    rule of its hours."""

    __tablename__ = "coverage_supply"

    listing_id: Mapped[str] = mapped_column(String(130), primary_key=True)
    service_id: Mapped[str] = mapped_column(Id, index=True)
    position: Mapped[int] = mapped_column(Integer)  # among the service's locations
    service_name: Mapped[str] = mapped_column(Text)
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    beds: Mapped[int] = mapped_column(Integer)
    service_types: Mapped[str] = mapped_column(Text)
    populations: Mapped[str] = mapped_column(Text)
    seasons: Mapped[str] = mapped_column(Text)


class AppUser(Base):
    """A person who signs in: an ``admin``, a ``moderator``, or an ``editor`` of the
    organizations in ``user_organization`` (see :mod:`caremap.accounts`)."""

    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lower-case
    password_hash: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(Text, default="")
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)  # since the last sign-in
    # Part of every session's id (see :mod:`caremap.accounts`): one more ends every session.
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class FailedAttempt(Base):
    """A failed attempt at a form that checks a secret (sign-in, password change, reset link),
    counted per client address and per (``account``, address) pair by
    :mod:`caremap.attempts`. ``account`` is a digest of what was tried (an e-mail address, an
    account id, a reset link), never the text itself. Kept no longer than the longest limit."""

    __tablename__ = "failed_attempt"
    __table_args__ = (Index("ix_failed_attempt_address_at", "address", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    address: Mapped[str] = mapped_column(String(45))  # IPv4 or IPv6, as the server sees it
    account: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), index=True)


class ProblemReport(Base):
    """Someone said a listing is wrong (see :mod:`caremap.reports`): what is wrong (``kind``)
    and what they typed, nothing about who they are. ``open`` until a moderator marks it
    ``resolved`` or ``dismissed``. No foreign key to the service: a report outlives the ETL's
    reloading of its listing."""

    __tablename__ = "problem_report"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    service_id: Mapped[str] = mapped_column(Id, index=True)
    kind: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    status: Mapped[str] = mapped_column(String(20), index=True)
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class ReportSubmission(Base):
    """When a report came from a client, to limit reports per client: ``client`` is a keyed
    digest of the client's address (not reversible without the app's secret key), never the
    address; not linked to the report. Kept no longer than the limit's window."""

    __tablename__ = "report_submission"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), index=True)


class UserOrganization(Base):
    """An editor may edit this organization. Goes with the organization when the ETL
    removes it."""

    __tablename__ = "user_organization"

    user_id: Mapped[int] = mapped_column(parent_fk("app_user.id"), primary_key=True)
    organization_id: Mapped[str] = mapped_column(
        parent_fk("organization.id"), primary_key=True, index=True
    )


class ChangeSet(Base):
    """Edits to one record proposed together (see :mod:`caremap.changes`): ``pending`` until a
    moderator approves or rejects them. The record is ``record_type`` (``service``,
    ``location`` or ``organization``) ``record_id``; ``service_id`` is set for a service's
    edits only. ``action`` is ``update``, or ``revert`` (of a history entry). No foreign keys:
    a change set outlives the ETL's reloading of its record."""

    __tablename__ = "change_set"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organization_id: Mapped[str] = mapped_column(Id, index=True)
    record_type: Mapped[str] = mapped_column(String(30))
    record_id: Mapped[str] = mapped_column(Id, index=True)
    service_id: Mapped[str | None] = mapped_column(Id, index=True)
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("app_user.id", ondelete="SET NULL"), index=True
    )
    action: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    status: Mapped[str] = mapped_column(String(20), index=True)
    comment: Mapped[str] = mapped_column(Text, default="")  # the moderator's
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())

    changes: Mapped[list[Change]] = relationship(
        order_by="Change.id", cascade="all, delete-orphan", back_populates="change_set"
    )


class Change(Base):
    """One field of one record, from ``old_value`` to ``new_value`` (both JSON)."""

    __tablename__ = "change"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    change_set_id: Mapped[int] = mapped_column(parent_fk("change_set.id"), index=True)
    resource_type: Mapped[str] = mapped_column(String(30))  # the table
    resource_id: Mapped[str] = mapped_column(Id)
    field_name: Mapped[str] = mapped_column(String(60))
    old_value: Mapped[str] = mapped_column(Text)
    new_value: Mapped[str] = mapped_column(Text)

    change_set: Mapped[ChangeSet] = relationship(back_populates="changes")


class HistoryEntry(Base):
    """Field-level history, shaped like HSDS 3.0's ``metadata`` object; values are JSON.
    ``service_id`` (the record's service, for showing it; None for an organization's or a
    location's own fields), ``user_id`` and ``change_set_id`` are caremap's additions.
    ``last_action_type`` is ``update``, ``revert``, ``capacity`` or ``verify``."""

    __tablename__ = "metadata"
    __table_args__ = (Index("ix_metadata_resource", "resource_type", "resource_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_id: Mapped[str] = mapped_column(Id)
    resource_type: Mapped[str] = mapped_column(String(30))
    service_id: Mapped[str | None] = mapped_column(Id, index=True)
    last_action_date: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    last_action_type: Mapped[str] = mapped_column(String(20))
    field_name: Mapped[str] = mapped_column(String(60))
    previous_value: Mapped[str] = mapped_column(Text)
    replacement_value: Mapped[str] = mapped_column(Text)
    updated_by: Mapped[str] = mapped_column(Text)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    change_set_id: Mapped[int | None] = mapped_column(
        ForeignKey("change_set.id", ondelete="SET NULL")
    )


class PublicListing(Base):
    """A read model: one service at one location as published, built only by
    :mod:`caremap.publish` from the public read model (so through :mod:`caremap.privacy`).
    (``latitude``, ``longitude``) is the public point; on PostGIS migration 0005 adds a
    generated ``geog`` over it with a GiST index, for nearest-first search."""

    __tablename__ = "public_listing"
    # The browse map's grid reads a view from this index alone (caremap.mapgrid). Migration 0023
    # adds ix_public_listing_by_name, in caremap.listing.by_name order (by code point).
    __table_args__ = (
        Index("ix_public_listing_point", "latitude", "longitude", "id", "service_id"),
    )

    id: Mapped[str] = mapped_column(String(130), primary_key=True)  # "service_id@location_id"
    service_id: Mapped[str] = mapped_column(parent_fk("service.id"), index=True)
    location_id: Mapped[str] = mapped_column(parent_fk("location.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # among the service's locations
    service_name: Mapped[str] = mapped_column(Text)
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    confidential: Mapped[bool] = mapped_column(Boolean)
    # A public listing placed at an address: its organization, case and spacing folded (a
    # search groups such listings into places); NULL for any other (caremap.listing.place_of).
    place: Mapped[str | None] = mapped_column(Text)
    feature: Mapped[str] = mapped_column(Text)  # GeoJSON Feature, without per-search members
    capacities: Mapped[str] = mapped_column(Text)  # JSON: those with a count and a time
    record: Mapped[str] = mapped_column(Text)  # JSON: the public service and location


class MapMember(Base):
    """A published listing's public point as the browse map's stored grid counts it
    (:mod:`caremap.mapcells`); kept apart from ``public_listing`` so that the cells a listing
    leaves are known after the listing is gone. (``x``, ``y``) is its cell at the finest stored
    zoom, ``timezone`` its location's (the default one when it has none); ``weekly`` and
    ``seasonal`` say whether it has weekly hours and seasonal dates (:mod:`caremap.mapmembers`,
    for the map's time filters)."""

    __tablename__ = "map_member"
    __table_args__ = (
        Index("ix_map_member_point", "latitude", "longitude"),
        # a filtered view reads its range of cells from this index alone (caremap.mapfilters)
        Index("ix_map_member_cell", "y", "x", "latitude", "longitude", "id", "weekly", "seasonal"),
    )

    id: Mapped[str] = mapped_column(String(130), primary_key=True)  # the listing's
    service_id: Mapped[str] = mapped_column(Id, index=True)
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    x: Mapped[int] = mapped_column(Integer)
    y: Mapped[int] = mapped_column(Integer)
    timezone: Mapped[str] = mapped_column(String(64))
    weekly: Mapped[bool] = mapped_column(Boolean)
    seasonal: Mapped[bool] = mapped_column(Boolean)


class MapTerm(Base):
    """A published listing's service has the taxonomy term (``facet`` ``term``) or the
    language (``language``) ``code``: the vocabulary filters' rows, with the member's finest
    cell and public point so that one index range counts a view (:mod:`caremap.mapmembers`)."""

    __tablename__ = "map_term"
    __table_args__ = (
        Index("ix_map_term_cell", "facet", "code", "y", "x", "latitude", "longitude", "listing_id"),
        # a listing probed for the codes of other facets (caremap.mapfilters)
        Index("ix_map_term_listing", "listing_id", "facet", "code"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    listing_id: Mapped[str] = mapped_column(String(130))
    service_id: Mapped[str] = mapped_column(Id, index=True)
    facet: Mapped[str] = mapped_column(String(10))
    code: Mapped[str] = mapped_column(Id)
    x: Mapped[int] = mapped_column(Integer)
    y: Mapped[int] = mapped_column(Integer)
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)


class MapCodeCell(Base):
    """A cell of the browse map's grid at one of the low zooms, counting the published
    listings whose service has the ``code`` of ``facet`` (as ``map_term`` says), as
    ``map_cell`` counts them all (:mod:`caremap.mapcodes`)."""

    __tablename__ = "map_code_cell"

    facet: Mapped[str] = mapped_column(String(10), primary_key=True)
    code: Mapped[str] = mapped_column(Id, primary_key=True)
    zoom: Mapped[int] = mapped_column(Integer, primary_key=True)
    x: Mapped[int] = mapped_column(Integer, primary_key=True)
    y: Mapped[int] = mapped_column(Integer, primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    latitude_sum: Mapped[float] = mapped_column(Float)
    longitude_sum: Mapped[float] = mapped_column(Float)
    only_id: Mapped[str | None] = mapped_column(String(130))


class MapHours(Base):
    """A published listing open on ``weekday`` (0 is Monday) from ``opens_us`` to
    ``closes_us`` (microseconds into the day; past midnight when ``closes_us`` is the
    smaller) in its ``timezone``, between ``valid_from`` and ``valid_to`` when set: one weekly
    rule of its service's public hours, one row a day, with the member's finest cell and
    public point so that open now counts a view from these rows (:mod:`caremap.mapmembers`);
    ``alone`` when no other row of the listing can be open at the same time."""

    __tablename__ = "map_hours"
    # open now reads the rows of a timezone and weekday, and their cells, from this index alone
    __table_args__ = (
        Index(
            "ix_map_hours_day",
            "timezone",
            "weekday",
            "alone",
            "opens_us",
            "closes_us",
            "valid_from",
            "valid_to",
            "y",
            "x",
            "latitude",
            "longitude",
            "listing_id",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    listing_id: Mapped[str] = mapped_column(String(130), index=True)
    service_id: Mapped[str] = mapped_column(Id, index=True)
    timezone: Mapped[str] = mapped_column(String(64))
    weekday: Mapped[int] = mapped_column(Integer)
    opens_us: Mapped[int] = mapped_column(BigInteger)
    closes_us: Mapped[int] = mapped_column(BigInteger)
    valid_from: Mapped[dt.date | None] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)
    alone: Mapped[bool] = mapped_column(Boolean)
    x: Mapped[int] = mapped_column(Integer)
    y: Mapped[int] = mapped_column(Integer)
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)


class MapSeason(Base):
    """The dates of one seasonal rule (``valid_from`` or ``valid_to`` set) of a published
    listing's public hours (:mod:`caremap.mapmembers`)."""

    __tablename__ = "map_season"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    listing_id: Mapped[str] = mapped_column(String(130), index=True)
    service_id: Mapped[str] = mapped_column(Id, index=True)
    valid_from: Mapped[dt.date | None] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)


class MapBeds(Base):
    """A published listing's public availability count (one with a number and the time it
    was counted; :mod:`caremap.mapmembers`)."""

    __tablename__ = "map_beds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    listing_id: Mapped[str] = mapped_column(String(130), index=True)
    service_id: Mapped[str] = mapped_column(Id, index=True)
    available: Mapped[int] = mapped_column(Integer)
    updated: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class MapCell(Base):
    """A cell of the browse map's grid at one zoom (:mod:`caremap.mapcells`): how many
    published listings it holds, the sums of their public points and, when it holds one, that
    listing's id."""

    __tablename__ = "map_cell"

    zoom: Mapped[int] = mapped_column(Integer, primary_key=True)
    x: Mapped[int] = mapped_column(Integer, primary_key=True)
    y: Mapped[int] = mapped_column(Integer, primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    latitude_sum: Mapped[float] = mapped_column(Float)
    longitude_sum: Mapped[float] = mapped_column(Float)
    only_id: Mapped[str | None] = mapped_column(String(130))


class PublicListingCode(Base):
    """The fingerprint of the code that built the listings; another one means rebuild them."""

    __tablename__ = "public_listing_code"

    fingerprint: Mapped[str] = mapped_column(String(64), primary_key=True)


class ListingMatch(Base):
    """Two records of different sources that may describe one service (see
    :mod:`caremap.matching`), keyed by both sources' record ids, (``source_a``, ``record_a``)
    sorting first. ``score`` (0–100) is the weighted mean of ``parts`` (JSON: field → 0–100,
    or null when a record lacks the field). ``status`` is ``merged`` (sure, by score),
    ``review`` (doubtful: a moderator's to decide), ``accepted`` or ``rejected`` (decided by
    ``decided_by``; kept across runs). ``kept_service_id`` is the entry a merge publishes,
    ``merged_service_id`` the one it takes in; both are set again by every run."""

    __tablename__ = "listing_match"

    source_a: Mapped[str] = mapped_column(String(100), primary_key=True)
    record_a: Mapped[str] = mapped_column(String(200), primary_key=True)
    source_b: Mapped[str] = mapped_column(String(100), primary_key=True)
    record_b: Mapped[str] = mapped_column(String(200), primary_key=True)
    score: Mapped[float] = mapped_column(Float)
    parts: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), index=True)
    kept_service_id: Mapped[str | None] = mapped_column(Id)
    merged_service_id: Mapped[str | None] = mapped_column(Id, index=True)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
