//! Two pavseg nodes behind one Orthanc, with config/cluster/route.lua choosing a live node
//! (C-ECHO) for each stable CT series and failing over when a store fails. Six series go to
//! Orthanc; the first node is killed with SIGKILL after the second series reached it and
//! comes back after the sixth. Every series gets at least one SEG in its study in Orthanc;
//! the series the dead node had spooled are processed when it returns, so failover may yield
//! a second SEG for a series: the test prints how many.

mod common;

use common::orthanc::Orthanc;
use common::*;
use std::time::Duration;

/// Whether node `spool` holds all `files` instances of `series` (arriving or sealed).
fn spooled(spool: &std::path::Path, series: &str, files: usize) -> bool {
    let arriving = std::fs::read_dir(spool.join("series").join(series))
        .map(|d| d.count())
        .unwrap_or(0);
    let sealed = ["jobs", "done", "rejected"].iter().any(|a| {
        std::fs::read_dir(spool.join(a))
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().ends_with(series))
    });
    arriving >= files || sealed
}

#[test]
fn two_nodes_behind_orthanc_survive_one_being_killed() {
    let t = TempDir::new("failover");
    let phantoms: Vec<_> = (0..6)
        .map(|i| make_phantom(&t.path().join(format!("ph{i}")), selectable_phantom(201 + i)).1)
        .collect();
    let files = std::fs::read_dir(&phantoms[0].dicom_dir).unwrap().count();
    let ports = Orthanc::ports();
    let node_cfg = |port: u16| NodeConfig {
        port,
        plugins: vec![default_plugin()],
        destinations: vec![("orthanc".into(), "ORTHANC".into(), ports.0)],
        ..NodeConfig::default()
    };
    let (dir_a, dir_b) = (t.path().join("a"), t.path().join("b"));
    std::fs::create_dir_all(&dir_a).unwrap();
    std::fs::create_dir_all(&dir_b).unwrap();
    let mut a = Node::start(&dir_a, &node_cfg(free_port()));
    let b = Node::start(&dir_b, &node_cfg(0));
    let lua = std::fs::read_to_string(repo().join("config/cluster/route.lua")).unwrap();
    let modalities = serde_json::json!({
        "pavseg1": ["PAVSEG", "127.0.0.1", a.port],
        "pavseg2": ["PAVSEG", "127.0.0.1", b.port],
    });
    let orthanc = Orthanc::start(&t.path().join("orthanc"), ports, &lua, modalities);
    let context = |a: &Node, b: &Node| {
        format!(
            "node A log:\n{}\nnode B log:\n{}\nOrthanc log:\n{}",
            a.log_text(),
            b.log_text(),
            orthanc.log()
        )
    };

    for (i, ph) in phantoms.iter().enumerate() {
        orthanc
            .store(&ph.dicom_dir)
            .unwrap_or_else(|e| panic!("storescu to Orthanc: {e}"));
        if i == 1 {
            // The second series is routed to A once it is stable in Orthanc; kill A then.
            let reached = wait_until(Duration::from_secs(60), || {
                spooled(&a.spool, &ph.series_instance_uid, files)
            });
            assert!(reached, "the second series never reached node A\n{}", context(&a, &b));
            a.sigkill();
        }
    }
    // Series 3..6 fail over to B while A is down; give Orthanc time to route them all.
    let routed = wait_until(Duration::from_secs(120), || {
        phantoms[2..]
            .iter()
            .all(|ph| spooled(&b.spool, &ph.series_instance_uid, files))
    });
    assert!(routed, "series 3-6 were not routed to node B\n{}", context(&a, &b));
    // A comes back and processes what it had spooled.
    let a = Node::start_with(&dir_a, &a.config.clone(), &a.spool.clone());
    let all = wait_until(Duration::from_secs(300), || {
        phantoms
            .iter()
            .all(|ph| orthanc.seg_series_in_study(&ph.study_instance_uid) >= 1)
    });
    let counts: Vec<usize> = phantoms
        .iter()
        .map(|ph| orthanc.seg_series_in_study(&ph.study_instance_uid))
        .collect();
    assert!(all, "SEG series per study: {counts:?}\n{}", context(&a, &b));
    let duplicates: usize = counts.iter().map(|c| c - 1).sum();
    println!("failover: SEG series per study {counts:?}; {duplicates} duplicate(s) made by failover");
    // The second series was still arriving on A when it died: A finished it after restarting.
    let restarted = a.log_text();
    assert!(
        restarted.contains("resuming series") || restarted.contains("re-queueing job"),
        "node A did not resume its spool:\n{restarted}"
    );
    assert!(
        std::fs::read_dir(a.spool.join("done")).unwrap().flatten().any(|e| e
            .file_name()
            .to_string_lossy()
            .ends_with(&phantoms[1].series_instance_uid)),
        "node A did not finish the second series after restarting"
    );
    let routed_to_b = phantoms
        .iter()
        .filter(|ph| spooled(&b.spool, &ph.series_instance_uid, files))
        .count();
    assert!(routed_to_b >= 4, "node B took {routed_to_b} series");
}
