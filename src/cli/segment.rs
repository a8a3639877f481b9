//! `pavseg segment`: the node's pipeline, offline, on one DICOM series folder: volume,
//! preprocessing, network, post-processing, then SEG + NIfTI + PNG. Same code path as a job.

use crate::pipeline::{write_outputs, Engine};
use crate::volume::{assemble_files, AssemblyLimits};
use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Folder with the CT series (searched recursively for DICOM files).
    #[arg(long)]
    pub input: PathBuf,
    /// Output folder (created): seg.dcm, labels.nii.gz, preview.png.
    #[arg(long)]
    pub out: PathBuf,
    /// Plugin file.
    #[arg(long, default_value = "plugins/pulmonary-av/plugin.toml")]
    pub plugin: PathBuf,
    /// Process the series even when the plugin's selection rules reject it.
    #[arg(long)]
    pub ignore_selection: bool,
}

const STAGES: [&str; 7] = ["load plugin", "assemble", "preprocess", "inference", "postprocess", "seg", "write"];

pub fn run(a: Args) -> anyhow::Result<()> {
    let bar = ProgressBar::new(STAGES.len() as u64);
    bar.set_style(ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}").unwrap_or_else(|_| ProgressStyle::default_bar()));
    bar.enable_steady_tick(Duration::from_millis(200));
    let step = |name: &str| {
        let pos = STAGES.iter().position(|s| *s == name).unwrap_or(0) as u64;
        bar.set_position(pos);
        bar.set_message(name.to_string());
    };
    step("load plugin");
    let engine = Engine::load(&a.plugin)?;
    step("assemble");
    let (files, skipped) = crate::scu::collect_files(std::slice::from_ref(&a.input))?;
    for s in &skipped {
        bar.println(format!("warning: skipping {} (not a DICOM Part 10 file)", s.display()));
    }
    let paths: Vec<PathBuf> = files.into_iter().map(|f| f.path).collect();
    let volume = assemble_files(&paths, &AssemblyLimits::default()).with_context(|| format!("assembling {}", a.input.display()))?;
    if let Err(why) = engine.accepts(&volume.source.header, &volume.geometry) {
        anyhow::ensure!(a.ignore_selection, "plugin {} does not select this series: {why} (use --ignore-selection to run anyway)", engine.name());
        bar.println(format!("warning: plugin selection would skip this series: {why}"));
    }
    let outcome = engine.segment_with_progress(&volume, &|s| step(s))?;
    step("write");
    let written = write_outputs(&outcome, &volume, &a.out, true, true, &engine.plugin.file.output.seg)?;
    bar.finish_and_clear();
    for (stage, s) in &outcome.timings {
        println!("{stage:<28} {s:>8.2} s");
    }
    let count = |l: u8| outcome.labels.labels.iter().filter(|&&v| v == l).count();
    println!("artery voxels {}, vein voxels {}", count(1), count(2));
    println!("wrote {}", written.seg.display());
    for p in [written.nifti, written.png].into_iter().flatten() {
        println!("wrote {}", p.display());
    }
    Ok(())
}
