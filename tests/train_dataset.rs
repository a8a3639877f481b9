//! Datasets: manifests and nnU-Net/MSD folders, and clear errors for a missing file, a label
//! map on another grid and unknown label values.

mod common;

use ndarray::Array3;
use pavseg::geometry::Geometry;
use pavseg::train::dataset::{Dataset, DatasetError, LabeledSide, Split, SplitRatios};
use std::path::Path;

fn grid() -> Geometry {
    Geometry::new([4, 5, 6], [0.0; 3], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [2.0, 1.5, 1.5])
}

fn write_case(dir: &Path, id: &str, label_value: u8, g: &Geometry) {
    let hu = Array3::<f32>::from_elem((4, 5, 6), -800.0);
    pavseg::io::nifti::write(&dir.join(format!("{id}_ct.nii.gz")), hu.view(), &grid()).unwrap();
    let mut l = Array3::<u8>::zeros((g.shape[0], g.shape[1], g.shape[2]));
    l[[1, 2, 3]] = label_value;
    pavseg::seg::write_label_nifti(&dir.join(format!("{id}_labels.nii.gz")), l.view(), g).unwrap();
}

fn manifest(dir: &Path, ids: &[&str]) -> std::path::PathBuf {
    let mut text = String::new();
    for id in ids {
        text += &format!("[[case]]\nid = \"{id}\"\nimage = \"{id}_ct.nii.gz\"\nlabels = \"{id}_labels.nii.gz\"\nlabeled_side = \"right\"\n\n");
    }
    let p = dir.join("manifest.toml");
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn manifest_cases_load_and_bad_ones_are_refused_by_name() {
    let tmp = common::TempDir::new("dataset");
    let d = tmp.path();
    write_case(d, "good", 2, &grid());
    write_case(d, "badlabel", 3, &grid());
    let shifted = Geometry::new([4, 5, 6], [5.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [2.0, 1.5, 1.5]);
    write_case(d, "shifted", 1, &shifted);
    let ds = Dataset::open(&manifest(d, &["good", "badlabel", "shifted", "missing"])).unwrap();
    assert_eq!(ds.cases.len(), 4);
    assert_eq!(ds.cases[0].labeled_side, LabeledSide::Right);
    let ok = ds.cases[0].load().unwrap();
    assert_eq!(ok.labels[[1, 2, 3]], 2);
    let e = ds.cases[1].load().unwrap_err();
    assert!(matches!(e, DatasetError::UnknownLabel { value: 3, .. }), "{e}");
    assert!(e.to_string().contains("badlabel_labels.nii.gz") && e.to_string().contains("value 3"), "{e}");
    let e = ds.cases[2].load().unwrap_err();
    assert!(matches!(e, DatasetError::GridMismatch { .. }), "{e}");
    assert!(e.to_string().contains("shifted_labels.nii.gz"), "{e}");
    let e = ds.cases[3].load().unwrap_err();
    assert!(matches!(e, DatasetError::MissingFile { .. }), "{e}");
    assert!(e.to_string().contains("missing_ct.nii.gz"), "{e}");
    // Duplicate ids are refused.
    let dup = manifest(d, &["good", "good"]);
    assert!(Dataset::open(&dup).unwrap_err().to_string().contains("twice"));
}

#[test]
fn msd_and_nnunet_folders_list_their_cases() {
    let tmp = common::TempDir::new("dataset-folder");
    let d = tmp.path();
    std::fs::create_dir_all(d.join("imagesTr")).unwrap();
    std::fs::create_dir_all(d.join("labelsTr")).unwrap();
    for id in ["a", "b", "c"] {
        write_case(d, id, 1, &grid());
        std::fs::rename(d.join(format!("{id}_ct.nii.gz")), d.join(format!("imagesTr/{id}_0000.nii.gz"))).unwrap();
        std::fs::rename(d.join(format!("{id}_labels.nii.gz")), d.join(format!("labelsTr/{id}.nii.gz"))).unwrap();
    }
    // nnU-Net v2: cases found by name, sides from the top-level map.
    std::fs::write(d.join("dataset.json"), r#"{"labels": {"background": 0, "artery": 1, "vein": 2}, "file_ending": ".nii.gz", "labeled_side": {"b": "left"}}"#).unwrap();
    let ds = Dataset::open(d).unwrap();
    assert_eq!(ds.cases.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), vec!["a", "b", "c"]);
    assert_eq!(ds.cases[1].labeled_side, LabeledSide::Left);
    assert!(ds.cases.iter().all(|c| c.load().is_ok()));
    // MSD: the training list, with pavseg's optional keys.
    std::fs::write(
        d.join("dataset.json"),
        r#"{"training": [{"image": "./imagesTr/a_0000.nii.gz", "label": "./labelsTr/a.nii.gz"},
                         {"image": "./imagesTr/c_0000.nii.gz", "label": "./labelsTr/c.nii.gz", "labeled_side": "right", "split": "test"}]}"#,
    )
    .unwrap();
    let ds = Dataset::open(d).unwrap();
    assert_eq!(ds.cases.len(), 2);
    assert_eq!((ds.cases[1].labeled_side, ds.cases[1].split), (LabeledSide::Right, Some(Split::Test)));
    let test = ds.split(Split::Test, 7, SplitRatios::default()).unwrap();
    assert_eq!(test.len(), 1);
    assert_eq!(test[0].id, "c");
}
