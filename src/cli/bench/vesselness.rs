//! `pavseg bench vesselness` and its worker `pavseg bench vesselness-worker`.

use super::default_reference_dir;
use crate::bench;
use crate::bench::vesselness::{self as vbench, Input};
use crate::phantom::PhantomParams;
use anyhow::Context;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct VesselnessArgs {
    /// Folder of the reference scripts.
    #[arg(long, default_value_os_t = default_reference_dir())]
    pub reference: PathBuf,
    /// Filter this DICOM series folder or NIfTI file instead of a generated volume.
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// Generate random vessel-like tubes (analytic) instead of the standard phantom.
    #[arg(long, conflicts_with = "input")]
    pub tubes: bool,
    /// Where generated inputs are written (and reused).
    #[arg(long, default_value_os_t = std::env::temp_dir().join("pavseg-bench"))]
    pub work: PathBuf,
    #[command(flatten)]
    pub ct: super::CtSize,
    /// In-plane pixel spacing of the generated volume, mm.
    #[arg(long, default_value_t = 0.7)]
    pub pixel_spacing: f64,
    /// Slice spacing of the generated volume, mm.
    #[arg(long, default_value_t = 1.0)]
    pub slice_spacing: f64,
    /// Number of tubes with --tubes.
    #[arg(long, default_value_t = 400)]
    pub tube_count: usize,
    #[arg(long, num_args = 1.., default_values_t = [1.0, 2.0, 3.0])]
    pub scales_mm: Vec<f64>,
    /// Threads for both tools.
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// Runs of each tool (alternating); the best times and the largest peaks are reported.
    #[arg(long, default_value_t = 1)]
    pub repeat: usize,
    /// Python with SimpleITK (default: $PAVSEG_PYTHON, else $VIRTUAL_ENV/bin/python, else
    /// .venv/bin/python).
    #[arg(long)]
    pub python: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct WorkerArgs {
    #[arg(long)]
    pub input: PathBuf,
    #[arg(long, num_args = 1.., required = true)]
    pub scales_mm: Vec<f64>,
}

/// The worker: one timed run of the filter, printed as a RESULT line.
pub fn worker(w: WorkerArgs) -> anyhow::Result<()> {
    println!("{}", vbench::worker(&w.input, &w.scales_mm)?);
    Ok(())
}

pub fn vesselness(a: VesselnessArgs) -> anyhow::Result<()> {
    let input = match (&a.input, a.tubes) {
        (Some(p), _) => Input::Path(p.clone()),
        (None, true) => Input::Tubes {
            shape: [a.ct.slices, a.ct.rows, a.ct.cols],
            spacing_mm: [a.slice_spacing, a.pixel_spacing, a.pixel_spacing],
            count: a.tube_count,
            seed: 1,
        },
        (None, false) => Input::Phantom(PhantomParams {
            slices: a.ct.slices,
            rows: a.ct.rows,
            cols: a.ct.cols,
            pixel_spacing: a.pixel_spacing,
            slice_spacing: a.slice_spacing,
            ..Default::default()
        }),
    };
    let python = a.python.unwrap_or_else(bench::tools::python);
    let opts = vbench::Options {
        reference: a.reference,
        input,
        work: a.work,
        scales_mm: a.scales_mm.clone(),
        threads: a.threads,
        repeat: a.repeat,
        python,
        exe: std::env::current_exe().context("locating this program")?,
    };
    let r = vbench::run(&opts).context("vesselness benchmark")?;
    let mib = |k: u64| k as f64 / 1024.0;
    println!(
        "vesselness benchmark: {} with scales {:?} mm, {} threads, best of {}",
        r.input.display(),
        a.scales_mm,
        a.threads,
        a.repeat.max(1)
    );
    println!("{:<24} {:>10} {:>16} {:>16}", "", "filter s", "process CPU s", "peak RSS MiB");
    for (name, t) in [("pavseg CPU", &r.ours), ("SimpleITK objectness", &r.sitk)] {
        println!("{:<24} {:>10.2} {:>16.1} {:>16.0}", name, t.filter_s, t.process_cpu_s, mib(t.peak_rss_kib));
    }
    if let (Some(extra), Some(voxels)) = (r.ours_filter_extra_kib, r.voxels) {
        let input_kib = voxels as f64 * 4.0 / 1024.0;
        println!(
            "pavseg filter's own peak above the loaded input: {:.0} MiB = {:.2} x the f32 input ({:.0} MiB)",
            mib(extra),
            extra as f64 / input_kib,
            input_kib / 1024.0
        );
    }
    println!("speed-up {:.1}x (target >= 3), peak memory ratio {:.2} (target <= 0.5)", r.speedup(), r.memory_ratio());
    Ok(())
}
