//! Series selection: what the plugin does not select is kept with its reason, not processed;
//! simultaneous series all come back; a series sent again gives a new SEG of the whole series.

mod common;

use common::*;
use dicom_core::value::PrimitiveValue;
use dicom_core::{DataElement, VR};
use dicom_dictionary_std::{tags, uids};
use pavseg::phantom::PhantomParams;
use std::path::Path;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(240);

/// Rewrites every slice of a phantom in place.
fn edit_series(dir: &Path, edit: impl Fn(&mut dicom_object::DefaultDicomObject)) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let mut obj = dicom_object::open_file(e.path()).unwrap();
        edit(&mut obj);
        obj.write_to_file(e.path()).unwrap();
    }
}

fn node_with_plugin(dir: &Path, scp_port: u16) -> Node {
    let cfg = NodeConfig {
        plugins: vec![default_plugin()],
        destinations: vec![("pacs".into(), "STORESCU".into(), scp_port)],
        ..NodeConfig::default()
    };
    Node::start(dir, &cfg)
}

fn segs(scp: &StoreScp) -> usize {
    scp.segmentations().len()
}

#[test]
fn mr_localizer_and_short_series_are_not_processed_with_reasons() {
    let t = TempDir::new("select");
    let scp = StoreScp::start("STORESCU", 0, &t.path().join("pacs"));
    let node = node_with_plugin(t.path(), scp.port);
    let (_, mr) = make_phantom(&t.path().join("mr"), selectable_phantom(81));
    edit_series(&mr.dicom_dir, |o| {
        o.put(DataElement::new(tags::SOP_CLASS_UID, VR::UI, PrimitiveValue::from(uids::MR_IMAGE_STORAGE)));
        o.meta_mut().media_storage_sop_class_uid = uids::MR_IMAGE_STORAGE.to_string();
        o.put(DataElement::new(tags::MODALITY, VR::CS, PrimitiveValue::from("MR")));
    });
    let (_, loc) = make_phantom(&t.path().join("loc"), selectable_phantom(82));
    edit_series(&loc.dicom_dir, |o| {
        o.put(DataElement::new(tags::SERIES_DESCRIPTION, VR::LO, PrimitiveValue::from("Chest Localizer")));
    });
    let (_, short) = make_phantom(&t.path().join("short"), PhantomParams { slices: 20, ..selectable_phantom(83) });
    let cases = [(&mr, "Modality"), (&loc, "SeriesDescription"), (&short, "Slices")];
    for (p, _) in &cases {
        let out = node.storescu(&[], &[p.dicom_dir.clone()]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    for (p, rule) in &cases {
        let (area, job) = node.wait_job(&p.series_instance_uid, WAIT).expect("job filed");
        assert_eq!(area, "skipped", "{rule}: series was processed");
        let reason = std::fs::read_to_string(job.join("reason.txt")).unwrap();
        assert!(reason.contains(rule), "reason {reason:?} does not name {rule}");
        assert!(std::fs::read_dir(job.join("instances")).unwrap().count() > 0, "instances must stay in the spool");
    }
    assert_eq!(node.log_text().matches("no plugin selected it").count(), 3);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(segs(&scp), 0, "a SEG was sent for a series that should not be processed");
}

#[test]
fn two_series_from_two_associations_both_come_back_and_a_resend_makes_a_new_version() {
    let t = TempDir::new("twoseries");
    let scp = StoreScp::start("STORESCU", 0, &t.path().join("pacs"));
    let node = node_with_plugin(t.path(), scp.port);
    let (_, a) = make_phantom(&t.path().join("a"), selectable_phantom(84));
    let (_, b) = make_phantom(&t.path().join("b"), selectable_phantom(85));
    let (n, da, db) = (&node, a.dicom_dir.clone(), b.dicom_dir.clone());
    std::thread::scope(|s| {
        let h1 = s.spawn(move || n.storescu(&[], &[da]));
        let h2 = s.spawn(move || n.storescu(&[], &[db]));
        assert!(h1.join().unwrap().status.success());
        assert!(h2.join().unwrap().status.success());
    });
    assert!(wait_until(WAIT, || segs(&scp) == 2), "expected two SEGs; log:\n{}", node.log_text());
    // Late arrival: only half of series a is sent again; the new job carries the rest over
    // and a second, complete SEG version comes back.
    let mut half: Vec<_> = std::fs::read_dir(&a.dicom_dir).unwrap().flatten().map(|e| e.path()).collect();
    half.sort();
    half.truncate(32);
    assert!(node.storescu(&[], &half).status.success());
    assert!(wait_until(WAIT, || segs(&scp) == 3), "no new SEG version after the series arrived again");
    assert!(node.log_text().contains("earlier instances carried into the new job"));
}
