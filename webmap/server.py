"""The production HTTP server: granian (a WSGI server whose HTTP side is Rust: hyper on tokio)
running :func:`webmap.serving_app` in each worker process. ``caremap serve`` and the container
both run :func:`serve`.

Measured against waitress (one keep-alive client): granian answers a bare WSGI app in under a
third of waitress's time (56 vs 193 µs p50), and an API search 0.3–0.4 ms sooner
(``python -m bench search`` times both on the same store), since its HTTP parsing, thread
hand-off and send are not Python.
"""

from __future__ import annotations

APP_FACTORY = "webmap:serving_app"
# Python threads per worker that run the app: a few, so that one request waiting on the
# database does not hold up the others (the GIL keeps more from helping); within the store's
# connection pool (SQLAlchemy's default of 5).
THREADS_PER_WORKER = 4
# Seconds a stopping worker has to finish its requests before it is killed. A worker that is
# still starting misses SIGTERM (granian installs its handlers once the app is loaded) and
# would otherwise keep the server from stopping.
WORKER_STOP_TIMEOUT_S = 5


def serve(host: str, port: int, workers: int = 1, factory: str = APP_FACTORY) -> None:
    """Serve the app ``factory`` ("module:function") makes on ``host:port`` until interrupted
    (SIGINT/SIGTERM stop it gracefully); a worker process that dies is replaced."""
    from granian import Granian
    from granian.constants import Interfaces

    Granian(
        factory,
        address=host,
        port=port,
        interface=Interfaces.WSGI,
        factory=True,
        workers=workers,
        blocking_threads=THREADS_PER_WORKER,
        websockets=False,
        # A worker that dies is replaced; granian itself exits only when a replacement dies
        # within 5.5 s of starting (a crash loop), for the supervisor (docker) to restart.
        respawn_failed_workers=True,
        workers_kill_timeout=WORKER_STOP_TIMEOUT_S,
    ).serve()
