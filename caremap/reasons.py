"""Reasons a person reads — why a row was rejected, why a value is not valid — kept as an
English template with named values, so that each page can say them in its own language.

A :class:`Reason` *is* its English text (a ``str``), so logs, CSV reports and the command line
use it as it is; the web pages translate its ``template`` (extracted into the catalogues:
templates are marked with :func:`N_`) and fill in its ``values``, themselves reasons or text.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def N_(template: str) -> str:  # noqa: N802 - gettext's name for a message marker
    """Mark ``template`` for the translation catalogues; it is translated where shown."""
    return template


class Reason(str):
    """English text made from ``template % values``; ``template`` and ``values`` say it again
    in another language (see :func:`say`)."""

    template: str
    values: dict[str, Any]

    def __new__(cls, template: str, **values: Any) -> Reason:
        text = template % {k: str(v) for k, v in values.items()} if values else template
        reason = super().__new__(cls, text)
        reason.template, reason.values = template, values
        return reason


def encode(text: str) -> Any:
    """``text`` as JSON can hold it, keeping a :class:`Reason`'s template and values."""
    if not isinstance(text, Reason):
        return text
    return {"template": text.template, "values": {k: encode(v) for k, v in text.values.items()}}


def decode(data: Any) -> Any:
    """What :func:`encode` made, back."""
    if not isinstance(data, dict):
        return data
    return Reason(data["template"], **{k: decode(v) for k, v in data["values"].items()})


def say(text: str, translate: Callable[..., str], number: Callable[[float], str] = str) -> str:
    """``text`` in the language of ``translate`` (a gettext) when it is a :class:`Reason`, its
    decimal values written by ``number`` (3.6 is "3,6" in French)."""
    if not isinstance(text, Reason):
        return text
    values = {k: _said(v, translate, number) for k, v in text.values.items()}
    return translate(text.template, **values) if values else translate(text.template)


def _said(value: Any, translate: Callable[..., str], number: Callable[[float], str]) -> Any:
    if isinstance(value, str):
        return say(value, translate, number)
    return number(value) if isinstance(value, float) else value


def reason_of(error: BaseException) -> str:
    """The reason an error was raised with (a :class:`Reason` when it was given one)."""
    first = error.args[0] if error.args else None
    return first if isinstance(first, Reason) else str(error)
