#!/usr/bin/env bash
# Start a throw-away PostgreSQL on loopback for the tests; prints the DSN. Stop with: scripts/pg.sh stop DIR
set -euo pipefail
if [ "${1:-}" = "stop" ]; then
  dir="$2"; bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  runas=(); [ "$(id -u)" -eq 0 ] && runas=(runuser -u postgres --)
  "${runas[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"; exit 0
fi
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
dir=$(mktemp -d /tmp/streetpatrol-pg.XXXXXX)
port=${PGPORT_TEST:-$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')}
runas=()
if [ "$(id -u)" -eq 0 ]; then chown postgres "$dir"; runas=(runuser -u postgres --); fi
"${runas[@]}" "$bin/initdb" -D "$dir/data" -A trust -U streetpatrol -E UTF8 --locale=C.UTF-8 >/dev/null
"${runas[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -o "-h 127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=300" start >/dev/null
"${runas[@]}" "$bin/createdb" -h 127.0.0.1 -p "$port" -U streetpatrol streetpatrol
echo "$dir postgresql://streetpatrol@127.0.0.1:$port/streetpatrol"
