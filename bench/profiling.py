"""Profile reports shared by the benchmarks: top entries with short paths, and the share of
time each stage of a run takes."""

from __future__ import annotations

import os
import pstats
import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
Phase = tuple[str, str, str]  # file suffix, function name, label


def trim_paths(report: str) -> str:
    """Paths relative to the repository, site-packages prefixes dropped."""
    report = report.replace(str(REPO) + os.sep, "")
    return re.sub(r"\S*/site-packages/", "", report)


def phase_shares(
    stats: pstats.Stats, phases: list[Phase], whole: tuple[str, str], heading: str
) -> str:
    """Cumulative time of each phase as a share of ``whole`` (file suffix, function)."""
    cumulative: dict[str, float] = {}
    total = 0.0
    for (filename, _, name), (_, _, _, cum, _) in stats.stats.items():  # type: ignore[attr-defined]
        if filename.endswith(whole[0]) and name == whole[1]:
            total = max(total, cum)
        for suffix, function, label in phases:
            if filename.endswith(suffix) and name == function:
                cumulative[label] = max(cumulative.get(label, 0.0), cum)
    if not total:
        return ""
    width = max(len(label) for _, _, label in phases) + 2
    lines = [heading]
    seen = set()
    for _, _, label in phases:
        if label in cumulative and label not in seen:
            seen.add(label)
            lines.append(f"  {label:{width}s} {cumulative[label] / total:6.1%}")
    return "\n".join(lines) + "\n"
