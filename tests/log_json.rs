//! `[log] format = "json"`: every line an end-to-end run logs is one JSON object, the
//! association and job spans carry their fields (AE titles, peer, job id, Series UID), and no
//! line names the patient (name or ID).

mod common;

use common::*;
use std::time::Duration;

#[test]
fn json_logs_of_an_end_to_end_run_parse_and_never_name_the_patient() {
    let t = TempDir::new("jsonlog");
    let seed = 151;
    let (_, ph) = make_phantom(&t.path().join("ph"), selectable_phantom(seed));
    let scp = StoreScp::start("STORESCU", 0, &t.path().join("pacs"));
    let cfg = NodeConfig {
        plugins: vec![default_plugin()],
        destinations: vec![("pacs".into(), "STORESCU".into(), scp.port)],
        log_format: "json",
        ..NodeConfig::default()
    };
    let mut node = Node::start(t.path(), &cfg);
    let out = node.storescu(&[], &[ph.dicom_dir.clone()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        wait_until(Duration::from_secs(240), || !scp.segmentations().is_empty()),
        "no SEG; log:\n{}",
        node.log_text()
    );
    node.sigterm();
    assert!(node.wait_exit(Duration::from_secs(30)));
    let log = node.log_text();
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() > 20, "{log}");
    let mut parsed = Vec::new();
    for line in &lines {
        let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        parsed.push(v);
    }
    let with_span = |name: &str| parsed.iter().filter(|v| v["span"]["name"] == name).collect::<Vec<_>>();
    let assoc = with_span("association");
    assert!(!assoc.is_empty(), "no line inside an association span");
    assert!(assoc.iter().all(|v| v["span"]["calling_ae"] == "STORESCU"
        && v["span"]["called_ae"] == "PAVSEG"
        && v["span"]["peer"].as_str().is_some_and(|p| p.starts_with("127.0.0.1:"))));
    let jobs = with_span("job");
    assert!(!jobs.is_empty(), "no line inside a job span");
    assert!(jobs
        .iter()
        .all(|v| v["span"]["series"] == ph.series_instance_uid.as_str() && v["span"]["job"].as_str().is_some()));
    assert!(parsed.iter().any(|v| v["message"] == "delivered"));
    for secret in [
        format!("PHANTOM^SEED{seed}"),
        format!("PHANTOM SEED{seed}"),
        ph.patient_id.clone(),
    ] {
        assert!(!log.contains(&secret), "the log contains {secret:?}");
    }
}
