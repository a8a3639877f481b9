//! The node receives CT series from real dcmtk peers and assembles them exactly.

mod common;

use common::*;
use pavseg::phantom::PhantomParams;
use std::path::PathBuf;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(60);

fn slice_files(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().flatten().map(|e| e.path()).collect();
    v.sort();
    v
}

#[test]
fn echoscu_gets_success() {
    let t = TempDir::new("echo");
    let node = Node::start(t.path(), &NodeConfig::default());
    assert!(node.echo("ECHOSCU"), "echoscu failed; log:\n{}", node.log_text());
}

#[test]
fn storescu_implicit_and_explicit_vr_give_the_phantom_voxel_for_voxel() {
    for (name, opt, ts) in [
        ("implicit", "-xi", dicom_dictionary_std::uids::IMPLICIT_VR_LITTLE_ENDIAN),
        ("explicit", "-xe", dicom_dictionary_std::uids::EXPLICIT_VR_LITTLE_ENDIAN),
    ] {
        let t = TempDir::new(name);
        let (phantom, files) = make_phantom(&t.path().join("ph"), small_phantom(11));
        let node = Node::start(t.path(), &NodeConfig::default());
        let out = node.storescu(&[opt], &[files.dicom_dir.clone()]);
        assert!(out.status.success(), "storescu {opt}: {}", String::from_utf8_lossy(&out.stderr));
        let (area, job) = node.wait_job(&files.series_instance_uid, WAIT).expect("job finished");
        assert_eq!(area, "done", "job rejected: {:?}", std::fs::read_to_string(job.join("reason.txt")));
        assert_eq!(job_files(&job).len(), 64);
        // The spooled files keep the negotiated transfer syntax.
        let first = dicom_object::open_file(&job_files(&job)[0]).unwrap();
        assert_eq!(pavseg::uid::trim(first.meta().transfer_syntax()), ts);
        assert_volume_matches(&job, &phantom);
    }
}

#[test]
fn shuffled_slice_order_and_feet_first_assemble_exactly() {
    let t = TempDir::new("shuffled");
    let node = Node::start(t.path(), &NodeConfig::default());
    let (hf, hf_files) = make_phantom(&t.path().join("hf"), small_phantom(12));
    let mut order = slice_files(&hf_files.dicom_dir);
    // A fixed permutation that is far from sorted.
    order.sort_by_key(|p| {
        let n: u64 = p.file_stem().unwrap().to_string_lossy().trim_start_matches("slice_").parse().unwrap();
        (n * 37) % 64
    });
    let out = node.storescu(&[], &order);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let ff_params = PhantomParams { feet_first: true, ..small_phantom(13) };
    let (ff, ff_files) = make_phantom(&t.path().join("ff"), ff_params);
    let out = node.storescu(&[], &[ff_files.dicom_dir.clone()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (area, job) = node.wait_job(&hf_files.series_instance_uid, WAIT).expect("head-first job");
    assert_eq!(area, "done");
    assert_volume_matches(&job, &hf);
    let (area, job) = node.wait_job(&ff_files.series_instance_uid, WAIT).expect("feet-first job");
    assert_eq!(area, "done");
    assert_volume_matches(&job, &ff);
    let summary: serde_json::Value = serde_json::from_slice(&std::fs::read(job.join("job.json")).unwrap()).unwrap();
    assert_eq!(summary["result"]["volume"]["orientation"], "RPI");
}

#[test]
fn two_series_over_two_simultaneous_associations() {
    let t = TempDir::new("parallel");
    let node = Node::start(t.path(), &NodeConfig::default());
    let (a, a_files) = make_phantom(&t.path().join("a"), small_phantom(21));
    let (b, b_files) = make_phantom(&t.path().join("b"), small_phantom(22));
    let (node_ref, da, db) = (&node, a_files.dicom_dir.clone(), b_files.dicom_dir.clone());
    std::thread::scope(|s| {
        let ha = s.spawn(move || node_ref.storescu(&[], &[da]));
        let hb = s.spawn(move || node_ref.storescu(&[], &[db]));
        for h in [ha, hb] {
            let out = h.join().unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        }
    });
    for (p, f) in [(&a, &a_files), (&b, &b_files)] {
        let (area, job) = node.wait_job(&f.series_instance_uid, WAIT).expect("job");
        assert_eq!(area, "done");
        assert_volume_matches(&job, p);
    }
    assert!(node.log_text().matches("association released").count() >= 2);
}

#[test]
fn lossless_compressed_transfer_syntaxes_decode_exactly() {
    // dcmtk compresses a copy of the phantom; each lossless syntax must give the same HU.
    let t = TempDir::new("compressed");
    let node = Node::start(t.path(), &NodeConfig::default());
    for (seed, (name, tool, propose)) in (31..).zip(LOSSLESS_COMPRESSORS) {
        let (phantom, files) = make_phantom(&t.path().join(name), PhantomParams { slices: 24, ..small_phantom(seed) });
        let out_dir = t.path().join(format!("{name}-dcm"));
        std::fs::create_dir_all(&out_dir).unwrap();
        for f in std::fs::read_dir(&files.dicom_dir).unwrap().flatten() {
            let st = std::process::Command::new(tool[0])
                .args(&tool[1..])
                .arg(f.path())
                .arg(out_dir.join(f.file_name()))
                .status()
                .unwrap_or_else(|e| panic!("{} (apt packages dcmtk, libgdcm-tools): {e}", tool[0]));
            assert!(st.success(), "{name}: {} failed", tool[0]);
        }
        let out = node.storescu(&[propose], &[out_dir.clone()]);
        assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
        let (area, job) = node.wait_job(&files.series_instance_uid, WAIT).expect("job");
        assert_eq!(area, "done", "{name}: {:?}", std::fs::read_to_string(job.join("reason.txt")));
        assert_volume_matches(&job, &phantom);
    }
}
