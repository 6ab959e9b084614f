"""The test and bench kit: what tests/ and bench/ share, so neither imports the other.

- ``hqkit``: a fresh HQ over tmp SQLite with the test users, a settable clock, a loopback uvicorn server.
- ``records``: builders of valid cases, subjects and photo references for storage-level tests.
- ``pg``: the test PostgreSQL (the DSN from the environment, skip or fail, a fresh schema per test).
- ``harness``: the Chromium/Playwright harness of the UI tests (tests/e2e) and bench/taps.py.
- ``fleet``, ``chaosproxy``, ``chaos``, ``crash``, ``hostile``, ``load``: the drivers of the benches;
  bench/ runs them at full size, tests/reliability runs short versions.

Never shipped: not in the wheel (pyproject's package list) nor in the phone bundle ([tool.flet.app]
exclude); product packages never import it (tests/test_layering.py).
"""
