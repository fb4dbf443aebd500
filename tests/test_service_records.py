"""The records of some services (:func:`caremap.queries.read_service_records`): a child row
(a phone, a schedule, a language) of one of the services or of one of their locations is
read once, whatever the chunks the ids are read in."""

from __future__ import annotations

import datetime as dt

import pytest

from caremap import queries
from caremap.model import Location, Organization, Phone, Service, ServiceAtLocation

PROVENANCE = {
    "source_name": "test",
    "source_record_id": "r",
    "imported_at": dt.datetime.now(dt.UTC),
}
# Service → its locations: s2 is at two, s3 is not asked for.
AT = {"s0": ["l0"], "s1": ["l1"], "s2": ["l2", "l4"], "s3": ["l3"]}


def add_services(session) -> None:
    session.add(Organization(id="o", name="Org", **PROVENANCE))
    session.flush()
    for service, locations in AT.items():
        session.add(Service(id=service, organization_id="o", name=service, **PROVENANCE))
        for location in locations:
            session.add(
                Location(
                    id=location,
                    organization_id="o",
                    latitude=43.65,
                    longitude=-79.38,
                    private_latitude=43.65,
                    private_longitude=-79.38,
                    public_point_rule="exact",
                    geocode_precision="manual",
                    pruid="35",
                    **PROVENANCE,
                )
            )
            session.add(
                ServiceAtLocation(
                    id=f"{service}-{location}",
                    service_id=service,
                    location_id=location,
                    **PROVENANCE,
                )
            )
            session.add(Phone(id=f"p-{location}", location_id=location, number="1", **PROVENANCE))
            session.add(
                Phone(
                    id=f"p-{service}-{location}",
                    service_id=service,
                    location_id=location,
                    number="2",
                    **PROVENANCE,
                )
            )
        session.add(Phone(id=f"p-{service}", service_id=service, number="3", **PROVENANCE))


@pytest.mark.parametrize("chunk", [1, 2, queries.ID_CHUNK])
def test_child_rows_of_the_services_and_of_their_locations_each_once(
    empty_store, monkeypatch, chunk
):
    with empty_store.session() as session, session.begin():
        add_services(session)
    monkeypatch.setattr(queries, "ID_CHUNK", chunk)
    with empty_store.session() as session:
        records = queries.read_service_records(session, ["s0", "s1", "s2"])
    expected = sorted(
        phone
        for service in ("s0", "s1", "s2")
        for phone in [f"p-{service}"]
        + [f"p{end}-{location}" for location in AT[service] for end in ("", f"-{service}")]
    )
    assert [phone.id for phone in records.phones] == expected
