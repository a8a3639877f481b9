#!/usr/bin/env bash
# nnU-Net v2 on a pavseg dataset, its test predictions scored by `pavseg eval` against the same
# truth as `pavseg evaluate` scores pavseg's: what a site would train instead (issue 13, the
# comparison arm of the paper's tables).
#
#   scripts/nnunet-compare.sh MANIFEST NAME ID [TRAINER] [DEVICE]
#   scripts/nnunet-compare.sh .work/families/no-airways/manifest.toml NoAirways 501 nnUNetTrainer_5epochs cpu
#
# TRAINER is one of nnU-Net's fixed-length variants (nnUNetTrainer_1epoch, _5epochs, _10epochs,
# ...; 250 steps of batch 2 per epoch), DEVICE cpu or cuda. Half-labelled cases go in with their
# unannotated side as nnU-Net's `ignore` label (`pavseg export-nnunet`); fold 0 trains on the
# dataset's training split and validates on its validation split. Everything is written under
# $NNUNET_WORK (default .work/nnunet): raw/, preprocessed/, results/, pred/, and
# scores/DatasetID_NAME-TRAINER[-RUN].json (per case and mean ± sd, DSC and clDice per class).
# NNUNET_RUN names a repeated run (nnU-Net has no seed): its results, predictions and scores go
# to their own folders (results-RUN/, ...) beside the shared preprocessed data.
# Needs .venv with nnunetv2 (make test installs it) and a built pavseg ($PAVSEG or
# target/release/pavseg).
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 3 ] || { sed -n 6,8p "$0" >&2; exit 2; }
manifest=$1 name=$2 id=$3 trainer=${4:-nnUNetTrainer_5epochs} device=${5:-cpu}
work=$PWD/${NNUNET_WORK:-.work/nnunet}
pavseg=${PAVSEG:-$PWD/target/release/pavseg}
run=${NNUNET_RUN:+-$NNUNET_RUN}
export nnUNet_raw=$work/raw nnUNet_preprocessed=$work/preprocessed nnUNet_results=$work/results$run
# Data augmentation on the training process itself (0 workers): the reference machine has 2 cores.
export nnUNet_n_proc_DA=${nnUNet_n_proc_DA:-0}
export PATH=$PWD/.venv/bin:$PATH
ds=Dataset${id}_$name
pred=$work/pred/$ds-$trainer$run
scores=$work/scores/$ds-$trainer$run
mkdir -p "$pred" "$scores"

"$pavseg" export-nnunet --dataset "$manifest" --out "$nnUNet_raw/$ds"
if [ ! -f "$nnUNet_preprocessed/$ds/nnUNetPlans.json" ]; then
  nnUNetv2_plan_and_preprocess -d "$id" -c 3d_fullres -np 1 --verify_dataset_integrity
fi
cp "$nnUNet_raw/$ds/splits_final.json" "$nnUNet_preprocessed/$ds/"
start=$(date +%s)
nnUNetv2_train "$id" 3d_fullres 0 -tr "$trainer" -device "$device"
echo "RESULT nnunet-train dataset=$ds trainer=$trainer device=$device seconds=$(( $(date +%s) - start ))"
start=$(date +%s)
nnUNetv2_predict -i "$nnUNet_raw/$ds/imagesTs" -o "$pred" -d "$id" -c 3d_fullres -f 0 -tr "$trainer" \
  -device "$device" -chk checkpoint_final.pth
echo "RESULT nnunet-predict dataset=$ds trainer=$trainer seconds=$(( $(date +%s) - start ))"
for truth in "$nnUNet_raw/$ds"/labelsTs/*.nii.gz; do
  case_id=$(basename "$truth" .nii.gz)
  "$pavseg" eval --pred "$pred/$case_id.nii.gz" --truth "$truth" --json "$scores/$case_id.json" >/dev/null
done
python3 - "$scores" "$ds-$trainer$run" <<'PY'
import json, pathlib, statistics, sys
folder, name = pathlib.Path(sys.argv[1]), sys.argv[2]
cases = {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}
def stat(values):
    return {"mean": statistics.mean(values), "sd": statistics.stdev(values) if len(values) > 1 else 0.0}
summary = {f"{c}_{m}": stat([r["scores"][c][m] for r in cases.values()]) for c in ("artery", "vein") for m in ("dsc", "cldice")}
summary["mean_dsc"] = stat([r["scores"]["mean_dsc"] for r in cases.values()])
out = folder.with_suffix(".json")
out.write_text(json.dumps({"cases": cases, "summary": summary}, indent=1) + "\n")
print("RESULT nnunet-eval " + name + " cases=%d " % len(cases) + " ".join(
    "%s=%.2f±%.2f" % (k, 100 * v["mean"], 100 * v["sd"]) for k, v in summary.items()))
PY
