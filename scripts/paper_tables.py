"""The Markdown table of scripts/paper-tables.sh: per family and arm, test DSC and clDice
(mean ± sd over seeds of each seed's mean over the held-out cases), the best validation label
DSC, whether validation had plateaued (nnU-Net rows: runs instead of seeds), and whether the arm stayed all-background (collapsed).

  python3 scripts/paper_tables.py WORK_DIR      (WORK_DIR as scripts/paper-tables.sh's WORK)

Plateaued: the best validation label DSC came before the last quarter of the steps, or the
last validations are within 0.01 of the best. Collapsed: mean test DSC below 0.05.
"""
import json
import pathlib
import statistics
import sys

ARMS = {
    "mask": "full + half, unannotated side masked (the paper), cross-attention",
    "exclude": "fully labelled only, cross-attention",
    "background": "full + half, unannotated side as background, cross-attention",
    "concat": "full + half masked, concatenation fusion (Universal Model)",
}


def ms(values):
    values = [100 * v for v in values]
    if not values:
        return "-"
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.2f} ± {sd:.2f}"


def plateau(log_path):
    vals = []
    for line in log_path.read_text().splitlines():
        d = json.loads(line)
        v = d.get("val_label_dsc")
        if v:
            vals.append((d["step"], sum(v) / len(v)))
    if len(vals) < 3:
        return None, False
    best_step, best = max(vals, key=lambda sv: sv[1])
    last_step = vals[-1][0]
    flat = all(best - v <= 0.01 for _, v in vals[-3:])
    return best, best_step <= 0.75 * last_step or flat


def main():
    work = pathlib.Path(sys.argv[1])
    rows = ["| family | arm | seeds | artery DSC % | vein DSC % | mean DSC % | artery clDice % | vein clDice % | best val. label DSC | plateaued | collapsed |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    for family_dir in sorted((work / "runs").glob("*")):
        for arm in ARMS:
            runs = sorted(family_dir.glob(f"{arm}-s*"))
            reports = [(r, json.loads((r / "test.json").read_text())) for r in runs if (r / "test.json").exists()]
            if not reports:
                continue
            s = [rep["summary"] for _, rep in reports]
            get = lambda c, m: [x[c][m]["mean"] for x in s]
            means = [x["mean_dsc"]["mean"] for x in s]
            plateaus = [plateau(r / "log.jsonl") for r, _ in reports]
            best = ms([b for b, _ in plateaus if b is not None])
            rows.append(f"| `{family_dir.name}` | {ARMS[arm]} | {len(reports)} | {ms(get('artery', 'dsc'))} | {ms(get('vein', 'dsc'))} | "
                        f"{ms(means)} | {ms(get('artery', 'cldice'))} | {ms(get('vein', 'cldice'))} | {best} | "
                        f"{'yes' if all(p for _, p in plateaus) else 'no'} | {'YES' if min(means) < 0.05 else 'no'} |")
        runs = {}
        for scores in sorted((work / "nnunet" / "scores").glob(f"*_{family_dir.name.replace('-', '')}-*.json")):
            trainer = scores.stem.split("-")[1]
            runs.setdefault(trainer, []).append(json.loads(scores.read_text())["summary"])
        for trainer, sums in runs.items():
            cols = [ms([x[k]["mean"] for x in sums]) for k in ("artery_dsc", "vein_dsc", "mean_dsc", "artery_cldice", "vein_cldice")]
            collapsed = min(x["mean_dsc"]["mean"] for x in sums) < 0.05
            rows.append(f"| `{family_dir.name}` | nnU-Net v2 3d_fullres, {trainer} | {len(sums)} | " + " | ".join(cols) + f" | - | - | {'YES' if collapsed else 'no'} |")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
