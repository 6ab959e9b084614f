"""Load: how many phones can sync at once before HQ's answers slow down, on SQLite and on PostgreSQL.

The bench's driver lives in testkit/load.py (the suite runs a short version of it in
tests/reliability/); this script runs it at full size and writes bench/results/ (see testkit/load.py for
what it measures and its options).
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``testkit`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from testkit.load_compare import main

if __name__ == "__main__":
    raise SystemExit(main())
