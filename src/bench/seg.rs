//! `pavseg bench seg`: time and peak memory to build and write a two-segment BINARY SEG for a
//! 512 x 512 x 300 CT, against highdicom (construct + write) and dcmqi's itkimage2segimage on
//! the same mask in the same run.
//!
//! Every tool runs as its own process under `/usr/bin/time -v`, so that peak memory is each
//! tool's alone; pavseg's process ([`write_once`], `pavseg bench seg-write`) reads the series
//! headers and the NIfTI mask as the reference tools do, then builds and writes the SEG.

use super::tools::{self, ToolError};
use crate::io::nifti;
use crate::phantom::{self, PhantomParams};
use crate::seg::{self, SegConfig, SegIdentity};
use crate::volume::{assemble_headers, AssemblyLimits};
use ndarray::Array3;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

#[derive(Debug, thiserror::Error)]
pub enum SegBenchError {
    #[error("cannot write the benchmark phantom: {0}")]
    WritePhantom(#[from] phantom::PhantomWriteError),
    #[error("cannot write the benchmark mask: {0}")]
    WriteMask(#[from] nifti::NiftiError),
    #[error("cannot read the benchmark mask: {0}")]
    ReadMask(#[from] seg::LabelNiftiError),
    #[error("cannot read the CT series {dir}: {reason}")]
    ReadSeries { dir: PathBuf, reason: String },
    #[error("{0}")]
    Grid(#[from] seg::GridMismatch),
    #[error("cannot build the SEG: {0}")]
    Build(#[from] seg::BuildError),
    #[error("cannot write the SEG: {0}")]
    Write(#[from] seg::WriteError),
    #[error("reference script {path} not found (pass --reference DIR)")]
    MissingReference { path: PathBuf },
    #[error(transparent)]
    Tool(#[from] ToolError),
    #[error("cannot create {path}: {source}")]
    CreateDir { path: PathBuf, source: std::io::Error },
}

/// What to benchmark.
#[derive(Debug, Clone)]
pub struct SegBenchParams {
    /// Folder with seg_highdicom.py and seg_dcmqi.sh.
    pub reference: PathBuf,
    /// Scratch folder for the phantom and the outputs.
    pub work: PathBuf,
    pub slices: usize,
    pub rows: usize,
    pub cols: usize,
    /// Runs of each tool; the median is reported.
    pub repeat: usize,
    pub keep_empty_frames: bool,
    /// The pavseg executable that runs `bench seg-write`.
    pub exe: PathBuf,
}

/// One tool's measurements over the runs.
#[derive(Debug, Clone)]
pub struct ToolTiming {
    pub tool: &'static str,
    /// What `seconds` measures.
    pub measure: &'static str,
    /// The tool's own timing of building and writing the SEG (dcmqi: its whole run).
    pub seconds: Vec<f64>,
    /// Wall time of the whole process, taken here around it.
    pub process_seconds: Vec<f64>,
    /// Peak resident memory of the whole process (KiB).
    pub peak_kb: Vec<u64>,
    /// Peak resident memory of the same program doing nothing (start-up and libraries: pavseg
    /// `--version`, Python importing the script's modules, dcmqi `--version`).
    pub idle_kb: u64,
    /// pavseg only: peak above the resident memory before the work, measured in its process
    /// (libtorch's start-up peak would hide it in `peak - idle`).
    pub work_kb: Vec<u64>,
    pub bytes: u64,
    pub frames: Option<usize>,
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    if s.is_empty() {
        f64::NAN
    } else {
        s[s.len() / 2]
    }
}

impl ToolTiming {
    fn new(tool: &'static str, measure: &'static str) -> Self {
        ToolTiming {
            tool,
            measure,
            seconds: vec![],
            process_seconds: vec![],
            peak_kb: vec![],
            idle_kb: 0,
            work_kb: vec![],
            bytes: 0,
            frames: None,
        }
    }
    pub fn median_seconds(&self) -> f64 {
        median(&self.seconds)
    }
    pub fn median_process_seconds(&self) -> f64 {
        median(&self.process_seconds)
    }
    /// Largest peak over the runs, MiB.
    pub fn peak_mb(&self) -> f64 {
        self.peak_kb.iter().copied().max().unwrap_or(0) as f64 / 1024.0
    }
    pub fn idle_mb(&self) -> f64 {
        self.idle_kb as f64 / 1024.0
    }
    /// The memory the SEG work itself took, MiB: measured in-process where available (pavseg),
    /// else the peak above the idle footprint.
    pub fn work_mb(&self) -> f64 {
        match self.work_kb.iter().copied().max() {
            Some(kb) => kb as f64 / 1024.0,
            None => (self.peak_mb() - self.idle_mb()).max(0.0),
        }
    }
}

/// The benchmark's outcome.
#[derive(Debug, Clone)]
pub struct SegBenchReport {
    pub shape: [usize; 3],
    pub mask_source: &'static str,
    pub non_empty_frames: usize,
    pub pavseg: ToolTiming,
    pub highdicom: ToolTiming,
    pub dcmqi: ToolTiming,
}

impl std::fmt::Display for SegBenchReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let [nk, nj, ni] = self.shape;
        writeln!(
            f,
            "SEG benchmark: {ni}x{nj}x{nk} CT, two segments, {} non-empty frames ({} mask), median of {} runs",
            self.non_empty_frames,
            self.mask_source,
            self.pavseg.seconds.len()
        )?;
        writeln!(
            f,
            "{:<10} {:<24} {:>8} {:>10} {:>8} {:>8} {:>8} {:>10} {:>7}",
            "tool", "measure", "time s", "process s", "peak MB", "idle MB", "work MB", "bytes", "frames"
        )?;
        for t in [&self.pavseg, &self.highdicom, &self.dcmqi] {
            writeln!(
                f,
                "{:<10} {:<24} {:>8.3} {:>10.3} {:>8.1} {:>8.1} {:>8.1} {:>10} {:>7}",
                t.tool,
                t.measure,
                t.median_seconds(),
                t.median_process_seconds(),
                t.peak_mb(),
                t.idle_mb(),
                t.work_mb(),
                t.bytes,
                t.frames.map(|n| n.to_string()).unwrap_or_else(|| "-".into())
            )?;
        }
        let (p, hd, qi) = (&self.pavseg, &self.highdicom, &self.dcmqi);
        write!(
            f,
            "RESULT seg pavseg_build_write={:.4} s highdicom_construct_write={:.3} s dcmqi_wall={:.3} s \
             speedup_vs_highdicom={:.1}x speedup_vs_dcmqi={:.1}x \
             process_speedup_vs_highdicom={:.1}x process_speedup_vs_dcmqi={:.1}x \
             peak_mb={:.0}/{:.0}/{:.0} work_mb={:.0}/{:.0}/{:.0} (pavseg/highdicom/dcmqi)",
            p.median_seconds(),
            hd.median_seconds(),
            qi.median_seconds(),
            hd.median_seconds() / p.median_seconds(),
            qi.median_seconds() / p.median_seconds(),
            hd.median_process_seconds() / p.median_process_seconds(),
            qi.median_process_seconds() / p.median_process_seconds(),
            p.peak_mb(),
            hd.peak_mb(),
            qi.peak_mb(),
            p.work_mb(),
            hd.work_mb(),
            qi.work_mb(),
        )
    }
}

/// Two sets of three winding tubes: arteries (1) over slices 10-90 % and veins (2) over
/// 15-95 % of the stack, so that 80 % of the (segment, slice) frames are non-empty.
pub fn synthetic_vessels(shape: [usize; 3]) -> Array3<u8> {
    let [nk, nj, ni] = shape;
    let mut labels = Array3::<u8>::zeros((nk, nj, ni));
    let r = (ni.min(nj) as f64 / 40.0).max(1.5);
    for (value, k0, k1, phase) in [(1u8, 0.10, 0.90, 0.0), (2u8, 0.15, 0.95, 1.3)] {
        let (ka, kb) = ((k0 * nk as f64).round() as usize, (k1 * nk as f64).round() as usize);
        for k in ka..kb.min(nk) {
            let t = k as f64 / nk.max(1) as f64 * std::f64::consts::TAU;
            for tube in 0..3 {
                let a = phase + tube as f64 * 2.1;
                let cx = ni as f64 * (0.5 + 0.25 * (a + t).cos());
                let cy = nj as f64 * (0.5 + 0.25 * (a + 0.7 * t).sin());
                let radius = r * (1.0 + 0.3 * tube as f64);
                let (j0, j1) = ((cy - radius).floor().max(0.0) as usize, ((cy + radius).ceil() as usize).min(nj - 1));
                let (i0, i1) = ((cx - radius).floor().max(0.0) as usize, ((cx + radius).ceil() as usize).min(ni - 1));
                for j in j0..=j1 {
                    for i in i0..=i1 {
                        let (dx, dy) = (i as f64 - cx, j as f64 - cy);
                        if dx * dx + dy * dy <= radius * radius && labels[[k, j, i]] == 0 {
                            labels[[k, j, i]] = value;
                        }
                    }
                }
            }
        }
    }
    labels
}

fn non_empty_frames(labels: &Array3<u8>) -> usize {
    labels
        .outer_iter()
        .map(|plane| {
            let (mut a, mut v) = (false, false);
            for &x in plane.iter() {
                a |= x == 1;
                v |= x == 2;
            }
            a as usize + v as usize
        })
        .sum()
}

/// Writes the benchmark input: the phantom's CT series and a two-segment mask on its grid
/// (the phantom's own labels when they fill at least half the frames, else synthetic tubes).
pub fn prepare_input(work: &Path, shape: [usize; 3]) -> Result<(PathBuf, PathBuf, &'static str, usize), SegBenchError> {
    let params = PhantomParams {
        seed: 1,
        slices: shape[0],
        rows: shape[1],
        cols: shape[2],
        pixel_spacing: 0.7,
        slice_spacing: 1.0,
        feet_first: false,
        ..Default::default()
    };
    let dir = work.join("phantom");
    let p = phantom::generate(&params);
    let files = phantom::write_phantom(&p, &dir)?;
    let frames = non_empty_frames(&p.labels);
    if frames >= shape[0] {
        return Ok((files.dicom_dir, files.labels, "phantom", frames));
    }
    let labels = synthetic_vessels(shape);
    let path = dir.join("bench_labels.nii.gz");
    nifti::write(&path, labels.view(), &p.geometry)?;
    Ok((files.dicom_dir, path, "synthetic tube", non_empty_frames(&labels)))
}

/// Timings of one SEG written by [`write_once`].
#[derive(Debug, Clone, Copy)]
pub struct WriteOnce {
    pub read_seconds: f64,
    pub build_seconds: f64,
    pub write_seconds: f64,
    pub frames: usize,
    pub bytes: u64,
    /// Peak resident memory while reading the inputs and building and writing the SEG, above
    /// the resident memory before (KiB); `None` where /proc does not tell.
    pub work_kb: Option<u64>,
}

/// A `kB` field of /proc/self/status (VmRSS, VmHWM).
fn proc_status_kb(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Resets this process's peak resident memory (VmHWM) to its current resident memory, so
/// that the peak of the work that follows can be told from the start-up's (Linux).
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Reads the series headers and the mask, then builds and writes one SEG: what
/// `pavseg bench seg-write` times in its own process.
pub fn write_once(
    dicom_dir: &Path,
    labels: &Path,
    out: &Path,
    keep_empty_frames: bool,
) -> Result<WriteOnce, SegBenchError> {
    let rss_before = if reset_peak_rss() { proc_status_kb("VmRSS:") } else { None };
    let t = Instant::now();
    let mut files: Vec<PathBuf> = std::fs::read_dir(dicom_dir)
        .map_err(|e| SegBenchError::ReadSeries { dir: dicom_dir.to_path_buf(), reason: e.to_string() })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    let (geometry, source) = assemble_headers(&files, &AssemblyLimits::default())
        .map_err(|e| SegBenchError::ReadSeries { dir: dicom_dir.to_path_buf(), reason: e.to_string() })?;
    let (mask, mask_grid) = seg::read_label_nifti(labels)?;
    seg::check_same_grid(&mask_grid, &geometry)?;
    let read_seconds = t.elapsed().as_secs_f64();
    let config = SegConfig { keep_empty_frames, ..SegConfig::default() };
    let t = Instant::now();
    let identity = SegIdentity::new(&config);
    let segmentation = seg::build(mask.view(), &geometry, &source, &config, &identity)?;
    let build_seconds = t.elapsed().as_secs_f64();
    let t = Instant::now();
    segmentation.write_to_file(out)?;
    let write_seconds = t.elapsed().as_secs_f64();
    let bytes = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    let frames = segmentation.frames().len();
    drop((segmentation, mask));
    let work_kb = rss_before.and_then(|before| Some(proc_status_kb("VmHWM:")?.saturating_sub(before)));
    Ok(WriteOnce { read_seconds, build_seconds, write_seconds, frames, bytes, work_kb })
}

fn timed(exe: &Path, args: &[&std::ffi::OsStr]) -> Command {
    let mut c = Command::new("/usr/bin/time");
    c.arg("-v").arg(exe).args(args);
    c
}

/// Peak memory of `exe args` under `/usr/bin/time -v` (the program's idle footprint).
fn idle_kb(tool: &str, exe: &Path, args: &[&str], hint: &'static str) -> Result<u64, SegBenchError> {
    let os: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_ref()).collect();
    let o = tools::run(tool, &mut timed(exe, &os), hint)?;
    Ok(tools::max_rss_kb(tool, &o.stderr)?)
}

/// Python importing what seg_highdicom.py imports, and nothing else.
const HIGHDICOM_IMPORTS: &str =
    "import glob, os, sys, time; import highdicom, numpy, pydicom, SimpleITK; from pydicom.sr.codedict import codes";

/// Runs the three writers `repeat` times each, interleaved, and collects their numbers.
pub fn run(params: &SegBenchParams) -> Result<SegBenchReport, SegBenchError> {
    let highdicom_py = params.reference.join("seg_highdicom.py");
    let dcmqi_sh = params.reference.join("seg_dcmqi.sh");
    for p in [&highdicom_py, &dcmqi_sh] {
        if !p.exists() {
            return Err(SegBenchError::MissingReference { path: p.clone() });
        }
    }
    std::fs::create_dir_all(&params.work)
        .map_err(|source| SegBenchError::CreateDir { path: params.work.clone(), source })?;
    let shape = [params.slices, params.rows, params.cols];
    let (dicom, labels, mask_source, non_empty) = prepare_input(&params.work, shape)?;
    let out = |name: &str| params.work.join(name);
    let py = tools::python();
    let mut pav = ToolTiming::new("pavseg", "build+write");
    let mut hd = ToolTiming::new("highdicom", "construct+write");
    let mut qi = ToolTiming::new("dcmqi", "itkimage2segimage (all)");
    pav.idle_kb = idle_kb("pavseg --version", &params.exe, &["--version"], "--exe")?;
    hd.idle_kb = idle_kb("python (imports)", &py, &["-c", HIGHDICOM_IMPORTS], "PAVSEG_PYTHON")?;
    qi.idle_kb = idle_kb(
        "itkimage2segimage --version",
        Path::new("itkimage2segimage"),
        &["--version"],
        "PATH (itkimage2segimage from pip dcmqi)",
    )?;
    for _ in 0..params.repeat.max(1) {
        let pav_out = out("pavseg.dcm");
        let mut args: Vec<&std::ffi::OsStr> = vec![
            "bench".as_ref(),
            "seg-write".as_ref(),
            "--dicom".as_ref(),
            dicom.as_os_str(),
            "--labels".as_ref(),
            labels.as_os_str(),
            "--out".as_ref(),
            pav_out.as_os_str(),
        ];
        if params.keep_empty_frames {
            args.push("--keep-empty-frames".as_ref());
        }
        let t = Instant::now();
        let o = tools::run("pavseg bench seg-write", &mut timed(&params.exe, &args), "--exe")?;
        pav.process_seconds.push(t.elapsed().as_secs_f64());
        let f = tools::result_fields("pavseg", &o.stdout)?;
        pav.seconds.push(tools::number::<f64>("pavseg", &f, "build+write")?);
        pav.peak_kb.push(tools::max_rss_kb("pavseg", &o.stderr)?);
        pav.bytes = tools::number("pavseg", &f, "bytes")?;
        pav.frames = Some(tools::number("pavseg", &f, "frames")?);
        pav.work_kb.push(tools::number::<u64>("pavseg", &f, "work_kb")?);

        let hd_out = out("highdicom.dcm");
        let args: Vec<&std::ffi::OsStr> =
            vec![highdicom_py.as_os_str(), dicom.as_os_str(), labels.as_os_str(), hd_out.as_os_str()];
        let t = Instant::now();
        let o = tools::run("seg_highdicom.py", &mut timed(&py, &args), "PAVSEG_PYTHON")?;
        hd.process_seconds.push(t.elapsed().as_secs_f64());
        let f = tools::result_fields("highdicom", &o.stdout)?;
        hd.seconds.push(tools::number::<f64>("highdicom", &f, "construct+write")?);
        hd.peak_kb.push(tools::max_rss_kb("highdicom", &o.stderr)?);
        hd.bytes = tools::number("highdicom", &f, "bytes")?;
        hd.frames = Some(tools::number("highdicom", &f, "frames")?);

        let qi_out = out("dcmqi.dcm");
        let mut cmd = Command::new("bash");
        cmd.arg(&dcmqi_sh).arg(&dicom).arg(&labels).arg(&qi_out);
        let o = tools::run("seg_dcmqi.sh", &mut cmd, "PATH (itkimage2segimage from pip dcmqi)")?;
        let f = tools::result_fields("dcmqi", &o.stdout)?;
        let wall = tools::number::<f64>("dcmqi", &f, "wall")?;
        qi.seconds.push(wall);
        qi.process_seconds.push(wall);
        qi.peak_kb.push(tools::number::<u64>("dcmqi", &f, "maxrss_kb")?);
        qi.bytes = tools::number("dcmqi", &f, "bytes")?;
        qi.frames = dicom_frames(&qi_out);
    }
    Ok(SegBenchReport { shape, mask_source, non_empty_frames: non_empty, pavseg: pav, highdicom: hd, dcmqi: qi })
}

/// NumberOfFrames of a written SEG, if it can be read.
fn dicom_frames(path: &Path) -> Option<usize> {
    let obj =
        dicom_object::OpenFileOptions::new().read_until(dicom_dictionary_std::tags::PIXEL_DATA).open_file(path).ok()?;
    obj.element(dicom_dictionary_std::tags::NUMBER_OF_FRAMES).ok()?.to_int::<usize>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_mask_fills_eighty_percent_of_the_frames() {
        let labels = synthetic_vessels([50, 64, 64]);
        assert_eq!(non_empty_frames(&labels), 80);
        assert!(labels.iter().any(|&v| v == 1) && labels.iter().any(|&v| v == 2));
    }
}
