//! `pavseg bench resolution`.

use crate::bench::resolution::{self, Point};
use crate::volume::{assemble_files, AssemblyLimits};
use anyhow::Context;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct ResolutionArgs {
    /// Points SPACING_MM:BASE_WIDTH (isotropic model grid, network base width).
    #[arg(long, value_delimiter = ',', default_value = "3:8,3:16,2:8,2:16,1.5:8,1.5:16,1.5:32")]
    pub points: Vec<Point>,
    /// The plugin every point copies (classes, prompts, preprocessing, post-processing).
    #[arg(long, default_value = "plugins/pulmonary-av/plugin.toml")]
    pub plugin: PathBuf,
    /// CT series folder; default: a 512x512x300 phantom (0.7 x 0.7 x 1 mm, seed 7) under --work.
    #[arg(long)]
    pub input: Option<PathBuf>,
    #[arg(long, default_value = ".work/bench-resolution")]
    pub work: PathBuf,
    /// libtorch and rayon threads.
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// Sliding-window side in voxels at every point (the shipped plugin's).
    #[arg(long, default_value_t = 64)]
    pub window: usize,
    #[arg(long, value_enum, default_value = "fp32")]
    pub precision: crate::model::Precision,
    /// How the CT reaches the coarser model grids (`area`: as the family recipe trains).
    #[arg(long, value_enum, default_value = "area")]
    pub downsample: crate::preprocess::Downsample,
    /// Run a point's whole pipeline only when its inference is estimated under this (seconds).
    #[arg(long, default_value_t = 600.0)]
    pub max_run_s: f64,
    /// Skip the FLOP count (it needs the .venv's torch).
    #[arg(long)]
    pub no_flops: bool,
    /// Folder with lacaf_torch.py.
    #[arg(long, default_value_os_t = super::default_reference_dir())]
    pub reference: PathBuf,
    /// Sustained share of the H100's dense bf16 peak assumed for the GPU estimate.
    #[arg(long, default_value_t = 0.3)]
    pub gpu_utilisation: f64,
}

pub fn run(a: ResolutionArgs) -> anyhow::Result<()> {
    let input = match &a.input {
        Some(p) => p.clone(),
        None => {
            let params = crate::phantom::PhantomParams {
                seed: 7,
                slices: 300,
                rows: 512,
                cols: 512,
                pixel_spacing: 0.7,
                slice_spacing: 1.0,
                ..Default::default()
            };
            crate::bench::phantom_under(&a.work, &params)?.join("dicom")
        }
    };
    let (files, _) = crate::scu::collect_files(std::slice::from_ref(&input))?;
    let paths: Vec<PathBuf> = files.into_iter().map(|f| f.path).collect();
    let volume = assemble_files(&paths, &AssemblyLimits::default()).with_context(|| format!("assembling {}", input.display()))?;
    let python = super::reference_net::default_python();
    let options = resolution::Options {
        plugin: a.plugin,
        points: a.points,
        threads: a.threads,
        window: a.window,
        precision: a.precision,
        downsample: a.downsample,
        max_run_s: a.max_run_s,
        work: a.work.join("points"),
        flops: (!a.no_flops).then(|| (python, a.reference)),
        gpu_utilisation: a.gpu_utilisation,
    };
    println!("CT {:?} voxels at {:?} mm, {} threads, window {}^3, {:?}", volume.geometry.shape, volume.geometry.spacing, options.threads, options.window, options.precision);
    let rows = resolution::run(&options, &volume)?;
    println!();
    println!("| model grid | base | parameters | model grid voxels | windows | inference s (CPU) | other stages s | whole CT s | GFLOP per window | whole-CT TFLOP | H100 estimate ms |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for r in &rows {
        let [k, j, i] = r.model_grid;
        let opt = |v: Option<f64>, d: usize| v.map(|v| format!("{v:.d$}")).unwrap_or_else(|| "-".into());
        let measured = if r.stages.is_some() { "" } else { " (est.)" };
        println!(
            "| {} mm | {} | {} | {}x{}x{} | {} | {:.1}{measured} | {} | {} | {} | {} | {} |",
            r.point.spacing_mm,
            r.point.base_width,
            r.params,
            i,
            j,
            k,
            r.windows,
            r.inference_s,
            opt(r.other_s, 1),
            opt(r.other_s.map(|o| o + r.inference_s), 1),
            opt(r.window_gflop, 1),
            opt(r.whole_tflop(), 1),
            opt(r.gpu_estimate_s(options.gpu_utilisation).map(|s| s * 1e3), 0),
        );
    }
    Ok(())
}
