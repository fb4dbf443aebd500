"""``python -m caremap_cli``."""

import sys

from caremap_cli import main

sys.exit(main())
