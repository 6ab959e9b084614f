#!/usr/bin/env bash
# What the benches need beyond scripts/setup.sh (which the two commands run): libvips, the photo bench's
# near-limit reference; valgrind, whose callgrind counts bench/ingest_instructions.py's instructions; and
# the project's `bench` extra (pyvips, numpy, py-spy for bench/load.py's where-the-time-goes column).
# Idempotent; run as root or with sudo: `bash scripts/bench-setup.sh`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/setup.sh
source "$ROOT/scripts/setup.sh"
BENCH_PKGS=(libvips42 valgrind)
missing=()
for p in "${BENCH_PKGS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "bench-setup: installing ${missing[*]} (waits up to 5 minutes for the package manager's lock)" >&2
  $SUDO apt-get -o DPkg::Lock::Timeout=300 update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=300 install -y -qq \
    --no-install-recommends "${missing[@]}" >/dev/null
fi
"$ROOT/.venv/bin/python" -m pip install -q -e "$ROOT[dev,bench]"
echo "bench-setup: ready (run a bench with .venv/bin/python bench/<name>.py)"
