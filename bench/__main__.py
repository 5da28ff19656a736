"""``uv run python -m bench``: every benchmark, then a summary table."""

import sys

from bench.run_all import main

sys.exit(main())
