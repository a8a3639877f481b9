//! Training labels as sites keep them, written by the tools they use: NRRD (SimpleITK), 3D
//! Slicer's `.seg.nrrd` (slicerio, with a second layer for an overlapping segment and a
//! SNOMED-coded terminology entry) and a BINARY DICOM-SEG (highdicom), all loaded as the same
//! 0/1/2 label map as the phantom's NIfTI truth; overlapping artery and vein segments, an
//! unmapped segment and a label file on another grid are refused, naming the file and the fault.

mod common;

use pavseg::phantom::PhantomParams;
use pavseg::train::dataset::{Dataset, DatasetError};
use std::process::Command;

fn params() -> PhantomParams {
    PhantomParams { seed: 5, slices: 24, rows: 40, cols: 40, pixel_spacing: 6.0, slice_spacing: 8.0, ..Default::default() }
}

#[test]
fn nrrd_slicer_and_dicom_seg_labels_load_as_the_truth() {
    let tmp = common::TempDir::new("label-formats");
    let d = tmp.path();
    let (phantom, files) = common::make_phantom(&d.join("phantom"), params());
    let out = d.join("site");
    let o = Command::new(pavseg::bench::tools::python())
        .arg(common::repo().join("tests/label_files.py"))
        .args([&files.dicom_dir, &files.ct, &files.labels, &out])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "label_files.py: {stdout}{}", String::from_utf8_lossy(&o.stderr));
    let overlap = stdout.split("overlap_voxel=").nth(1).unwrap().trim().replace(',', ", ");
    assert!(phantom.labels.iter().any(|&v| v == 1) && phantom.labels.iter().any(|&v| v == 2));

    let ct = files.ct.display().to_string();
    let series = files.dicom_dir.display().to_string();
    let case = |id: &str, image: &str, labels: &str| format!("[[case]]\nid = \"{id}\"\nimage = \"{image}\"\nlabels = \"{labels}\"\n\n");
    let mut text = String::from("[segment_labels]\n\"PA\" = \"artery\"\n\"pv tree\" = \"vein\"\n\"Lungs\" = \"background\"\n\n");
    text += &case("nifti", &ct, &files.labels.display().to_string());
    for (id, name) in [("nrrd", "labels.nrrd"), ("slicer", "labels.seg.nrrd"), ("overlap", "overlap.seg.nrrd"), ("airway", "airway.seg.nrrd"), ("shifted", "shifted.nrrd")] {
        text += &case(id, &ct, &out.join(name).display().to_string());
    }
    text += &case("dicom-seg", &series, &out.join("labels-seg.dcm").display().to_string());
    let manifest = d.join("dataset.toml");
    std::fs::write(&manifest, text).unwrap();
    let dataset = Dataset::open(&manifest).unwrap();
    let load = |id: &str| dataset.cases.iter().find(|c| c.id == id).unwrap().load();

    for id in ["nifti", "nrrd", "slicer", "dicom-seg"] {
        let loaded = load(id).unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(loaded.labels, phantom.labels, "{id}");
    }

    let e = load("overlap").unwrap_err().to_string();
    assert!(e.contains("overlap.seg.nrrd") && e.contains("\"artery\"") && e.contains("\"vein\"") && e.contains(&overlap), "{e}");
    let e = load("airway").unwrap_err().to_string();
    assert!(e.contains("airway.seg.nrrd") && e.contains("\"Airway\"") && e.contains("segment_labels"), "{e}");
    let e = load("shifted").unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, DatasetError::GridMismatch { .. }) && text.contains("shifted.nrrd"), "{e}");
    assert!(text.contains("labels ") && text.contains(" vs CT "), "both grids named: {e}");

    // Without the dataset's names, Slicer's "PA" segment is unknown; the coded vein is not.
    let bare = std::fs::read_to_string(&manifest).unwrap().replace("\"PA\" = \"artery\"\n", "");
    std::fs::write(&manifest, bare).unwrap();
    let dataset = Dataset::open(&manifest).unwrap();
    let slicer = dataset.cases.iter().find(|c| c.id == "slicer").unwrap();
    let e = slicer.load().unwrap_err().to_string();
    assert!(e.contains("\"PA\"") && !e.contains("Segment_2"), "{e}");
}

/// What pavseg writes as `.seg.nrrd` (fuzz seeds, phantoms for Slicer) reads in slicerio with
/// the same segments, layers and voxels.
#[test]
fn slicerio_reads_the_seg_nrrd_pavseg_writes() {
    use pavseg::io::nrrd::{write, SegmentEntry};
    let tmp = common::TempDir::new("seg-nrrd-write");
    let p = pavseg::phantom::generate(&params());
    let artery = p.labels.mapv(|v| u8::from(v == 1));
    let vein = p.labels.mapv(|v| u8::from(v == 2));
    let path = tmp.path().join("two.seg.nrrd");
    let segments = [
        SegmentEntry { name: "artery", label_value: 1, layer: 0, tags: None },
        SegmentEntry { name: "vein", label_value: 1, layer: 1, tags: None },
    ];
    write(&path, &[artery.view(), vein.view()], &p.geometry, &segments, true).unwrap();
    let script = "import sys, slicerio\n\
s = slicerio.read_segmentation(sys.argv[1])\n\
v = s['voxels']\n\
segs = s['segments']\n\
print('RESULT shape=' + ','.join(str(n) for n in v.shape), \
'segments=' + ','.join(f\"{x['name']}:{x['layer']}:{x['labelValue']}\" for x in segs), \
'counts=' + ','.join(str(int((v[x['layer']] == x['labelValue']).sum())) for x in segs), \
'origin=' + ','.join(f'{c:.3f}' for c in s['ijkToLPS'][:3, 3]))";
    let o = Command::new(pavseg::bench::tools::python()).args(["-c", script]).arg(&path).output().unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{stdout}{}", String::from_utf8_lossy(&o.stderr));
    let [nk, nj, ni] = p.geometry.shape;
    let count = |a: &ndarray::Array3<u8>| a.iter().filter(|&&v| v == 1).count();
    let o = p.geometry.origin;
    let want = format!(
        "RESULT shape=2,{ni},{nj},{nk} segments=artery:0:1,vein:1:1 counts={},{} origin={:.3},{:.3},{:.3}",
        count(&artery),
        count(&vein),
        o[0],
        o[1],
        o[2]
    );
    assert_eq!(stdout.trim(), want);
}
