"""caremap benchmarks, printed as tables. All input is SYNTHETIC (see :mod:`bench.synthetic`).

Usage (from the repository root)::

    .venv/bin/python -m bench                 # every benchmark (today: etl)
    .venv/bin/python -m bench etl [--rows N] [--repeat K] [--postgis-url URL] [--profile]
    .venv/bin/python -m bench synthetic --out DIR [--rows N]   # just write the synthetic CSV

``etl`` (:mod:`bench.etl_throughput`) times ``etl.pipeline.run`` on 10,000 synthetic rows: a first
run into an empty store and an unchanged re-run, for the embedded SQLite store (temporary file)
and, when a PostGIS URL is given with ``--postgis-url`` or ``$CAREMAP_BENCH_POSTGIS_URL``, for
PostGIS too (the schema ``caremap_bench`` in that database is dropped and recreated; PostGIS must
be installed in it). Without a URL, PostGIS is skipped with a note. Example::

    runuser -u postgres -- psql -c "CREATE DATABASE caremap_bench OWNER caremap"
    runuser -u postgres -- psql -d caremap_bench -c "CREATE EXTENSION postgis"
    .venv/bin/python -m bench etl \\
        --postgis-url postgresql+psycopg://caremap:caremap@127.0.0.1:5432/caremap_bench

Targets: embedded first run >= 2,000 rows/s; re-run <= 1/2 of the first run. The exit status is
1 when a target fails. ``--profile`` adds a cProfile of an embedded first run (top 15 entries by
cumulative time, and each pipeline stage's share). The whole run takes about 70 s on a
2-core machine with PostGIS (90 s with ``--profile``).
"""
