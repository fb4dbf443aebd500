"""A real HTTP server for browser and client tests, in a thread of the test process (so that a
test's app, with its own config and store, is what the browser sees): waitress.

``caremap serve`` runs granian, which serves from worker processes of its own;
``tests/test_serve.py`` tests that server as a real process."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from waitress import wasyncore
from waitress.server import create_server


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """Serve ``app`` on a free port of 127.0.0.1 in a thread; yield its base URL.

    waitress closes what it serves when a browser drops a connection mid-response (navigating
    away), where Werkzeug's development server left the file open (a ResourceWarning).
    """
    connections: dict = {}  # waitress's socket map: the listener and each open connection
    server = create_server(app, map=connections, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        # Close the listener and every connection (a browser keeps idle ones open) in the
        # server's own thread, woken by its trigger: closed there, no socket can vanish under
        # the select() it is waiting in (EBADF, which killed the thread). With its socket map
        # empty, its loop ends.
        server.trigger.pull_trigger(lambda: wasyncore.close_all(connections))
        thread.join(timeout=10)
        server.task_dispatcher.shutdown()
