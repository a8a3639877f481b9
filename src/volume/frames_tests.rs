//! Tests of multi-frame assembly: a small phantom series rewritten as one multi-frame object
//! (frames out of order, each with its own rescale) assembles to the single-frame volume, and
//! malformed functional groups are refused with the attribute named.

use super::{assemble_files, assemble_headers, AssemblyLimits};
use crate::phantom::{self, PhantomParams};
use dicom_core::value::{DataSetSequence, PrimitiveValue};
use dicom_core::{DataElement, Tag, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::{open_file, FileMetaTableBuilder, InMemDicomObject};
use std::path::{Path, PathBuf};

type Obj = InMemDicomObject;

fn put_str(obj: &mut Obj, tag: Tag, vr: VR, value: &str) {
    obj.put(DataElement::new(tag, vr, PrimitiveValue::from(value)));
}

fn put_ds(obj: &mut Obj, tag: Tag, values: &[f64]) {
    let text: Vec<String> = values.iter().map(|v| v.to_string()).collect();
    put_str(obj, tag, VR::DS, &text.join("\\"));
}

fn put_seq(obj: &mut Obj, tag: Tag, items: Vec<Obj>) {
    obj.put(DataElement::new(tag, VR::SQ, DataSetSequence::from(items)));
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pavseg-frames-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn sorted(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().flatten().map(|e| e.path()).collect();
    v.sort();
    v
}

fn item(f: impl FnOnce(&mut Obj)) -> Obj {
    let mut o = Obj::new_empty();
    f(&mut o);
    o
}

/// The single-frame slices at `files` as one Legacy Converted Enhanced CT object, frames in
/// reverse order, frame `n` stored with RescaleIntercept `-1024 - n` (values shifted to match);
/// `edit` may change the per-frame items and the data set before it is written.
fn multi_frame(files: &[PathBuf], out: &Path, edit: impl FnOnce(&mut Vec<Obj>, &mut Obj)) -> PathBuf {
    let slices: Vec<_> = files.iter().rev().map(|p| open_file(p).unwrap()).collect();
    let first = &slices[0];
    let mut obj = Obj::new_empty();
    for tag in [
        tags::STUDY_INSTANCE_UID,
        tags::SERIES_INSTANCE_UID,
        tags::FRAME_OF_REFERENCE_UID,
        tags::MODALITY,
        tags::ROWS,
        tags::COLUMNS,
        tags::SAMPLES_PER_PIXEL,
        tags::PHOTOMETRIC_INTERPRETATION,
        tags::BITS_ALLOCATED,
        tags::BITS_STORED,
        tags::HIGH_BIT,
        tags::PIXEL_REPRESENTATION,
        tags::PATIENT_ID,
    ] {
        obj.put(first.element(tag).unwrap().clone());
    }
    let sop = crate::uid::generate("2.25");
    put_str(&mut obj, tags::SOP_CLASS_UID, VR::UI, uids::LEGACY_CONVERTED_ENHANCED_CT_IMAGE_STORAGE);
    put_str(&mut obj, tags::SOP_INSTANCE_UID, VR::UI, sop.as_str());
    put_str(&mut obj, tags::NUMBER_OF_FRAMES, VR::IS, &slices.len().to_string());
    let floats = |o: &dicom_object::DefaultDicomObject, tag| o.element(tag).unwrap().to_multi_float64().unwrap();
    let shared = item(|s| {
        let iop = floats(first, tags::IMAGE_ORIENTATION_PATIENT);
        put_seq(s, tags::PLANE_ORIENTATION_SEQUENCE, vec![item(|o| put_ds(o, tags::IMAGE_ORIENTATION_PATIENT, &iop))]);
        let spacing = floats(first, tags::PIXEL_SPACING);
        put_seq(s, tags::PIXEL_MEASURES_SEQUENCE, vec![item(|o| put_ds(o, tags::PIXEL_SPACING, &spacing))]);
    });
    let mut per_frame = Vec::new();
    let mut pixels = Vec::new();
    for (n, slice) in slices.iter().enumerate() {
        let shift = n as i16;
        let ipp = floats(slice, tags::IMAGE_POSITION_PATIENT);
        per_frame.push(item(|f| {
            put_seq(f, tags::PLANE_POSITION_SEQUENCE, vec![item(|o| put_ds(o, tags::IMAGE_POSITION_PATIENT, &ipp))]);
            put_seq(
                f,
                tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE,
                vec![item(|o| {
                    put_ds(o, tags::RESCALE_INTERCEPT, &[-1024.0 - n as f64]);
                    put_ds(o, tags::RESCALE_SLOPE, &[1.0]);
                })],
            );
        }));
        let bytes = slice.element(tags::PIXEL_DATA).unwrap().to_bytes().unwrap();
        for v in bytes.chunks_exact(2) {
            pixels.extend_from_slice(&(i16::from_le_bytes([v[0], v[1]]) + shift).to_le_bytes());
        }
    }
    put_seq(&mut obj, tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE, vec![shared]);
    obj.put(DataElement::new(tags::PIXEL_DATA, VR::OW, PrimitiveValue::from(pixels)));
    edit(&mut per_frame, &mut obj);
    put_seq(&mut obj, tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE, per_frame);
    let meta = FileMetaTableBuilder::new()
        .media_storage_sop_class_uid(uids::LEGACY_CONVERTED_ENHANCED_CT_IMAGE_STORAGE)
        .media_storage_sop_instance_uid(sop)
        .transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN)
        .implementation_class_uid(crate::IMPLEMENTATION_CLASS_UID);
    std::fs::create_dir_all(out).unwrap();
    let path = out.join("mf.dcm");
    obj.with_meta(meta).unwrap().write_to_file(&path).unwrap();
    path
}

fn phantom_files(dir: &Path) -> Vec<PathBuf> {
    let params = PhantomParams { seed: 3, slices: 6, rows: 16, cols: 12, pixel_spacing: 2.0, slice_spacing: 2.5, ..Default::default() };
    let written = phantom::write_phantom(&phantom::generate(&params), dir).unwrap();
    sorted(&written.dicom_dir)
}

#[test]
fn multi_frame_object_assembles_to_the_single_frame_volume() {
    let dir = scratch("same");
    let files = phantom_files(&dir.join("ph"));
    let mf = multi_frame(&files, &dir.join("mf"), |_, _| {});
    let limits = AssemblyLimits::default();
    let single = assemble_files(&files, &limits).unwrap();
    let multi = assemble_files(std::slice::from_ref(&mf), &limits).unwrap();
    assert!(multi.geometry.same_grid(&single.geometry, 1e-9), "{:?} vs {:?}", multi.geometry, single.geometry);
    assert_eq!(multi.hu, single.hu);
    // Frames were written top slice first: slice k is frame n - k.
    let n = files.len() as u32;
    let frames: Vec<Option<u32>> = multi.source.images.iter().map(|i| i.frame_number).collect();
    assert_eq!(frames, (0..n).map(|k| Some(n - k)).collect::<Vec<_>>());
    assert!(multi.source.images.iter().all(|i| i.sop_class_uid == uids::LEGACY_CONVERTED_ENHANCED_CT_IMAGE_STORAGE));
    let (grid, source) = assemble_headers(&[mf], &limits).unwrap();
    assert!(grid.same_grid(&single.geometry, 1e-9));
    assert_eq!(source.images, multi.source.images);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn malformed_functional_groups_are_refused_naming_the_attribute() {
    let dir = scratch("bad");
    let files = phantom_files(&dir.join("ph"));
    let limits = AssemblyLimits::default();
    let cases: Vec<(&str, Box<dyn FnOnce(&mut Vec<Obj>, &mut Obj)>, &[&str])> = vec![
        ("count", Box::new(|f, _| drop(f.pop())), &["PerFrameFunctionalGroupsSequence has 5 items, NumberOfFrames is 6"]),
        (
            "no-position",
            Box::new(|f, _| {
                f[3].remove_element(tags::PLANE_POSITION_SEQUENCE);
            }),
            &["PlanePositionSequence", "frame 4"],
        ),
        (
            "orientation",
            Box::new(|f, _| {
                let iop = item(|o| put_ds(o, tags::IMAGE_ORIENTATION_PATIENT, &[0.0, 1.0, 0.0, 0.0, 0.0, -1.0]));
                put_seq(&mut f[2], tags::PLANE_ORIENTATION_SEQUENCE, vec![iop]);
            }),
            &["ImageOrientationPatient", "frame 3"],
        ),
        (
            "no-rescale",
            Box::new(|f, _| {
                f[1].remove_element(tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE);
            }),
            &["PixelValueTransformationSequence", "frame 2"],
        ),
        (
            "no-spacing",
            Box::new(|_, o| {
                let shared = item(|s| {
                    let iop = item(|i| put_ds(i, tags::IMAGE_ORIENTATION_PATIENT, &[1.0, 0.0, 0.0, 0.0, 1.0, 0.0]));
                    put_seq(s, tags::PLANE_ORIENTATION_SEQUENCE, vec![iop]);
                });
                put_seq(o, tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE, vec![shared]);
            }),
            &["PixelMeasuresSequence", "frame 1"],
        ),
        ("no-frames", Box::new(|_, o| {
                o.remove_element(tags::NUMBER_OF_FRAMES);
            }), &["NumberOfFrames"]),
    ];
    for (name, edit, expect) in cases {
        let mf = multi_frame(&files, &dir.join(name), edit);
        let e = assemble_files(&[mf], &limits).expect_err(name).to_string();
        for x in expect {
            assert!(e.contains(x), "{name}: {e:?} lacks {x:?}");
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}
