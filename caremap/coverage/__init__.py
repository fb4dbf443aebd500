"""Coverage: where care is within reach of the population, and where it is missing.

The methods (2SFCA, E2SFCA, floating catchment ratio, nearest site), their definitions and the
distances they use are described in :mod:`caremap.coverage.accessibility`; CSV reading (with
row-level errors) and atomic writing in :mod:`caremap.coverage.io`. The command line is
``caremap coverage compute``.
"""

from caremap.coverage.accessibility import (
    DECAY_HELP,
    EARTH_RADIUS_KM,
    METHODS,
    CoverageResult,
    Decay,
    GaussianDecay,
    Points,
    SparseCosts,
    StepDecay,
    compute_coverage,
    enhanced_two_step_fca,
    floating_catchment_ratio,
    great_circle_km,
    luo_qi_step,
    nearest_site,
    parse_decay,
    two_step_fca,
)

__all__ = [
    "DECAY_HELP",
    "EARTH_RADIUS_KM",
    "METHODS",
    "CoverageResult",
    "Decay",
    "GaussianDecay",
    "Points",
    "SparseCosts",
    "StepDecay",
    "compute_coverage",
    "enhanced_two_step_fca",
    "floating_catchment_ratio",
    "great_circle_km",
    "luo_qi_step",
    "nearest_site",
    "parse_decay",
    "two_step_fca",
]
