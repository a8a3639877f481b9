//! Running a program under `/usr/bin/time -v` to get its wall time and peak resident memory,
//! so that our code and a reference tool are measured the same way.

use std::path::{Path, PathBuf};
use std::process::Command;

/// GNU time, which reports the peak RSS of the process it runs.
pub const GNU_TIME: &str = "/usr/bin/time";

#[derive(Debug, thiserror::Error)]
pub enum MeasureError {
    #[error("{GNU_TIME} is missing: install GNU time (Debian package `time`) to measure peak memory")]
    MissingGnuTime,
    #[error("cannot start {program}: {source}")]
    Start { program: PathBuf, source: std::io::Error },
    #[error("{program} failed ({status}); its output ends with:\n{tail}")]
    Run { program: PathBuf, status: String, tail: String },
    #[error("{program} printed no {what}; its output ends with:\n{tail}")]
    ReadOutput { program: PathBuf, what: &'static str, tail: String },
}

/// What one measured run printed and used.
#[derive(Debug, Clone)]
pub struct Measured {
    pub stdout: String,
    /// Peak resident set size of the whole process, KiB.
    pub peak_rss_kib: u64,
    pub wall_s: f64,
    /// User plus system CPU time of the whole process, seconds.
    pub cpu_s: f64,
}

/// Runs `program args` with `env` under GNU time and returns its output and peak memory.
pub fn measure(program: &Path, args: &[String], env: &[(&str, String)]) -> Result<Measured, MeasureError> {
    if !Path::new(GNU_TIME).exists() {
        return Err(MeasureError::MissingGnuTime);
    }
    let mut cmd = Command::new(GNU_TIME);
    cmd.arg("-v").arg(program).args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let t = std::time::Instant::now();
    let out = cmd.output().map_err(|source| MeasureError::Start { program: program.to_path_buf(), source })?;
    let wall_s = t.elapsed().as_secs_f64();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let tail = || tail_of(&format!("{stdout}{stderr}"), 2000);
    if !out.status.success() {
        return Err(MeasureError::Run { program: program.to_path_buf(), status: out.status.to_string(), tail: tail() });
    }
    let peak_rss_kib = stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix("Maximum resident set size (kbytes):"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| MeasureError::ReadOutput {
            program: program.to_path_buf(),
            what: "peak memory",
            tail: tail(),
        })?;
    let seconds = |key: &str| -> f64 {
        stderr.lines().find_map(|l| l.trim().strip_prefix(key)).and_then(|v| v.trim().parse().ok()).unwrap_or(0.0)
    };
    let cpu_s = seconds("User time (seconds):") + seconds("System time (seconds):");
    Ok(Measured { stdout, peak_rss_kib, wall_s, cpu_s })
}

/// The value of `key=` in the line starting with `RESULT`, e.g. `filter` in `filter=1.23 s`.
pub fn result_field(stdout: &str, key: &str) -> Option<f64> {
    let line = stdout.lines().find(|l| l.starts_with("RESULT"))?;
    let pat = format!("{key}=");
    let at = line.find(&pat)? + pat.len();
    let rest = &line[at..];
    let end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == 'e')).unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// The peak resident memory of this process so far (VmHWM), KiB.
pub fn own_peak_rss_kib() -> Option<u64> {
    own_status_kib("VmHWM:")
}

/// The resident memory of this process now (VmRSS), KiB.
pub fn own_rss_kib() -> Option<u64> {
    own_status_kib("VmRSS:")
}

/// Resets this process's VmHWM to its current resident memory (Linux `clear_refs` 5), so that
/// a later [`own_peak_rss_kib`] measures the peak of what follows. Returns whether it worked.
pub fn reset_own_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn own_status_kib(key: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|l| l.strip_prefix(key)).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn tail_of(s: &str, n: usize) -> String {
    let start = s.len().saturating_sub(n);
    let start = (start..s.len()).find(|&i| s.is_char_boundary(i)).unwrap_or(s.len());
    s[start..].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_result_fields() {
        let out = "noise\nRESULT sitk filter=57.125 s shape=(512, 512, 300)\n";
        assert_eq!(result_field(out, "filter"), Some(57.125));
        assert_eq!(result_field(out, "load"), None);
    }

    #[test]
    fn own_peak_memory_is_readable() {
        assert!(own_peak_rss_kib().is_some_and(|k| k > 0));
        assert!(own_rss_kib().is_some_and(|k| k > 0 && k <= own_peak_rss_kib().unwrap_or(0)));
    }
}
