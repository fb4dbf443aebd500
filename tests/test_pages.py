"""The information pages: each answers in both languages, and Data and sources shows the data
folder's SOURCES.md as text (markup and template syntax in it stay inert)."""

from __future__ import annotations

import pytest

from tests.signed_in_browser import world  # noqa: F401 (fixture)

HOSTILE = '<script>alert(1)</script> {{ 7*7 }} {% raw %} =HYPERLINK("x") \x00 © GeoNames'


@pytest.mark.parametrize("path", ["/about", "/privacy", "/accessibility", "/sources"])
def test_pages_answer_in_both_languages(make_app, world, path):  # noqa: F811
    client = make_app(world.url).test_client()
    english = client.get(f"{path}?lang=en")
    french = client.get(f"{path}?lang=fr")
    assert english.status_code == french.status_code == 200
    assert 'aria-current="page"' in english.text
    assert english.text != french.text


def test_sources_are_shown_as_text(make_app, world, tmp_path):  # noqa: F811
    (tmp_path / "SOURCES.md").write_text(HOSTILE, encoding="utf-8")
    client = make_app(world.url, DATA_DIR=tmp_path).test_client()
    page = client.get("/sources?lang=en").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; {{ 7*7 }} {% raw %}" in page
    assert "49" not in page.split('class="sources-text"')[1].split("</pre>")[0]
