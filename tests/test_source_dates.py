"""The source dates the data has, read by :func:`caremap.source_dates.parse_source_date`."""

from __future__ import annotations

import datetime as dt
import html

import pytest
from sqlalchemy import select

from caremap.model import Service
from caremap.source_dates import SourceDate, parse_source_date


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2014/04/24", SourceDate(2014, 4, 24)),
        ("2026-04-08", SourceDate(2026, 4, 8)),
        ("2015/12/1", SourceDate(2015, 12, 1)),
        ("2012-02", SourceDate(2012, 2)),
        ("2017", SourceDate(2017)),
        ("snapshot before 2017-05", SourceDate(2017, 5, before=True)),
        ("Before 2016", SourceDate(2016, before=True)),
        ("  2012-02 ", SourceDate(2012, 2)),
    ],
)
def test_the_shapes_of_source_dates_are_read(text, expected):
    assert parse_source_date(text) == expected


@pytest.mark.parametrize(
    "text",
    [None, "", "VARIES", "2014/02/30", "2012-13", "12/04/2014", "2017-05 or so", "=1+1", "\x00"],
)
def test_anything_else_is_no_date(text):
    assert parse_source_date(text) is None


def test_a_source_date_starts_on_its_first_day():
    assert SourceDate(2012, 2).first_day == dt.date(2012, 2, 1)
    assert SourceDate(2014, 4, 24).first_day == dt.date(2014, 4, 24)
    assert SourceDate(2017, before=True).first_day == dt.date(2017, 1, 1)


def service_id(store, source_record_id: str) -> str:
    with store.session() as session:
        return session.scalars(
            select(Service.id).where(Service.source_record_id == source_record_id)
        ).one()


def page_text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def test_a_service_page_says_its_source_date_in_words(client, loaded_store):
    youth = f"/services/{service_id(loaded_store, 'TORYOUTH-654')}"  # as of "2014/04/24"
    english = page_text(client.get(f"{youth}?lang=en"))
    french = page_text(client.get(f"{youth}?lang=fr"))
    assert "<dd>April 24, 2014</dd>" in english and "<dd>24 avril 2014</dd>" in french
    assert "2014/04/24" not in english + french
    drop_in = f"/services/{service_id(loaded_store, 'TORDROPIN-106')}"  # "snapshot before 2017-05"
    assert "<dd>before May 2017</dd>" in page_text(client.get(f"{drop_in}?lang=en"))
    assert "<dd>avant mai 2017</dd>" in page_text(client.get(f"{drop_in}?lang=fr"))
    shelter = f"/services/{service_id(loaded_store, 'TOR2012-14')}"  # "2012-02"
    assert "<dd>février 2012</dd>" in page_text(client.get(f"{shelter}?lang=fr"))
