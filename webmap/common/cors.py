"""Cross-origin reads of the public APIs: any site may GET them (no credentials are sent or
allowed), while the pages and every signed-in route stay same-origin."""

from __future__ import annotations

from flask import Blueprint, request
from werkzeug.wrappers import Response

READS = ("GET", "HEAD")


def allow_any_origin_to_read(blueprint: Blueprint) -> None:
    """Answer ``blueprint``'s GET and HEAD requests with ``Access-Control-Allow-Origin: *``."""

    @blueprint.after_request
    def any_origin(response: Response) -> Response:
        if request.method in READS:
            response.headers["Access-Control-Allow-Origin"] = "*"
        return response
