"""highdicom DICOM-SEG writing: a reference for `pavseg bench seg`.

Reads a CT series folder and a label map on its grid (NIfTI; 0 background, 1 pulmonary artery,
2 pulmonary vein), takes for each source image the label slice at its ImagePositionPatient (so
file order and patient orientation do not matter), then times building a BINARY Segmentation
of two segments (SNOMED CT codes as pavseg writes them) and writing it.
Run it under /usr/bin/time -v for its peak memory.

Usage: python bench/reference/seg_highdicom.py CT_DIR LABELS.nii.gz OUT.dcm
Prints: RESULT highdicom construct+write=<s> s construct=<s> write=<s> frames=<n> bytes=<n>
"""
import os
import sys
import time

import highdicom as hd
import numpy as np
import pydicom
import SimpleITK as sitk
from pydicom.sr.codedict import codes

SEGMENTS = [  # (number, label, SNOMED CT code, meaning)
    (1, "Pulmonary artery", "81040000", "Pulmonary artery"),
    (2, "Pulmonary vein", "122972007", "Pulmonary vein"),
]


def source_images(folder):
    paths = sorted(os.path.join(folder, f) for f in os.listdir(folder))
    return [pydicom.dcmread(p) for p in paths if os.path.isfile(p)]


def mask_per_image(images, labels_path):
    """One label slice per source image, matched by position, as a (frames, rows, cols) array."""
    labels = sitk.ReadImage(labels_path)
    array = sitk.GetArrayViewFromImage(labels)  # (k, j, i)
    planes = []
    for ds in images:
        _, _, k = labels.TransformPhysicalPointToIndex([float(v) for v in ds.ImagePositionPatient])
        if not 0 <= k < array.shape[0]:
            raise SystemExit(f"{ds.SOPInstanceUID}: position outside the label map {labels_path}")
        planes.append(array[k])
    return np.stack(planes).astype(np.uint8)


def descriptions():
    algorithm = hd.AlgorithmIdentificationSequence(name="reference", version="1",
                                                   family=codes.cid7162.ArtificialIntelligence)
    return [hd.seg.SegmentDescription(segment_number=n, segment_label=label,
                                      segmented_property_category=codes.SCT.AnatomicalStructure,
                                      segmented_property_type=hd.sr.CodedConcept(code, "SCT", meaning),
                                      algorithm_type="AUTOMATIC", algorithm_identification=algorithm)
            for n, label, code, meaning in SEGMENTS]


def main():
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    ct_dir, labels_path, out = sys.argv[1:]
    images = source_images(ct_dir)
    mask = mask_per_image(images, labels_path)
    t0 = time.perf_counter()
    seg = hd.seg.Segmentation(source_images=images, pixel_array=mask, segmentation_type="BINARY",
                              segment_descriptions=descriptions(), series_instance_uid=hd.UID(),
                              series_number=100, sop_instance_uid=hd.UID(), instance_number=1,
                              manufacturer="reference", manufacturer_model_name="highdicom",
                              software_versions=hd.__version__, device_serial_number="0")
    t1 = time.perf_counter()
    seg.save_as(out)
    t2 = time.perf_counter()
    print(f"RESULT highdicom construct+write={t2 - t0:.3f} s construct={t1 - t0:.3f} write={t2 - t1:.3f} "
          f"frames={seg.NumberOfFrames} bytes={os.path.getsize(out)}")


if __name__ == "__main__":
    main()
