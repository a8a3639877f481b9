//! What a sender was told is stored survives a crash; shutdown lets transfers finish.

mod common;

use common::*;
use pavseg::phantom::PhantomParams;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(90);

/// Instances in the long series: enough that a release build on a fast disk is still
/// mid-transfer when the test reacts to the first 40 arriving.
const LONG: usize = 1000;

fn long_phantom(seed: u64) -> PhantomParams {
    PhantomParams { slices: LONG, rows: 64, cols: 64, pixel_spacing: 5.0, slice_spacing: 0.25, ..small_phantom(seed) }
}

/// Polls every 5 ms (wait_until's 50 ms lets a fast transfer run past the point of interest).
fn wait_briefly(mut f: impl FnMut() -> bool) -> bool {
    let end = std::time::Instant::now() + WAIT;
    while std::time::Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    false
}

#[test]
fn sigkill_during_a_send_loses_no_acknowledged_instance() {
    let t = TempDir::new("sigkill");
    let (phantom, files) = make_phantom(&t.path().join("ph"), long_phantom(51));
    let cfg = NodeConfig { stability_seconds: 2.0, ..NodeConfig::default() };
    let mut node = Node::start(t.path(), &cfg);
    let series_dir = node.spool.join("series").join(&files.series_instance_uid);
    // storescu -v prints each file it sends and each response it gets.
    let mut scu = Command::new("storescu")
        .args(["-v", "-aet", "STORESCU", "-aec", "PAVSEG", "127.0.0.1", &node.port.to_string(), "+sd"])
        .arg(&files.dicom_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("storescu (apt package dcmtk)");
    let stderr = scu.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut acknowledged = Vec::new();
        let mut current = None;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(f) = line.strip_prefix("I: Sending file: ") {
                current = Some(std::path::PathBuf::from(f.trim()));
            } else if line.contains("Received Store Response (Success)") {
                acknowledged.extend(current.take());
            }
        }
        acknowledged
    });
    assert!(
        wait_briefly(|| std::fs::read_dir(&series_dir).map(|d| d.count() >= 40).unwrap_or(false)),
        "transfer did not start"
    );
    node.sigkill();
    let _ = scu.wait();
    let acknowledged = reader.join().unwrap();
    // storescu sends one instance at a time: with 40 files in the spool the node had answered
    // at least the first 39 (the 40th may have been renamed into the spool, and so be kept,
    // without its response having left before the kill).
    assert!(acknowledged.len() >= 39 && acknowledged.len() < LONG, "kill was not mid-send: {} acknowledged", acknowledged.len());
    for f in &acknowledged {
        let sop = pavseg::scu::OutgoingFile::open(f).unwrap().sop_instance_uid;
        let spooled = series_dir.join(format!("{sop}.dcm"));
        assert!(spooled.is_file(), "acknowledged {} missing from the spool", f.display());
        // The spooled data set is byte-identical to what was sent.
        assert_eq!(common::raw::data_set_of(&spooled), common::raw::data_set_of(f));
    }
    // Restart on the same spool: the series is picked up again; the sender retries the
    // whole series (as a PACS does after a failed transfer) and the volume is complete.
    let node = Node::start_with(t.path(), &node.config.clone(), &node.spool.clone());
    assert!(node.log_text().contains("resuming series") || wait_until(Duration::from_secs(5), || node.log_text().contains("resuming series")));
    let out = node.storescu(&[], &[files.dicom_dir.clone()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (area, job) = node.wait_job(&files.series_instance_uid, WAIT).expect("job after restart");
    assert_eq!(area, "done", "{:?}", std::fs::read_to_string(job.join("reason.txt")));
    assert_volume_matches(&job, &phantom);
    assert_eq!(std::fs::read_dir(node.spool.join("incoming")).unwrap().count(), 0, "half-written files left behind");
}

#[test]
fn sigkill_after_acknowledging_a_whole_series_still_assembles_it_after_restart() {
    let t = TempDir::new("restart");
    let (phantom, files) = make_phantom(&t.path().join("ph"), small_phantom(52));
    let cfg = NodeConfig { stability_seconds: 30.0, ..NodeConfig::default() };
    let mut node = Node::start(t.path(), &cfg);
    let out = node.storescu(&[], &[files.dicom_dir.clone()]);
    assert!(out.status.success());
    node.sigkill();
    // Restart with a short stability time: the spooled series becomes a job.
    let config = node.config.clone();
    let text = std::fs::read_to_string(&config).unwrap().replace("stability_seconds = 30", "stability_seconds = 1");
    std::fs::write(&config, text).unwrap();
    let node = Node::start_with(t.path(), &config, &node.spool.clone());
    let (area, job) = node.wait_job(&files.series_instance_uid, WAIT).expect("job after restart");
    assert_eq!(area, "done");
    assert_volume_matches(&job, &phantom);
}

#[test]
fn sigterm_lets_an_in_flight_transfer_finish() {
    let t = TempDir::new("sigterm");
    let (_, files) = make_phantom(&t.path().join("ph"), long_phantom(53));
    let mut node = Node::start(t.path(), &NodeConfig::default());
    let series_dir = node.spool.join("series").join(&files.series_instance_uid);
    let scu = Command::new("storescu")
        .args(["-aet", "STORESCU", "-aec", "PAVSEG", "127.0.0.1", &node.port.to_string(), "+sd"])
        .arg(&files.dicom_dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert!(wait_briefly(|| std::fs::read_dir(&series_dir).map(|d| d.count() >= 20).unwrap_or(false)));
    node.sigterm();
    let out = scu.wait_with_output().unwrap();
    assert!(out.status.success(), "transfer was cut: {}", String::from_utf8_lossy(&out.stderr));
    assert!(node.wait_exit(Duration::from_secs(30)), "node did not exit after SIGTERM");
    let stored = std::fs::read_dir(node.spool.join("series").join(&files.series_instance_uid))
        .map(|d| d.count())
        .unwrap_or(0)
        + std::fs::read_dir(node.spool.join("jobs")).map(|d| d.count() * LONG).unwrap_or(0)
        + std::fs::read_dir(node.spool.join("done")).map(|d| d.count() * LONG).unwrap_or(0);
    assert!(stored >= LONG, "only {stored} instances kept");
    assert!(node.log_text().contains("shutdown requested"));
}
