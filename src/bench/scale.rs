//! Training at clinical scale on this machine: N phantoms the size of a chest CT, prepared into
//! the cache by parallel workers and then trained on for a few steps with each recipe, with the
//! figures a site needs to size its hardware: preparation time per case, cache size, steps per
//! second, the fraction of step time the training loop waited for batches, and peak memory.

use super::memory::{own_peak_rss_kib, reset_own_peak_rss};
use crate::phantom::PhantomParams;
use crate::train::dataset::{LabeledSide, Split};
use crate::train::phantoms::{make_phantom_dataset, PhantomCase};
use crate::train::prepare_all::prepare_all;
use crate::train::{train, RunOptions, TrainConfig, TrainError};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// One recipe's run.
#[derive(Debug, Clone)]
pub struct RecipeRun {
    pub name: String,
    pub recipe: PathBuf,
    pub steps: usize,
    pub batch: usize,
    /// Loader threads (0: batches built on the training thread).
    pub loader_workers: usize,
}

#[derive(Debug, Clone)]
pub struct Options {
    pub cases: usize,
    pub params: PhantomParams,
    pub work: PathBuf,
    pub prepare_workers: usize,
    pub threads: usize,
    pub runs: Vec<RecipeRun>,
    pub device: crate::infer::DeviceChoice,
    pub precision: crate::model::Precision,
    pub channels_last: bool,
}

#[derive(Debug, Clone)]
pub struct RunResult {
    pub run: RecipeRun,
    /// Cases prepared now (not found in the cache) and their mean wall seconds each.
    pub prepared: usize,
    pub prepare_seconds_per_case: f64,
    pub prepare_wall_seconds: f64,
    pub cache_bytes: u64,
    pub prepare_peak_rss_kib: Option<u64>,
    pub steps_per_second: f64,
    pub data_wait: f64,
    pub train_peak_rss_kib: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct Report {
    pub dataset_seconds: f64,
    pub dataset_bytes: u64,
    pub results: Vec<RunResult>,
}

fn folder_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => folder_bytes(&e.path()),
            Ok(_) => e.metadata().map(|m| m.len()).unwrap_or(0),
            Err(_) => 0,
        })
        .sum()
}

/// The phantom dataset (written once, found again by its folder name).
fn dataset(o: &Options) -> Result<PathBuf, TrainError> {
    let p = &o.params;
    let dir = o.work.join(format!("dataset_{}_{}x{}x{}_{}_{}_{}", o.cases, p.cols, p.rows, p.slices, p.pixel_spacing, p.slice_spacing, p.family.name));
    let manifest = dir.join("manifest.toml");
    if !manifest.is_file() {
        // Every case trains: the benchmark measures steps, not validation.
        let cases: Vec<PhantomCase> = (1..=o.cases as u64).map(|seed| PhantomCase { seed, split: Split::Train, labeled_side: LabeledSide::Both }).collect();
        make_phantom_dataset(&dir, &cases, p)?;
    }
    Ok(manifest)
}

pub fn run(o: &Options) -> Result<Report, TrainError> {
    let t0 = Instant::now();
    let manifest = dataset(o)?;
    let dataset_seconds = t0.elapsed().as_secs_f64();
    let dataset_bytes = folder_bytes(manifest.parent().unwrap_or(Path::new(".")));
    let mut results = Vec::new();
    for r in &o.runs {
        let mut cfg = TrainConfig::from_file(&r.recipe)?;
        let tag = format!("{}_{}", r.name, r.loader_workers);
        cfg.dataset = manifest.clone();
        cfg.out = o.work.join(format!("run_{tag}"));
        // One cache per recipe name: runs of one recipe with other loader settings share it.
        cfg.cache = Some(o.work.join(format!("cache_{}", r.name)));
        cfg.device = o.device;
        cfg.threads = o.threads;
        cfg.epochs = 1;
        cfg.steps_per_epoch = r.steps;
        cfg.batch = r.batch;
        cfg.val_every = 1;
        cfg.loader.workers = r.loader_workers;
        cfg.loader.prepare_workers = o.prepare_workers;
        // The command's device and arithmetic for every recipe, so the rows compare.
        cfg.precision = o.precision;
        cfg.channels_last = o.channels_last;
        let _ = std::fs::remove_dir_all(&cfg.out);
        reset_own_peak_rss();
        let p0 = Instant::now();
        let prep = prepare_all(&cfg, o.prepare_workers, &|c| {
            tracing::info!(case = %c.id, cached = c.cached, seconds = c.seconds, "prepared");
        })?;
        if let Some(f) = prep.failed().first() {
            return Err(TrainError::Prepare { case: f.id.clone(), reason: f.error.clone().unwrap_or_default() });
        }
        let prepare_wall_seconds = p0.elapsed().as_secs_f64();
        let fresh: Vec<f64> = prep.outcomes.iter().filter(|c| !c.cached).map(|c| c.seconds).collect();
        let prepare_seconds_per_case = if fresh.is_empty() { f64::NAN } else { fresh.iter().sum::<f64>() / fresh.len() as f64 };
        let prepare_peak_rss_kib = own_peak_rss_kib();
        reset_own_peak_rss();
        let opts = RunOptions { resume: false, command: format!("pavseg bench scale ({})", r.name), progress: false, stop_after_epoch: None };
        let summary = train(&cfg, &opts)?;
        let epoch = summary.history.first().ok_or_else(|| TrainError::Step { step: 0, batch: r.batch, patch: cfg.sampling.patch, reason: "no epoch recorded".into() })?;
        results.push(RunResult {
            run: r.clone(),
            prepared: fresh.len(),
            prepare_seconds_per_case,
            prepare_wall_seconds,
            cache_bytes: prep.cache_bytes,
            prepare_peak_rss_kib,
            steps_per_second: r.steps as f64 / epoch.seconds,
            data_wait: epoch.data_wait.unwrap_or(f64::NAN),
            train_peak_rss_kib: own_peak_rss_kib(),
        });
    }
    Ok(Report { dataset_seconds, dataset_bytes, results })
}
