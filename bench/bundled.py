"""What the benches of single pages share: an app over the bundled listings, and a table."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask

from caremap.store import Store, open_store
from etl.pipeline import run
from webmap import create_app

REPO = Path(__file__).resolve().parent.parent
DATA_DIR = REPO / "data"


@contextmanager
def bundled_app(**config: Any) -> Iterator[tuple[Flask, Store]]:
    """An app (tiles off, plus ``config``) over a new embedded store in a temporary folder,
    holding the bundled listings loaded by the real ETL; the store is open beside it."""
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        url = f"sqlite:///{work / 'bench.sqlite3'}"
        store = open_store(url)
        try:
            run(store, [DATA_DIR / "listings"], DATA_DIR, work / "reports", progress=False)
            app = create_app(
                {"DATABASE_URL": url, "SECRET_KEY": "bench", "TILES_URL": "", **config}
            )
            try:
                yield app, store
            finally:
                app.extensions["caremap_store"].dispose()
        finally:
            store.dispose()


def print_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Rows under a header, each column as wide as its widest cell, left-aligned."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print(" | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
