#!/usr/bin/env bash
# The demo: a phantom chest CT goes through the node, and the assembled volume is shown.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=target/release/pavseg
work=.work/demo
rm -rf "$work"; mkdir -p "$work"

echo "== 1. phantom"
$bin phantom --out "$work/phantom" --seed 7

echo "== 2. node"
cat > "$work/pavseg.toml" <<TOML
[node]
bind = "127.0.0.1"
port = 0
[spool]
dir = "$PWD/$work/spool"
stability_seconds = 2.0
min_free_bytes = 0
TOML
$bin serve --config "$work/pavseg.toml" > "$work/node.out" 2> "$work/node.log" &
node=$!
trap 'kill $node 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q listening "$work/node.out" 2>/dev/null && break; sleep 0.1; done
port=$(grep -o '[0-9]*$' "$work/node.out")
echo "node listening on 127.0.0.1:$port (log: $work/node.log)"

echo "== 3. send"
$bin send --to "PAVSEG@127.0.0.1:$port" "$work/phantom/dicom"

echo "== 4. assembled volume"
for _ in $(seq 600); do
  summary=$(ls "$work"/spool/done/*/summary.txt 2>/dev/null | head -1 || true)
  [ -n "$summary" ] && break
  rejected=$(ls "$work"/spool/rejected/*/reason.txt 2>/dev/null | head -1 || true)
  [ -n "$rejected" ] && { echo "series rejected: $(cat "$rejected")"; exit 1; }
  sleep 0.1
done
[ -n "$summary" ] || { echo "no volume after 60 s; see $work/node.log"; exit 1; }
cat "$summary"
