"""``python -m bench [BENCHMARK] [OPTIONS]``; see the :mod:`bench` docstring."""

from __future__ import annotations

import sys

from bench import (
    browse_map,
    coverage,
    etl_throughput,
    indicators,
    map_techniques,
    ogc_paging,
    pages,
    phone,
    planner,
    search_latency,
    stored_coverage,
    synthetic,
    transfer,
)

BENCHMARKS = {
    "coverage": coverage.main,
    "etl": etl_throughput.main,
    "indicators": indicators.main,
    "map": browse_map.main,
    "ogc": ogc_paging.main,
    "pages": pages.main,
    "phone": phone.main,
    "planner": planner.main,
    "search": search_latency.main,
    "stored": stored_coverage.main,
    "synthetic": synthetic.main,
    "techniques": map_techniques.main,
    "transfer": transfer.main,
}
DEFAULT = ["etl", "search"]  # what a bare `python -m bench` (and `make bench`) runs


def main(argv: list[str]) -> int:
    if argv and argv[0] in ("-h", "--help"):
        print(sys.modules["bench"].__doc__)
        return 0
    if not argv or argv[0].startswith("-"):
        status = 0
        for name in DEFAULT:
            status |= BENCHMARKS[name](argv)
        return status
    name, *rest = argv
    if name not in BENCHMARKS:
        print(f"unknown benchmark {name!r}; choose from {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    return BENCHMARKS[name](rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
