#!/usr/bin/env python3
"""Where a predicted artery/vein label map loses DSC: vessel-vs-background DSC, the share of
the overlap whose label is flipped, and recall by local vessel width (largest distance to the
background within 5 voxels, in voxels). A tool for reading results, not part of the node.

usage: scripts/vessel_errors.py PRED_DIR DATASET_DIR
  PRED_DIR: `pavseg evaluate --save-predictions` output (<case>.nii.gz)
  DATASET_DIR: a `pavseg phantom-dataset` folder (<case>/labels.nii.gz)
"""
import glob
import os
import sys

import nibabel as nib
import numpy as np
from scipy import ndimage as ndi


def main(pred_dir: str, dataset: str) -> None:
    files = sorted(glob.glob(os.path.join(pred_dir, "*.nii.gz")))
    if not files:
        sys.exit(f"no predictions (*.nii.gz) in {pred_dir}")
    for f in files:
        case = os.path.basename(f).split(".")[0]
        p = np.asarray(nib.load(f).dataobj)
        t = np.asarray(nib.load(os.path.join(dataset, case, "labels.nii.gz")).dataobj)
        pv, tv = p > 0, t > 0
        dsc = 2 * (pv & tv).sum() / max(pv.sum() + tv.sum(), 1)
        both = pv & tv
        flipped = (both & (p != t)).sum() / max(both.sum(), 1)
        width = ndi.maximum_filter(ndi.distance_transform_edt(tv), size=5) * tv
        thin = tv & (width <= 1.5)
        wide = tv & (width > 1.5)
        print(
            f"{case}  vessel DSC {dsc:.3f}  flipped {flipped:.3f}  pred/truth voxels {pv.sum() / max(tv.sum(), 1):.2f}"
            f"  thin {thin.sum() / max(tv.sum(), 1):.0%} of truth, recall {(pv & thin).sum() / max(thin.sum(), 1):.2f}"
            f"  wide recall {(pv & wide).sum() / max(wide.sum(), 1):.2f}  false-positive share {(pv & ~tv).sum() / max(pv.sum(), 1):.2f}"
        )


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
