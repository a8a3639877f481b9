//! `pavseg bench ingest`: C-STORE ingest over loopback into the node against dcmtk's storescp
//! (`bench/reference/ingest_dcmtk.sh`), both fed by the same sender (dcmtk storescu, one
//! association per series, all series at once), alternating in one run. The node acknowledges
//! an instance only once it is fsync'd and renamed into its spool; storescp writes without
//! fsync, so the ratio includes the price of durability.

use super::tools::{self, ToolError};
use crate::config::{ConfigError, Settings};
use dicom_dictionary_std::tags;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

#[derive(Debug, thiserror::Error)]
pub enum IngestBenchError {
    #[error("reference script {path} not found: pass --reference DIR (the repository's bench/reference)")]
    FindReference { path: PathBuf },
    #[error("cannot read the series folder {path}: {reason}")]
    ReadSeries { path: PathBuf, reason: String },
    #[error("cannot prepare {path}: {reason}")]
    Prepare { path: PathBuf, reason: String },
    #[error("node settings for the benchmark: {0}")]
    Settings(#[from] ConfigError),
    #[error("running the node: {0}")]
    Node(String),
    #[error(transparent)]
    Tool(#[from] ToolError),
    #[error("{receiver} stored {stored} of {sent} files")]
    Lost {
        receiver: &'static str,
        stored: usize,
        sent: usize,
    },
}

#[derive(Debug, Clone)]
pub struct Options {
    pub reference: PathBuf,
    /// Folders of DICOM files to send, one series each, all at once (one association each).
    pub series: Vec<PathBuf>,
    /// Scratch folder for the node's spools.
    pub work: PathBuf,
    pub rounds: usize,
}

#[derive(Debug, Clone)]
pub struct Report {
    pub files: usize,
    pub bytes: u64,
    /// Seconds of the whole storescu run, per round.
    pub node_s: Vec<f64>,
    pub dcmtk_s: Vec<f64>,
}

impl Report {
    pub fn mb_per_s(&self, seconds: &[f64]) -> f64 {
        self.bytes as f64 / 1e6 / super::median(seconds.to_vec())
    }
}

/// Files directly in `dir` and their total size.
fn series_files(dir: &Path) -> Result<(usize, u64), IngestBenchError> {
    let err = |e: std::io::Error| IngestBenchError::ReadSeries {
        path: dir.to_path_buf(),
        reason: e.to_string(),
    };
    let mut n = 0;
    let mut bytes = 0;
    for entry in std::fs::read_dir(dir).map_err(err)? {
        let meta = entry.map_err(err)?.metadata().map_err(err)?;
        if meta.is_file() {
            n += 1;
            bytes += meta.len();
        }
    }
    Ok((n, bytes))
}

/// `n` series to send at once: `series` itself, then copies of it under `work` with new
/// Study, Series and SOP Instance UIDs (written once; a later run reuses them).
pub fn copies(series: &Path, work: &Path, n: usize) -> Result<Vec<PathBuf>, IngestBenchError> {
    let mut out = vec![series.to_path_buf()];
    for k in 1..n.max(1) {
        let dir = work.join(format!("copy{k}"));
        let done = work.join(format!("copy{k}.complete"));
        if !done.is_file() {
            let prepare = |e: &dyn std::fmt::Display| IngestBenchError::Prepare { path: dir.clone(), reason: e.to_string() };
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).map_err(|e| prepare(&e))?;
            let _ = std::fs::remove_file(&done);
            let (study, series_uid) = (crate::uid::generate("2.25"), crate::uid::generate("2.25"));
            for entry in std::fs::read_dir(series).map_err(|e| prepare(&e))? {
                let path = entry.map_err(|e| prepare(&e))?.path();
                if !path.is_file() {
                    continue;
                }
                let mut obj = dicom_object::open_file(&path).map_err(|e| prepare(&e))?;
                let sop = crate::uid::generate("2.25");
                let ui = |tag, v: &str| dicom_core::DataElement::new(tag, dicom_core::VR::UI, dicom_core::PrimitiveValue::from(v));
                obj.put(ui(tags::STUDY_INSTANCE_UID, &study));
                obj.put(ui(tags::SERIES_INSTANCE_UID, &series_uid));
                obj.put(ui(tags::SOP_INSTANCE_UID, &sop));
                obj.meta_mut().media_storage_sop_instance_uid = sop;
                obj.meta_mut().update_information_group_length();
                let name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
                obj.write_to_file(dir.join(name)).map_err(|e| prepare(&e))?;
            }
            std::fs::write(&done, b"").map_err(|e| prepare(&e))?;
        }
        out.push(dir);
    }
    Ok(out)
}

/// `.dcm` files anywhere below `dir` (the instances a spool holds).
fn count_instances(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|e| {
            let p = e.path();
            if p.is_dir() {
                count_instances(&p)
            } else {
                (p.extension().is_some_and(|x| x == "dcm")) as usize
            }
        })
        .sum()
}

/// storescu of every series at once, one association (process) each; fails if any fails.
pub(crate) fn send_all(port: u16, called: &str, series: &[PathBuf]) -> Result<(), IngestBenchError> {
    let mut children = Vec::new();
    for s in series {
        let child = Command::new("storescu")
            .args(["-aec", called, "127.0.0.1", &port.to_string(), "+sd"])
            .arg(s)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .map_err(|e| tools::ToolError::Spawn { tool: "storescu".into(), reason: e.to_string(), hint: "PATH (dcmtk's storescu)" })?;
        children.push(child);
    }
    let mut failed = None;
    for c in children {
        let out = c.wait_with_output().map_err(|e| IngestBenchError::Node(format!("storescu: {e}")))?;
        if !out.status.success() && failed.is_none() {
            failed = Some(tools::ToolError::Failed {
                tool: "storescu".into(),
                status: out.status.to_string(),
                stderr: String::from_utf8_lossy(&out.stderr).chars().take(3000).collect(),
            });
        }
    }
    failed.map_or(Ok(()), |e| Err(e.into()))
}

/// One storescu run per series into a fresh node (in this process, port 0, no plugin, a
/// stability time longer than the run so that no job starts): seconds and instances stored.
fn node_round(o: &Options, round: usize) -> Result<(f64, usize), IngestBenchError> {
    let dir = o.work.join(format!("node-round{round}"));
    let prepare = |e: &dyn std::fmt::Display| IngestBenchError::Prepare {
        path: dir.clone(),
        reason: e.to_string(),
    };
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| prepare(&e))?;
    let config = dir.join("pavseg.toml");
    let text = format!(
        "[node]\nae_title = \"PAVSEG\"\nbind = \"127.0.0.1\"\nport = 0\n[spool]\ndir = {:?}\nstability_seconds = 3600.0\nmin_free_bytes = 0\n[pipeline]\nplugins = []\n",
        dir.join("spool").display().to_string()
    );
    std::fs::write(&config, text).map_err(|e| prepare(&e))?;
    let settings = Settings::load(&config)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| prepare(&e))?;
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .map_err(|e| IngestBenchError::Node(format!("cannot listen on 127.0.0.1: {e}")))?;
    let port = listener
        .local_addr()
        .map_err(|e| IngestBenchError::Node(e.to_string()))?
        .port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let node = rt.spawn(crate::node::run(listener, settings, async move {
        let _ = stopped.await;
    }));
    let t = Instant::now();
    let sent = send_all(port, "PAVSEG", &o.series);
    let seconds = t.elapsed().as_secs_f64();
    let _ = stop.send(());
    let finished = rt.block_on(node);
    sent?;
    finished
        .map_err(|e| IngestBenchError::Node(e.to_string()))?
        .map_err(|e| IngestBenchError::Node(e.to_string()))?;
    let stored = count_instances(&dir.join("spool"));
    let _ = std::fs::remove_dir_all(&dir);
    Ok((seconds, stored))
}

pub fn run(o: &Options) -> Result<Report, IngestBenchError> {
    let script = o.reference.join("ingest_dcmtk.sh");
    if !script.is_file() {
        return Err(IngestBenchError::FindReference { path: script });
    }
    let (mut files, mut bytes) = (0, 0);
    for s in &o.series {
        let (f, b) = series_files(s)?;
        files += f;
        bytes += b;
    }
    let mut report = Report {
        files,
        bytes,
        node_s: vec![],
        dcmtk_s: vec![],
    };
    // Every file must have arrived; then the round's line.
    let record = |receiver: &'static str, s: f64, stored: usize, round: usize, times: &mut Vec<f64>| {
        if stored != files {
            return Err(IngestBenchError::Lost { receiver, stored, sent: files });
        }
        println!("RESULT {receiver} seconds={s:.3} files={stored} MBps={:.1} round={round}", bytes as f64 / 1e6 / s);
        times.push(s);
        Ok(())
    };
    for round in 0..o.rounds.max(1) {
        let (s, stored) = node_round(o, round)?;
        record("pavseg-node", s, stored, round, &mut report.node_s)?;
        let out = tools::run("ingest_dcmtk.sh", Command::new("bash").arg(&script).args(&o.series), "PATH (dcmtk)")?;
        let fields = tools::result_fields("ingest_dcmtk.sh", &out.stdout)?;
        let s = tools::number::<f64>("ingest_dcmtk.sh", &fields, "seconds")?;
        let stored = tools::number::<usize>("ingest_dcmtk.sh", &fields, "files")?;
        record("dcmtk-storescp", s, stored, round, &mut report.dcmtk_s)?;
    }
    Ok(report)
}
