"""The README shows the screenshots that ``scripts/screenshots.py`` takes (``make screenshots``):
the same files with the same alt text, each committed as a small PNG of its viewport's size
(device scale 1). Nothing is rendered again here."""

from __future__ import annotations

import re
import struct

from caremap.settings import PROJECT_ROOT
from scripts.screenshots import SCREENSHOTS, SHOTS

IMAGE = re.compile(r"!\[([^\]]*)\]\((docs/screenshots/[^)\s]+)\)")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_the_readme_shows_each_screenshot_of_the_script():
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    shown = IMAGE.findall(readme)
    assert shown == [(shot.alt, f"docs/screenshots/{shot.file}") for shot in SHOTS]


def test_each_screenshot_is_a_small_png_of_its_viewport():
    for shot in SHOTS:
        png = (SCREENSHOTS / shot.file).read_bytes()
        assert png.startswith(PNG_SIGNATURE), shot.file
        width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk comes first
        assert (width, height) == (shot.width, shot.height), shot.file
        assert len(png) < 300_000, f"{shot.file} is {len(png)} bytes"
