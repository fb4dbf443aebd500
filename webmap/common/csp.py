"""Inline scripts under the Content-Security-Policy: the map set-up folium writes runs only
with this response's nonce, so the policy needs no ``'unsafe-inline'`` for scripts."""

from __future__ import annotations

import secrets

from flask import g


def script_nonce() -> str:
    """This response's script nonce, made on first use; each inline ``<script>`` carries it."""
    if "script_nonce" not in g:
        g.script_nonce = secrets.token_urlsafe(16)
    return g.script_nonce


def script_sources() -> str:
    """The policy's ``script-src``: this app, and this response's nonce if it made one."""
    nonce = g.get("script_nonce")
    return f"'self' 'nonce-{nonce}'" if nonce else "'self'"
