"""Where the test data is: the project's bundled data and the tests' own fixtures."""

from __future__ import annotations

from pathlib import Path

from caremap.settings import PROJECT_ROOT

DATA_DIR = PROJECT_ROOT / "data"
TEST_DATA = Path(__file__).parent.parent / "data"
LISTINGS = DATA_DIR / "listings"
CONFIDENTIAL_FIXTURE = TEST_DATA / "confidential_listings.csv"
