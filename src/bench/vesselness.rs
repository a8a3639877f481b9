//! `pavseg bench vesselness`: our CPU vesselness filter against SimpleITK's multi-scale
//! Hessian objectness (bench/reference/vesselness_sitk.py) on the same volume, same scales and the
//! same number of threads. Each runs in its own process under GNU time, so both peak memories
//! are whole-process peak RSS measured the same way (loading the input and, for us, libtorch's
//! start-up included); our process also resets its peak just before the filter and reports
//! what the filter itself adds above the loaded input.

use super::memory::{cpu_seconds, own_peak_rss_kib, own_rss_kib, reset_own_peak_rss};
use super::tools::{self, ToolError};
use crate::geometry::Geometry;
use crate::io::nifti::{self, NiftiError};
use crate::phantom::{PhantomParams, PhantomWriteError};
use crate::preprocess::vesselness::{shapes, vesselness, VesselnessError, VesselnessParams};
use crate::volume::{assemble_files, AssembleError, AssemblyLimits};
use ndarray::Array3;
use rand::{Rng, SeedableRng};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// GNU time, which reports the peak RSS and CPU time of the process it runs.
pub const GNU_TIME: &str = "/usr/bin/time";

#[derive(Debug, thiserror::Error)]
pub enum VesselnessBenchError {
    #[error(transparent)]
    Tool(#[from] ToolError),
    #[error("{GNU_TIME} is missing: install GNU time (Debian package `time`) to measure peak memory")]
    MissingGnuTime,
    #[error("{tool} printed no number for {field} in its RESULT line")]
    ReadField { tool: String, field: &'static str },
    #[error("cannot write the benchmark input to {path}: {reason}")]
    WriteInput { path: PathBuf, reason: String },
    #[error("cannot write the phantom: {0}")]
    WritePhantom(#[from] PhantomWriteError),
    #[error("cannot read {path}: {reason}")]
    ReadInput { path: PathBuf, reason: String },
    #[error("cannot assemble the series: {0}")]
    Assemble(#[from] AssembleError),
    #[error("cannot read the NIfTI input: {0}")]
    Nifti(#[from] NiftiError),
    #[error("vesselness failed: {0}")]
    Vesselness(#[from] VesselnessError),
    #[error("reference script {path} not found: pass --reference DIR (the repository's bench/reference)")]
    FindReference { path: PathBuf },
}

/// What to filter.
#[derive(Debug, Clone)]
pub enum Input {
    /// An existing DICOM series folder or NIfTI file in HU.
    Path(PathBuf),
    /// The standard phantom (`pavseg phantom`), written under the work folder once.
    Phantom(PhantomParams),
    /// Random vessel-like tubes in lung (analytic) with noise, written as NIfTI under the work
    /// folder once.
    Tubes { shape: [usize; 3], spacing_mm: [f64; 3], count: usize, seed: u64 },
}

#[derive(Debug, Clone)]
pub struct Options {
    pub reference: PathBuf,
    pub input: Input,
    pub work: PathBuf,
    pub scales_mm: Vec<f64>,
    pub threads: usize,
    /// Runs of each tool, alternating; the best times and the largest peaks are reported.
    pub repeat: usize,
    pub python: PathBuf,
    /// This program, run as `EXE bench vesselness-worker`.
    pub exe: PathBuf,
}

/// One tool's numbers.
#[derive(Debug, Clone)]
pub struct ToolResult {
    pub filter_s: f64,
    pub peak_rss_kib: u64,
    pub process_wall_s: f64,
    /// CPU time (user + system) of the whole process, loading included.
    pub process_cpu_s: f64,
}

impl ToolResult {
    /// Best (shortest) times and largest peak of two runs.
    fn best(self, other: ToolResult) -> ToolResult {
        ToolResult {
            filter_s: self.filter_s.min(other.filter_s),
            peak_rss_kib: self.peak_rss_kib.max(other.peak_rss_kib),
            process_wall_s: self.process_wall_s.min(other.process_wall_s),
            process_cpu_s: self.process_cpu_s.min(other.process_cpu_s),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Report {
    pub input: PathBuf,
    pub ours: ToolResult,
    /// Our peak resident memory during the filter above what was resident before it (the
    /// input loaded), KiB; `None` where the kernel could not reset the peak.
    pub ours_filter_extra_kib: Option<u64>,
    /// Voxels of the input.
    pub voxels: Option<u64>,
    pub sitk: ToolResult,
}

impl Report {
    pub fn speedup(&self) -> f64 {
        self.sitk.filter_s / self.ours.filter_s
    }

    pub fn memory_ratio(&self) -> f64 {
        self.ours.peak_rss_kib as f64 / self.sitk.peak_rss_kib as f64
    }
}

pub fn run(o: &Options) -> Result<Report, VesselnessBenchError> {
    let script = o.reference.join("vesselness_sitk.py");
    if !script.is_file() {
        return Err(VesselnessBenchError::FindReference { path: script });
    }
    let input = materialise(&o.input, &o.work)?;
    let scales: Vec<String> = o.scales_mm.iter().map(|s| s.to_string()).collect();
    let threads = o.threads.to_string();

    let mut ours_args = vec!["bench".into(), "vesselness-worker".into(), "--input".into(), path_arg(&input)];
    ours_args.push("--scales-mm".into());
    ours_args.extend(scales.iter().cloned());
    let mut sitk_args = vec![path_arg(&script), path_arg(&input), "--sigmas-mm".into()];
    sitk_args.extend(scales);
    sitk_args.extend(["--threads".into(), threads.clone()]);

    let ours_env = ("RAYON_NUM_THREADS", threads.as_str());
    let sitk_env = ("OMP_NUM_THREADS", threads.as_str());
    let run_both = || -> Result<Round, VesselnessBenchError> {
        let m = measure("pavseg bench vesselness-worker", &o.exe, &ours_args, ours_env, "--exe")?;
        let (ours, extra) = tool_result("pavseg", &m)?;
        let m = measure("vesselness_sitk.py", &o.python, &sitk_args, sitk_env, "PAVSEG_PYTHON or --python")?;
        let (sitk, _) = tool_result("SimpleITK", &m)?;
        Ok((ours, extra, sitk))
    };
    let (mut ours, mut extra, mut sitk) = run_both()?;
    for _ in 1..o.repeat {
        let (o2, e2, s2) = run_both()?;
        ours = ours.best(o2);
        sitk = sitk.best(s2);
        extra = match (extra, e2) {
            (Some(a), Some(b)) => Some(if a.0 >= b.0 { a } else { b }),
            (a, b) => a.or(b),
        };
    }
    let (ours_filter_extra_kib, voxels) = (extra.map(|e| e.0), extra.map(|e| e.1));
    Ok(Report { input, ours, ours_filter_extra_kib, voxels, sitk })
}

/// One alternating round: our numbers, our worker's (filter's own peak KiB, voxels), SimpleITK's.
type Round = (ToolResult, Option<(u64, u64)>, ToolResult);

fn path_arg(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// What one process printed and used.
struct Measured {
    stdout: String,
    /// The report of `/usr/bin/time -v`.
    report: String,
    wall_s: f64,
}

/// Runs `program args` under GNU time with one environment variable set.
fn measure(
    tool: &str,
    program: &Path,
    args: &[String],
    env: (&str, &str),
    hint: &'static str,
) -> Result<Measured, VesselnessBenchError> {
    if !Path::new(GNU_TIME).exists() {
        return Err(VesselnessBenchError::MissingGnuTime);
    }
    let mut cmd = Command::new(GNU_TIME);
    cmd.arg("-v").arg(program).args(args).env(env.0, env.1);
    let t = Instant::now();
    let out = tools::run(tool, &mut cmd, hint)?;
    Ok(Measured { stdout: out.stdout, report: out.stderr, wall_s: t.elapsed().as_secs_f64() })
}

/// One tool's numbers, and for our worker the filter's own extra peak (KiB) and the voxel count.
fn tool_result(tool: &str, m: &Measured) -> Result<(ToolResult, Option<(u64, u64)>), VesselnessBenchError> {
    let fields = tools::result_fields(tool, &m.stdout)?;
    let number = |key: &str| fields.iter().find(|(k, _)| k == key).and_then(|(_, v)| v.parse::<f64>().ok());
    let filter_s =
        number("filter").ok_or_else(|| VesselnessBenchError::ReadField { tool: tool.into(), field: "filter" })?;
    let extra = number("filter_peak_extra_kib").filter(|v| *v >= 0.0).map(|v| v as u64);
    let voxels = number("voxels").map(|v| v as u64);
    let r = ToolResult {
        filter_s,
        peak_rss_kib: tools::max_rss_kb(tool, &m.report)?,
        process_wall_s: m.wall_s,
        process_cpu_s: cpu_seconds(&m.report),
    };
    Ok((r, extra.zip(voxels)))
}

/// Writes the input under `work` unless it is there already; returns what to pass to both tools.
fn materialise(input: &Input, work: &Path) -> Result<PathBuf, VesselnessBenchError> {
    let write_err = |path: &Path, e: &dyn std::fmt::Display| VesselnessBenchError::WriteInput {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    match input {
        Input::Path(p) => Ok(p.clone()),
        Input::Phantom(params) => Ok(super::phantom_under(work, params)?.join("dicom")),
        Input::Tubes { shape, spacing_mm, count, seed } => {
            let path = work.join(format!("tubes_s{seed}_n{count}_{}x{}x{}_noise20.nii", shape[2], shape[1], shape[0]));
            if !path.is_file() {
                std::fs::create_dir_all(work).map_err(|e| write_err(work, &e))?;
                let extent = std::array::from_fn(|a| shape[a] as f64 * spacing_mm[a]);
                let occ = shapes::render(&shapes::random_vessels(*count, extent, *seed), *shape, *spacing_mm, 0.4);
                // Lung parenchyma at -850 HU, vessels at +40 HU, CT-like noise (sd 20 HU) everywhere
                // so that the filter meets the mixed Hessian signs of a real scan.
                let mut rng = rand::rngs::StdRng::seed_from_u64(*seed);
                let noise = rand_distr::Normal::new(0.0f32, 20.0).map_err(|e| write_err(&path, &e))?;
                let hu = occ.mapv(|v| (-850.0 + 890.0 * v + rng.sample(noise)).round() as i16);
                let g = Geometry::new(*shape, [0.0; 3], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], *spacing_mm);
                nifti::write(&path, hu.view(), &g)?;
            }
            Ok(path)
        }
    }
}

/// The worker: loads the input, times the filter, prints one `RESULT` line.
pub fn worker(input: &Path, scales_mm: &[f64]) -> Result<String, VesselnessBenchError> {
    let t = Instant::now();
    let (hu, geometry) = load(input)?;
    let load_s = t.elapsed().as_secs_f64();
    let reset = reset_own_peak_rss();
    let rss_before = own_rss_kib().unwrap_or(0);
    let params = VesselnessParams { scales_mm: scales_mm.to_vec(), ..Default::default() };
    let t = Instant::now();
    let v = vesselness(hu.view(), geometry.spacing, &params)?;
    let filter_s = t.elapsed().as_secs_f64();
    let peak_after = own_peak_rss_kib().unwrap_or(0);
    let [nk, nj, ni] = geometry.shape;
    let nonzero = v.iter().filter(|x| **x > 0.0).count();
    Ok(format!(
        "RESULT pavseg filter={filter_s:.3} s load={load_s:.3} s rss_before_filter_kib={rss_before} \
         filter_peak_extra_kib={} voxels={} shape=({ni}, {nj}, {nk}) spacing=({:.3}, {:.3}, {:.3}) threads={} nonzero={nonzero}",
        if reset { peak_after.saturating_sub(rss_before) as i64 } else { -1 },
        nk * nj * ni,
        geometry.spacing[2],
        geometry.spacing[1],
        geometry.spacing[0],
        rayon::current_num_threads()
    ))
}

fn load(input: &Path) -> Result<(Array3<f32>, Geometry), VesselnessBenchError> {
    if input.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(input)
            .map_err(|e| VesselnessBenchError::ReadInput { path: input.to_path_buf(), reason: e.to_string() })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        let v = assemble_files(&files, &AssemblyLimits::default())?;
        Ok((v.hu, v.geometry))
    } else {
        Ok(nifti::read::<f32>(input)?)
    }
}
