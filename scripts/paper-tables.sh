#!/usr/bin/env bash
# The paper's comparisons on the phantom families (issue 13), every arm scored by pavseg on the
# same held-out cases, then one Markdown table (scripts/paper_tables.py):
#   Table II   full + half-labelled with the unannotated side masked (`mask`, the paper's
#              method), fully labelled cases only (`exclude`), unannotated side as background
#              (`background`); all with cross-attention fusion;
#   Table III  the Universal Model's concatenation fusion (`concat`, masked) against `mask`;
#   nnU-Net    v2 on the same cases (scripts/nnunet-compare.sh), when NNUNET_TRAINER is set.
# Each run keeps its log.jsonl and curves.png under $WORK/runs/FAMILY/ARM-sSEED; the table says
# whether each arm's validation DSC had plateaued and flags any arm that stayed all-background.
#
# Environment (defaults): FAMILIES ("standard contrast no-airways low-dose"), SEEDS ("1 2"),
# ARMS ("mask exclude background concat"), EPOCHS (40, of 20 steps), DEVICE (cpu), THREADS (2),
# RECIPE (fixtures/family-recipe.toml), NNUNET_TRAINER (empty: no nnU-Net arm), WORK (.work/paper).
#   scripts/paper-tables.sh                                    # the whole table (hours on a CPU)
#   FAMILIES=no-airways SEEDS=1 EPOCHS=1 scripts/paper-tables.sh   # a smoke run
set -euo pipefail
cd "$(dirname "$0")/.."
families=${FAMILIES:-standard contrast no-airways low-dose}
seeds=${SEEDS:-1 2}
arms=${ARMS:-mask exclude background concat}
epochs=${EPOCHS:-40}
device=${DEVICE:-cpu}
threads=${THREADS:-2}
recipe=${RECIPE:-fixtures/family-recipe.toml}
work=${WORK:-.work/paper}
pavseg=${PAVSEG:-$PWD/target/release/pavseg}
export LIBTORCH_USE_PYTORCH=1 PATH=$PWD/.venv/bin:$PATH

id=600
for family in $families; do
  id=$((id + 1))
  data=$work/families/$family
  if [ ! -f "$data/manifest.toml" ]; then
    "$pavseg" phantom-dataset --family "$family" --out "$data" --train-seeds 1-16 --val-seeds 17-18 \
      --test-seeds 101-105 --half-left 3,5,7,9 --half-right 11,13,15,16
  fi
  for seed in $seeds; do
    for arm in $arms; do
      out=$work/runs/$family/$arm-s$seed
      case $arm in
        concat) flags=(--half-labeled mask --fusion concat) ;;
        *) flags=(--half-labeled "$arm" --fusion cross-attention) ;;
      esac
      if ! grep -qx "$epochs" "$out/epochs-done" 2>/dev/null; then
        "$pavseg" train --config "$recipe" --dataset "$data/manifest.toml" --out "$out" --seed "$seed" \
          --epochs "$epochs" --device "$device" --threads "$threads" "${flags[@]}"
        echo "$epochs" > "$out/epochs-done"
      fi
      "$pavseg" evaluate --model "$out/best" --dataset "$data/manifest.toml" --split test \
        --device "$device" --threads "$threads" --json "$out/test.json" > "$out/test.log"
    done
  done
  if [ -n "${NNUNET_TRAINER:-}" ]; then
    name=$(echo "$family" | tr -d -)
    for seed in $seeds; do
      NNUNET_WORK=$work/nnunet NNUNET_RUN=s$seed scripts/nnunet-compare.sh "$data/manifest.toml" "$name" "$id" "$NNUNET_TRAINER" "$device"
    done
  fi
done
python3 scripts/paper_tables.py "$work" | tee "$work/tables.md"
