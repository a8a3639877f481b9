//! Bad input gets a clear status or reason and the node keeps serving.

mod common;

use common::raw::{data_set_of, Raw};
use common::*;
use dicom_core::value::PrimitiveValue;
use dicom_core::{DataElement, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::{open_file, DefaultDicomObject};
use std::path::{Path, PathBuf};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(60);

fn sorted(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().flatten().map(|e| e.path()).collect();
    v.sort();
    v
}

/// Copies the first `n` slices of a phantom into a new series (new Series and SOP Instance
/// UIDs), letting `edit` change slice `k` or drop it (return false). Returns the series UID.
fn derive(src: &Path, dst: &Path, n: usize, edit: impl Fn(usize, &mut DefaultDicomObject) -> bool) -> String {
    std::fs::create_dir_all(dst).unwrap();
    let series = pavseg::uid::generate("2.25");
    for (k, path) in sorted(src).into_iter().take(n).enumerate() {
        let mut obj = open_file(&path).unwrap();
        let sop = pavseg::uid::generate("2.25");
        obj.put(DataElement::new(tags::SERIES_INSTANCE_UID, VR::UI, PrimitiveValue::from(series.as_str())));
        obj.put(DataElement::new(tags::SOP_INSTANCE_UID, VR::UI, PrimitiveValue::from(sop.as_str())));
        obj.meta_mut().media_storage_sop_instance_uid = sop.clone();
        if edit(k, &mut obj) {
            obj.meta_mut().update_information_group_length();
            obj.write_to_file(dst.join(format!("{k:04}.dcm"))).unwrap();
        }
    }
    series
}

fn put_ds(obj: &mut DefaultDicomObject, tag: dicom_core::Tag, v: &str) {
    obj.put(DataElement::new(tag, VR::DS, PrimitiveValue::from(v)));
}

#[test]
fn broken_series_are_rejected_with_a_reason_and_kept() {
    let t = TempDir::new("badseries");
    let (_, ph) = make_phantom(&t.path().join("ph"), small_phantom(41));
    let node = Node::start(t.path(), &NodeConfig::default());
    let src = ph.dicom_dir.clone();
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "mr",
            derive(&src, &t.path().join("mr"), 8, |_, o| {
                o.put(DataElement::new(tags::SOP_CLASS_UID, VR::UI, PrimitiveValue::from(uids::MR_IMAGE_STORAGE)));
                o.meta_mut().media_storage_sop_class_uid = uids::MR_IMAGE_STORAGE.to_string();
                o.put(DataElement::new(tags::MODALITY, VR::CS, PrimitiveValue::from("MR")));
                true
            }),
            "modality MR is not CT",
        ),
        (
            "no-position",
            derive(&src, &t.path().join("no-position"), 8, |k, o| {
                if k == 3 {
                    o.remove_element(tags::IMAGE_POSITION_PATIENT);
                }
                true
            }),
            "ImagePositionPatient",
        ),
        (
            "two-orientations",
            derive(&src, &t.path().join("two-orientations"), 8, |k, o| {
                if k == 5 {
                    put_ds(o, tags::IMAGE_ORIENTATION_PATIENT, "0\\1\\0\\0\\0\\-1");
                }
                true
            }),
            "ImageOrientationPatient",
        ),
        (
            "duplicate-position",
            derive(&src, &t.path().join("duplicate-position"), 8, |k, o| {
                if k == 4 {
                    let p = o.element(tags::IMAGE_POSITION_PATIENT).unwrap().to_multi_float64().unwrap();
                    put_ds(o, tags::IMAGE_POSITION_PATIENT, &format!("{}\\{}\\{}", p[0], p[1], p[2] - 3.0));
                }
                true
            }),
            "duplicate slice",
        ),
        ("missing-slice", derive(&src, &t.path().join("missing-slice"), 8, |k, _| k != 5), "missing slice"),
        (
            "different-size",
            derive(&src, &t.path().join("different-size"), 8, |k, o| {
                if k == 2 {
                    o.put(DataElement::new(tags::ROWS, VR::US, PrimitiveValue::from(48u16)));
                    let px = o.element(tags::PIXEL_DATA).unwrap().to_bytes().unwrap().to_vec();
                    o.put(DataElement::new(tags::PIXEL_DATA, VR::OW, PrimitiveValue::from(px[..px.len() / 2].to_vec())));
                }
                true
            }),
            "Rows/Columns",
        ),
    ];
    for (name, _, _) in &cases {
        let out = node.storescu(&[], &[t.path().join(name)]);
        assert!(out.status.success(), "{name}: storescu: {}", String::from_utf8_lossy(&out.stderr));
    }
    for (name, series, expect) in &cases {
        let (area, job) = node.wait_job(series, WAIT).unwrap_or_else(|| panic!("{name}: no job"));
        assert_eq!(area, "rejected", "{name} was not rejected");
        let reason = std::fs::read_to_string(job.join("reason.txt")).unwrap();
        assert!(reason.contains(expect), "{name}: reason {reason:?} lacks {expect:?}");
        assert!(!job_files(&job).is_empty(), "{name}: instances must be kept");
        assert!(node.log_text().contains("series rejected"), "{name}: no log line");
    }
    assert!(node.echo("ECHOSCU"), "node stopped serving");
}

#[test]
fn malformed_and_hostile_instances_get_failure_statuses_on_a_usable_association() {
    let t = TempDir::new("badinst");
    let (_, ph) = make_phantom(&t.path().join("ph"), small_phantom(42));
    let node = Node::start(t.path(), &NodeConfig::default());
    let slices = sorted(&ph.dicom_dir);
    let ct = uids::CT_IMAGE_STORAGE;
    let mut raw = Raw::connect(node.port, &[(ct, uids::EXPLICIT_VR_LITTLE_ENDIAN)]).unwrap();
    let (pc, _) = raw.accepted(ct).expect("CT context accepted");

    // Not a DICOM data set.
    let (status, comment) = raw.store(pc, ct, "1.2.3.4.5", b"\xff\xfe this is not a DICOM data set at all \x00\x01");
    assert_eq!(status, 0xC000, "{comment:?}");

    // A SOP Instance UID that tries to climb out of the spool.
    derive(&ph.dicom_dir, &t.path().join("evil"), 1, |_, o| {
        o.put(DataElement::new(tags::SOP_INSTANCE_UID, VR::UI, PrimitiveValue::from("1.2/../../../evil"))); // hostile input, not a path of this project
        true
    });
    let evil_file = sorted(&t.path().join("evil")).remove(0);
    let (status, comment) = raw.store(pc, ct, "1.2/../../../evil", &data_set_of(&evil_file)); // hostile input, not a path of this project
    assert_eq!(status, 0xC000, "{comment:?}");
    assert!(comment.unwrap_or_default().contains("UID"));
    let escaped = walk(t.path()).into_iter().filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().contains("evil.dcm"))).count();
    assert_eq!(escaped, 0, "a file named after the hostile UID was written");

    // Data set UIDs that contradict the command.
    let f = pavseg::scu::OutgoingFile::open(&slices[0]).unwrap();
    let (status, _) = raw.store(pc, ct, "1.2.3.999", &data_set_of(&slices[0]));
    assert_eq!(status, 0xA900);

    // The association still works for a good instance.
    let (status, comment) = raw.store(pc, ct, &f.sop_instance_uid, &data_set_of(&slices[0]));
    assert_eq!(status, 0x0000, "{comment:?}");
    raw.release();
    assert!(node.echo("ECHOSCU"));
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn unknown_transfer_syntax_is_not_accepted_and_node_keeps_serving() {
    let t = TempDir::new("badts");
    let node = Node::start(t.path(), &NodeConfig::default());
    match Raw::connect(node.port, &[(uids::CT_IMAGE_STORAGE, "1.2.3.4.5.6.7.8")]) {
        Ok(raw) => {
            assert!(raw.accepted(uids::CT_IMAGE_STORAGE).is_none(), "a bogus transfer syntax was accepted");
            raw.release();
        }
        Err(e) => assert!(e.to_lowercase().contains("presentation"), "unexpected error: {e}"),
    }
    assert!(node.echo("ECHOSCU"));
}

#[test]
fn calling_ae_titles_outside_the_allow_list_are_rejected() {
    let t = TempDir::new("aelist");
    let cfg = NodeConfig { extra_node: "allowed_calling_ae_titles = [\"GOODSCU\"]".into(), ..NodeConfig::default() };
    let node = Node::start(t.path(), &cfg);
    assert!(!node.echo("BADSCU"), "a calling AE title outside the list was accepted");
    assert!(node.echo("GOODSCU"), "an allowed calling AE title was rejected");
    assert!(node.log_text().contains("calling AE title is not allowed"));
}

#[test]
fn oversized_instance_is_refused_with_out_of_resources() {
    let t = TempDir::new("oversize");
    let (_, ph) = make_phantom(&t.path().join("ph"), small_phantom(43));
    let cfg = NodeConfig { extra_node: "max_instance_bytes = 4096".into(), ..NodeConfig::default() };
    let node = Node::start(t.path(), &cfg);
    let slice = sorted(&ph.dicom_dir).remove(0);
    let f = pavseg::scu::OutgoingFile::open(&slice).unwrap();
    let mut raw = Raw::connect(node.port, &[(uids::CT_IMAGE_STORAGE, uids::EXPLICIT_VR_LITTLE_ENDIAN)]).unwrap();
    let (pc, _) = raw.accepted(uids::CT_IMAGE_STORAGE).unwrap();
    let (status, comment) = raw.store(pc, uids::CT_IMAGE_STORAGE, &f.sop_instance_uid, &data_set_of(&slice));
    assert_eq!(status, 0xA700, "{comment:?}");
    raw.release();
    assert!(node.echo("ECHOSCU"));
}
