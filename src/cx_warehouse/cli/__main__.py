"""``python -m cx_warehouse.cli``: the same as ``cxw`` (subprocesses and benchmarks use it)."""

import sys

from cx_warehouse.cli import main

sys.exit(main())
