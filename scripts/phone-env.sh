#!/usr/bin/env bash
# Idempotent second venv, .venv-phone, pinned to the library versions a phone build gets from Flet's
# Android wheels (see ../shared/FLET_NOTES.md, "Packaging for phones"): Pillow 10.4.0 and pydantic-core
# 2.23.3 (so pydantic 2.9.1, the release pinned to that core; 2.9.2 needs core 2.23.4). The phone-side tests (enforcement, patrollog, mobile) run in it too, so an
# API newer than those versions fails here rather than on a phone. Sourced by scripts/test after
# scripts/setup.sh; exports PHONE_PY (its python). Safe to run again; skips what is already there.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-python3}"
PHONE_PINS=(pillow==10.4.0 pydantic==2.9.1 pydantic-core==2.23.3)
# The phone-side tests also run against a live HQ (testkit.hqkit), hence the [hq] extra.
# pillow-heif: the HEIC test; with Pillow pinned to 10.4 pip picks pillow-heif 0.22 (1.x needs Pillow >= 13).
PHONE_TEST_DEPS=(pytest pytest-timeout pytest-xdist hypothesis pypdf pillow-heif shapely trustme)  # shapely, trustme: test oracles only

PHONE_VENV="$ROOT/.venv-phone"
[ -x "$PHONE_VENV/bin/python" ] || "$PY" -m venv "$PHONE_VENV"
phone_stamp="$PHONE_VENV/.installed-$( (cat "$ROOT/pyproject.toml"; echo "${PHONE_PINS[*]} ${PHONE_TEST_DEPS[*]}") \
  | sha256sum | cut -c1-16)"
if [ ! -f "$phone_stamp" ]; then
  "$PHONE_VENV/bin/python" -m pip install -q --upgrade pip >/dev/null
  "$PHONE_VENV/bin/python" -m pip install -q -e "$ROOT[hq]" "${PHONE_TEST_DEPS[@]}" "${PHONE_PINS[@]}"
  "$PHONE_VENV/bin/python" - "${PHONE_PINS[@]}" <<'PYEOF'
import sys
from importlib.metadata import version

for pin in sys.argv[1:]:
    name, wanted = pin.split("==")
    if version(name) != wanted:
        sys.exit(f"phone-env: {name} is {version(name)}, not {wanted}")
PYEOF
  rm -f "$PHONE_VENV"/.installed-*
  touch "$phone_stamp"
fi
export PHONE_PY="$PHONE_VENV/bin/python"
