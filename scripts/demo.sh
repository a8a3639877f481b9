#!/usr/bin/env bash
# The demo, end to end on loopback: a phantom chest CT is sent to the node, which segments
# the pulmonary arteries and veins with the default plugin (demo weights trained on
# phantoms) and sends a DICOM-SEG back to dcmtk's storescp, standing in for the PACS. Then
# the returned SEG is scored against the phantom's truth.
set -euo pipefail
cd "$(dirname "$0")/.."
# PAVSEG_BIN: the binary; PAVSEG_DEMO_WORK: the work folder (.work/demo); PAVSEG_DEMO_DEVICE:
# the plugin's device (cpu, cuda, cuda:N; default: the plugin's own, "auto").
bin=${PAVSEG_BIN:-target/release/pavseg}
work=${PAVSEG_DEMO_WORK:-.work/demo}
rm -rf "$work"; mkdir -p "$work/pacs"
work=$(cd "$work" && pwd)
plugin=plugins/pulmonary-av/plugin.toml
if [ -n "${PAVSEG_DEMO_DEVICE:-}" ]; then
  cp -r plugins/pulmonary-av "$work/plugin"
  sed -i -E "s/^device = \"[^\"]*\"/device = \"$PAVSEG_DEMO_DEVICE\"/" "$work/plugin/plugin.toml"
  grep -q "^device = \"$PAVSEG_DEMO_DEVICE\"" "$work/plugin/plugin.toml" || { echo "cannot set the plugin's device"; exit 1; }
  plugin=$work/plugin/plugin.toml
fi
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT

echo "== 1. phantom (seed 1000, not used in training; 128x128x76, 2.7 mm pixels, 2.5 mm slices)"
$bin phantom --out "$work/phantom" --seed 1000 --slices 76 --slice-spacing 2.5

echo "== 2. PACS: dcmtk storescp, AE PACS"
pacs_port=$(free_port)
storescp -aet PACS +xa -od "$work/pacs" "$pacs_port" > "$work/pacs.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do echoscu -aec PACS 127.0.0.1 "$pacs_port" 2>/dev/null && break; sleep 0.1; done
echo "storescp on 127.0.0.1:$pacs_port"

echo "== 3. node with plugin pulmonary-av (device ${PAVSEG_DEMO_DEVICE:-as the plugin says}); the PACS is a destination, and SEGs go back to the sender"
cat > "$work/pavseg.toml" <<TOML
[node]
bind = "127.0.0.1"
port = 0
[spool]
dir = "$work/spool"
stability_seconds = 2.0
min_free_bytes = 0
[pipeline]
plugins = ["$plugin"]
[http]
port = 0
[log]
output = "stderr"
[[destinations]]
name = "pacs"
ae_title = "PACS"
host = "127.0.0.1"
port = $pacs_port
TOML
$bin serve --config "$work/pavseg.toml" > "$work/node.out" 2> "$work/node.log" &
pids+=($!)
for _ in $(seq 300); do grep -q '^started' "$work/node.out" 2>/dev/null && break; sleep 0.1; done
port=$(grep -m1 '^listening on' "$work/node.out" | grep -o '[0-9]*$')
echo "node listening on 127.0.0.1:$port (log: $work/node.log)"

echo "== 4. the PACS forwards the series (C-STORE, calling AE PACS)"
$bin send --calling-ae PACS --to "PAVSEG@127.0.0.1:$port" "$work/phantom/dicom"

echo "== 5. waiting for the SEG to arrive at the PACS"
seg=""
for _ in $(seq 1800); do
  seg=$(grep -l "1.2.840.10008.5.1.4.1.1.66.4" "$work"/pacs/* 2>/dev/null | head -1 || true)
  [ -n "$seg" ] && break
  failed=$(ls "$work"/spool/failed/*/reason.txt "$work"/spool/rejected/*/reason.txt "$work"/spool/skipped/*/reason.txt 2>/dev/null | head -1 || true)
  [ -n "$failed" ] && { echo "job did not succeed: $(cat "$failed")"; exit 1; }
  sleep 0.2
done
[ -n "$seg" ] || { echo "no SEG after 6 minutes; see $work/node.log"; exit 1; }
sleep 0.5 # storescp finishes writing the file
cp "$seg" "$work/returned-seg.dcm"
echo "SEG received: $work/returned-seg.dcm"

echo "== 6. per-stage timings (node log)"
sed 's/\x1b\[[0-9;]*m//g' "$work/node.log" | grep "stage timing" \
  | sed -E 's/.*stage=([^ ]+) seconds="?([0-9.]+)"?.*/\1 \2/' \
  | awk '{ printf "  %-32s %8.3f s\n", $1, $2; total += $2 } END { printf "  %-32s %8.3f s\n", "total", total }'

echo "== 7. DSC of the returned SEG against the phantom's truth"
$bin eval --pred "$work/returned-seg.dcm" --truth "$work/phantom/labels.nii.gz" --json "$work/eval.json" | sed "/^{/,\$d"

preview=$(ls "$work"/spool/done/*/preview.png 2>/dev/null | head -1 || true)
if [ -n "$preview" ]; then cp "$preview" "$work/preview.png"; echo "PNG preview: $work/preview.png"; fi
echo "demo finished: the SEG went node -> PACS; files in $work"
