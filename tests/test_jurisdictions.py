"""Jurisdiction layers: assignment from many threads at once, and the national border."""

from __future__ import annotations

import csv
import subprocess
import sys
import textwrap

import numpy as np

from caremap.jurisdictions import load_boundaries
from etl.pipeline import run
from tests.conftest import DATA_DIR

# Run in a child process: a crash in GEOS kills that process, not pytest.
CONCURRENT_ASSIGN = textwrap.dedent(
    """
    import threading
    import shapely
    from caremap.jurisdictions import load_boundaries
    from caremap.settings import PROJECT_ROOT

    THREADS, LOADS = 8, 3
    for _ in range(LOADS):
        load_boundaries.cache_clear()
        layers = list(load_boundaries(PROJECT_ROOT / "data").layers.values())
        # A point inside every polygon: each thread's first query touches every polygon.
        inside = [shapely.point_on_surface(layer.tree.geometries) for layer in layers]
        start = threading.Barrier(THREADS)
        results = []

        def assign():
            start.wait()
            results.append([layer.assign(shapely.get_y(p), shapely.get_x(p))
                            for layer, p in zip(layers, inside)])

        threads = [threading.Thread(target=assign) for _ in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(results) == THREADS
        for layer, p, *assigned in zip(layers, inside, *results):
            expected = layer.assign(shapely.get_y(p), shapely.get_x(p))
            assert all((codes == expected).all() for codes in assigned)
    print("assigned")
    """
)


def test_freshly_loaded_layers_assign_from_many_threads_at_once():
    run = subprocess.run(
        [sys.executable, "-c", CONCURRENT_ASSIGN],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (run.returncode, run.stdout.strip()) == (0, "assigned"), run.stderr[-2000:]


# (lat, lon) points outside every simplified province outline: across the water from Canada's
# shore in the United States, and Canadian shores the outline cuts off.
ABROAD = {
    "Buffalo NY": (42.8864, -78.8784),
    "Detroit MI": (42.3314, -83.0458),
    "Niagara Falls NY": (43.0962, -79.0377),
    "Calais ME": (45.1845, -67.2766),
}
CANADIAN_SHORES = {
    "Toronto Island": ((43.6205, -79.3789), "35"),
    "Point Pelee": ((41.9626, -82.5157), "35"),
    "Howe Island": ((44.2500, -76.2833), "35"),
    "Deer Island NB": ((44.9833, -66.9500), "13"),
}


def _assign(points):
    boundaries = load_boundaries(DATA_DIR)
    latitudes, longitudes = (np.array(axis) for axis in zip(*points, strict=True))
    return boundaries.assign(latitudes, longitudes)


def test_points_across_the_border_are_outside_canada():
    pruids, cduids = _assign(ABROAD.values())
    assert dict(zip(ABROAD, pruids, strict=True)) == dict.fromkeys(ABROAD)
    assert dict(zip(ABROAD, cduids, strict=True)) == dict.fromkeys(ABROAD)


def test_canadian_shores_the_outline_cuts_off_keep_their_province():
    pruids, cduids = _assign(point for point, _ in CANADIAN_SHORES.values())
    assert dict(zip(CANADIAN_SHORES, pruids, strict=True)) == {
        name: pruid for name, (_, pruid) in CANADIAN_SHORES.items()
    }
    assert all(cduids)


def test_etl_refuses_a_point_across_the_border_stated_in_canada(empty_store, tmp_path):
    rows = [
        ("US-1", "Across the river (test)", "ON", *ABROAD["Buffalo NY"]),
        ("US-2", "Across the strait (test)", "ON", *ABROAD["Detroit MI"]),
        ("CA-1", "On the island (test)", "ON", *CANADIAN_SHORES["Toronto Island"][0]),
    ]
    path = tmp_path / "border.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "source_id",
                "name",
                "organization",
                "service_category",
                "city",
                "province",
                "latitude",
                "longitude",
                "address_confidential",
            ]
        )
        for source_id, name, province, latitude, longitude in rows:
            writer.writerow(
                [
                    source_id,
                    name,
                    "Test Org",
                    "drop_in",
                    "Town",
                    province,
                    latitude,
                    longitude,
                    "no",
                ]
            )
    [report] = run(empty_store, [path], DATA_DIR, tmp_path, progress=False)
    assert {row.line: row.reason for row in report.rejected} == {
        2: "point (42.8864, -78.8784) is outside Canada",
        3: "point (42.3314, -83.0458) is outside Canada",
    }
    assert report.counts.inserted == 1
