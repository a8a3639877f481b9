//! Finding and running the external tools that benchmarks and tests compare against.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Why an external tool could not be run or its output not understood.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error("cannot run {tool}: {reason} (install it or point {hint} at it)")]
    Spawn { tool: String, reason: String, hint: &'static str },
    #[error("{tool} failed with {status}: {stderr}")]
    Failed { tool: String, status: String, stderr: String },
    #[error("{tool} reported {field} = {value:?}, not a number")]
    BadField { tool: String, field: &'static str, value: String },
    #[error("{tool} printed no {what}; its output was: {output}")]
    NoResult { tool: String, what: &'static str, output: String },
}

/// The Python interpreter with the validators and reference tools: `$PAVSEG_PYTHON`, else
/// `$VIRTUAL_ENV/bin/python`, else the repository's `.venv/bin/python`.
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("PAVSEG_PYTHON") {
        return PathBuf::from(p);
    }
    if let Some(v) = std::env::var_os("VIRTUAL_ENV") {
        let p = Path::new(&v).join("bin/python");
        if p.exists() {
            return p;
        }
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python")
}

/// The folder of the Python environment's executables (dcmqi's `itkimage2segimage` and
/// `segimage2itkimage` live there).
pub fn python_bin_dir() -> PathBuf {
    python().parent().map(Path::to_path_buf).unwrap_or_default()
}

/// `PATH` with the Python environment's executables first.
pub fn path_with_python_bin() -> std::ffi::OsString {
    let mut paths = vec![python_bin_dir()];
    if let Some(p) = std::env::var_os("PATH") {
        paths.extend(std::env::split_paths(&p));
    }
    std::env::join_paths(paths).unwrap_or_default()
}

/// The output of a finished command.
#[derive(Debug, Clone)]
pub struct Output {
    pub stdout: String,
    pub stderr: String,
}

/// Runs `cmd` to completion; a non-zero exit is an error that carries its stderr.
pub fn run(tool: &str, cmd: &mut Command, hint: &'static str) -> Result<Output, ToolError> {
    let out = cmd.env("PATH", path_with_python_bin()).output().map_err(|e| ToolError::Spawn {
        tool: tool.into(),
        reason: e.to_string(),
        hint,
    })?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if !out.status.success() {
        let tail: String = stderr.chars().rev().take(3000).collect::<Vec<_>>().into_iter().rev().collect();
        return Err(ToolError::Failed { tool: tool.into(), status: out.status.to_string(), stderr: tail });
    }
    Ok(Output { stdout, stderr })
}

/// The `key=value` fields of the first line starting with `RESULT` (values up to the next
/// space; a trailing unit such as `s` is a separate token and ignored).
pub fn result_fields(tool: &str, output: &str) -> Result<Vec<(String, String)>, ToolError> {
    let line = output.lines().find(|l| l.starts_with("RESULT")).ok_or_else(|| ToolError::NoResult {
        tool: tool.into(),
        what: "RESULT line",
        output: output.chars().take(2000).collect(),
    })?;
    Ok(line
        .split_whitespace()
        .filter_map(|tok| tok.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect())
}

/// The number `key` of a tool's RESULT fields (from [`result_fields`]).
pub fn number<T: std::str::FromStr>(tool: &str, fields: &[(String, String)], key: &'static str) -> Result<T, ToolError> {
    let v = fields.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str()).unwrap_or_default();
    v.parse().map_err(|_| ToolError::BadField { tool: tool.into(), field: key, value: v.into() })
}

/// Peak resident memory in KiB from the report of `/usr/bin/time -v`.
pub fn max_rss_kb(tool: &str, time_report: &str) -> Result<u64, ToolError> {
    time_report
        .lines()
        .find(|l| l.contains("Maximum resident set size"))
        .and_then(|l| l.rsplit(':').next())
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| ToolError::NoResult {
            tool: tool.into(),
            what: "peak memory (Maximum resident set size)",
            output: time_report.chars().take(2000).collect(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_result_lines_and_time_reports() {
        let f =
            result_fields("x", "noise\nRESULT highdicom construct+write=0.840 s construct=0.5 s frames=480\n").unwrap();
        assert_eq!(f[0], ("construct+write".to_string(), "0.840".to_string()));
        assert_eq!(f[2], ("frames".to_string(), "480".to_string()));
        assert!(result_fields("x", "nothing").is_err());
        let report = "\tUser time (seconds): 0.5\n\tMaximum resident set size (kbytes): 334848\n";
        assert_eq!(max_rss_kb("x", report).unwrap(), 334848);
    }
}
