//! Benchmarks behind `pavseg bench <name>`: each times pavseg against its reference tool in the
//! same run (the project's own scripts in `bench/reference/`) and reports the ratio.

pub mod infer;
pub mod ingest;
pub mod ingest_pipeline;
pub mod memory;
pub mod resolution;
pub mod scale;
pub mod seg;
pub mod tools;
pub mod vesselness;
pub mod vesselness_backends;
pub mod train;

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("reference script {} not found (pass --reference DIR)", .0.display())]
    MissingReference(PathBuf),
    #[error("running reference `{command}`: {reason}")]
    Reference { command: String, reason: String },
    #[error(transparent)]
    Model(#[from] crate::model::ModelError),
    #[error(transparent)]
    Infer(#[from] crate::infer::InferError),
    #[error("{action}: {source}")]
    Tensor { action: &'static str, source: tch::TchError },
    #[error("computing vesselness: {0}")]
    Vesselness(String),
    #[error("resolution point {}: {reason}", .path.display())]
    Point { path: PathBuf, reason: String },
}

/// The phantom of `params` written under `work` (once: a later run reuses it), as the folder
/// of its `dicom/` series and `labels.nii.gz`.
pub fn phantom_under(work: &std::path::Path, params: &crate::phantom::PhantomParams) -> Result<PathBuf, crate::phantom::PhantomWriteError> {
    let p = params;
    let ff = if p.feet_first { "_ff" } else { "" };
    // Phantoms of other families differ in every voxel: they get their own folder.
    let family = if p.family.name == "standard" { String::new() } else { format!("_{}", p.family.name) };
    let dir = work.join(format!("phantom_s{}_{}x{}x{}_{}_{}{ff}{family}", p.seed, p.cols, p.rows, p.slices, p.pixel_spacing, p.slice_spacing));
    // phantom.json is written last, so a folder without it is an interrupted write.
    if !dir.join("phantom.json").is_file() {
        crate::phantom::write_phantom(&crate::phantom::generate(p), &dir)?;
    }
    Ok(dir)
}

/// Median of samples (seconds).
pub fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(|a, b| a.total_cmp(b));
    match samples.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => samples[n / 2],
        n => (samples[n / 2 - 1] + samples[n / 2]) / 2.0,
    }
}

/// `python lacaf_torch.py MODE` for the same network shape as `net` (the PyTorch reference of
/// `bench infer` and `bench train`); callers add their mode's own arguments.
pub fn lacaf_command(python: &std::path::Path, script: &std::path::Path, mode: &str, size: usize, net: &crate::model::NetConfig, threads: usize, reps: usize) -> std::process::Command {
    let norm = match net.norm {
        crate::model::Norm::Instance => "instance",
        crate::model::Norm::Batch | crate::model::Norm::BatchStats => "batch",
    };
    let mut cmd = std::process::Command::new(python);
    cmd.arg(script).arg(mode).args([
        "--size", &size.to_string(),
        "--in-ch", &net.in_channels.to_string(),
        "--classes", &net.classes.to_string(),
        "--text-dim", &net.text_dim.to_string(),
        "--base", &net.base_width.to_string(),
        "--norm", norm,
        "--threads", &threads.to_string(),
        "--reps", &reps.max(1).to_string(),
    ]);
    if net.fusion_residual {
        cmd.arg("--fusion-residual");
    }
    cmd
}

/// Runs a reference command and returns the fields of its `RESULT` line.
pub fn run_reference(command: &mut std::process::Command) -> Result<Vec<String>, BenchError> {
    let shown = format!("{command:?}");
    let out = command.output().map_err(|e| BenchError::Reference { command: shown.clone(), reason: e.to_string() })?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: String = stderr.lines().rev().take(5).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n");
        return Err(BenchError::Reference { command: shown, reason: format!("exit {}: {tail}", out.status) });
    }
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("RESULT ").map(|r| r.split_whitespace().map(str::to_owned).collect()))
        .ok_or(BenchError::Reference { command: shown, reason: format!("no RESULT line in: {stdout}") })
}
