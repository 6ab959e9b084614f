#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian machine with Python 3.11: system packages, a venv, the project.
# Sourced by scripts/run and scripts/test. Safe to run again; skips what is already there.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-python3}"

# System packages: PostgreSQL (HQ's second backend, started on loopback by the tests), Debian's
# chromium (UI tests through Playwright; never a downloaded browser), poppler-utils (PDF checks),
# (fonts-noto-cjk, fonts-hanazono, fonts-babelstone-han and fonts-symbola are needed only to rebuild the
# shipped fonts: scripts/build_font.py.)
APT_PKGS=(postgresql chromium poppler-utils)
# Another apt/dpkg run (unattended-upgrades, a second set-up) holds /var/lib/dpkg/lock-frontend or
# /var/lib/apt/lists/lock: wait for it, up to 5 minutes, instead of failing (apt >= 1.9).
APT_WAIT=(-o DPkg::Lock::Timeout=300)
missing=()
for p in "${APT_PKGS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: installing ${missing[*]} (waits up to 5 minutes if another package manager run holds its lock)" >&2
  $SUDO apt-get "${APT_WAIT[@]}" update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get "${APT_WAIT[@]}" install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

VENV="$ROOT/.venv"
if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV" 2>/dev/null || {
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "setup: installing python3-venv (waits up to 5 minutes for the package manager's lock)" >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=300 install -y -qq python3-venv >/dev/null
    "$PY" -m venv "$VENV"
  }
fi
stamp="$VENV/.installed-$(sha256sum "$ROOT/pyproject.toml" | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  "$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null
  "$VENV/bin/python" -m pip install -q -e "$ROOT[dev]"
  touch "$stamp"
fi
export PATH="$VENV/bin:$PATH"
