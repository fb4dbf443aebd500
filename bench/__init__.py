"""caremap benchmarks, printed as tables. All input is SYNTHETIC (see :mod:`bench.synthetic`).

Usage (from the repository root)::

    .venv/bin/python -m bench                 # every benchmark (etl, then search)
    .venv/bin/python -m bench etl [--rows N] [--repeat K] [--postgis-url URL] [--profile]
    .venv/bin/python -m bench search [--rows N] [--origins N] [--rounds K] [--postgis-url URL]
                                     [--rebuild] [--profile]
    .venv/bin/python -m bench synthetic --out DIR [--rows N]   # just write the synthetic CSV
    .venv/bin/python -m bench coverage [--repeat K] [--keep DIR]   # only by name
    .venv/bin/python -m bench indicators                 # planner indicators and classes
    .venv/bin/python -m bench stored [--rows N] [--repeat K]   # stored coverage after an edit
    .venv/bin/python -m bench ogc [--rows N] [--repeat K] [--postgis-url URL]   # OGC pages
    .venv/bin/python -m bench transfer                   # bytes per page, cold and warm
    .venv/bin/python -m bench planner [--repeat K]        # planner request CPU, p50/p95
    .venv/bin/python -m bench pages [--repeat K]          # map pages' request CPU, p50/p95
    .venv/bin/python -m bench map [--sizes N ...]        # browse map: page, markers, pan/zoom
    .venv/bin/python -m bench techniques --postgis-url URL   # map points: grid JSON vs MVT
    .venv/bin/python -m bench phone [--runs K]           # home and search, Fast 3G phone

``etl`` (:mod:`bench.etl_throughput`) times ``etl.pipeline.run`` on 10,000 synthetic rows: a first
run into an empty store and an unchanged re-run, for the embedded SQLite store (temporary file)
and, when a PostGIS URL is given with ``--postgis-url`` or ``$CAREMAP_BENCH_POSTGIS_URL``, for
PostGIS too (the schema ``caremap_bench`` in that database is dropped and recreated; PostGIS must
be installed in it). Without a URL, PostGIS is skipped with a note. Example::

    runuser -u postgres -- psql -c "CREATE DATABASE caremap_bench OWNER caremap"
    runuser -u postgres -- psql -d caremap_bench -c "CREATE EXTENSION postgis"
    .venv/bin/python -m bench etl \\
        --postgis-url postgresql+psycopg://caremap:caremap@127.0.0.1:5432/caremap_bench

Targets: embedded first run >= 2,000 rows/s (wall time; the CPU time of each first run is
printed beside it); re-run <= 1/2 of the first run. The exit status is 1 when a target fails.
``--profile`` adds a cProfile of an embedded first run (top 15 entries by cumulative time, and
each pipeline stage's share). The whole run takes about 70 s on a
2-core machine with PostGIS (90 s with ``--profile``).

``search`` (:mod:`bench.search_latency`) loads 100,000 synthetic rows with the real ETL into the
embedded store and (with a PostGIS URL, as for ``etl``) PostGIS, then times
``/api/v1/services?lat=&lon=&limit=10`` over HTTP from a real server (a subprocess on 127.0.0.1,
one per store: granian as ``caremap serve`` runs it; on PostGIS also waitress, for comparison)
against, in the same run, the raw nearest-neighbour SQL through
psycopg (PostGIS) and a brute-force numpy haversine over every public point (embedded), plus
the app in-process (Flask test client) and ``store.nearest`` in-process for information; 300
query points sampled from FSA centroids by population, the same for every method; p50/p95 per
method. The loaded stores are kept: the embedded store as
``bench/out/search-embedded-ROWS-KEY.sqlite3`` and PostGIS as the schema
``caremap_search_bench`` (dropped and recreated only when stale), keyed by rows, seed, the ETL
pipeline fingerprint and the code of the generator, model and migrations; ``--rebuild`` loads
again. Targets: PostGIS HTTP p95 <= 2.5 x the raw query's p95; embedded ``nearest`` >= 10 x
faster than brute force (p50). The exit status is 1 when a target fails. ``--profile`` adds a
cProfile of 100 API requests in-process (top 15 entries, each request stage's share). With the
stores cached the run takes about 1 minute on a 2-core machine; loading them first (100,000
rows into each store; the embedded file is about 340 MB) adds about 3 minutes.

``coverage`` (:mod:`bench.coverage`; by name only: it needs the ``test`` extra's ``access`` and
about 8 GB) times caremap's 2SFCA against PySAL ``access``'s on 57,000 synthetic demand points x
5,000 synthetic sites with a 100 km catchment (about 28 million pairs): in one process, and as
whole processes (``caremap coverage compute`` against ``bench/coverage_access.py``) reading the
same CSVs. Targets: identical scores to 1e-9, and caremap's time <= 1/3 of access's, both ways.
About 2 minutes.

``ogc`` (:mod:`bench.ogc_paging`) times pages of ``/ogc/collections/services/items`` read in SQL
(``caremap.listing.listings_page``) against the same pages made by loading every public service
and slicing, on the bundled listings and on 10,000 synthetic rows, in the embedded store and
(with a PostGIS URL, in the schema ``caremap_ogc_bench``) PostGIS. About 3 minutes.

``stored`` (:mod:`bench.stored_coverage`) loads 10,000 synthetic rows into the embedded store,
then times a full rebuild of the stored coverage indicators, one edit (a service moved about
5 km), and the incremental rebuild after it, wall and CPU time side by side. Target: the
rebuild after one edit <= 1/10 of the full rebuild.

``transfer`` (:mod:`bench.transfer`) counts the bytes and requests a browser spends on the home
page and a search over the bundled listings, cold and warm, uncompressed and revalidating
everything (as before compression and hashed names) against gzip and brotli with the cache
headers followed. About 15 s.

``planner`` (:mod:`bench.planner`) times planner requests in-process on the bundled listings
(embedded store): the default page, filtered ones, a what-if and the map's outlines, CPU and
wall time per request (p50 / p95), computed on request and read from the stored indicators.
About 1 minute.

``pages`` (:mod:`bench.pages`) times the public map pages in-process on the bundled listings
(embedded store): the home page in English and French, a search, a service's page and the
maps' outlines, CPU and wall time per request (p50 / p95). About 10 s.

``phone`` (:mod:`bench.phone`) opens the home page and a search over the bundled listings in
headless Chromium on an emulated 360 px phone, cold, on DevTools' "Fast 3G" network (562.5 ms,
1.44 Mbit/s down, 675 kbit/s up) with the CPU slowed 4x: load event, first result and first
map marker on screen, bytes transferred; median of 3 runs. Target: each time <= 2.5 s.
About 1 minute.
"""
