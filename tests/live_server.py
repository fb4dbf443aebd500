"""A real HTTP server for browser and client tests, in a thread of the test process (so that a
test's app, with its own config and store, is what the browser sees): waitress.

``caremap serve`` runs granian, which serves from worker processes of its own;
``tests/test_serve.py`` tests that server as a real process."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
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
        server.close()
        # A browser keeps idle connections open; shut them down so that the server's loop
        # closes them in its own thread and ends (closing them here would race with it).
        for channel in list(connections.values()):
            with contextlib.suppress(OSError, AttributeError):
                channel.socket.shutdown(socket.SHUT_RDWR)
        thread.join(timeout=10)
