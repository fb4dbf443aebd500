"""Classes for choropleths (mapclassify) and the colours that say "worse" the same way for
every indicator: the darkest red is always the worst class."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import mapclassify
import numpy as np

METHODS = ("quantiles", "fisher_jenks", "equal_interval")
# Above this many units Fisher-Jenks is computed on a sample (mapclassify's sampled variant).
FISHER_JENKS_SAMPLE_ABOVE = 2_000
# ColorBrewer YlOrRd, light (better) to dark (worse), for up to 7 classes.
PALETTE = ("#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#b10026")


@dataclass(frozen=True)
class Classes:
    method: str
    upper_bounds: tuple[float, ...]
    colours: tuple[str, ...]  # one per class, by increasing value
    labels: np.ndarray  # class of each value (-1 where the value is missing)


def classify(values: np.ndarray, method: str, k: int, higher_is_worse: bool) -> Classes:
    """Classes of the finite ``values``; missing ones (NaN) get class -1."""
    if method not in METHODS:
        raise ValueError(f"unknown classification {method!r}; choose from {', '.join(METHODS)}")
    finite = np.isfinite(values)
    labels = np.full(len(values), -1)
    distinct = np.unique(values[finite])
    if distinct.size == 0:
        return Classes(method, (), (), labels)
    k = max(1, min(k, distinct.size, len(PALETTE)))
    with warnings.catch_warnings():
        # mapclassify says it runs without numba (slower, same result), or that tied values
        # leave fewer classes than asked (the legend then shows the classes there are).
        warnings.filterwarnings("ignore", message="Numba not installed", category=UserWarning)
        warnings.filterwarnings("ignore", message="Not enough unique values", category=UserWarning)
        result = _classifier(values[finite], method, k)
    labels[finite] = result.yb
    k = len(result.bins)  # mapclassify may merge classes of tied values
    colours = tuple(PALETTE[round(i)] for i in np.linspace(0, len(PALETTE) - 1, k))
    if not higher_is_worse:
        colours = colours[::-1]
    return Classes(method, tuple(float(b) for b in result.bins), tuple(colours), labels)


def _classifier(values: np.ndarray, method: str, k: int) -> mapclassify.classifiers.MapClassifier:
    if method == "quantiles":
        return mapclassify.Quantiles(values, k=k)
    if method == "equal_interval":
        return mapclassify.EqualInterval(values, k=k)
    if values.size > FISHER_JENKS_SAMPLE_ABOVE:
        return mapclassify.FisherJenksSampled(values, k=k)
    return mapclassify.FisherJenks(values, k=k)
