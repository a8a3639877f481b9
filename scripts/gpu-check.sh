#!/usr/bin/env bash
# The GPU check: everything that runs differently on CUDA, in one go, from a tree built
# beforehand (build on a CPU machine and copy target/release/pavseg along, or build here),
# writing one report file. Steps:
#   1. pavseg bench infer --whole: the paper's network (base 32, 96^3 windows, 1.5 mm grid)
#      on a 512x512x300 CT, against PyTorch/MONAI on the same device
#   2. the same with the shipped plugin's settings (its base width, window and grid), fp32,
#      and 3. with --half (CUDA only)
#   4. pavseg bench train: a training step of the paper's network (batch 2, 96^3) against
#      PyTorch with the same loss and AdamW on the same device
#   5. pavseg bench vesselness-backends: the libtorch vesselness on the device against the
#      CPU filter (time and agreement)
#   6. pavseg bench scale: training steps of the demo and the paper's recipe (batch 4, 96^3)
#      from mapped cache files of clinical-size phantoms, bf16 autocast and channels-last:
#      steps per second and the fraction of step time spent waiting for batches
#   7. the node end to end with the plugin on the device: storescu -> node -> SEG at storescp,
#      scored against the phantom's truth (scripts/demo.sh with PAVSEG_DEMO_DEVICE)
# With --device cpu every step runs at small sizes (what `make test` runs, tests/gpu_check.rs).
#
# Usage: scripts/gpu-check.sh [--device cuda|cuda:N|cpu] [--out DIR]
# Env: PAVSEG_BIN (default target/release/pavseg); PAVSEG_PYTHON / VIRTUAL_ENV for the
# reference tools (default .venv/bin/python, else python3; without MONAI the references are
# skipped and the report says so).
# Exit status: 0 when every step passed; the report lists each step's RESULT lines.
set -uo pipefail
cd "$(dirname "$0")/.."
device=cuda
out=.work/gpu-check
while [ $# -gt 0 ]; do
  case "$1" in
    --device) device=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "usage: scripts/gpu-check.sh [--device cuda|cuda:N|cpu] [--out DIR]" >&2; exit 2 ;;
  esac
done
bin=${PAVSEG_BIN:-target/release/pavseg}
mkdir -p "$out"
out=$(cd "$out" && pwd)
report=$out/report.txt

python=${PAVSEG_PYTHON:-}
[ -z "$python" ] && [ -n "${VIRTUAL_ENV:-}" ] && python=$VIRTUAL_ENV/bin/python
[ -z "$python" ] && [ -x .venv/bin/python ] && python=$PWD/.venv/bin/python
[ -z "$python" ] && python=$(command -v python3)
export PAVSEG_PYTHON=$python VIRTUAL_ENV=$(dirname "$(dirname "$python")")
# A binary copied without .venv finds libtorch in the local torch wheel.
if ! "$bin" --version > /dev/null 2>&1; then
  torch_lib=$("$python" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')
  export LD_LIBRARY_PATH=$torch_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi
reference=()
"$python" -c 'import monai, torch' 2> /dev/null || reference=(--no-reference)

if [ "$device" = cpu ]; then
  ct=(--ct-shape 40 96 96 --ct-spacing 2 2 2)
  paper=(--base 16 --window 32 --model-spacing 2 2 2 "${ct[@]}" --reps 1 --rounds 1)
  shipped=(--base 8 --window 32 "${ct[@]}" --reps 1 --rounds 1)
  train=(--base 8 --size 32 --batch 1 --reps 1 --rounds 1)
  vesselness=(--slices 40 --rows 96 --cols 96 --pixel-spacing 2 --slice-spacing 2 --reps 1)
  scale=(--cases 2 --slices 40 --rows 96 --cols 96 --pixel-spacing 3 --slice-spacing 3 --demo-steps 2 --no-paper)
else
  paper=(--base 32 --window 96 --model-spacing 1.5 1.5 1.5 --reps 3 --rounds 1)
  shipped=(--base 8 --window 64 --reps 3 --rounds 1)
  train=(--base 32 --size 96 --batch 2 --reps 3 --rounds 1)
  vesselness=(--reps 3)
  scale=(--cases 4 --prepare-workers 4 --threads 8 --demo-steps 40 --paper-steps 20 --paper-batch 4)
fi

{
  echo "# pavseg GPU check, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "binary: $("$bin" --version 2>&1)"
  echo "device: $device; python: $python ${reference[*]:+(no MONAI: references skipped)}"
  if command -v nvidia-smi > /dev/null; then nvidia-smi -L; else echo "nvidia-smi: not found"; fi
} > "$report"

failed=0
step() {
  local name=$1; shift
  local start=$SECONDS
  echo "== $name: $*" | tee -a "$report"
  if "$@" > "$out/$name.log" 2>&1; then
    grep -E '^RESULT|^[|] (demo|paper) |^whole CT|^pavseg |^PyTorch|^CPU filter|^parameters|^device|^artery|^vein|DSC|^  total|SEG received' "$out/$name.log" >> "$report"
    echo "$name: passed in $((SECONDS - start)) s" | tee -a "$report"
  else
    tail -20 "$out/$name.log" >> "$report"
    echo "$name: FAILED after $((SECONDS - start)) s (log: $out/$name.log)" | tee -a "$report"
    failed=1
  fi
}

step infer-paper "$bin" bench infer --device "$device" --whole "${paper[@]}" "${reference[@]}"
step infer-shipped "$bin" bench infer --device "$device" --whole "${shipped[@]}" "${reference[@]}"
if [ "$device" = cpu ]; then
  echo "== infer-shipped-half: skipped (mixed precision is CUDA only)" | tee -a "$report"
else
  step infer-shipped-half "$bin" bench infer --device "$device" --whole --half "${shipped[@]}" "${reference[@]}"
fi
step train "$bin" bench train --device "$device" "${train[@]}" "${reference[@]}"
step vesselness "$bin" bench vesselness-backends --device "$device" "${vesselness[@]}"
step train-scale "$bin" bench scale --device "$device" --precision bf16 --channels-last --work "$out/scale" "${scale[@]}"
step node env PAVSEG_BIN="$bin" PAVSEG_DEMO_DEVICE="$device" PAVSEG_DEMO_WORK="$out/node" scripts/demo.sh
if [ -f "$out/node/node.log" ]; then
  sed 's/\x1b\[[0-9;]*m//g' "$out/node/node.log" | grep -m3 -i 'device' >> "$report" || true
fi

echo "report: $report"
[ "$failed" = 0 ] && echo "gpu-check: all steps passed" | tee -a "$report"
exit "$failed"
