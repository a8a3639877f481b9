//! `pavseg preprocess`: run preprocessing on a series or NIfTI volume and write the two
//! network channels as NIfTI for inspection, with the time of each stage.

use crate::geometry::Geometry;
use crate::io::nifti;
use crate::preprocess::{prepare_grid, PreprocessConfig, VesselnessBackend, CHANNEL_CT, CHANNEL_VESSELNESS};
use crate::volume::{assemble_files, AssemblyLimits};
use anyhow::{bail, Context};
use ndarray::{Array3, Axis};
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A folder holding the DICOM files of one CT series, or a NIfTI volume in HU.
    #[arg(long)]
    pub input: PathBuf,
    /// Output folder (created): ct_window.nii.gz and vesselness.nii.gz on the model grid.
    #[arg(long)]
    pub out: PathBuf,
    /// Preprocessing settings (.toml or .json, keys of PreprocessConfig); flags override it.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// HU window LOW HIGH.
    #[arg(long, num_args = 2, value_names = ["LOW", "HIGH"], allow_negative_numbers = true)]
    pub window: Option<Vec<f32>>,
    /// Model voxel size in mm along the canonical k, j, i axes.
    #[arg(long, num_args = 3, value_names = ["K", "J", "I"])]
    pub target_spacing_mm: Option<Vec<f64>>,
    /// Vesselness scales in mm.
    #[arg(long, num_args = 1..)]
    pub scales_mm: Option<Vec<f64>>,
    /// Compute the vesselness with libtorch on this device (cpu, cuda, cuda:N) instead of the
    /// CPU filter.
    #[arg(long)]
    pub torch_device: Option<String>,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let cfg = config(&a)?;
    let backend = match a.torch_device.as_deref() {
        None => VesselnessBackend::Cpu,
        Some(d) => VesselnessBackend::Torch(parse_device(d)?),
    };
    let t = Instant::now();
    let (hu, geometry) = load(&a.input)?;
    let load_s = t.elapsed();
    let (input, timings) = prepare_grid(hu.view(), &geometry, &cfg, backend).context("preprocessing")?;
    drop(hu);
    let t = Instant::now();
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    for (channel, name) in [(CHANNEL_CT, "ct_window.nii.gz"), (CHANNEL_VESSELNESS, "vesselness.nii.gz")] {
        let path = a.out.join(name);
        nifti::write(&path, input.channels.index_axis(Axis(0), channel), &input.grid)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let write_s = t.elapsed();
    println!("source grid: {}", describe(&geometry));
    println!("model grid:  {}", describe(&input.grid));
    println!("{:<20} {:>8.3} s", "load", load_s.as_secs_f64());
    for (stage, d) in &timings {
        println!("{:<20} {:>8.3} s", stage, d.as_secs_f64());
    }
    println!("{:<20} {:>8.3} s", "write", write_s.as_secs_f64());
    println!("channels written to {}", a.out.display());
    Ok(())
}

fn config(a: &Args) -> anyhow::Result<PreprocessConfig> {
    let mut cfg = match &a.config {
        None => PreprocessConfig::default(),
        Some(p) => read_config(p)?,
    };
    if let Some(w) = &a.window {
        cfg.window = [w[0], w[1]];
    }
    if let Some(s) = &a.target_spacing_mm {
        cfg.target_spacing_mm = Some([s[0], s[1], s[2]]);
    }
    if let Some(s) = &a.scales_mm {
        cfg.vesselness_scales_mm = s.clone();
    }
    cfg.validate()?;
    Ok(cfg)
}

fn read_config(path: &Path) -> anyhow::Result<PreprocessConfig> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    if path.extension().is_some_and(|e| e == "json") {
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    } else {
        figment::Figment::from(<figment::providers::Toml as figment::providers::Format>::string(&text))
            .extract()
            .with_context(|| format!("parsing {}", path.display()))
    }
}

fn parse_device(d: &str) -> anyhow::Result<tch::Device> {
    Ok(match d {
        "cpu" => tch::Device::Cpu,
        "cuda" => tch::Device::Cuda(0),
        _ => match d.strip_prefix("cuda:").and_then(|n| n.parse().ok()) {
            Some(n) => tch::Device::Cuda(n),
            None => bail!("unknown torch device {d:?}: expected cpu, cuda or cuda:N"),
        },
    })
}

/// HU values and grid of a DICOM series folder or a NIfTI file.
pub fn load(input: &Path) -> anyhow::Result<(Array3<f32>, Geometry)> {
    if input.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(input)
            .with_context(|| format!("listing {}", input.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        let v = assemble_files(&files, &AssemblyLimits::default())
            .with_context(|| format!("assembling the series in {}", input.display()))?;
        Ok((v.hu, v.geometry))
    } else {
        nifti::read::<f32>(input).with_context(|| format!("reading {}", input.display()))
    }
}

fn describe(g: &Geometry) -> String {
    format!(
        "{} x {} x {} (i x j x k) voxels of {:.3} x {:.3} x {:.3} mm, orientation {}",
        g.shape[2],
        g.shape[1],
        g.shape[0],
        g.spacing[2],
        g.spacing[1],
        g.spacing[0],
        g.orientation_code()
    )
}
