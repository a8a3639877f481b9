//! `pavseg prepare`: the training cache of a recipe, prepared in parallel before training.

use crate::train::prepare_all::{prepare_all, CaseOutcome};
use crate::train::TrainConfig;
use std::io::IsTerminal;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Training configuration (TOML), e.g. fixtures/phantom-train.toml: its dataset, its
    /// preprocessing settings and its cache folder (`cache`, else `<out>/cache`).
    #[arg(long)]
    pub config: PathBuf,
    /// Dataset (manifest or nnU-Net/MSD folder) instead of the configuration's.
    #[arg(long)]
    pub dataset: Option<PathBuf>,
    /// Cache folder instead of the configuration's.
    #[arg(long)]
    pub cache: Option<PathBuf>,
    /// Cases prepared at once (each holds one case in memory).
    #[arg(long, default_value_t = 2)]
    pub workers: usize,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let mut cfg = TrainConfig::from_file(&a.config)?;
    if let Some(d) = a.dataset {
        cfg.dataset = d;
    }
    if let Some(c) = a.cache {
        cfg.cache = Some(c);
    }
    let total = crate::train::prepare_all::cases_to_prepare(&cfg)?.len() as u64;
    let bar = if std::io::stderr().is_terminal() {
        indicatif::ProgressBar::new(total).with_style(
            indicatif::ProgressStyle::with_template("preparing [{bar:30}] {pos}/{len} {msg} ({elapsed}, eta {eta})")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
        )
    } else {
        indicatif::ProgressBar::hidden()
    };
    let report = |o: &CaseOutcome| {
        let what = match (&o.error, o.cached) {
            (Some(e), _) => format!("FAILED: {e}"),
            (None, true) => "cached".to_owned(),
            (None, false) => "prepared".to_owned(),
        };
        let line = format!("case {} {what} in {:.2} s", o.id, o.seconds);
        if bar.is_hidden() {
            println!("{line}");
        } else {
            bar.println(line);
        }
        bar.inc(1);
    };
    let s = prepare_all(&cfg, a.workers, &report)?;
    bar.finish_and_clear();
    println!(
        "RESULT prepare cases={} prepared={} cached={} failed={} seconds={:.2} cache_bytes={} workers={} cache={}",
        s.outcomes.len(),
        s.prepared(),
        s.cached(),
        s.failed().len(),
        s.seconds,
        s.cache_bytes,
        a.workers,
        cfg.cache_dir().display()
    );
    let failed = s.failed();
    if !failed.is_empty() {
        anyhow::bail!("{} of {} cases could not be prepared (see above); the others are in the cache", failed.len(), s.outcomes.len());
    }
    Ok(())
}
