//! `pavseg export-nnunet` writes a dataset that nnU-Net v2 itself accepts (its
//! `--verify_dataset_integrity` over every image and label file), with the unannotated side of
//! each half-labelled case as nnU-Net's `ignore` label and nothing annotated lost.

mod common;

use common::{TempDir, BIN};
use pavseg::seg::read_label_nifti;
use pavseg::train::dataset::{load_image, ImageSource};
use pavseg::train::nnunet_export::IGNORE;
use pavseg::train::sides::Midline;
use std::path::Path;
use std::process::Command;

fn run(cmd: &mut Command) -> String {
    let o = cmd.output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(o.status.success(), "{cmd:?} failed:\n{text}");
    text
}

/// Checks one half-labelled case: annotated voxels kept, background of the other side (by the
/// midline pavseg trains with) ignored, background of its own side kept.
fn check_half(raw: &Path, data: &Path, id: &str, left: bool) {
    let (exported, grid) = read_label_nifti(&raw.join(format!("labelsTr/{id}.nii.gz"))).unwrap();
    let file = if left { "labels_left.nii.gz" } else { "labels_right.nii.gz" };
    let (annotated, _) = read_label_nifti(&data.join(id).join(file)).unwrap();
    let (hu, ct_grid) = load_image(id, &ImageSource::Nifti(data.join(id).join("ct.nii.gz"))).unwrap();
    assert_eq!(grid.shape, ct_grid.shape);
    let midline = Midline::from_lungs(hu.view(), &ct_grid);
    let (mut ignored, mut kept_background) = (0usize, 0usize);
    for ((k, j, i), &v) in exported.indexed_iter() {
        let a = annotated[[k, j, i]];
        if a != 0 {
            assert_eq!(v, a, "{id}: annotated voxel {:?} changed", (k, j, i));
            continue;
        }
        let on_labelled_side = midline.is_left(ct_grid.index_to_lps(k as f64, j as f64, i as f64)) == left;
        if on_labelled_side {
            assert_eq!(v, 0, "{id}: background on the labelled side at {:?} is {v}", (k, j, i));
            kept_background += 1;
        } else {
            assert_eq!(v, IGNORE, "{id}: background of the unannotated side at {:?} is {v}", (k, j, i));
            ignored += 1;
        }
    }
    assert!(ignored > exported.len() / 4 && kept_background > exported.len() / 4, "{id}: {ignored} ignored, {kept_background} background");
}

#[test]
fn the_export_passes_nnunet_integrity_checks_and_ignores_only_the_unannotated_side() {
    let dir = TempDir::new("nnunet-export");
    let data = dir.path().join("data");
    run(Command::new(BIN).args(["phantom-dataset", "--train-seeds", "1-3", "--val-seeds", "4", "--test-seeds", "5", "--half-left", "2", "--half-right", "3"]).args([
        "--slices", "24", "--rows", "48", "--cols", "48", "--pixel-spacing", "6", "--slice-spacing", "8",
    ]).arg("--out").arg(&data));
    let raw_root = dir.path().join("raw");
    let raw = raw_root.join("Dataset777_PavsegTest");
    let out = run(Command::new(BIN).args(["export-nnunet", "--dataset"]).arg(data.join("manifest.toml")).arg("--out").arg(&raw));
    assert!(out.contains("RESULT export-nnunet train=3 val=1 test=1 half_labelled=2"), "{out}");

    // A fully labelled case keeps its labels; the test case's truth is written beside its image.
    let (full, _) = read_label_nifti(&raw.join("labelsTr/phantom0001.nii.gz")).unwrap();
    let (truth, _) = read_label_nifti(&data.join("phantom0001/labels.nii.gz")).unwrap();
    assert_eq!(full, truth);
    let (test_truth, _) = read_label_nifti(&raw.join("labelsTs/phantom0005.nii.gz")).unwrap();
    let (truth5, _) = read_label_nifti(&data.join("phantom0005/labels.nii.gz")).unwrap();
    assert_eq!(test_truth, truth5);
    assert!(raw.join("imagesTs/phantom0005_0000.nii.gz").is_file());
    check_half(&raw, &data, "phantom0002", true);
    check_half(&raw, &data, "phantom0003", false);

    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(raw.join("dataset.json")).unwrap()).unwrap();
    assert_eq!(json["labels"]["ignore"], 3);
    assert_eq!(json["numTraining"], 4);
    let splits: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(raw.join("splits_final.json")).unwrap()).unwrap();
    assert_eq!(splits[0]["train"].as_array().unwrap().len(), 3);
    assert_eq!(splits[0]["val"], serde_json::json!(["phantom0004"]));

    // nnU-Net's own checks: every label value declared, `ignore` the largest, images and labels
    // on one geometry, every file readable; then its fingerprint of the data.
    let bin = pavseg::bench::tools::python_bin_dir();
    let text = run(Command::new(bin.join("nnUNetv2_extract_fingerprint"))
        .args(["-d", "777", "-np", "1", "--verify_dataset_integrity"])
        .env("nnUNet_raw", &raw_root)
        .env("nnUNet_preprocessed", dir.path().join("preprocessed"))
        .env("nnUNet_results", dir.path().join("results"))
        .env("PATH", pavseg::bench::tools::path_with_python_bin()));
    assert!(text.contains("verify_dataset_integrity Done"), "{text}");
    let fingerprint = dir.path().join("preprocessed/Dataset777_PavsegTest/dataset_fingerprint.json");
    let fp: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&fingerprint).unwrap()).unwrap();
    assert_eq!(fp["spacings"].as_array().unwrap().len(), 4, "one spacing per training case");
}
