//! `pavseg prepare`: every training and validation case of a recipe prepared into the cache
//! before training, by N workers in parallel. A case whose files and preprocessing settings are
//! unchanged is found in the cache and skipped, so a changed case is the only one prepared
//! again and a killed preparation resumes where it stopped (each cache file appears whole, by
//! rename, or not at all). Each worker holds one case in memory at a time.

use super::dataset::{Case, Dataset, LabeledSide, Split};
use super::prepared::ensure_cached;
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

/// The cases of one split that `pavseg train` uses: the half-label policy `exclude` drops the
/// half-labelled cases of the training split. `pavseg prepare` and `pavseg train` both select
/// through here, so they cannot drift apart.
pub fn split_cases(cfg: &TrainConfig, dataset: &Dataset, split: Split) -> Result<Vec<Case>, TrainError> {
    let mut cases = dataset.split(split, cfg.split_seed, cfg.split_ratios)?;
    if split == Split::Train && cfg.half_labeled == HalfLabelPolicy::Exclude {
        cases.retain(|c| c.labeled_side == LabeledSide::Both);
    }
    for c in &cases {
        c.check_files()?;
    }
    Ok(cases)
}

/// The cases `pavseg train` prepares: its training and then its validation split.
pub fn cases_to_prepare(cfg: &TrainConfig) -> Result<Vec<Case>, TrainError> {
    let dataset = Dataset::open(&cfg.dataset)?;
    let mut cases = split_cases(cfg, &dataset, Split::Train)?;
    cases.extend(split_cases(cfg, &dataset, Split::Val)?);
    Ok(cases)
}

/// Prepares every case of `cfg` into its cache with `workers` threads; `on_done` is called
/// after each case (for a progress bar). A case that fails does not stop the others.
pub fn prepare_all(cfg: &TrainConfig, workers: usize, on_done: &(dyn Fn(&CaseOutcome) + Sync)) -> Result<PrepareSummary, TrainError> {
    let cases = cases_to_prepare(cfg)?;
    prepare_cases(&cases, cfg, workers, on_done)
}

/// Prepares `cases` into the cache of `cfg` with `workers` threads.
pub fn prepare_cases(cases: &[Case], cfg: &TrainConfig, workers: usize, on_done: &(dyn Fn(&CaseOutcome) + Sync)) -> Result<PrepareSummary, TrainError> {
    let t0 = Instant::now();
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
                let (cached, error) = match ensure_cached(case, &cfg.preprocess, &cache) {
                    Ok(cached) => (cached, None),
                    Err(e) => (false, Some(e.to_string())),
                };
                let outcome = CaseOutcome { id: case.id.clone(), cached, seconds: t.elapsed().as_secs_f64(), error };
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
