//! SEGs written by `pavseg seg-from-labels` pass dciodvfy, pydicom, highdicom and dcmqi, and
//! read back to the label map they were made from, for head-first, feet-first, flipped-column
//! and all-empty cases.

mod seg_common;

use seg_common::*;
use ndarray::Array3;
use pavseg::bench::seg::synthetic_vessels;
use pavseg::geometry::Geometry;
use pavseg::seg::{read_segmentation, SegConfig};
use std::path::Path;

const SHAPE: [usize; 3] = [20, 48, 40];

/// dciodvfy must report no error; its warnings are printed (and listed in the report).
fn assert_dciodvfy_clean(seg: &Path) {
    let (errors, warnings) = dciodvfy(seg);
    for w in &warnings {
        println!("dciodvfy {w}");
    }
    assert!(errors.is_empty(), "dciodvfy errors for {}:\n{}", seg.display(), errors.join("\n"));
}

/// Our own reader brings the SEG back to exactly the label map.
fn assert_reads_back(seg: &Path, geometry: &Geometry, labels: &Array3<u8>) {
    let read = read_segmentation(seg, geometry).expect("read our SEG");
    let values = read.to_label_values(&SegConfig::default()).expect("segments match the configuration");
    assert_eq!(&values, labels, "label map read back differs");
}

fn check_case(
    name: &str,
    geometry: Geometry,
    labels: Array3<u8>,
    feet_first: bool,
    extra: &[&str],
    frames: Option<usize>,
) {
    let dir = scratch(name);
    let files = write_case(&dir, &geometry, labels.clone(), feet_first);
    let out = seg_from_labels(&files, &dir.join("out"), extra);
    let seg = out.join("seg.dcm");
    assert!(out.join("labels.nii.gz").exists() && out.join("preview.png").exists());
    assert_dciodvfy_clean(&seg);
    assert_reads_back(&seg, &geometry, &labels);
    python_checks(&seg, &files, &dir, frames);
    std::fs::remove_dir_all(&dir).ok();
}

fn non_empty_frames(labels: &Array3<u8>) -> usize {
    labels.outer_iter().map(|p| p.iter().any(|&v| v == 1) as usize + p.iter().any(|&v| v == 2) as usize).sum()
}

#[test]
fn head_first_seg_passes_all_validators() {
    let labels = synthetic_vessels(SHAPE);
    let n = non_empty_frames(&labels);
    check_case("hf", head_first(SHAPE), labels, false, &[], Some(n));
}

#[test]
fn feet_first_seg_passes_all_validators() {
    let labels = synthetic_vessels(SHAPE);
    let n = non_empty_frames(&labels);
    check_case("ff", feet_first(SHAPE), labels, true, &[], Some(n));
}

#[test]
fn flipped_columns_with_empty_frames_kept_pass_all_validators() {
    // Rows run towards anterior and columns towards the patient's right: slices run feet-wards.
    // 45 x 37 pixels: frames do not start on byte boundaries.
    let shape = [18, 45, 37];
    let g = grid(shape, [0.0, -1.0, 0.0], [-1.0, 0.0, 0.0], [2.0, 1.25, 1.0]);
    check_case("flip", g, synthetic_vessels(shape), false, &["--keep-empty-frames"], Some(2 * shape[0]));
}

#[test]
fn all_empty_mask_makes_a_valid_seg_with_one_empty_frame() {
    check_case("empty", head_first(SHAPE), Array3::zeros(SHAPE), false, &[], Some(1));
}
