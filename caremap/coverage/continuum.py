"""Missing steps of the continuum of care, per jurisdiction, from the planner's own indicators
(:mod:`caremap.coverage.indicators`): a jurisdiction **misses a step** when it has services of
one step (for example a shelter) and more than half its people (:data:`DESERT_SHARE`) live
farther than ``km`` (great circle, 100 by default) from the nearest service of the next step
(for example a sexual assault centre), wherever that service is. The next step's data status
says whether that absence is certain (``covered``: a source lists the type completely there)
or only an absence from the data (``partial`` or ``no_data``).
"""

from __future__ import annotations

from dataclasses import dataclass

from caremap.coverage.indicators import DESERT_SHARE, LevelContext, Selection

MISSING_STEP_KM = 100.0
SHELTERS = frozenset({"emergency_shelter", "vaw_shelter", "safe_house"})


@dataclass(frozen=True)
class ContinuumStep:
    """From services of the types ``have`` to the next step, services of the types ``need``."""

    have: frozenset[str]
    need: frozenset[str]


STEPS = {
    "shelter_to_sexual_assault_centre": ContinuumStep(
        SHELTERS, frozenset({"sexual_assault_centre"})
    ),
    "shelter_to_legal_aid": ContinuumStep(SHELTERS, frozenset({"legal_aid"})),
    "shelter_to_victim_services": ContinuumStep(SHELTERS, frozenset({"victim_services"})),
}


@dataclass(frozen=True)
class MissingStep:
    """One jurisdiction's step: its services of the first step, the share of its people
    farther than the distance from the next (None without people), the next step's data
    status, and whether the step is missing."""

    code: str
    name_en: str
    name_fr: str
    have: int
    share_beyond: float | None
    status: str
    missing: bool


def missing_steps(
    context: LevelContext, step: ContinuumStep, km: float = MISSING_STEP_KM
) -> list[MissingStep]:
    """Every jurisdiction of the context's level, for ``step`` (module doc)."""
    level = context.layer.config.level
    have = context.evaluate(Selection(level=level, service_types=step.have)).indicators()
    need = context.evaluate(Selection(level=level, service_types=step.need)).indicators(km)
    return [
        MissingStep(
            code=first.code,
            name_en=first.name_en,
            name_fr=first.name_fr,
            have=first.services,
            share_beyond=following.share_beyond,
            status=following.status,
            missing=first.services > 0
            and following.share_beyond is not None
            and following.share_beyond > DESERT_SHARE,
        )
        for first, following in zip(have, need, strict=True)
    ]
