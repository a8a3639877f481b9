//! Findings: inputs that made a target panic, hang, allocate past the limit or crash the
//! worker. Each is saved once per signature (where it failed) as
//! `<out>/<target>/<kind>-<hash>.input` with a `.txt` beside it that says what happened.

use super::FuzzError;
use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Exit status of a worker whose watchdog saw an input run past the time limit.
pub const HANG_EXIT_CODE: i32 = 86;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Panic,
    Hang,
    Alloc,
    /// An abort or a signal (stack overflow, a panic that cannot unwind, a fault in C code).
    Crash,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Panic => "panic",
            Kind::Hang => "hang",
            Kind::Alloc => "alloc",
            Kind::Crash => "crash",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub target: String,
    pub kind: Kind,
    /// What identifies the failure across inputs: a panic's location, an allocation's size class.
    pub signature: String,
    /// The full message (panic message, stderr tail).
    pub message: String,
}

impl Finding {
    /// `<kind>-<hash of the signature>`: the file name stem of its saved input.
    pub fn id(&self) -> String {
        format!("{}-{:016x}", self.kind.name(), fnv1a(self.signature.as_bytes()))
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Saves `input` for `finding` unless an input with the same id is saved already; returns the
/// path of the saved input.
pub fn save(out: &Path, finding: &Finding, input: &[u8]) -> Result<PathBuf, FuzzError> {
    let dir = out.join(&finding.target);
    std::fs::create_dir_all(&dir).map_err(FuzzError::io("creating findings folder", &dir))?;
    let id = finding.id();
    let input_path = dir.join(format!("{id}.input"));
    if input_path.exists() {
        return Ok(input_path);
    }
    let text = format!(
        "target: {}\nkind: {}\nsignature: {}\ninput: {} ({} bytes)\nreproduce: pavseg bench fuzz --target {} --replay {}\n\n{}\n",
        finding.target,
        finding.kind.name(),
        finding.signature,
        input_path.display(),
        input.len(),
        finding.target,
        input_path.display(),
        finding.message
    );
    let txt = dir.join(format!("{id}.txt"));
    std::fs::write(&txt, text).map_err(FuzzError::io("writing finding", &txt))?;
    std::fs::write(&input_path, input).map_err(FuzzError::io("writing finding", &input_path))?;
    Ok(input_path)
}

/// Appends the finding's id to the run's log, from which the driver counts distinct findings.
pub fn log(run_log: &Path, finding: &Finding) {
    if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(run_log) {
        let _ = writeln!(f, "{}", finding.id());
    }
}

/// The distinct finding ids in a run's log.
pub fn distinct_in_log(run_log: &Path) -> BTreeSet<String> {
    std::fs::read_to_string(run_log)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The allocation size class of a request: the next power of two.
pub fn size_class(bytes: usize) -> String {
    format!("2^{}", bytes.max(1).next_power_of_two().trailing_zeros())
}

/// The innermost frame of a printed backtrace (`RUST_BACKTRACE=1`) that is neither the
/// standard library nor the fuzz harness: where the failing code is.
fn first_frame_outside_std(stderr: &str) -> Option<String> {
    stderr
        .lines()
        .filter_map(|l| l.trim().strip_prefix("at "))
        .find(|at| !at.contains("/rustc/") && !at.contains("/library/") && !at.contains("src/fuzz/"))
        .map(|at| {
            at.rsplit_once("/src/")
                .map(|(krate, rest)| format!("{}/src/{rest}", krate.rsplit('/').next().unwrap_or(krate)))
                .unwrap_or_else(|| at.to_string())
        })
}

/// What killed a worker during an input, from its exit status and stderr.
pub fn classify_death(target: &str, status: &std::process::ExitStatus, stderr: &str) -> Finding {
    use std::os::unix::process::ExitStatusExt;
    let tail: String = {
        let lines: Vec<&str> = stderr.lines().collect();
        lines[lines.len().saturating_sub(200)..].join("\n")
    };
    let finding = |kind, signature: String| Finding {
        target: target.to_owned(),
        kind,
        signature,
        message: tail.clone(),
    };
    if status.code() == Some(HANG_EXIT_CODE) {
        return finding(Kind::Hang, "hang".into());
    }
    if let Some(line) = stderr.lines().find(|l| l.contains("memory allocation of")) {
        let bytes = line
            .split_whitespace()
            .skip_while(|w| *w != "of")
            .nth(1)
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or(0);
        let at = first_frame_outside_std(stderr)
            .map(|f| format!(" at {f}"))
            .unwrap_or_default();
        return finding(
            Kind::Alloc,
            format!("abort: allocation of {} bytes failed{at}", size_class(bytes)),
        );
    }
    if let Some(line) = stderr.lines().find(|l| l.contains("has overflowed its stack")) {
        return finding(Kind::Crash, format!("stack overflow: {}", line.trim()));
    }
    if let Some(line) = stderr.lines().rev().find(|l| l.contains("panicked at")) {
        let at = line
            .split("panicked at")
            .nth(1)
            .unwrap_or_default()
            .trim()
            .trim_end_matches(':');
        return finding(Kind::Crash, format!("abort after panic at {at}"));
    }
    match (status.signal(), status.code()) {
        (Some(sig), _) => finding(Kind::Crash, format!("signal {sig}")),
        (None, Some(code)) => finding(Kind::Crash, format!("exit {code}")),
        (None, None) => finding(Kind::Crash, "unknown".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    #[test]
    fn classifies_deaths_and_saves_once_per_signature() {
        let abort = std::process::ExitStatus::from_raw(6);
        let f = classify_death("t", &abort, "noise\nmemory allocation of 4294967296 bytes failed\n");
        assert_eq!(
            (f.kind, f.signature.as_str()),
            (Kind::Alloc, "abort: allocation of 2^32 bytes failed")
        );
        let f = classify_death(
            "t",
            &abort,
            "\nthread 'fuzz' has overflowed its stack\nfatal runtime error: stack overflow\n",
        );
        assert_eq!(f.kind, Kind::Crash);
        assert!(f.signature.starts_with("stack overflow"));
        let hang = std::process::ExitStatus::from_raw(HANG_EXIT_CODE << 8);
        assert_eq!(classify_death("t", &hang, "").kind, Kind::Hang);
        assert_eq!(
            classify_death("t", &std::process::ExitStatus::from_raw(11), "").signature,
            "signal 11"
        );

        let out = std::env::temp_dir().join(format!("pavseg-findings-test-{}", std::process::id()));
        let f = Finding {
            target: "t".into(),
            kind: Kind::Panic,
            signature: "src/x.rs:1:2".into(),
            message: "boom".into(),
        };
        let p = save(&out, &f, b"first").unwrap();
        assert_eq!(save(&out, &f, b"second").unwrap(), p);
        assert_eq!(std::fs::read(&p).unwrap(), b"first");
        assert!(std::fs::read_to_string(p.with_extension("txt"))
            .unwrap()
            .contains("boom"));
        let log_path = out.join("run.log");
        log(&log_path, &f);
        log(&log_path, &f);
        assert_eq!(distinct_in_log(&log_path).len(), 1);
        std::fs::remove_dir_all(&out).ok();
    }
}
