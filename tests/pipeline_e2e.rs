//! The whole node with real peers: storescu sends a phantom, the node segments it, and the
//! DICOM-SEG arrives at a dcmtk storescp; dciodvfy finds no error and the SEG equals the
//! offline `pavseg segment` voxel for voxel.

mod common;

use common::*;
use std::process::Command;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(240);

/// Node whose results go back to the sender: storescu calls as STORESCU, which is mapped to
/// the storescp on `port`.
fn node_sending_back(dir: &std::path::Path, port: u16) -> Node {
    let cfg = NodeConfig {
        plugins: vec![default_plugin()],
        destinations: vec![("pacs".into(), "STORESCU".into(), port)],
        ..NodeConfig::default()
    };
    Node::start(dir, &cfg)
}

fn segs(scp: &StoreScp) -> Vec<std::path::PathBuf> {
    scp.segmentations()
}

fn seg_labels(seg: &std::path::Path, ct_dir: &std::path::Path) -> ndarray::Array3<u8> {
    let paths: Vec<_> = std::fs::read_dir(ct_dir).unwrap().flatten().map(|e| e.path()).collect();
    let vol = pavseg::volume::assemble_files(&paths, &Default::default()).unwrap();
    let read = pavseg::seg::read_segmentation(seg, &vol.geometry).expect("read SEG");
    read.to_label_values(&pavseg::seg::SegConfig::default()).expect("segments map to labels")
}

#[test]
fn phantom_round_trip_through_the_node_matches_offline_segment() {
    let t = TempDir::new("e2e");
    let (_, ph) = make_phantom(&t.path().join("ph"), selectable_phantom(71));
    let scp = StoreScp::start("STORESCU", 0, &t.path().join("pacs"));
    let node = node_sending_back(t.path(), scp.port);
    let out = node.storescu(&[], &[ph.dicom_dir.clone()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(wait_until(WAIT, || segs(&scp).len() == 1), "no SEG arrived; log:\n{}", node.log_text());
    let seg = segs(&scp).remove(0);
    // dciodvfy: no errors.
    let v = Command::new("dciodvfy").arg(&seg).output().expect("dciodvfy (apt package dicom3tools)");
    let report = String::from_utf8_lossy(&v.stderr).to_string() + &String::from_utf8_lossy(&v.stdout);
    assert!(!report.lines().any(|l| l.starts_with("Error")), "dciodvfy errors:\n{report}");
    // Offline run of the same pipeline on the same series.
    let offline = t.path().join("offline");
    let o = Command::new(BIN)
        .args(["segment", "--input"])
        .arg(&ph.dicom_dir)
        .arg("--out")
        .arg(&offline)
        .arg("--plugin")
        .arg(default_plugin())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let a = seg_labels(&seg, &ph.dicom_dir);
    let b = seg_labels(&offline.join("seg.dcm"), &ph.dicom_dir);
    assert_eq!(a, b, "node SEG and offline SEG differ");
    assert!(a.iter().any(|&v| v == 1) && a.iter().any(|&v| v == 2), "empty segmentation");
    let log = node.log_text();
    for stage in ["assemble", "preprocess", "inference", "postprocess", "seg", "write+outbox"] {
        assert!(log.contains(&format!("stage={stage}")), "no timing for stage {stage}");
    }
}

#[test]
fn destination_down_keeps_retries_and_delivers_once_it_starts() {
    let t = TempDir::new("down");
    let (_, ph) = make_phantom(&t.path().join("ph"), selectable_phantom(72));
    let port = free_port();
    let node = node_sending_back(t.path(), port);
    let out = node.storescu(&[], &[ph.dicom_dir.clone()]);
    assert!(out.status.success());
    let outbox = node.spool.join("outbox");
    let retried = wait_until(WAIT, || {
        std::fs::read_dir(&outbox).map(|d| d.flatten().any(|e| {
            std::fs::read_to_string(e.path().join("delivery.json")).is_ok_and(|j| j.contains("\"attempts\": 2"))
        })).unwrap_or(false)
    });
    assert!(retried, "delivery was not retried; log:\n{}", node.log_text());
    // Operations: `pavseg status` shows the pending delivery, `pavseg health` that the node answers.
    let pending = status_json(&node);
    assert_eq!(pending["deliveries_pending"], 1, "{pending}");
    assert_eq!(pending["jobs_done"], 1, "{pending}");
    let health = Command::new(BIN).args(["health", "--port", &node.port.to_string(), "--config"]).arg(&node.config).output().unwrap();
    assert!(health.status.success(), "health: {}", String::from_utf8_lossy(&health.stderr));
    let scp = StoreScp::start("STORESCU", port, &t.path().join("pacs"));
    assert!(wait_until(WAIT, || segs(&scp).len() == 1), "SEG not delivered after the destination started");
    assert!(wait_until(Duration::from_secs(10), || std::fs::read_dir(node.spool.join("sent")).unwrap().count() == 1));
    assert_eq!(std::fs::read_dir(&outbox).unwrap().count(), 0);
    let after = status_json(&node);
    assert_eq!((after["deliveries_pending"].as_u64(), after["deliveries_sent"].as_u64()), (Some(0), Some(1)), "{after}");
}

fn status_json(node: &Node) -> serde_json::Value {
    let out = Command::new(BIN).args(["status", "--json", "--config"]).arg(&node.config).output().unwrap();
    assert!(out.status.success(), "status: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("status --json printed no JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn kill_between_inference_and_delivery_delivers_exactly_once() {
    let t = TempDir::new("killdeliver");
    let (_, ph) = make_phantom(&t.path().join("ph"), selectable_phantom(73));
    let port = free_port();
    let mut node = node_sending_back(t.path(), port);
    assert!(node.storescu(&[], &[ph.dicom_dir.clone()]).status.success());
    let outbox = node.spool.join("outbox");
    assert!(wait_until(WAIT, || std::fs::read_dir(&outbox).map(|d| d.count() == 1).unwrap_or(false)), "no SEG in the outbox");
    node.sigkill();
    let scp = StoreScp::start("STORESCU", port, &t.path().join("pacs"));
    let node = Node::start_with(t.path(), &node.config.clone(), &node.spool.clone());
    assert!(wait_until(WAIT, || segs(&scp).len() == 1), "SEG not delivered after restart");
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(segs(&scp).len(), 1, "SEG delivered more than once");
    assert_eq!(std::fs::read_dir(node.spool.join("sent")).unwrap().count(), 1);
}

#[test]
fn kill_during_inference_reruns_the_job_and_delivers_one_seg() {
    let t = TempDir::new("killinfer");
    let (_, ph) = make_phantom(&t.path().join("ph"), selectable_phantom(74));
    let scp = StoreScp::start("STORESCU", 0, &t.path().join("pacs"));
    let mut node = node_sending_back(t.path(), scp.port);
    assert!(node.storescu(&[], &[ph.dicom_dir.clone()]).status.success());
    assert!(wait_until(WAIT, || node.log_text().contains("inference started")), "inference never started");
    node.sigkill();
    assert!(segs(&scp).is_empty(), "a SEG left before the kill; cannot test the crash path");
    let node = Node::start_with(t.path(), &node.config.clone(), &node.spool.clone());
    assert!(node.log_text().contains("re-queueing job") || wait_until(Duration::from_secs(10), || node.log_text().contains("re-queueing job")));
    assert!(wait_until(WAIT, || segs(&scp).len() == 1), "no SEG after restart; log:\n{}", node.log_text());
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(segs(&scp).len(), 1);
    let (_, job) = node.wait_job(&ph.series_instance_uid, WAIT).expect("job filed");
    let record: serde_json::Value = serde_json::from_slice(&std::fs::read(job.join("job.json")).unwrap()).unwrap();
    assert_eq!(record["attempts"], 2);
}
