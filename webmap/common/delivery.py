"""How responses travel: compressed, cached for good under content-hashed names, revalidated.

- Compression (Flask-Compress): brotli, zstd or gzip, whichever the client accepts, for text
  responses (HTML, JSON, GeoJSON, CSS, JS, SVG, CSV) of 500 bytes or more, static files
  included; ``Vary: Accept-Encoding`` on every response.
- Static files: every ``url_for("static", filename=...)`` (templates, folium's vendored
  assets) yields ``name.<digest>.ext``, where the digest is the file's content hash. That name
  is served with ``Cache-Control: public, max-age=31536000, immutable``; a digest that is not
  the file's is a 404; the plain name is still served, with a short cache, for old links.
- :func:`revalidated` gives a blueprint's GET answers an ``ETag`` (a hash of the body, so it
  changes whenever the data does) and answers a matching ``If-None-Match`` with a bodyless 304.
"""

from __future__ import annotations

import functools
import hashlib
import re
from pathlib import Path
from typing import Any

from flask import Flask, abort, current_app, request, send_from_directory
from flask_compress import Compress
from werkzeug.security import safe_join
from werkzeug.wrappers import Response

from webmap.common.cors import READS

IMMUTABLE_MAX_AGE_S = 31_536_000
PLAIN_NAME_MAX_AGE_S = 300
DIGEST_LENGTH = 12
COMPRESSED_TYPES = (
    "text/html",
    "text/css",
    "text/csv",
    "text/plain",
    "text/markdown",
    "text/javascript",
    "application/javascript",
    "application/json",
    "application/geo+json",
    "application/schema+json",
    "application/vnd.oai.openapi+json",
    "image/svg+xml",
)
_HASHED_NAME = re.compile(
    rf"^(?P<stem>.*[^/])\.(?P<digest>[0-9a-f]{{{DIGEST_LENGTH}}})(?P<suffix>\.[^/.]+)?$"
)


def init_app(app: Flask) -> None:
    """Compress the app's responses and serve its static files under hashed names."""
    app.config.setdefault("COMPRESS_MIMETYPES", list(COMPRESSED_TYPES))
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "zstd", "gzip"])
    Compress(app)
    app.view_functions["static"] = serve_static
    app.url_defaults(_hash_static_names)


def revalidated(response: Response) -> Response:
    """Tag a GET answer with a hash of its body and answer ``If-None-Match`` with a 304.

    Registered on a blueprint (``bp.after_request(revalidated)``); it runs before the
    compression, which extends the tag with the encoding and answers the compressed tag."""
    if request.method in READS and response.status_code == 200 and not response.is_streamed:
        response.add_etag()
        response.make_conditional(request)
    return response


def static_name(filename: str) -> str:
    """The content-hashed name of a static file (``css/caremap.<digest>.css``); the name
    unchanged for a file that does not exist."""
    digest = _file_digest(filename)
    if digest is None:
        return filename
    stem, dot, suffix = filename.rpartition(".")
    if not dot or "/" in suffix:
        return f"{filename}.{digest}"
    return f"{stem}.{digest}.{suffix}"


def serve_static(filename: str) -> Response:
    """A static file: immutable under its hashed name, briefly cached under its plain name,
    404 under a digest that is not its content's."""
    hashed = _HASHED_NAME.match(filename)
    if hashed is None or _file_digest(filename) is not None:
        return _send(filename, PLAIN_NAME_MAX_AGE_S)
    original = hashed["stem"] + (hashed["suffix"] or "")
    if _file_digest(original) != hashed["digest"]:
        abort(404)
    response = _send(original, IMMUTABLE_MAX_AGE_S)
    response.cache_control.immutable = True
    return response


def _send(filename: str, max_age_s: int) -> Response:
    """The file whole, read at once (static files are small): compressed like any other
    response and closed once sent. Ranges are not offered: a range of the file would not
    match the compressed body it is sent as."""
    request.environ.pop("HTTP_RANGE", None)
    response = send_from_directory(str(current_app.static_folder), filename, max_age=max_age_s)
    response.headers.pop("Accept-Ranges", None)
    response.direct_passthrough = False
    response.make_sequence()
    return response


def _hash_static_names(endpoint: str, values: dict[str, Any]) -> None:
    if endpoint == "static" and "filename" in values:
        values["filename"] = static_name(values["filename"])


def _file_digest(filename: str) -> str | None:
    """The content digest of a file under the static folder; None if there is none."""
    joined = safe_join(str(current_app.static_folder), filename)
    if joined is None:
        return None
    path = Path(joined)
    try:  # a name the file system refuses (too long, a NUL byte) names no file
        stat = path.stat()
    except (OSError, ValueError):
        return None
    return _digest(path, stat.st_mtime_ns, stat.st_size) if path.is_file() else None


@functools.lru_cache(maxsize=1024)
def _digest(path: Path, mtime_ns: int, size: int) -> str:
    """The file's content hash, computed once per version (modification time, size)."""
    with path.open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()[:DIGEST_LENGTH]
