//! The driver (`pavseg bench fuzz`): runs a target's worker in a child process until the
//! budget (executions or seconds) is spent. A worker that dies during an input (abort, signal,
//! its watchdog's hang exit) leaves that input in the exchange file: the driver saves it as a
//! finding and starts a new worker at the next execution, so a crash costs one restart and the
//! run stays reproducible (execution `n` is the same input in every run with the same seed).

use super::exchange;
use super::findings::{self, Kind};
use super::targets::Target;
use super::{corpus, scratch, FuzzError};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A target whose inputs keep killing the worker is given up after this many restarts.
const MAX_RESTARTS: u32 = 1000;
/// Bytes of a worker's stderr kept for classifying its death.
const STDERR_TAIL: usize = 64 * 1024;
/// How often a long run reports progress.
const PROGRESS_EVERY: Duration = Duration::from_secs(60);

/// A fuzzing run of one or more targets.
#[derive(Debug, Clone)]
pub struct Options {
    pub executions: Option<u64>,
    pub seconds: Option<f64>,
    pub seed: u64,
    /// Findings go to `<out>/<target>/`.
    pub out: PathBuf,
    /// Seeds are read from `<corpus>/<target>/` and `<corpus>/regressions/<target>/`.
    pub corpus: PathBuf,
    /// Replay instead of fuzzing: this file, or the files of this folder's `<target>/`
    /// subfolder (or of the folder itself, for a single target).
    pub replay: Option<PathBuf>,
    /// Whether more than one target runs (then `--replay DIR` only reads `DIR/<target>/`).
    pub several_targets: bool,
    pub time_limit_ms: u64,
    pub alloc_limit_mib: u64,
    /// The pavseg executable; its hidden `bench fuzz-worker` subcommand is the worker.
    pub exe: PathBuf,
}

/// The outcome of one target.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub target: String,
    pub executions: u64,
    pub seconds: f64,
    /// Executions that found something (a worker death counts once).
    pub findings: u64,
    /// Distinct findings (by kind and signature) of this run, as saved under `out`.
    pub distinct: Vec<String>,
    pub restarts: u32,
    /// Largest heap growth of one input, bytes.
    pub peak_alloc_bytes: u64,
    /// The run stopped early: too many worker deaths.
    pub gave_up: bool,
}

impl Report {
    pub fn execs_per_second(&self) -> f64 {
        if self.seconds > 0.0 {
            self.executions as f64 / self.seconds
        } else {
            0.0
        }
    }

    /// The machine-readable line of this target.
    pub fn result_line(&self, o: &Options) -> String {
        format!(
            "RESULT fuzz target={} executions={} seconds={:.1} execs_per_s={:.0} findings={} distinct={} restarts={} \
             peak_alloc_bytes={} time_limit_ms={} alloc_limit_mib={} seed={}",
            self.target,
            self.executions,
            self.seconds,
            self.execs_per_second(),
            self.findings,
            self.distinct.len(),
            self.restarts,
            self.peak_alloc_bytes,
            o.time_limit_ms,
            o.alloc_limit_mib,
            o.seed
        )
    }
}

fn replay_files(o: &Options, t: &Target) -> Result<Option<Vec<PathBuf>>, FuzzError> {
    let Some(p) = &o.replay else { return Ok(None) };
    if p.is_file() {
        return Ok(Some(vec![p.clone()]));
    }
    let sub = p.join(t.name);
    if sub.is_dir() || o.several_targets {
        return corpus::files_in(&sub).map(Some);
    }
    corpus::files_in(p).map(Some)
}

/// Fuzzes (or replays) one target.
pub fn run_target(o: &Options, t: &Target) -> Result<Report, FuzzError> {
    let work = scratch::dir();
    let exchange_path = work.join(format!("{}.exchange", t.name));
    let run_log = work.join(format!("{}.log", t.name));
    let _ = std::fs::remove_file(&run_log);
    let replay = replay_files(o, t)?;
    let budget = match &replay {
        Some(files) => files.len() as u64,
        None => o.executions.unwrap_or(u64::MAX),
    };
    let seed_dirs = corpus::seed_dirs(&o.corpus, t.name);
    let start = Instant::now();
    let mut report = Report {
        target: t.name.into(),
        ..Report::default()
    };
    let mut next = 0u64;
    while next < budget {
        let left = o.seconds.map(|s| s - start.elapsed().as_secs_f64());
        if left.is_some_and(|l| l <= 0.0) {
            break;
        }
        let mut cmd = Command::new(&o.exe);
        cmd.args(["bench", "fuzz-worker", "--target", t.name])
            .arg("--seed")
            .arg(o.seed.to_string())
            .arg("--first-execution")
            .arg(next.to_string())
            .arg("--executions")
            .arg((budget - next).to_string())
            .arg("--exchange")
            .arg(&exchange_path)
            .arg("--run-log")
            .arg(&run_log)
            .arg("--out")
            .arg(&o.out)
            .arg("--time-limit-ms")
            .arg(o.time_limit_ms.to_string())
            .arg("--alloc-limit-bytes")
            .arg((o.alloc_limit_mib.saturating_mul(1 << 20)).to_string());
        for d in &seed_dirs {
            cmd.arg("--seed-dir").arg(d);
        }
        for f in replay.iter().flatten() {
            cmd.arg("--replay-file").arg(f);
        }
        if let Some(l) = left {
            cmd.arg("--seconds").arg(format!("{l:.3}"));
        }
        // Backtraces locate allocation failures (printed by the standard library's abort).
        cmd.env("PAVSEG_LOG", "off")
            .env("RAYON_NUM_THREADS", "1")
            .env("RUST_BACKTRACE", "1");
        cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
        let (status, stderr, pid) = run_worker(cmd, &exchange_path, t.name, start)?;
        scratch::remove(pid);
        let snap = exchange::read(&exchange_path);
        let _ = std::fs::remove_file(&exchange_path);
        let Some(snap) = snap else {
            return Err(FuzzError::Worker {
                target: t.name.into(),
                status: status.to_string(),
                stderr,
            });
        };
        report.executions += snap.executions;
        report.findings += snap.findings;
        report.peak_alloc_bytes = report.peak_alloc_bytes.max(snap.peak_growth);
        if status.success() {
            break;
        }
        if !snap.busy {
            return Err(FuzzError::Worker {
                target: t.name.into(),
                status: status.to_string(),
                stderr,
            });
        }
        let finding = findings::classify_death(t.name, &status, &stderr);
        let saved = findings::save(&o.out, &finding, &snap.input)?;
        findings::log(&run_log, &finding);
        report.executions += 1;
        report.findings += 1;
        report.restarts += 1;
        let what = if finding.kind == Kind::Hang {
            "hung"
        } else {
            "killed the worker"
        };
        tracing::warn!(
            target_name = t.name,
            execution = snap.current,
            kind = finding.kind.name(),
            signature = %finding.signature,
            input = %saved.display(),
            "fuzz input {what}; restarting after it"
        );
        next = snap.current + 1;
        if report.restarts >= MAX_RESTARTS {
            report.gave_up = true;
            break;
        }
    }
    report.seconds = start.elapsed().as_secs_f64();
    report.distinct = findings::distinct_in_log(&run_log).into_iter().collect();
    let _ = std::fs::remove_file(&run_log);
    Ok(report)
}

/// Runs one worker to its end, logging progress; returns its status, stderr tail and pid.
fn run_worker(
    mut cmd: Command,
    exchange_path: &Path,
    target: &str,
    start: Instant,
) -> Result<(std::process::ExitStatus, String, u32), FuzzError> {
    let mut child = cmd.spawn().map_err(FuzzError::Spawn)?;
    let pid = child.id();
    let mut pipe = child.stderr.take();
    let reader = std::thread::spawn(move || {
        let mut tail: Vec<u8> = Vec::new();
        let mut buf = [0u8; 8192];
        while let Some(Ok(n @ 1..)) = pipe.as_mut().map(|p| p.read(&mut buf)) {
            tail.extend_from_slice(&buf[..n]);
            if tail.len() > 2 * STDERR_TAIL {
                tail.drain(..tail.len() - STDERR_TAIL);
            }
        }
        String::from_utf8_lossy(&tail).into_owned()
    });
    let mut last_report = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(FuzzError::Spawn(e)),
        }
        if last_report.elapsed() >= PROGRESS_EVERY {
            last_report = Instant::now();
            if let Some(s) = exchange::read(exchange_path) {
                tracing::info!(
                    target_name = target,
                    worker_executions = s.executions,
                    findings = s.findings,
                    elapsed_s = start.elapsed().as_secs(),
                    "fuzzing"
                );
            }
        }
    };
    let stderr = reader.join().unwrap_or_default();
    Ok((status, stderr, pid))
}
