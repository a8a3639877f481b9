//! The whole pipeline under concurrent load (`pavseg bench ingest --pipeline`): a `pavseg
//! serve` process with a plugin receives every series at once (one association each),
//! segments them and sends each SEG back to the sender (storescu's AE title STORESCU is a
//! destination: a dcmtk storescp); reported are the seconds until the
//! last SEG arrived and the node's peak resident memory, which its configuration bounds
//! (`pipeline.workers` volumes in flight at once).

use super::ingest::IngestBenchError;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct PipelineReport {
    pub series: usize,
    /// From the first instance sent to the last SEG received.
    pub seconds: f64,
    /// Until every instance was acknowledged.
    pub ingest_seconds: f64,
    pub peak_rss_mib: f64,
    pub workers: usize,
}

/// Kills a child process when dropped.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn fail(what: &str, e: impl std::fmt::Display) -> IngestBenchError {
    IngestBenchError::Node(format!("{what}: {e}"))
}

fn free_port() -> Result<u16, IngestBenchError> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| fail("cannot find a free port", e))?;
    Ok(l.local_addr().map_err(|e| fail("cannot find a free port", e))?.port())
}

/// VmHWM of a process, MiB.
fn peak_rss_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok()))
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

pub fn run(series: &[PathBuf], plugin: &Path, work: &Path, workers: usize) -> Result<PipelineReport, IngestBenchError> {
    let dir = work.join("pipeline");
    let _ = std::fs::remove_dir_all(&dir);
    let pacs = dir.join("pacs");
    std::fs::create_dir_all(&pacs).map_err(|e| fail("cannot create the benchmark folder", e))?;
    let pacs_port = free_port()?;
    let _scp = Guard(
        Command::new("storescp")
            .args(["--fork", "-aet", "STORESCU", "-od"])
            .arg(&pacs)
            .arg(pacs_port.to_string())
            .env("TCP_NODELAY", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| fail("storescp (dcmtk)", e))?,
    );
    let config = dir.join("pavseg.toml");
    let text = format!(
        "[node]\nae_title = \"PAVSEG\"\nbind = \"127.0.0.1\"\nport = 0\nmax_associations = {}\n[spool]\ndir = {:?}\nstability_seconds = 2.0\nmin_free_bytes = 0\n[pipeline]\nplugins = [{:?}]\nworkers = {workers}\n[http]\nport = 0\n[log]\noutput = \"stderr\"\n[[destinations]]\nname = \"pacs\"\nae_title = \"STORESCU\"\nhost = \"127.0.0.1\"\nport = {pacs_port}\n",
        series.len().max(1),
        dir.join("spool").display().to_string(),
        plugin.display().to_string(),
    );
    std::fs::write(&config, &text).map_err(|e| fail("cannot write the node settings", e))?;
    let exe = std::env::current_exe().map_err(|e| fail("cannot find this executable", e))?;
    let log = std::fs::File::create(dir.join("node.log")).map_err(|e| fail("cannot create the node log", e))?;
    let mut node = Guard(
        Command::new(exe)
            .args(["serve", "--config"])
            .arg(&config)
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .map_err(|e| fail("cannot start pavseg serve", e))?,
    );
    let mut port = None;
    let mut out = BufReader::new(node.0.stdout.take().ok_or_else(|| fail("pavseg serve", "no stdout"))?);
    loop {
        let mut line = String::new();
        if out.read_line(&mut line).map_err(|e| fail("reading pavseg serve", e))? == 0 {
            return Err(fail("pavseg serve stopped during start-up; see", dir.join("node.log").display()));
        }
        if let Some(addr) = line.trim().strip_prefix("listening on ") {
            port = addr.rsplit(':').next().and_then(|p| p.parse::<u16>().ok());
        }
        if line.trim() == "started" {
            break;
        }
    }
    let port = port.ok_or_else(|| fail("pavseg serve", "printed no DICOM address"))?;
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    let t0 = Instant::now();
    super::ingest::send_all(port, "PAVSEG", series)?;
    let ingest_seconds = t0.elapsed().as_secs_f64();
    let deadline = t0 + Duration::from_secs(3600);
    loop {
        let received = std::fs::read_dir(&pacs).map(|d| d.count()).unwrap_or(0);
        if received >= series.len() {
            break;
        }
        if let Ok(Some(status)) = node.0.try_wait() {
            return Err(fail("pavseg serve exited", status));
        }
        if Instant::now() > deadline {
            return Err(fail("SEGs received within an hour", format!("{received} of {}", series.len())));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let seconds = t0.elapsed().as_secs_f64();
    Ok(PipelineReport { series: series.len(), seconds, ingest_seconds, peak_rss_mib: peak_rss_mib(node.0.id()), workers })
}
