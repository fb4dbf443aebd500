"""The two languages of every page and the one rule that names a text's language."""

from __future__ import annotations

from typing import Literal

Language = Literal["en", "fr"]
LANGUAGES: tuple[Language, ...] = ("en", "fr")


def language_of(tag: str | None) -> Language:
    """``"fr"`` for any French language tag (``fr``, ``fr-CA``, ``fr_CA``), else ``"en"``."""
    if tag and tag.lower().replace("_", "-").split("-")[0] == "fr":
        return "fr"
    return "en"
