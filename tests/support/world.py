"""The world of accounts most web tests start from: a store with the seasonal listings and the
confidential fixture loaded, and one account of each kind."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from caremap import accounts
from caremap.accounts import Role
from caremap.model import Organization, Service, ServiceAtLocation, ServiceCapacity
from tests.support.data import CONFIDENTIAL_FIXTURE, DATA_DIR, TEST_DATA

PASSWORD = "correct horse battery staple"


@dataclass
class World:
    """A store with four organizations and one account of each kind."""

    store: object
    url: str
    org_a: str  # Test Org
    org_b: str  # Fictional Women's Shelter Society (a confidential location)
    service_a: str
    service_b: str
    capacity_a: str
    capacity_b: str
    users: dict[str, int]
    location_a: str  # service_a's (public)
    location_b: str  # service_b's (confidential)


def build_world(store, url, tmp_path) -> World:
    from etl.pipeline import run

    run(store, [TEST_DATA / "seasonal_listings.csv", CONFIDENTIAL_FIXTURE], DATA_DIR, tmp_path)
    with store.session() as session, session.begin():
        org = {o.name: o.id for o in session.scalars(select(Organization))}
        org_a, org_b = org["Test Org"], org["Fictional Women's Shelter Society"]
        service = {s.source_record_id: s.id for s in session.scalars(select(Service))}
        service_a, service_b = service["SEAS-WINTER"], service["TEST-VAW-2"]
        capacity = {
            c.service_id: c.id
            for c in session.scalars(select(ServiceCapacity).where(ServiceCapacity.maximum > 0))
        }
        people = {
            "editor_a": (Role.EDITOR, [org_a]),
            "editor_b": (Role.EDITOR, [org_b]),
            "moderator": (Role.MODERATOR, []),
            "admin": (Role.ADMIN, []),
            "target": (Role.EDITOR, [org_b]),  # whom the admin routes change
        }
        location = {
            row.service_id: row.location_id
            for row in session.execute(
                select(ServiceAtLocation.service_id, ServiceAtLocation.location_id)
            )
        }
        users = {
            name: accounts.create_user(
                session,
                email=f"{name}@example.org",
                password=PASSWORD,
                role=role,
                organization_ids=organizations,
            ).id
            for name, (role, organizations) in people.items()
        }
    return World(
        store, url, org_a, org_b, service_a, service_b,
        capacity[service_a], capacity[service_b], users, location[service_a], location[service_b],
    )  # fmt: skip
