//! `pavseg phantom`: write a synthetic chest CT and its ground truth.

use crate::phantom::{self, PhantomParams};
use anyhow::Context;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output folder (created): dicom/, ct.nii.gz, labels.nii.gz, labels_lr.nii.gz, phantom.json.
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[arg(long, default_value_t = 64)]
    pub slices: usize,
    #[arg(long, default_value_t = 128)]
    pub rows: usize,
    #[arg(long, default_value_t = 128)]
    pub cols: usize,
    /// In-plane pixel spacing in mm.
    #[arg(long, default_value_t = 2.7)]
    pub pixel_spacing: f64,
    /// Slice spacing in mm.
    #[arg(long, default_value_t = 2.5)]
    pub slice_spacing: f64,
    /// Feet-first supine instead of head-first supine.
    #[arg(long)]
    pub feet_first: bool,
    /// Phantom family (standard, contrast, no-airways, low-dose) or a family .toml file: the
    /// look and the vessel growth; the grid comes from the flags above.
    #[arg(long, default_value = "standard")]
    pub family: String,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    anyhow::ensure!(a.slices >= 2 && a.rows >= 16 && a.cols >= 16, "a phantom needs at least 2 slices of 16x16 pixels");
    anyhow::ensure!(a.rows <= 4096 && a.cols <= 4096 && a.slices <= 4096, "at most 4096 rows, columns and slices");
    anyhow::ensure!(
        a.pixel_spacing > 0.0 && a.slice_spacing > 0.0,
        "--pixel-spacing and --slice-spacing must be positive"
    );
    let params = PhantomParams {
        seed: a.seed,
        slices: a.slices,
        rows: a.rows,
        cols: a.cols,
        pixel_spacing: a.pixel_spacing,
        slice_spacing: a.slice_spacing,
        feet_first: a.feet_first,
        family: phantom::Family::resolve(&a.family)?,
    };
    let t = std::time::Instant::now();
    let p = phantom::generate(&params);
    let generated = t.elapsed().as_secs_f64();
    let files = phantom::write_phantom(&p, &a.out).with_context(|| format!("writing phantom to {}", a.out.display()))?;
    println!(
        "phantom seed {} {}x{}x{} generated in {:.1} s, written to {} in {:.1} s (series {})",
        a.seed,
        a.cols,
        a.rows,
        a.slices,
        generated,
        a.out.display(),
        t.elapsed().as_secs_f64() - generated,
        files.series_instance_uid
    );
    Ok(())
}
