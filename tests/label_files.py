"""Label files as sites have them, written by the tools sites use, for tests/train_label_formats.rs.

From a phantom CT (a DICOM series folder and the same CT as NIfTI) and its label map (NIfTI;
0 background, 1 artery, 2 vein) writes into OUT:
  labels.nrrd          SimpleITK: the label map as NRRD (gzip)
  shifted.nrrd         SimpleITK: the same with its origin moved by 5 mm (not on the CT's grid)
  labels.seg.nrrd      slicerio (3D Slicer's format): "PA" (artery, named in the dataset's
                       segment_labels), "Segment_2" (vein, known only by its SNOMED CT
                       terminology code) and "Lungs" (every vessel voxel and more: overlaps
                       both, so Slicer's layout puts it in a second layer)
  overlap.seg.nrrd     slicerio: "artery" and "vein" segments that share one voxel
  airway.seg.nrrd      slicerio: "artery", "vein" and an unmapped "Airway" segment
  labels-seg.dcm       highdicom: BINARY DICOM-SEG on the CT series: "Arteria pulmonalis"
                       (SNOMED CT pulmonary artery) and "PV tree" (coded only as tissue, so it
                       needs segment_labels)
Prints: RESULT files=<n> overlap_voxel=<k>,<j>,<i>
Usage: python tests/label_files.py CT_DIR CT.nii.gz LABELS.nii.gz OUT
"""
import os
import sys

import highdicom as hd
import numpy as np
import pydicom
import SimpleITK as sitk
import slicerio
from pydicom.sr.codedict import codes


def ijk_to_lps(image):
    m = np.eye(4)
    d = np.array(image.GetDirection()).reshape(3, 3)
    m[:3, :3] = d @ np.diag(image.GetSpacing())
    m[:3, 3] = image.GetOrigin()
    return m


def seg_nrrd(path, image, segments):
    """segments: (mask [k, j, i], dict of segment fields) in order."""
    s = slicerio.create_segmentation(image.GetSize(), ijk_to_lps(image))
    for mask, fields in segments:
        slicerio.add_segment(s, np.transpose(mask, (2, 1, 0)), fields)
    slicerio.write_segmentation(path, s)


def main():
    if len(sys.argv) != 5:
        raise SystemExit(__doc__)
    ct_dir, ct_path, labels_path, out = sys.argv[1:]
    os.makedirs(out, exist_ok=True)
    labels_image = sitk.ReadImage(labels_path)
    labels = sitk.GetArrayFromImage(labels_image)  # [k, j, i]
    sitk.WriteImage(labels_image, os.path.join(out, "labels.nrrd"), useCompression=True)
    shifted = sitk.Image(labels_image)
    shifted.SetOrigin([o + 5.0 for o in labels_image.GetOrigin()])
    sitk.WriteImage(shifted, os.path.join(out, "shifted.nrrd"), useCompression=True)

    artery, vein = labels == 1, labels == 2
    lungs = (artery | vein).copy()
    lungs[:, :, : lungs.shape[2] // 2] = True
    vein_type = {"contextName": "Segmentation category and type - 3D Slicer General Anatomy list",
                 "category": ["SCT", "123037004", "Anatomical Structure"],
                 "type": ["SCT", "122972007", "Pulmonary vein"]}
    seg_nrrd(os.path.join(out, "labels.seg.nrrd"), labels_image,
             [(artery, {"id": "Segment_1", "name": "PA"}),
              (vein, {"id": "Segment_2", "name": "Segment_2", "terminology": vein_type}),
              (lungs, {"id": "Segment_3", "name": "Lungs"})])
    k, j, i = [int(v[0]) for v in np.nonzero(vein)]
    widened = artery.copy()
    widened[k, j, i] = True
    seg_nrrd(os.path.join(out, "overlap.seg.nrrd"), labels_image,
             [(widened, {"id": "a", "name": "artery"}), (vein, {"id": "v", "name": "vein"})])
    airway = np.zeros_like(artery)
    airway[0, 0, 0] = True
    seg_nrrd(os.path.join(out, "airway.seg.nrrd"), labels_image,
             [(artery, {"id": "a", "name": "artery"}), (vein, {"id": "v", "name": "vein"}),
              (airway, {"id": "w", "name": "Airway"})])

    images = [pydicom.dcmread(os.path.join(ct_dir, f)) for f in sorted(os.listdir(ct_dir))]
    planes = []
    for ds in images:
        _, _, kk = labels_image.TransformPhysicalPointToIndex([float(v) for v in ds.ImagePositionPatient])
        planes.append(labels[kk])
    mask = np.stack(planes).astype(np.uint8)
    algorithm = hd.AlgorithmIdentificationSequence(name="site annotation", version="1",
                                                   family=codes.cid7162.ArtificialIntelligence)
    described = [(1, "Arteria pulmonalis", hd.sr.CodedConcept("81040000", "SCT", "Pulmonary artery")),
                 (2, "PV tree", hd.sr.CodedConcept("85756007", "SCT", "Tissue"))]
    descriptions = [hd.seg.SegmentDescription(segment_number=n, segment_label=label,
                                              segmented_property_category=codes.SCT.AnatomicalStructure,
                                              segmented_property_type=code, algorithm_type="MANUAL")
                    for n, label, code in described]
    seg = hd.seg.Segmentation(source_images=images, pixel_array=mask, segmentation_type="BINARY",
                              segment_descriptions=descriptions, series_instance_uid=hd.UID(),
                              series_number=300, sop_instance_uid=hd.UID(), instance_number=1,
                              manufacturer="site", manufacturer_model_name="highdicom",
                              software_versions=hd.__version__, device_serial_number="0")
    seg.save_as(os.path.join(out, "labels-seg.dcm"))
    print(f"RESULT files={len(os.listdir(out))} overlap_voxel={k},{j},{i}")


if __name__ == "__main__":
    main()
