"""Multi-frame CT for tests/node_multiframe.rs: highdicom converts a single-frame CT series into
Legacy Converted Enhanced CT objects, and reads back the frame references of a SEG made from them.

Usage:
  multiframe.py make CT_DIR OUT_DIR
      Writes, each a new series in CT_DIR's study (new Series and SOP Instance UIDs, same
      pixels and geometry), and prints one line "NAME SERIES_UID" per series:
        one/          one Legacy Converted Enhanced CT object holding every slice;
        two/          the slices split between two such objects (frames of the first half of the
                      series in one, the rest in the other, of one series);
        enhanced/     one object as Enhanced CT Image Storage (the converted data set under the
                      Enhanced CT SOP class), for the caller to compress (dcmcjpls);
        bad-geometry/ frame 3 has its own PlaneOrientationSequence, rotated;
        bad-group/    frame 7 lacks PlanePositionSequence (and the shared groups have none);
        bad-count/    the PerFrameFunctionalGroupsSequence lost its last item.
  multiframe.py check SEG REF_SEG CT_DIR MF_FILE...
      highdicom reads SEG (made from the multi-frame MF_FILEs) by source frame:
      Segmentation.get_pixels_by_source_frame per instance, frames 1..NumberOfFrames, must equal
      REF_SEG (made from the single-frame series CT_DIR, read by source instance) plane for plane,
      planes matched by position along the slice normal. Also checks that every frame item
      references one source frame (ReferencedSOPInstanceUID + ReferencedFrameNumber) and that
      ReferencedSeriesSequence lists each MF instance once. Prints PASS or FAIL with the reason.
"""
import copy
import glob
import os
import sys

import highdicom as hd
import numpy as np
import pydicom
from pydicom.uid import generate_uid

ENHANCED_CT = "1.2.840.10008.5.1.4.1.1.2.1"


def fail(msg):
    print(f"FAIL {msg}")
    sys.exit(1)


def normal_of(ds):
    o = np.array([float(v) for v in ds.ImageOrientationPatient])
    return np.cross(o[:3], o[3:])


def convert(datasets, series_uid, number):
    return hd.legacy.LegacyConvertedEnhancedCTImage(
        datasets, series_instance_uid=series_uid, series_number=number, sop_instance_uid=generate_uid(), instance_number=number
    )


def save(ds, folder, name):
    os.makedirs(folder, exist_ok=True)
    ds.save_as(os.path.join(folder, name), enforce_file_format=True)


def make(ct_dir, out):
    slices = [pydicom.dcmread(p) for p in sorted(glob.glob(os.path.join(ct_dir, "*.dcm")))]
    n = normal_of(slices[0])
    slices.sort(key=lambda d: float(np.dot([float(v) for v in d.ImagePositionPatient], n)))
    made = {}

    uid = generate_uid()
    one = convert(slices, uid, 101)
    save(one, os.path.join(out, "one"), "mf.dcm")
    made["one"] = uid

    uid = generate_uid()
    half = len(slices) // 2
    save(convert(slices[:half], uid, 102), os.path.join(out, "two"), "a.dcm")
    save(convert(slices[half:], uid, 102), os.path.join(out, "two"), "b.dcm")
    made["two"] = uid

    enhanced = relabel(one)
    enhanced.SOPClassUID = ENHANCED_CT
    enhanced.file_meta.MediaStorageSOPClassUID = ENHANCED_CT
    save(enhanced, os.path.join(out, "enhanced"), "enhanced.dcm")
    made["enhanced"] = enhanced.SeriesInstanceUID

    shared = one.SharedFunctionalGroupsSequence[0]
    bad = relabel(one)
    frame3 = bad.PerFrameFunctionalGroupsSequence[2]
    frame3.PlaneOrientationSequence = copy.deepcopy(shared.PlaneOrientationSequence)
    frame3.PlaneOrientationSequence[0].ImageOrientationPatient = [0, 1, 0, 0, 0, -1]
    save(bad, os.path.join(out, "bad-geometry"), "mf.dcm")
    made["bad-geometry"] = bad.SeriesInstanceUID

    bad = relabel(one)
    if "PlanePositionSequence" in shared:
        fail("make: highdicom put PlanePositionSequence into the shared groups")
    del bad.PerFrameFunctionalGroupsSequence[6].PlanePositionSequence
    save(bad, os.path.join(out, "bad-group"), "mf.dcm")
    made["bad-group"] = bad.SeriesInstanceUID

    bad = relabel(one)
    del bad.PerFrameFunctionalGroupsSequence[-1]
    save(bad, os.path.join(out, "bad-count"), "mf.dcm")
    made["bad-count"] = bad.SeriesInstanceUID

    for name, uid in made.items():
        print(name, uid)


def relabel(ds):
    """A copy of `ds` as a new instance of a new series."""
    c = copy.deepcopy(ds)
    c.SeriesInstanceUID = generate_uid()
    c.SOPInstanceUID = generate_uid()
    c.file_meta.MediaStorageSOPInstanceUID = c.SOPInstanceUID
    return c


def frame_positions(ds, normal):
    """Position along `normal` of each frame of a multi-frame data set."""
    shared = ds.SharedFunctionalGroupsSequence[0]
    out = []
    for item in ds.PerFrameFunctionalGroupsSequence:
        plane = item.PlanePositionSequence if "PlanePositionSequence" in item else shared.PlanePositionSequence
        out.append(float(np.dot([float(v) for v in plane[0].ImagePositionPatient], normal)))
    return out


def check(seg_path, ref_path, ct_dir, mf_paths):
    slices = [pydicom.dcmread(p, stop_before_pixels=True) for p in glob.glob(os.path.join(ct_dir, "*.dcm"))]
    normal = normal_of(slices[0])
    slices.sort(key=lambda d: float(np.dot([float(v) for v in d.ImagePositionPatient], normal)))
    ref_positions = [float(np.dot([float(v) for v in d.ImagePositionPatient], normal)) for d in slices]
    ref = hd.seg.segread(ref_path).get_pixels_by_source_instance(
        [d.SOPInstanceUID for d in slices], combine_segments=True, assert_missing_frames_are_empty=True
    )

    raw = pydicom.dcmread(seg_path)
    mfs = [pydicom.dcmread(p, stop_before_pixels=True) for p in mf_paths]
    uids = {d.SOPInstanceUID: d for d in mfs}
    listed = [i.ReferencedSOPInstanceUID for s in raw.ReferencedSeriesSequence for i in s.ReferencedInstanceSequence]
    if sorted(listed) != sorted(uids):
        fail(f"ReferencedSeriesSequence lists {listed}, expected each of {sorted(uids)} once")
    for n, item in enumerate(raw.PerFrameFunctionalGroupsSequence, 1):
        src = item.DerivationImageSequence[0].SourceImageSequence
        if len(src) != 1 or "ReferencedFrameNumber" not in src[0]:
            fail(f"SEG frame {n}: SourceImageSequence does not reference one source frame")
        d = uids.get(src[0].ReferencedSOPInstanceUID)
        if d is None or src[0].ReferencedSOPClassUID != d.SOPClassUID:
            fail(f"SEG frame {n}: references {src[0].ReferencedSOPClassUID} {src[0].ReferencedSOPInstanceUID}")
        if not 1 <= int(src[0].ReferencedFrameNumber) <= int(d.NumberOfFrames):
            fail(f"SEG frame {n}: ReferencedFrameNumber {src[0].ReferencedFrameNumber} outside 1..{d.NumberOfFrames}")

    seg = hd.seg.segread(seg_path)
    planes = 0
    for d in mfs:
        frames = list(range(1, int(d.NumberOfFrames) + 1))
        got = seg.get_pixels_by_source_frame(
            d.SOPInstanceUID, source_frame_numbers=frames, combine_segments=True, assert_missing_frames_are_empty=True
        )
        for f, z in zip(frames, frame_positions(d, normal)):
            k = int(np.argmin([abs(z - r) for r in ref_positions]))
            if abs(ref_positions[k] - z) > 1e-3:
                fail(f"{d.SOPInstanceUID} frame {f} at {z} mm matches no slice of the single-frame series")
            if not np.array_equal(got[f - 1], ref[k]):
                diff = int(np.count_nonzero(got[f - 1] != ref[k]))
                fail(f"{d.SOPInstanceUID} frame {f} (slice {k}): {diff} pixels differ from the single-frame SEG")
            planes += 1
    if planes != len(slices):
        fail(f"{planes} frames in the multi-frame objects, {len(slices)} slices in the single-frame series")
    labelled = int(np.count_nonzero(ref))
    print(f"ok highdicom: {planes} source frames of {len(mfs)} instance(s) read by frame reference, equal to the single-frame SEG ({labelled} labelled pixels)")
    print("PASS")


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "make":
        make(sys.argv[2], sys.argv[3])
    elif len(sys.argv) >= 6 and sys.argv[1] == "check":
        check(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:])
    else:
        print(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main()
