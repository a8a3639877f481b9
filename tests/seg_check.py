"""Independent checks of a pavseg DICOM-SEG, driven by tests/seg_validate.rs.

Usage: seg_check.py SEG.dcm CT_DIR LABELS.nii.gz WORK_DIR [--expect-frames N] [--codes 1=81040000,2=...]
                    [--labelmap [--palette 1=220/40/40,2=40/90/230]]

LABELS.nii.gz is the label map the SEG was made from (0 background, segment n = value n), on the
grid of the CT series in CT_DIR. Checks, each printed as one line:
  pydicom   reads the SEG (and every value in it) with no warning, value validation set to raise;
  codes     the segment descriptions carry SNOMED CT pulmonary artery 81040000 / pulmonary vein
            122972007 (or the property types given with --codes), category anatomical structure
            91723000, algorithm type AUTOMATIC;
  highdicom segread + get_pixels_by_source_instance (source images sorted here, by pydicom, along
            the slice normal) equals LABELS voxel for voxel;
  dcmqi     segimage2itkimage converts the SEG back to the same voxels (compared in patient space);
  frames    optional: the number of frames.
  labelmap  with --labelmap: a Label Map SEG (its SOP class, LABELMAP, 8 bits, MONOCHROME2, or
            with --palette PALETTE COLOR whose palette, read by highdicom and applied to the
            frames, gives each label its colour: R/G/B of the given segment numbers, background
            black); dcmqi is not run (it reads BINARY and FRACTIONAL SEGs only).
Exits 1 on the first failed check with the reason.
"""
import glob
import os
import subprocess
import sys
import warnings

import highdicom as hd
import numpy as np
import pydicom
import SimpleITK as sitk

EXPECTED = {1: ("81040000", "Pulmonary artery"), 2: ("122972007", "Pulmonary vein")}


def fail(msg):
    print(f"FAIL {msg}")
    sys.exit(1)


def walk_values(ds):
    for elem in ds.iterall():
        _ = elem.value


def main():
    seg_path, ct_dir, labels_path, work = sys.argv[1:5]
    expect_frames = int(sys.argv[sys.argv.index("--expect-frames") + 1]) if "--expect-frames" in sys.argv else None
    expected = dict(EXPECTED)
    if "--codes" in sys.argv:
        pairs = sys.argv[sys.argv.index("--codes") + 1].split(",")
        expected = {int(n): (code, None) for n, code in (p.split("=") for p in pairs)}

    pydicom.config.settings.reading_validation_mode = pydicom.config.RAISE
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            ds = pydicom.dcmread(seg_path)
            walk_values(ds)
            _ = ds.pixel_array
    except Exception as e:  # any warning or validation error
        fail(f"pydicom: {type(e).__name__}: {e}")
    pydicom.config.settings.reading_validation_mode = pydicom.config.WARN
    print(f"ok pydicom: {ds.NumberOfFrames} frames, {len(ds.SegmentSequence)} segments, no warnings")

    if expect_frames is not None and int(ds.NumberOfFrames) != expect_frames:
        fail(f"frames: {ds.NumberOfFrames} frames, expected {expect_frames}")

    labelmap = "--labelmap" in sys.argv
    palette = None
    if "--palette" in sys.argv:
        pairs = sys.argv[sys.argv.index("--palette") + 1].split(",")
        palette = {int(n): tuple(int(c) for c in rgb.split("/")) for n, rgb in (p.split("=") for p in pairs)}
    want_type = hd.seg.SegmentationTypeValues.LABELMAP if labelmap else hd.seg.SegmentationTypeValues.BINARY
    seg = hd.seg.segread(seg_path)
    if seg.segmentation_type != want_type:
        fail(f"codes: segmentation type {seg.segmentation_type}, expected {want_type}")
    for n in seg.segment_numbers:
        d = seg.get_segment_description(n)
        pt = d.segmented_property_type
        cat = d.segmented_property_category
        want = expected.get(n)
        if want is None or pt.value != want[0] or pt.scheme_designator != "SCT":
            fail(f"codes: segment {n} has property type {pt.value} {pt.scheme_designator} {pt.meaning}")
        if cat.value != "91723000" or cat.scheme_designator != "SCT":
            fail(f"codes: segment {n} has category {cat.value} {cat.scheme_designator}")
        if d.algorithm_type != hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC:
            fail(f"codes: segment {n} algorithm type {d.algorithm_type}")
    if sorted(seg.segment_numbers) != sorted(expected):
        fail(f"codes: segments {seg.segment_numbers}, expected {sorted(expected)}")
    print(f"ok codes: segments {seg.segment_numbers} carry the SNOMED CT codes")

    # Source images sorted along the slice normal, independently of pavseg.
    src = [pydicom.dcmread(f, stop_before_pixels=True) for f in glob.glob(os.path.join(ct_dir, "*"))]
    iop = np.array(src[0].ImageOrientationPatient, dtype=float)
    normal = np.cross(iop[:3], iop[3:])
    src.sort(key=lambda d: float(np.dot(normal, np.array(d.ImagePositionPatient, dtype=float))))
    uids = [d.SOPInstanceUID for d in src]
    ours = load_labels_on_ct(labels_path, src, iop)
    theirs = seg.get_pixels_by_source_instance(
        source_sop_instance_uids=uids, combine_segments=True, assert_missing_frames_are_empty=True
    )
    compare("highdicom", theirs, ours)
    if labelmap:
        check_label_map(ds, seg, uids, ours, palette)
        print("PASS")
        return

    out = os.path.join(work, "dcmqi")
    os.makedirs(out, exist_ok=True)
    exe = os.path.join(os.path.dirname(sys.executable), "segimage2itkimage")
    r = subprocess.run(
        [exe, "--inputDICOM", seg_path, "--outputDirectory", out, "--outputType", "nifti", "--prefix", "seg"],
        capture_output=True,
        text=True,
    )
    if r.returncode != 0:
        fail(f"dcmqi: segimage2itkimage exited {r.returncode}: {r.stderr[-2000:]}")
    theirs = np.zeros_like(ours)
    ct_origin = np.array(src[0].ImagePositionPatient, dtype=float)
    spacing_rc = np.array(src[0].PixelSpacing, dtype=float)
    slice_pos = np.array([np.dot(normal, np.array(d.ImagePositionPatient, dtype=float)) for d in src])
    dz = (slice_pos[-1] - slice_pos[0]) / max(len(src) - 1, 1)
    files = sorted(glob.glob(os.path.join(out, "seg-*.nii.gz")))
    if not files:
        fail(f"dcmqi: no segment files in {out}: {os.listdir(out)}")
    for f in files:
        n = int(os.path.basename(f)[len("seg-"):-len(".nii.gz")])
        img = sitk.ReadImage(f)
        arr = sitk.GetArrayViewFromImage(img)
        for k, j, i in np.argwhere(arr > 0):
            p = np.array(img.TransformIndexToPhysicalPoint((int(i), int(j), int(k))))
            d = p - ct_origin
            kk, jj, ii = np.dot(d, normal) / dz, np.dot(d, iop[3:]) / spacing_rc[0], np.dot(d, iop[:3]) / spacing_rc[1]
            idx = np.rint([kk, jj, ii]).astype(int)
            if np.max(np.abs(np.array([kk, jj, ii]) - idx)) > 0.05:
                fail(f"dcmqi: segment {n} voxel {(k, j, i)} at {p} is off the CT grid ({kk:.3f}, {jj:.3f}, {ii:.3f})")
            if theirs[tuple(idx)] not in (0, n):
                fail(f"dcmqi: segments {theirs[tuple(idx)]} and {n} overlap at {tuple(idx)}")
            theirs[tuple(idx)] = n
    compare("dcmqi", theirs, ours)
    print("PASS")


def check_label_map(ds, seg, uids, ours, colors):
    """An 8-bit Label Map SEG; with `colors`, its own palette, as highdicom reads and applies
    it, colours each label."""
    if ds.SOPClassUID != "1.2.840.10008.5.1.4.1.1.66.7" or ds.BitsAllocated != 8:
        fail(f"labelmap: SOP class {ds.SOPClassUID} with {ds.BitsAllocated} bits is not an 8-bit Label Map SEG")
    want = "PALETTE COLOR" if colors else "MONOCHROME2"
    if ds.PhotometricInterpretation != want or ("RedPaletteColorLookupTableData" in ds) != bool(colors):
        fail(f"labelmap: PhotometricInterpretation {ds.PhotometricInterpretation}, expected {want}")
    print(f"ok labelmap: 8-bit Label Map SEG, {want}")
    if not colors:
        return
    lut = hd.PaletteColorLUTTransformation.extract_from_dataset(ds)
    rgb = seg.get_pixels_by_source_instance(
        source_sop_instance_uids=uids, combine_segments=True, apply_palette_color_lut=True
    )
    if rgb.shape != ours.shape + (3,):
        fail(f"palette: coloured frames have shape {rgb.shape}, expected {ours.shape + (3,)}")
    scale = 257 if rgb.max() > 255 else 1
    for value in [0, *colors]:
        want = np.array(colors.get(value, (0, 0, 0)))
        mask = ours == value
        if not mask.any():
            continue
        got = np.unique(rgb[mask].reshape(-1, 3) // scale, axis=0)
        if got.shape[0] != 1 or not np.array_equal(got[0], want):
            fail(f"palette: label {value} shows as {got.tolist()}, expected {want.tolist()}")
    print(f"ok palette: {lut.number_of_entries} entries colour labels {sorted(colors)} as {colors}")


def load_labels_on_ct(labels_path, src, iop):
    """The label map as [k, j, i] over the sorted CT slices, through physical positions."""
    img = sitk.ReadImage(labels_path)
    arr = sitk.GetArrayFromImage(img)
    direction = np.array(img.GetDirection()).reshape(3, 3)
    if not (np.allclose(direction[:, 0], iop[:3], atol=1e-4) and np.allclose(direction[:, 1], iop[3:], atol=1e-4)):
        fail(f"labels: direction {direction.tolist()} is not the CT's {iop.tolist()}")
    slices = []
    for d in src:
        i, j, k = img.TransformPhysicalPointToIndex([float(v) for v in d.ImagePositionPatient])
        if (i, j) != (0, 0):
            fail(f"labels: CT slice {d.SOPInstanceUID} starts at label index {(i, j, k)}")
        slices.append(arr[k])
    return np.stack(slices).astype(np.uint8)


def compare(name, theirs, ours):
    if theirs.shape != ours.shape:
        fail(f"{name}: shape {theirs.shape} vs ours {ours.shape}")
    diff = np.argwhere(theirs != ours)
    if len(diff):
        k, j, i = diff[0]
        fail(f"{name}: {len(diff)} voxels differ, first at [k={k}, j={j}, i={i}]: {theirs[k, j, i]} vs ours {ours[k, j, i]}")
    counts = {int(v): int((ours == v).sum()) for v in np.unique(ours) if v}
    print(f"ok {name}: label map equals ours voxel for voxel (voxels per label {counts})")


if __name__ == "__main__":
    main()
