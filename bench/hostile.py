"""Bad input at HQ: hostile text, parameters, photos and bodies, and a long schemathesis run, all over real
HTTP on loopback.

The bench's driver lives in testkit/hostile/ (the suite runs a short version of it in
tests/reliability/); this script runs it at full size and writes bench/results/ (see testkit/hostile/ for
what it measures and its options).
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``testkit`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from testkit.hostile import main

if __name__ == "__main__":
    main()
