"""Offline gazetteer: points for postal codes, FSAs and populated places (GeoNames, CC BY 4.0).

Files under ``data/gazetteer`` (see ``data/SOURCES.md``). All points are WGS84 and every
coordinate pair in this module is written (latitude, longitude), in that order.
"""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass
from pathlib import Path

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


def place_key(name: str) -> str:
    """The matching key of a place name: folded, with "St"/"Ste" spelt out."""
    return " ".join(_TOKEN_EXPANSIONS.get(token, token) for token in fold(name).split())


class Gazetteer:
    """Lookups of postal codes, FSAs and places. Build it with :func:`load_gazetteer`."""

    def __init__(
        self,
        postal_codes: pd.DataFrame,
        fsas: dict[str, GazetteerPoint],
        places: dict[tuple[str, str], GazetteerPoint],
        alternate_places: dict[tuple[str, str], GazetteerPoint],
    ) -> None:
        """``postal_codes`` has the columns of the postal-code file; place dicts are keyed by
        (province_abbr, :func:`place_key`)."""
        self._postal_index = pd.Index(postal_codes["postal_code"])
        self._postal_latitudes = postal_codes["latitude"].to_numpy(np.float64)
        self._postal_longitudes = postal_codes["longitude"].to_numpy(np.float64)
        self._postal_places = postal_codes["place_name"].array
        self._postal_provinces = postal_codes["province_abbr"].array
        self._postal_index.get_loc(self._postal_index[0])  # builds the hash table now
        self._fsas = fsas
        self._places = places
        self._alternate_places = alternate_places

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


@functools.cache
def load_gazetteer(data_dir: Path) -> Gazetteer:
    """Load the gazetteer from ``data_dir`` (the project's ``data/`` folder), once per process."""
    started = time.perf_counter()
    postal_codes = _read_postal_codes(data_dir / POSTAL_CODES_FILE)
    places, alternate_places = _read_places(data_dir / PLACES_FILE)
    gazetteer = Gazetteer(postal_codes, _read_fsas(data_dir / FSA_FILE), places, alternate_places)
    logger.info(
        "Loaded gazetteer: %d postal codes, %d places in %.2f s",
        len(gazetteer), len(places), time.perf_counter() - started,
    )  # fmt: skip
    return gazetteer


def _read_postal_codes(path: Path) -> pd.DataFrame:
    return pd.read_csv(
        path,
        dtype={"postal_code": str, "place_name": "category", "province_abbr": "category"},
        keep_default_na=False,
    )


def _read_fsas(path: Path) -> dict[str, GazetteerPoint]:
    frame = pd.read_csv(path, dtype={"fsa": str, "place_name": str}, keep_default_na=False)
    return {
        row.fsa: _point(row.latitude, row.longitude, row.place_name, row.province_abbr)
        for row in frame.itertuples(index=False)
    }


def _read_places(
    path: Path,
) -> tuple[dict[tuple[str, str], GazetteerPoint], dict[tuple[str, str], GazetteerPoint]]:
    """(main-name index, alternate-name index); the most populous place claims each key."""
    frame = pd.read_csv(path, dtype={"name": str, "alternatenames": str}, keep_default_na=False)
    frame["population"] = pd.to_numeric(frame["population"]).fillna(0)
    places: dict[tuple[str, str], GazetteerPoint] = {}
    alternate_places: dict[tuple[str, str], GazetteerPoint] = {}
    for row in frame.sort_values("population", ascending=False).itertuples(index=False):
        point = _point(row.latitude, row.longitude, row.name, row.province_abbr)
        places.setdefault((row.province_abbr, place_key(row.name)), point)
        for alternate in filter(None, row.alternatenames.split("|")):
            alternate_places.setdefault((row.province_abbr, place_key(alternate)), point)
    return places, alternate_places


def _point(latitude: float, longitude: float, label: str, province_abbr: str) -> GazetteerPoint:
    return GazetteerPoint(float(latitude), float(longitude), label, province_abbr)
