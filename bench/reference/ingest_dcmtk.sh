#!/usr/bin/env bash
# dcmtk C-STORE ingest over loopback: storescu -> storescp, the reference for `pavseg bench ingest`.
# storescp runs with TCP_NODELAY=1 (without it the packaged storescp waits about 40 ms per
# file on delayed ACKs, which would flatter any comparison). One association, all files.
# Usage: bench/reference/ingest_dcmtk.sh CT_DIR [PORT]     (PORT 0 or absent: a free port)
# Prints: RESULT dcmtk-storescp seconds=<s> files=<n> bytes=<n> MBps=<x>
set -euo pipefail
[ $# -ge 1 ] || { sed -n '2,6p' "$0"; exit 2; }
src=$1; port=${2:-0}
if [ "$port" = 0 ]; then
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
fi
out=$(mktemp -d)
TCP_NODELAY=1 storescp -aet REFERENCE -od "$out" "$port" > /dev/null 2>&1 &
receiver=$!
trap 'kill "$receiver" 2>/dev/null || true; rm -rf "$out"' EXIT
for _ in $(seq 100); do echoscu -aec REFERENCE 127.0.0.1 "$port" 2>/dev/null && break; sleep 0.1; done
bytes=$(find "$src" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
t0=$(date +%s.%N)
storescu -aec REFERENCE 127.0.0.1 "$port" +sd "$src"
t1=$(date +%s.%N)
files=$(find "$out" -type f | wc -l)
awk -v a="$t0" -v b="$t1" -v n="$files" -v by="$bytes" \
  'BEGIN { s = b - a; printf "RESULT dcmtk-storescp seconds=%.3f files=%d bytes=%d MBps=%.1f\n", s, n, by, by / 1e6 / s }'
