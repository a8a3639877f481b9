//! `pavseg prepare`: every training and validation case of a recipe prepared into the cache
//! before training, by N workers in parallel. A case whose files and preprocessing settings are
//! unchanged is found in the cache and skipped, so a changed case is the only one prepared
//! again and a killed preparation resumes where it stopped (each cache file appears whole, by
//! rename, or not at all). Each worker holds one case in memory at a time.

use super::dataset::{Case, Dataset, Split};
use super::prepared::{cache_path, prepare_case};
use super::{HalfLabelPolicy, TrainConfig, TrainError};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// What became of one case.
#[derive(Debug, Clone)]
pub struct CaseOutcome {
    pub id: String,
    /// Found in the cache (nothing computed).
    pub cached: bool,
    pub seconds: f64,
    /// Why it could not be prepared.
    pub error: Option<String>,
}

#[derive(Debug, Clone)]
pub struct PrepareSummary {
    pub outcomes: Vec<CaseOutcome>,
    pub seconds: f64,
    /// Bytes of the cache folder after preparing.
    pub cache_bytes: u64,
}

impl PrepareSummary {
    pub fn prepared(&self) -> usize {
        self.outcomes.iter().filter(|o| !o.cached && o.error.is_none()).count()
    }
    pub fn cached(&self) -> usize {
        self.outcomes.iter().filter(|o| o.cached).count()
    }
    pub fn failed(&self) -> Vec<&CaseOutcome> {
        self.outcomes.iter().filter(|o| o.error.is_some()).collect()
    }
}

/// The cases `pavseg train` prepares: the training split (without half-labelled cases under
/// `half_labeled = "exclude"`) and the validation split, in dataset order.
pub fn cases_to_prepare(cfg: &TrainConfig) -> Result<Vec<Case>, TrainError> {
    let dataset = Dataset::open(&cfg.dataset)?;
    let mut cases = Vec::new();
    for split in [Split::Train, Split::Val] {
        let mut c = dataset.split(split, cfg.split_seed, cfg.split_ratios)?;
        if split == Split::Train && cfg.half_labeled == HalfLabelPolicy::Exclude {
            c.retain(|c| c.labeled_side == super::dataset::LabeledSide::Both);
        }
        cases.extend(c);
    }
    for c in &cases {
        c.check_files()?;
    }
    Ok(cases)
}

/// Prepares every case of `cfg` into its cache with `workers` threads; `on_done` is called
/// after each case (for a progress bar). A case that fails does not stop the others.
pub fn prepare_all(cfg: &TrainConfig, workers: usize, on_done: &(dyn Fn(&CaseOutcome) + Sync)) -> Result<PrepareSummary, TrainError> {
    let t0 = Instant::now();
    let cases = cases_to_prepare(cfg)?;
    let cache = cfg.cache_dir();
    std::fs::create_dir_all(&cache).map_err(|source| TrainError::WriteFile { path: cache.clone(), source })?;
    let next = AtomicUsize::new(0);
    let outcomes = Mutex::new(vec![None; cases.len()]);
    std::thread::scope(|scope| {
        for _ in 0..workers.clamp(1, cases.len().max(1)) {
            scope.spawn(|| loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                let Some(case) = cases.get(n) else { break };
                let t = Instant::now();
                let cached = cache_path(case, &cfg.preprocess, &cache).is_file();
                let error = prepare_case(case, &cfg.preprocess, Some(&cache)).err().map(|e| e.to_string());
                let outcome = CaseOutcome { id: case.id.clone(), cached: cached && error.is_none(), seconds: t.elapsed().as_secs_f64(), error };
                on_done(&outcome);
                if let Ok(mut o) = outcomes.lock() {
                    o[n] = Some(outcome);
                }
            });
        }
    });
    let outcomes: Vec<CaseOutcome> = outcomes.into_inner().unwrap_or_default().into_iter().flatten().collect();
    let cache_bytes = std::fs::read_dir(&cache)
        .map(|d| d.flatten().filter_map(|e| e.metadata().ok()).filter(|m| m.is_file()).map(|m| m.len()).sum())
        .unwrap_or(0);
    Ok(PrepareSummary { outcomes, seconds: t0.elapsed().as_secs_f64(), cache_bytes })
}
