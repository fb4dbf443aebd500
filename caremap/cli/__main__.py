"""``python -m caremap.cli``."""

import sys

from caremap.cli import main

sys.exit(main())
