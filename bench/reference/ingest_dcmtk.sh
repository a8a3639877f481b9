#!/usr/bin/env bash
# dcmtk C-STORE ingest over loopback: storescu -> storescp, the reference for `pavseg bench ingest`.
# storescp runs with TCP_NODELAY=1 (without it the packaged storescp waits about 40 ms per
# file on delayed ACKs, which would flatter any comparison) and --fork, so that several
# associations are received at once. One storescu (one association) per series folder, all
# started together; the time is until the last one finished.
# Usage: bench/reference/ingest_dcmtk.sh CT_DIR [CT_DIR ...]
# Prints: RESULT dcmtk-storescp seconds=<s> files=<n> bytes=<n> MBps=<x> associations=<n>
set -euo pipefail
[ $# -ge 1 ] || { sed -n '2,8p' "$0"; exit 2; }
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
out=$(mktemp -d)
TCP_NODELAY=1 storescp --fork -aet REFERENCE -od "$out" "$port" > /dev/null 2>&1 &
receiver=$!
trap 'pkill -P "$receiver" 2>/dev/null || true; kill "$receiver" 2>/dev/null || true; rm -rf "$out"' EXIT
for _ in $(seq 100); do echoscu -aec REFERENCE 127.0.0.1 "$port" 2>/dev/null && break; sleep 0.1; done
bytes=$(find "$@" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
t0=$(date +%s.%N)
senders=()
for src in "$@"; do
  storescu -aec REFERENCE 127.0.0.1 "$port" +sd "$src" &
  senders+=($!)
done
status=0
for p in "${senders[@]}"; do wait "$p" || status=1; done
t1=$(date +%s.%N)
[ "$status" = 0 ] || { echo "storescu failed" >&2; exit 1; }
files=$(find "$out" -type f | wc -l)
awk -v a="$t0" -v b="$t1" -v n="$files" -v by="$bytes" -v k="$#" \
  'BEGIN { s = b - a; printf "RESULT dcmtk-storescp seconds=%.3f files=%d bytes=%d MBps=%.1f associations=%d\n", s, n, by, by / 1e6 / s, k }'
