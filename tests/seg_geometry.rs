//! The SEG sits on the source slices whatever the orientation and whatever order the instances
//! arrive in: each frame's position is its source slice's ImagePositionPatient, its derivation
//! reference is that slice's SOP Instance, and the result does not change with arrival order.

mod seg_common;

use seg_common::*;
use dicom_dictionary_std::tags;
use dicom_object::{open_file, InMemDicomObject};
use ndarray::Array3;
use pavseg::bench::seg::synthetic_vessels;
use pavseg::geometry::Geometry;
use pavseg::seg::{build, read_segmentation, SegConfig, SegIdentity, Segmentation};
use pavseg::volume::{assemble_files, AssemblyLimits};
use std::collections::HashMap;
use std::path::PathBuf;

fn first_item(obj: &InMemDicomObject, tag: dicom_core::Tag) -> &InMemDicomObject {
    &obj.get(tag).unwrap_or_else(|| panic!("missing {tag}")).items().expect("a sequence")[0]
}

fn floats(obj: &InMemDicomObject, tag: dicom_core::Tag) -> Vec<f64> {
    obj.get(tag).unwrap_or_else(|| panic!("missing {tag}")).to_multi_float64().expect("numbers")
}

fn text(obj: &InMemDicomObject, tag: dicom_core::Tag) -> String {
    obj.get(tag).unwrap().to_str().unwrap().trim_end_matches(['\0', ' ']).to_string()
}

/// (position, referenced SOP instance, segment) of every frame.
fn frame_refs(seg: &Segmentation) -> Vec<(Vec<f64>, String, u16)> {
    let per_frame = seg.header().get(tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE).unwrap().items().unwrap();
    per_frame
        .iter()
        .map(|f| {
            let pos = floats(first_item(f, tags::PLANE_POSITION_SEQUENCE), tags::IMAGE_POSITION_PATIENT);
            let der = first_item(f, tags::DERIVATION_IMAGE_SEQUENCE);
            let src = first_item(der, tags::SOURCE_IMAGE_SEQUENCE);
            let segment = first_item(f, tags::SEGMENT_IDENTIFICATION_SEQUENCE)
                .get(tags::REFERENCED_SEGMENT_NUMBER)
                .unwrap()
                .to_int::<u16>()
                .unwrap();
            (pos, text(src, tags::REFERENCED_SOP_INSTANCE_UID), segment)
        })
        .collect()
}

fn check_orientation(name: &str, geometry: Geometry, feet_first: bool) {
    let dir = scratch(name);
    let labels: Array3<u8> = synthetic_vessels(geometry.shape);
    let files = write_case(&dir, &geometry, labels.clone(), feet_first);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&files.dicom_dir).unwrap().map(|e| e.unwrap().path()).collect();
    paths.sort();
    // Where each CT instance really is, straight from its file.
    let ct_position: HashMap<String, Vec<f64>> = paths
        .iter()
        .map(|p| {
            let o = open_file(p).unwrap();
            (text(&o, tags::SOP_INSTANCE_UID), floats(&o, tags::IMAGE_POSITION_PATIENT))
        })
        .collect();

    let config = SegConfig::default();
    let identity = SegIdentity::new(&config);
    let mut results = Vec::new();
    // Sorted, reversed and interleaved arrival orders.
    let reversed: Vec<PathBuf> = paths.iter().rev().cloned().collect();
    let interleaved: Vec<PathBuf> = paths.iter().step_by(2).chain(paths.iter().skip(1).step_by(2)).cloned().collect();
    for order in [paths.clone(), reversed, interleaved] {
        let volume = assemble_files(&order, &AssemblyLimits::default()).unwrap();
        assert!(volume.geometry.same_grid(&geometry, 1e-3), "{name}: assembled grid differs");
        let seg = build(labels.view(), &volume.geometry, &volume.source, &config, &identity).unwrap();
        let mut bytes = Vec::new();
        seg.write_to(&mut bytes).unwrap();
        results.push((frame_refs(&seg), bytes));
    }
    assert!(results.windows(2).all(|w| w[0] == w[1]), "{name}: the SEG depends on arrival order");

    let (refs, bytes) = &results[0];
    assert!(!refs.is_empty());
    for (pos, sop, segment) in refs {
        let ct = &ct_position[sop];
        let off = pos.iter().zip(ct).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        assert!(off < 1e-3, "{name}: segment {segment} frame at {pos:?} refers to {sop} at {ct:?}");
    }
    // Frames go segment by segment, along the slice normal within a segment.
    for w in refs.windows(2) {
        let along =
            |p: &Vec<f64>| p[0] * geometry.slice_dir[0] + p[1] * geometry.slice_dir[1] + p[2] * geometry.slice_dir[2];
        assert!(w[0].2 < w[1].2 || (w[0].2 == w[1].2 && along(&w[0].0) < along(&w[1].0)), "{name}: frame order");
    }
    let path = dir.join("seg.dcm");
    std::fs::write(&path, bytes).unwrap();
    let back = read_segmentation(&path, &geometry).unwrap().to_label_values(&config).unwrap();
    assert_eq!(back, labels, "{name}: read back differs");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn head_first_frames_sit_on_their_source_slices() {
    check_orientation("geo-hf", head_first([12, 24, 20]), false);
}

#[test]
fn feet_first_frames_sit_on_their_source_slices() {
    check_orientation("geo-ff", feet_first([12, 24, 20]), true);
}

#[test]
fn flipped_rows_and_columns_and_odd_frame_sizes() {
    // Rows towards anterior, columns towards the right, 21 x 19 pixels (frames not byte-aligned).
    check_orientation("geo-flip", grid([9, 21, 19], [0.0, -1.0, 0.0], [-1.0, 0.0, 0.0], [3.0, 0.8, 0.9]), false);
    // Coronal-ish oblique grid.
    let r = [0.8f64.sqrt(), 0.2f64.sqrt(), 0.0];
    check_orientation("geo-oblique", grid([7, 16, 16], r, [0.0, 0.0, -1.0], [2.0, 1.0, 1.0]), false);
}
