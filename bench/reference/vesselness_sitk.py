"""SimpleITK (ITK) multi-scale Hessian vesselness: the reference for `pavseg bench vesselness`.

For every scale sigma (mm, physical, so anisotropic voxels are handled by ITK): recursive
Gaussian smoothing, scaled by sigma^2 (scale normalisation), then ITK's ObjectnessMeasure for
bright tubes (objectDimension 1, alpha 0.5, beta 0.5, gamma 5); the maximum over scales is the
result. Only the filtering is timed, not reading the input.

Usage: python bench/reference/vesselness_sitk.py INPUT [--sigmas-mm 1 2 3] [--threads 2] [--out F.nii.gz]
INPUT is a DICOM series folder or a NIfTI volume in HU.
Prints: RESULT sitk filter=<seconds> s shape=<i,j,k> spacing=<mm,mm,mm> threads=<n>
"""
import argparse
import os
import time

import SimpleITK as sitk


def read_volume(path):
    if os.path.isdir(path):
        reader = sitk.ImageSeriesReader()
        files = reader.GetGDCMSeriesFileNames(path)
        if not files:
            raise SystemExit(f"{path}: no DICOM series found")
        reader.SetFileNames(files)
        image = reader.Execute()
    else:
        image = sitk.ReadImage(path)
    return sitk.Cast(image, sitk.sitkFloat32)


def vesselness(image, sigmas_mm):
    best = None
    for sigma in sigmas_mm:
        smoothed = sitk.SmoothingRecursiveGaussian(image, sigma) * (sigma * sigma)
        response = sitk.ObjectnessMeasure(smoothed, alpha=0.5, beta=0.5, gamma=5.0, scaleObjectnessMeasure=False,
                                          objectDimension=1, brightObject=True)
        best = response if best is None else sitk.Maximum(best, response)
    return best


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input")
    p.add_argument("--sigmas-mm", type=float, nargs="+", default=[1.0, 2.0, 3.0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", help="also write the result here (NIfTI)")
    a = p.parse_args()
    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(a.threads)
    image = read_volume(a.input)
    t0 = time.perf_counter()
    result = vesselness(image, a.sigmas_mm)
    seconds = time.perf_counter() - t0
    shape = ",".join(str(v) for v in image.GetSize())
    spacing = ",".join(f"{v:g}" for v in image.GetSpacing())
    print(f"RESULT sitk filter={seconds:.3f} s shape={shape} spacing={spacing} threads={a.threads}")
    if a.out:
        sitk.WriteImage(result, a.out)


if __name__ == "__main__":
    main()
