//! SEGs written by `pavseg seg-from-labels` pass dciodvfy, pydicom, highdicom and dcmqi, and
//! read back to the label map they were made from, for head-first, feet-first, flipped-column
//! and all-empty cases.

mod seg_common;

use figment::providers::Format;
use ndarray::Array3;
use pavseg::bench::seg::synthetic_vessels;
use pavseg::geometry::Geometry;
use pavseg::seg::{read_segmentation, SegConfig};
use seg_common::*;
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
    python_checks(&seg, &files, &dir, frames, None);
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

/// Left and right vessels: four segments told apart by a laterality modifier, from a TOML
/// configuration such as a plugin's output section.
#[test]
fn left_right_segments_from_a_toml_configuration_pass_all_validators() {
    let dir = scratch("lr");
    let shape = [16, 40, 36];
    let geometry = head_first(shape);
    let mut labels = synthetic_vessels(shape);
    for ((_, _, i), v) in labels.indexed_iter_mut() {
        if *v != 0 && i >= shape[2] / 2 {
            *v += 2;
        }
    }
    let files = write_case(&dir, &geometry, labels.clone(), false);
    let segment = |value: u8, name: &str, code: &str, side: &str, side_code: &str| {
        format!(
            "[[segments]]\nlabel_value = {value}\nlabel = \"{side} {name}\"\ntracking_id = \"{side} {name}\"\n\
             color_rgb = [200, 30, {}]\nproperty_type = {{ value = \"{code}\", scheme = \"SCT\", meaning = \"{name}\" }}\n\
             property_type_modifier = {{ value = \"{side_code}\", scheme = \"SCT\", meaning = \"{side}\" }}\n",
            value * 40
        )
    };
    let toml = [
        "series_description = \"Pulmonary vessels, left and right\"\n".to_string(),
        segment(1, "Pulmonary artery", "81040000", "Left", "7771000"),
        segment(2, "Pulmonary vein", "122972007", "Left", "7771000"),
        segment(3, "Pulmonary artery", "81040000", "Right", "24028007"),
        segment(4, "Pulmonary vein", "122972007", "Right", "24028007"),
    ]
    .concat();
    let config_path = dir.join("seg.toml");
    std::fs::write(&config_path, &toml).unwrap();
    let out = seg_from_labels(&files, &dir.join("out"), &["--config", config_path.to_str().unwrap()]);
    let seg = out.join("seg.dcm");
    assert_dciodvfy_clean(&seg);
    let config: SegConfig = figment::Figment::from(figment::providers::Toml::file(&config_path)).extract().unwrap();
    let read = read_segmentation(&seg, &geometry).unwrap();
    assert_eq!(read.segments.len(), 4);
    assert_eq!(read.segments[2].property_type_modifier.as_ref().map(|c| c.value.as_str()), Some("24028007"));
    assert_eq!(read.to_label_values(&config).unwrap(), labels);
    python_checks(&seg, &files, &dir, None, Some("1=81040000,2=122972007,3=81040000,4=122972007"));
    std::fs::remove_dir_all(&dir).ok();
}

/// Label Map SEGs (`type = "labelmap"`, MONOCHROME2 and with `palette = true` PALETTE COLOR):
/// one 8-bit frame per slice with vessels, which our reader, pydicom and highdicom read back to
/// the label map; highdicom applies the palette to give each segment its configured colour.
#[test]
fn label_map_segs_pass_highdicom_and_the_palette_colours_the_segments() {
    for (name, toml, extra) in [
        ("labelmap", "type = \"labelmap\"\n", vec!["--labelmap"]),
        ("palette", "type = \"labelmap\"\npalette = true\n", vec!["--labelmap", "--palette", "1=220/40/40,2=40/90/230"]),
    ] {
        let dir = scratch(name);
        let geometry = feet_first(SHAPE);
        let labels = synthetic_vessels(SHAPE);
        let files = write_case(&dir, &geometry, labels.clone(), true);
        let config_path = dir.join("seg.toml");
        std::fs::write(&config_path, toml).unwrap();
        let out = seg_from_labels(&files, &dir.join("out"), &["--config", config_path.to_str().unwrap()]);
        let seg = out.join("seg.dcm");
        // Debian 12's dicom3tools predates Supplement 243: it does not know the IOD, but still
        // checks the attributes it knows (the palette among them).
        let (errors, warnings) = dciodvfy(&seg);
        for w in &warnings {
            println!("dciodvfy {w}");
        }
        let errors: Vec<&String> = errors.iter().filter(|e| !e.contains("Information Object Not found")).collect();
        assert!(errors.is_empty(), "dciodvfy errors for the {name} SEG:\n{errors:?}");
        let read = read_segmentation(&seg, &geometry).expect("read our Label Map SEG");
        let slices_with_vessels = labels.outer_iter().filter(|p| p.iter().any(|&v| v != 0)).count();
        assert_eq!(read.frames, slices_with_vessels, "one frame per slice that holds vessels");
        assert_eq!(read.to_label_values(&SegConfig::default()).unwrap(), labels);
        python_checks_with(&seg, &files, &dir, Some(slices_with_vessels), None, &extra);
        std::fs::remove_dir_all(&dir).ok();
    }
}
