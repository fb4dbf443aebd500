"""Offline gazetteer: points for postal codes, FSAs and populated places (GeoNames, CC BY 4.0).

Files under ``data/gazetteer`` (see ``data/SOURCES.md``). All points are WGS84 and every
coordinate pair in this module is written (latitude, longitude), in that order.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, cast

import numpy as np
import pandas as pd

from caremap.normalise import NormaliseError, fold, normalise_postal_code, normalise_province

logger = logging.getLogger(__name__)

POSTAL_CODES_FILE = "gazetteer/postal_codes_geonames_ca.csv.gz"
FSA_FILE = "gazetteer/fsa_centroids_geonames_pop2016.csv"
PLACES_FILE = "gazetteer/places_geonames_ca.csv"
# Place-name tokens spelt out before matching, on both sides: "St-Jean" matches "Saint-Jean".
_TOKEN_EXPANSIONS = {"st": "saint", "ste": "sainte"}


@dataclass(frozen=True)
class GazetteerPoint:
    """A gazetteer point: (latitude, longitude) in WGS84 degrees, its name and its province."""

    latitude: float
    longitude: float
    label: str
    province_abbr: str


@dataclass(frozen=True)
class PlacePoint(GazetteerPoint):
    """A populated place's point with its GeoNames population (0 when GeoNames has none)."""

    population: int


class _FsaRow(NamedTuple):
    """The columns of the FSA file that are read."""

    fsa: str
    latitude: float
    longitude: float
    place_name: str
    province_abbr: str


class _PlaceRow(NamedTuple):
    """The columns of the places file that are read."""

    name: str
    alternatenames: str
    latitude: float
    longitude: float
    province_abbr: str
    population: float


PlaceIndex = Mapping[str, tuple[tuple[PlacePoint, bool], ...]]
"""Place key → (place, matched only by an alternate name?) pairs, best first (see
:meth:`Gazetteer.places_named`)."""


def place_key(name: str) -> str:
    """The matching key of a place name: folded, with "St"/"Ste" spelt out."""
    return " ".join(_TOKEN_EXPANSIONS.get(token, token) for token in fold(name).split())


def _key_variants(key: str) -> set[str]:
    """A :func:`place_key` and, for a possessive, the key without its apostrophe: "St. John's"
    gives "saint john s" and "saint johns", so that "St Johns" matches too."""
    merged: list[str] = []
    for token in key.split():
        if token == "s" and merged:  # noqa: S105 - a word, not a password
            merged[-1] += "s"
        else:
            merged.append(token)
    return {key, " ".join(merged)}


class Gazetteer:
    """Lookups of postal codes, FSAs and places. Build it with :func:`load_gazetteer`."""

    def __init__(
        self,
        postal_codes: pd.DataFrame,
        fsas: dict[str, GazetteerPoint],
        places: dict[tuple[str, str], GazetteerPoint],
        alternate_places: dict[tuple[str, str], GazetteerPoint],
        *,
        place_index: PlaceIndex | None = None,
    ) -> None:
        """``postal_codes`` has the columns of the postal-code file; place dicts are keyed by
        (province_abbr, :func:`place_key`). ``place_index`` serves :meth:`places_named`; without
        it one is derived from the two dicts, with every population 0 (unranked)."""
        self._postal_index = pd.Index(postal_codes["postal_code"])
        self._postal_latitudes = postal_codes["latitude"].to_numpy(np.float64)
        self._postal_longitudes = postal_codes["longitude"].to_numpy(np.float64)
        self._postal_places = postal_codes["place_name"].array
        self._postal_provinces = postal_codes["province_abbr"].array
        self._postal_index.get_loc(self._postal_index[0])  # builds the hash table now
        self._fsas = fsas
        self._places = places
        self._alternate_places = alternate_places
        self._place_index = (
            place_index if place_index is not None else _index_from_dicts(places, alternate_places)
        )
        self._place_keys = frozenset(self._place_index)

    def __len__(self) -> int:
        """The number of full postal codes."""
        return len(self._postal_index)

    def postal_code(self, code: str) -> GazetteerPoint | None:
        """The point of a full postal code (any spelling: "m5a2n2"), else None.

        None also when the code is blank or not a valid Canadian postal code.
        """
        try:
            row = self._postal_index.get_loc(normalise_postal_code(code))
        except (NormaliseError, KeyError):
            return None
        return GazetteerPoint(
            latitude=float(self._postal_latitudes[row]),
            longitude=float(self._postal_longitudes[row]),
            label=str(self._postal_places[row]),
            province_abbr=str(self._postal_provinces[row]),
        )

    def fsa(self, fsa: str) -> GazetteerPoint | None:
        """The representative point of a forward sortation area ("M5V"), else None."""
        return self._fsas.get(fsa.strip().upper())

    def place(self, name: str, province_abbr: str) -> GazetteerPoint | None:
        """The populated place called ``name`` in a province, else None.

        Matching is accent-, case- and punctuation-insensitive (``"Trois Rivieres"``). Main
        names are tried before GeoNames alternate names; among several places with the same
        name in the province, the most populous wins. The province may be any spelling that
        :func:`~caremap.normalise.normalise_province` accepts; blank or unknown gives None.
        """
        try:
            province = normalise_province(province_abbr)
        except NormaliseError:
            return None
        key = (province, place_key(name))
        return self._places.get(key) or self._alternate_places.get(key)

    @property
    def place_keys(self) -> frozenset[str]:
        """Every :func:`place_key` that :meth:`places_named` knows (including the keys of
        alternate names and apostrophe-less possessives): a quick test before a lookup."""
        return self._place_keys

    def places_named(
        self, name: str, province_abbr: str = "", *, alternate_names: bool = True
    ) -> list[PlacePoint]:
        """Every populated place called ``name``, in any province unless one is given; best first.

        Matching is that of :meth:`place`, and a possessive may lose its apostrophe
        ("St Johns"). Places whose main name matches come first, then (unless
        ``alternate_names`` is false) places matched only by a GeoNames alternate name; each
        group is ordered by population, largest first, so the first place in a province is the
        one :meth:`place` returns. An unknown province gives [].
        """
        try:
            province = normalise_province(province_abbr)
        except NormaliseError:
            return []
        return [
            point
            for point, alternate in self._place_index.get(place_key(name), ())
            if (not province or point.province_abbr == province)
            and (alternate_names or not alternate)
        ]


@functools.cache
def load_gazetteer(data_dir: Path) -> Gazetteer:
    """Load the gazetteer from ``data_dir`` (the project's ``data/`` folder), once per process."""
    started = time.perf_counter()
    postal_codes = _read_postal_codes(data_dir / POSTAL_CODES_FILE)
    places, alternate_places, place_index = _read_places(data_dir / PLACES_FILE)
    gazetteer = Gazetteer(
        postal_codes,
        _read_fsas(data_dir / FSA_FILE),
        places,
        alternate_places,
        place_index=place_index,
    )
    logger.info(
        "Loaded gazetteer: %d postal codes, %d places in %.2f s",
        len(gazetteer), len(places), time.perf_counter() - started,
    )  # fmt: skip
    return gazetteer


def _read_postal_codes(path: Path) -> pd.DataFrame:
    return pd.read_csv(
        path,
        dtype={"postal_code": "str", "place_name": "category", "province_abbr": "category"},
        keep_default_na=False,
    )


def _read_fsas(path: Path) -> dict[str, GazetteerPoint]:
    frame = pd.read_csv(path, dtype={"fsa": str, "place_name": str}, keep_default_na=False)
    return {
        row.fsa: _point(row.latitude, row.longitude, row.place_name, row.province_abbr)
        for row in cast("Iterator[_FsaRow]", frame.itertuples(index=False))
    }


def _read_places(
    path: Path,
) -> tuple[
    dict[tuple[str, str], GazetteerPoint], dict[tuple[str, str], GazetteerPoint], PlaceIndex
]:
    """(main-name index, alternate-name index, all-province index for
    :meth:`Gazetteer.places_named`); the most populous place claims each key of the first two."""
    frame = pd.read_csv(path, dtype={"name": str, "alternatenames": str}, keep_default_na=False)
    frame["population"] = pd.to_numeric(frame["population"]).fillna(0)
    places: dict[tuple[str, str], GazetteerPoint] = {}
    alternate_places: dict[tuple[str, str], GazetteerPoint] = {}
    by_main_name: dict[str, list[PlacePoint]] = {}
    by_alternate_name: dict[str, list[PlacePoint]] = {}
    rows = frame.sort_values("population", ascending=False).itertuples(index=False)
    for row in cast("Iterator[_PlaceRow]", rows):
        point = _point(row.latitude, row.longitude, row.name, row.province_abbr)
        main_key = place_key(row.name)
        places.setdefault((row.province_abbr, main_key), point)
        ranked = PlacePoint(
            point.latitude, point.longitude, point.label, point.province_abbr, int(row.population)
        )
        main_keys = _key_variants(main_key)
        for key in main_keys:
            by_main_name.setdefault(key, []).append(ranked)
        alternate_keys: set[str] = set()
        for alternate in filter(None, row.alternatenames.split("|")):
            alternate_key = place_key(alternate)
            alternate_places.setdefault((row.province_abbr, alternate_key), point)
            alternate_keys |= _key_variants(alternate_key)
        for key in alternate_keys - main_keys:
            by_alternate_name.setdefault(key, []).append(ranked)
    return places, alternate_places, _merge_index(by_main_name, by_alternate_name)


def _merge_index(
    by_main_name: Mapping[str, list[PlacePoint]], by_alternate_name: Mapping[str, list[PlacePoint]]
) -> PlaceIndex:
    """One tuple per key: main-name places, then places only an alternate name matches."""
    index: dict[str, tuple[tuple[PlacePoint, bool], ...]] = {}
    for key in by_main_name.keys() | by_alternate_name.keys():
        main = by_main_name.get(key, [])
        alternates = [point for point in by_alternate_name.get(key, []) if point not in main]
        index[key] = tuple((point, False) for point in main) + tuple(
            (point, True) for point in alternates
        )
    return index


def _index_from_dicts(
    places: Mapping[tuple[str, str], GazetteerPoint],
    alternate_places: Mapping[tuple[str, str], GazetteerPoint],
) -> PlaceIndex:
    """A :data:`PlaceIndex` without populations, for a Gazetteer built by hand."""

    def grouped(points: Mapping[tuple[str, str], GazetteerPoint]) -> dict[str, list[PlacePoint]]:
        groups: dict[str, list[PlacePoint]] = {}
        for (province, key), p in points.items():
            ranked = PlacePoint(p.latitude, p.longitude, p.label, province, 0)
            groups.setdefault(key, []).append(ranked)
        return groups

    return _merge_index(grouped(places), grouped(alternate_places))


def _point(latitude: float, longitude: float, label: str, province_abbr: str) -> GazetteerPoint:
    return GazetteerPoint(float(latitude), float(longitude), label, province_abbr)
