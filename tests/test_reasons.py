"""Reasons are their English text, and say themselves again in another language."""

from __future__ import annotations

import json

from caremap.reasons import N_, Reason, decode, encode, reason_of, say

FRENCH = {
    "postal_code: %(error)s": "postal_code : %(error)s",
    "%(value)s is not a Canadian postal code": "%(value)s n’est pas un code postal canadien",
    "coordinates are %(km)s km from postal code %(postal_code)s": (
        "les coordonnées sont à %(km)s km du code postal %(postal_code)s"
    ),
}


def french(template: str, **values: str) -> str:
    return FRENCH[template] % values if values else FRENCH[template]


def test_a_reason_is_its_english_text_and_says_itself_in_french():
    inner = Reason(N_("%(value)s is not a Canadian postal code"), value=repr("Z9Z"))
    reason = Reason("postal_code: %(error)s", error=inner)
    assert reason == "postal_code: 'Z9Z' is not a Canadian postal code"
    assert say(reason, french) == "postal_code : 'Z9Z' n’est pas un code postal canadien"
    assert say("plain text", french) == "plain text"


def test_a_reason_survives_json_and_an_exception():
    reason = Reason(
        "postal_code: %(error)s",
        error=Reason("%(value)s is not a Canadian postal code", value="'A'"),
    )
    back = decode(json.loads(json.dumps(encode(reason))))
    assert isinstance(back, Reason) and back == reason
    assert say(back, french) == say(reason, french)
    assert reason_of(ValueError(reason)) is reason
    assert reason_of(ValueError("plain")) == "plain"


def test_a_reason_writes_its_decimals_as_the_page_does():
    from babel.numbers import format_decimal

    reason = Reason(
        N_("coordinates are %(km)s km from postal code %(postal_code)s"),
        km=3.6,
        postal_code="M1E 2P9",
    )
    assert reason == "coordinates are 3.6 km from postal code M1E 2P9"
    assert say(reason, french, lambda v: format_decimal(v, locale="fr_CA")) == (
        "les coordonnées sont à 3,6 km du code postal M1E 2P9"
    )
    back = decode(json.loads(json.dumps(encode(reason))))
    assert say(back, french, lambda v: format_decimal(v, locale="fr_CA")).count("3,6") == 1
