"""The negative control of tests/ohif_viewer.rs: a copy of a SEG whose frames nothing ties to
the CT images any more, so that a viewer cannot place them.

Usage: detach_frames.py SEG_IN SEG_OUT

A viewer places a SEG frame on a CT image by the frame's source reference
(DerivationImageSequence > SourceImageSequence in PerFrameFunctionalGroupsSequence); OHIF 3.13
falls back, where that is missing, to the CT image of the referenced series at the frame's
ImagePositionPatient in the same Frame of Reference. So the copy loses both: every
DerivationImageSequence (per frame and shared) is removed and the SEG gets a Frame of Reference
of its own. Its segments, pixels, positions and ReferencedSeriesSequence stay as they were (a
viewer still loads it and lists its segments), and it gets its own Series and SOP Instance
UIDs, so that it is a series of its own beside the real SEG in the same study.
Prints the new Series Instance UID.
"""
import sys

import pydicom
from pydicom.uid import generate_uid


def strip(groups):
    removed = 0
    for item in groups:
        if "DerivationImageSequence" in item:
            del item.DerivationImageSequence
            removed += 1
    return removed


def main():
    src, dst = sys.argv[1:3]
    ds = pydicom.dcmread(src)
    removed = strip(ds.PerFrameFunctionalGroupsSequence)
    if "SharedFunctionalGroupsSequence" in ds:
        removed += strip(ds.SharedFunctionalGroupsSequence)
    if removed == 0:
        sys.exit(f"{src}: no DerivationImageSequence to remove")
    if "SourceImageSequence" in ds:
        del ds.SourceImageSequence
    ds.FrameOfReferenceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.SeriesNumber = int(ds.SeriesNumber) + 1
    ds.SeriesDescription = "Frames detached from the CT (negative control)"
    ds.save_as(dst, enforce_file_format=True)
    print(ds.SeriesInstanceUID)


if __name__ == "__main__":
    main()
