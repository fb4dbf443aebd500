"""The one path that follows a write to services (both stores): their listings are rebuilt and
the stored coverage indicators forgotten, unless the change is one no indicator reads."""

from __future__ import annotations

from sqlalchemy import select, update

from caremap.capacity import set_available
from caremap.coverage.stored import is_current
from caremap.model import Service, ServiceCapacity
from caremap.republish import services_changed
from caremap.search import Clock, SearchQuery, search
from tests.test_stored_indicators import NOW, TODAY, seasonal_store

__all__ = ["seasonal_store"]  # the fixture: the seasonal listings, their indicators stored today


def _rename_first_service(store, name: str, **options) -> None:
    with store.engine.begin() as connection:
        service_id = connection.scalars(select(Service.id).order_by(Service.id)).first()
        connection.execute(update(Service).where(Service.id == service_id).values(name=name))
        services_changed(connection, [service_id], **options)


def _listed_names(store) -> set[str]:
    return {hit.service.name for hit in search(store, SearchQuery(limit=1_000), Clock(NOW)).hits}


def test_a_change_is_republished_and_forgets_the_stored_indicators(seasonal_store):
    _rename_first_service(seasonal_store, "Renamed for the test")
    assert "Renamed for the test" in _listed_names(seasonal_store)
    assert not is_current(seasonal_store, TODAY)


def test_a_change_no_indicator_reads_is_republished_and_keeps_them(seasonal_store):
    _rename_first_service(seasonal_store, "Renamed for the test", coverage=False)
    assert "Renamed for the test" in _listed_names(seasonal_store)
    assert is_current(seasonal_store, TODAY)


def test_a_new_bed_count_is_published_and_keeps_the_stored_indicators(seasonal_store):
    with seasonal_store.session() as session:
        capacity = session.scalars(
            select(ServiceCapacity)
            .where(ServiceCapacity.maximum >= 17)
            .order_by(ServiceCapacity.id)
        ).first()
        service_id = capacity.service_id
        set_available(session, service_id, capacity.id, 17, NOW, None)
        session.commit()
    hits = search(seasonal_store, SearchQuery(limit=1_000), Clock(NOW)).hits
    published = {
        c.available for h in hits if h.service.id == service_id for c in h.service.capacities
    }
    assert 17 in published
    assert is_current(seasonal_store, TODAY)
