"""Jurisdiction layers: assignment from many threads at once, and the national border."""

from __future__ import annotations

import subprocess
import sys
import textwrap

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
        [sys.executable, "-c", CONCURRENT_ASSIGN], capture_output=True, text=True, timeout=120
    )
    assert (run.returncode, run.stdout.strip()) == (0, "assigned"), run.stderr[-2000:]
