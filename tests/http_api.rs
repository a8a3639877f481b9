//! The node's HTTP API with real peers: a Prometheus (Debian package prometheus) scrapes the
//! node every second during an end-to-end run, and its query API then reports the series'
//! instances, one finished job and one sent delivery; `promtool check metrics` accepts the
//! exposition; /jobs shows the job with its delivery. /readyz turns 503 when the spool's disk
//! drops below the reserve and back to 200 when space returns. A bearer token guards
//! /metrics and /jobs but not the probes. No log line names the patient.

mod common;

use common::*;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

fn curl(url: &str, header: Option<&str>) -> (u16, String) {
    let mut c = Command::new("curl");
    c.args(["-s", "-o", "-", "-w", "\n%{http_code}"]);
    if let Some(h) = header {
        c.args(["-H", h]);
    }
    let out = c.arg(url).output().expect("curl");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (code.trim().parse().unwrap_or(0), body.to_string())
}

/// One number from Prometheus's instant query API, if the query has a result.
fn query(prom_port: u16, q: &str) -> Option<f64> {
    let out = Command::new("curl")
        .args(["-sf", "--data-urlencode", &format!("query={q}")])
        .arg(format!("http://127.0.0.1:{prom_port}/api/v1/query"))
        .output()
        .ok()?;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    v["data"]["result"].as_array()?.first()?["value"][1]
        .as_str()?
        .parse()
        .ok()
}

struct Prometheus(std::process::Child);

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_prometheus(dir: &Path, target_port: u16) -> (Prometheus, u16) {
    std::fs::create_dir_all(dir).unwrap();
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: pavseg\n    static_configs:\n      - targets: ['127.0.0.1:{target_port}']\n"),
    )
    .unwrap();
    let port = free_port();
    let child = Command::new("prometheus")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.tsdb.path={}", dir.join("data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("prometheus.log")).unwrap())
        .spawn()
        .expect("prometheus (apt package prometheus)");
    let up = wait_until(Duration::from_secs(30), || {
        curl(&format!("http://127.0.0.1:{port}/-/ready"), None).0 == 200
    });
    assert!(
        up,
        "Prometheus did not start: {}",
        std::fs::read_to_string(dir.join("prometheus.log")).unwrap_or_default()
    );
    (Prometheus(child), port)
}

#[test]
fn prometheus_scrapes_an_end_to_end_run() {
    let t = TempDir::new("prom");
    let seed = 141;
    let (_, ph) = make_phantom(&t.path().join("ph"), selectable_phantom(seed));
    let files = std::fs::read_dir(&ph.dicom_dir).unwrap().count();
    let scp = StoreScp::start("STORESCU", 0, &t.path().join("pacs"));
    let cfg = NodeConfig {
        plugins: vec![default_plugin()],
        destinations: vec![("pacs".into(), "STORESCU".into(), scp.port)],
        ..NodeConfig::default()
    };
    let node = Node::start(t.path(), &cfg);
    let http = node.http_port.expect("the node prints its HTTP port");
    let base = format!("http://127.0.0.1:{http}");
    assert_eq!(curl(&format!("{base}/healthz"), None).0, 200);
    let (prom, prom_port) = start_prometheus(&t.path().join("prometheus"), http);
    let out = node.storescu(&[], &[ph.dicom_dir.clone()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        wait_until(Duration::from_secs(240), || !scp.segmentations().is_empty()),
        "no SEG arrived; log:\n{}",
        node.log_text()
    );

    // Prometheus's own view, after a few more scrapes.
    let expect = [
        (
            r#"sum(pavseg_instances_received_total{status="0000"})"#.to_string(),
            files as f64,
        ),
        (r#"pavseg_jobs{state="done"}"#.to_string(), 1.0),
        ("sum(pavseg_deliveries_sent_total)".to_string(), 1.0),
        ("pavseg_series_sealed_total".to_string(), 1.0),
    ];
    let mut seen = Vec::new();
    let all = wait_until(Duration::from_secs(30), || {
        seen = expect.iter().map(|(q, _)| query(prom_port, q)).collect();
        seen.iter().zip(&expect).all(|(got, (_, want))| *got == Some(*want))
    });
    assert!(
        all,
        "Prometheus reports {seen:?}, expected {:?}",
        expect.iter().map(|e| e.1).collect::<Vec<_>>()
    );
    let stages = query(prom_port, r#"count(pavseg_stage_duration_seconds_count)"#).unwrap_or(0.0);
    assert!(stages >= 4.0, "stage histograms: {stages}");
    drop(prom);

    // promtool accepts the exposition.
    let (code, text) = curl(&format!("{base}/metrics"), None);
    assert_eq!(code, 200);
    let mut check = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool");
    check.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let checked = check.wait_with_output().unwrap();
    assert!(
        checked.status.success(),
        "promtool check metrics: {}{}\n{text}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );
    assert!(
        text.contains("pavseg_inference_device_info{device=\"cpu\"} 1"),
        "{text}"
    );

    // The job list and one job, with its delivery.
    let (code, body) = curl(&format!("{base}/jobs"), None);
    assert_eq!(code, 200, "{body}");
    let jobs: serde_json::Value = serde_json::from_str(&body).unwrap();
    let job = &jobs.as_array().unwrap()[0];
    assert_eq!(job["state"], "done");
    assert_eq!(job["series_instance_uid"], ph.series_instance_uid.as_str());
    assert_eq!(job["deliveries"][0]["state"], "sent", "{body}");
    assert!(job["timings_s"]["inference"].as_f64().is_some(), "{body}");
    let (code, one) = curl(&format!("{base}/jobs/{}", job["id"].as_str().unwrap()), None);
    assert_eq!(code, 200);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&one).unwrap()["id"],
        job["id"]
    );
    assert_eq!(curl(&format!("{base}/jobs/nope"), None).0, 404);

    // `pavseg status` still reads the spool.
    let status = Command::new(BIN)
        .args(["status", "--json", "--config"])
        .arg(&node.config)
        .output()
        .unwrap();
    let s: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(s["jobs_done"], 1);

    // The text log never names the patient.
    let log = node.log_text();
    for secret in [
        format!("PHANTOM^SEED{seed}"),
        format!("PHANTOM SEED{seed}"),
        ph.patient_id.clone(),
    ] {
        assert!(!log.contains(&secret), "the log contains {secret:?}");
    }
}

#[test]
fn readyz_follows_the_disk_reserve_and_the_token_guards_metrics() {
    let t = TempDir::new("ready");
    let spool = t.path().join("spool");
    std::fs::create_dir_all(&spool).unwrap();
    let free = pavseg::spool::free_bytes(&spool).expect("statvfs");
    let margin: u64 = 300 << 20;
    assert!(
        free > 4 * margin,
        "the test needs about 1.2 GB free in {}",
        spool.display()
    );
    let reserve = free - margin;
    let config = t.path().join("pavseg.toml");
    std::fs::write(
        &config,
        format!(
            "[node]\nbind = \"127.0.0.1\"\nport = 0\n[spool]\ndir = {:?}\nmin_free_bytes = {reserve}\n[pipeline]\nplugins = []\n[http]\nport = 0\nbearer_token = \"s3cret\"\n",
            spool.display().to_string()
        ),
    )
    .unwrap();
    let node = Node::start_with(t.path(), &config, &spool);
    let ready = || node.http_get("/readyz").map(|(c, _)| c);
    assert!(
        wait_until(Duration::from_secs(10), || ready() == Some(200)),
        "{:?}\n{}",
        node.http_get("/readyz"),
        node.log_text()
    );
    // Fill the disk past the reserve with a real file beside the spool.
    let filler = t.path().join("filler");
    let out = Command::new("fallocate")
        .args(["-l", &(2 * margin).to_string()])
        .arg(&filler)
        .output()
        .expect("fallocate (util-linux)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        wait_until(Duration::from_secs(10), || ready() == Some(503)),
        "still {:?}",
        node.http_get("/readyz")
    );
    let (_, body) = node.http_get("/readyz").unwrap();
    assert!(body.contains("below the reserve"), "{body}");
    std::fs::remove_file(&filler).unwrap();
    assert!(
        wait_until(Duration::from_secs(10), || ready() == Some(200)),
        "still {:?}",
        node.http_get("/readyz")
    );

    let base = format!("http://127.0.0.1:{}", node.http_port.unwrap());
    assert_eq!(curl(&format!("{base}/metrics"), None).0, 401);
    assert_eq!(
        curl(&format!("{base}/jobs"), Some("Authorization: Bearer wrong")).0,
        401
    );
    assert_eq!(
        curl(&format!("{base}/metrics"), Some("Authorization: Bearer s3cret")).0,
        200
    );
    assert_eq!(curl(&format!("{base}/healthz"), None).0, 200);
}
