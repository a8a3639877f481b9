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
    #[error("reference script {path} not found (pass --anchors DIR)")]
    MissingAnchor { path: PathBuf },
    #[error(transparent)]
    Tool(#[from] ToolError),
    #[error("{tool} reported no usable {field}: {value:?}")]
    BadField { tool: String, field: &'static str, value: String },
    #[error("cannot create {path}: {source}")]
    CreateDir { path: PathBuf, source: std::io::Error },
}

/// What to benchmark.
#[derive(Debug, Clone)]
pub struct SegBenchParams {
    /// Folder with seg_highdicom.py and seg_dcmqi.sh.
    pub anchors: PathBuf,
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
    pub seconds: Vec<f64>,
    /// Whole-process wall time (pavseg only; dcmqi's `seconds` already are).
    pub process_seconds: Vec<f64>,
    pub peak_kb: Vec<u64>,
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
    pub fn median_seconds(&self) -> f64 {
        median(&self.seconds)
    }
    pub fn median_process_seconds(&self) -> f64 {
        median(&self.process_seconds)
    }
    pub fn peak_mb(&self) -> f64 {
        self.peak_kb.iter().copied().max().unwrap_or(0) as f64 / 1024.0
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
        writeln!(f, "{:<10} {:<22} {:>9} {:>11} {:>10} {:>12}", "tool", "measure", "time s", "process s", "peak MB", "bytes")?;
        for t in [&self.pavseg, &self.highdicom, &self.dcmqi] {
            let process = if t.process_seconds.is_empty() { "-".into() } else { format!("{:.3}", t.median_process_seconds()) };
            writeln!(
                f,
                "{:<10} {:<22} {:>9.3} {:>11} {:>10.1} {:>12}",
                t.tool,
                t.measure,
                t.median_seconds(),
                process,
                t.peak_mb(),
                t.bytes
            )?;
        }
        let p = self.pavseg.median_seconds();
        let pp = self.pavseg.median_process_seconds();
        write!(
            f,
            "RESULT seg pavseg_build_write={:.4} s pavseg_process={:.3} s pavseg_peak_mb={:.1} \
             highdicom_construct_write={:.3} s highdicom_peak_mb={:.1} dcmqi_wall={:.3} s dcmqi_peak_mb={:.1} \
             speedup_vs_highdicom={:.1}x speedup_vs_dcmqi={:.1}x process_speedup_vs_dcmqi={:.1}x \
             memory_vs_highdicom={:.2} memory_vs_dcmqi={:.2}",
            p,
            pp,
            self.pavseg.peak_mb(),
            self.highdicom.median_seconds(),
            self.highdicom.peak_mb(),
            self.dcmqi.median_seconds(),
            self.dcmqi.peak_mb(),
            self.highdicom.median_seconds() / p,
            self.dcmqi.median_seconds() / p,
            self.dcmqi.median_seconds() / pp,
            self.pavseg.peak_mb() / self.highdicom.peak_mb(),
            self.pavseg.peak_mb() / self.dcmqi.peak_mb(),
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
}

/// Reads the series headers and the mask, then builds and writes one SEG: what
/// `pavseg bench seg-write` times in its own process.
pub fn write_once(dicom_dir: &Path, labels: &Path, out: &Path, keep_empty_frames: bool) -> Result<WriteOnce, SegBenchError> {
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
    Ok(WriteOnce { read_seconds, build_seconds, write_seconds, frames: segmentation.frames().len(), bytes })
}

fn field<'a>(fields: &'a [(String, String)], key: &str) -> Option<&'a str> {
    fields.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

fn number<T: std::str::FromStr>(tool: &str, fields: &[(String, String)], key: &'static str) -> Result<T, SegBenchError> {
    let v = field(fields, key).unwrap_or_default();
    v.parse().map_err(|_| SegBenchError::BadField { tool: tool.into(), field: key, value: v.into() })
}

fn timed(exe: &Path, args: &[&std::ffi::OsStr]) -> Command {
    let mut c = Command::new("/usr/bin/time");
    c.arg("-v").arg(exe).args(args);
    c
}

/// Runs the three writers `repeat` times each, interleaved, and collects their numbers.
pub fn run(params: &SegBenchParams) -> Result<SegBenchReport, SegBenchError> {
    let highdicom_py = params.anchors.join("seg_highdicom.py");
    let dcmqi_sh = params.anchors.join("seg_dcmqi.sh");
    for p in [&highdicom_py, &dcmqi_sh] {
        if !p.exists() {
            return Err(SegBenchError::MissingAnchor { path: p.clone() });
        }
    }
    std::fs::create_dir_all(&params.work)
        .map_err(|source| SegBenchError::CreateDir { path: params.work.clone(), source })?;
    let shape = [params.slices, params.rows, params.cols];
    let (dicom, labels, mask_source, non_empty) = prepare_input(&params.work, shape)?;
    let out = |name: &str| params.work.join(name);
    let mut pav = ToolTiming {
        tool: "pavseg",
        measure: "build+write",
        seconds: vec![],
        process_seconds: vec![],
        peak_kb: vec![],
        bytes: 0,
        frames: None,
    };
    let mut hd = ToolTiming { tool: "highdicom", measure: "construct+write", ..pav.clone() };
    let mut qi = ToolTiming { tool: "dcmqi", measure: "itkimage2segimage wall", ..pav.clone() };
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
        pav.seconds.push(number::<f64>("pavseg", &f, "build+write")?);
        pav.peak_kb.push(tools::max_rss_kb("pavseg", &o.stderr)?);
        pav.bytes = number("pavseg", &f, "bytes")?;
        pav.frames = Some(number("pavseg", &f, "frames")?);

        let hd_out = out("highdicom.dcm");
        let py = tools::python();
        let args: Vec<&std::ffi::OsStr> =
            vec![highdicom_py.as_os_str(), dicom.as_os_str(), labels.as_os_str(), hd_out.as_os_str()];
        let o = tools::run("seg_highdicom.py", &mut timed(&py, &args), "PAVSEG_PYTHON")?;
        let f = tools::result_fields("highdicom", &o.stdout)?;
        hd.seconds.push(number::<f64>("highdicom", &f, "construct+write")?);
        hd.peak_kb.push(tools::max_rss_kb("highdicom", &o.stderr)?);
        hd.bytes = number("highdicom", &f, "bytes")?;
        hd.frames = Some(number("highdicom", &f, "frames")?);

        let qi_out = out("dcmqi.dcm");
        let mut cmd = Command::new("bash");
        cmd.arg(&dcmqi_sh).arg(&dicom).arg(&labels).arg(&qi_out);
        let o = tools::run("seg_dcmqi.sh", &mut cmd, "PATH (itkimage2segimage from pip dcmqi)")?;
        let f = tools::result_fields("dcmqi", &o.stdout)?;
        qi.seconds.push(number::<f64>("dcmqi", &f, "wall")?);
        qi.peak_kb.push(number::<u64>("dcmqi", &f, "maxrss_kb")?);
        qi.bytes = number("dcmqi", &f, "bytes")?;
    }
    Ok(SegBenchReport { shape, mask_source, non_empty_frames: non_empty, pavseg: pav, highdicom: hd, dcmqi: qi })
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
