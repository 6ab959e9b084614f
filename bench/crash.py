"""Crash consistency on the phone: SIGKILL a process that is saving cases with photos at random moments,
reopen the store after every kill, and check what survived.

The bench's driver lives in testkit/crash.py (the suite runs a short version of it in
tests/reliability/); this script runs it at full size and writes bench/results/ (see testkit/crash.py for
what it measures and its options).
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``testkit`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from testkit.crash import main

if __name__ == "__main__":
    main()
