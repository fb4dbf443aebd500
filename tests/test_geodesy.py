"""The sphere and unit conversions every distance in caremap goes through."""

import math

import numpy as np
import pytest

from caremap.geodesy import (
    EARTH_RADIUS_KM,
    EARTH_RADIUS_M,
    arc_from_chord,
    chord_from_arc,
    km_to_metres,
    metres_to_km,
    unit_vectors,
)

QUARTER_KM = math.pi / 2 * EARTH_RADIUS_KM  # 10,007.557 km: pole to equator


def test_one_earth_radius_in_metres_and_km():
    assert EARTH_RADIUS_M == 6_371_008.8
    assert EARTH_RADIUS_KM == 6_371.0088


def test_km_and_metres():
    assert km_to_metres(25) == 25_000.0
    assert km_to_metres(0.5) == 500.0
    assert metres_to_km(1_234.5) == 1.2345
    assert metres_to_km(km_to_metres(6_371.0088)) == 6_371.0088


def test_arc_from_chord_on_the_mean_sphere():
    # Unit vectors of the north pole, a point on the equator and its antipode.
    pole, equator, antipode = unit_vectors(np.array([90.0, 0.0, 0.0]), np.array([0.0, 0.0, 180.0]))
    chords = np.linalg.norm(np.array([pole - equator, equator - antipode, pole - pole]), axis=1)
    km = arc_from_chord(chords, radius=EARTH_RADIUS_KM)
    assert km.tolist() == pytest.approx([QUARTER_KM, 2 * QUARTER_KM, 0.0], rel=1e-15, abs=0)
    assert km[1] == 20_015.114442035923  # half the circumference, exactly
    # A chord a rounding error longer than the diameter is still half the circumference.
    assert arc_from_chord(2.0 + 4e-16, radius=EARTH_RADIUS_M) == math.pi * EARTH_RADIUS_M
    assert arc_from_chord(np.sqrt(2.0), radius=EARTH_RADIUS_M) == 10_007_557.221017962


def test_chord_from_arc_on_the_mean_sphere():
    assert chord_from_arc(0.0, radius=EARTH_RADIUS_KM) == 0.0
    assert chord_from_arc(QUARTER_KM, radius=EARTH_RADIUS_KM) == 1.414213562373095
    assert chord_from_arc(1e9, radius=EARTH_RADIUS_KM) == 2.0  # beyond half the circumference
    assert chord_from_arc(1_000.0, radius=EARTH_RADIUS_M) == 1.5696101361113617e-4


@pytest.mark.parametrize("km", [0.001, 1.0, 25.0, 150.0, 5_000.0, 19_000.0])
def test_arc_and_chord_are_inverses(km):
    chord = chord_from_arc(km, radius=EARTH_RADIUS_KM)
    assert arc_from_chord(chord, radius=EARTH_RADIUS_KM) == pytest.approx(km, rel=1e-12)
