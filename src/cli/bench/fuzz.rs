//! `pavseg bench fuzz` (the driver) and its hidden worker `pavseg bench fuzz-worker`.

use crate::fuzz::{self, driver, targets, worker};
use anyhow::Context;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct FuzzArgs {
    /// Target: dicom-file, dataset, pdu, nifti, seg, config, plugin, or all.
    #[arg(long, default_value = "all")]
    pub target: String,
    /// Executions per target.
    #[arg(long, conflicts_with = "seconds")]
    pub executions: Option<u64>,
    /// Seconds per target.
    #[arg(long)]
    pub seconds: Option<f64>,
    /// Seed of the mutations: a run is reproducible from it.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Where findings are saved (`<out>/<target>/<kind>-<hash>.input` and `.txt`).
    #[arg(long, default_value_os_t = std::env::temp_dir().join("pavseg-fuzz"))]
    pub out: PathBuf,
    /// Seed corpora: `<corpus>/<target>/` and `<corpus>/regressions/<target>/`.
    #[arg(long, default_value_os_t = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/fuzz"))]
    pub corpus: PathBuf,
    /// An input running longer than this is a hang.
    #[arg(long, default_value_t = fuzz::DEFAULT_TIME_LIMIT_MS)]
    pub time_limit_ms: u64,
    /// An input growing the heap by more than this is a finding.
    #[arg(long, default_value_t = fuzz::DEFAULT_ALLOC_LIMIT_MIB)]
    pub alloc_limit_mib: u64,
    /// Run each file once, unmutated, instead of fuzzing: this file, or the files of
    /// `<DIR>/<target>/` (e.g. fixtures/fuzz/regressions).
    #[arg(long, conflicts_with_all = ["executions", "seconds"])]
    pub replay: Option<PathBuf>,
    /// Write the seed corpora into this folder (e.g. fixtures/fuzz) and exit.
    #[arg(long, conflicts_with_all = ["executions", "seconds", "replay"])]
    pub write_seeds: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct FuzzWorkerArgs {
    #[arg(long)]
    pub target: String,
    #[arg(long)]
    pub seed: u64,
    #[arg(long, default_value_t = 0)]
    pub first_execution: u64,
    #[arg(long)]
    pub executions: u64,
    #[arg(long)]
    pub seconds: Option<f64>,
    #[arg(long)]
    pub seed_dir: Vec<PathBuf>,
    #[arg(long)]
    pub replay_file: Vec<PathBuf>,
    #[arg(long)]
    pub exchange: PathBuf,
    #[arg(long)]
    pub run_log: PathBuf,
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long)]
    pub time_limit_ms: u64,
    #[arg(long)]
    pub alloc_limit_bytes: usize,
}

pub fn fuzz(a: FuzzArgs) -> anyhow::Result<()> {
    if let Some(dir) = &a.write_seeds {
        let written = fuzz::seeds::write_seeds(dir).context("writing the seed corpora")?;
        let bytes: u64 = written
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum();
        println!(
            "wrote {} seed files ({} bytes) under {}",
            written.len(),
            bytes,
            dir.display()
        );
        fuzz::scratch::remove(std::process::id());
        return Ok(());
    }
    if a.executions.is_none() && a.seconds.is_none() && a.replay.is_none() {
        anyhow::bail!("give --executions N, --seconds S or --replay PATH");
    }
    let selected = targets::select(&a.target)?;
    let o = driver::Options {
        executions: a.executions,
        seconds: a.seconds,
        seed: a.seed,
        out: a.out.clone(),
        corpus: a.corpus.clone(),
        replay: a.replay.clone(),
        several_targets: selected.len() > 1,
        time_limit_ms: a.time_limit_ms,
        alloc_limit_mib: a.alloc_limit_mib,
        exe: std::env::current_exe().context("locating this program")?,
    };
    let mut total = 0;
    let mut distinct = Vec::new();
    for t in selected {
        let r = driver::run_target(&o, t).with_context(|| format!("fuzzing {}", t.name));
        let r = match r {
            Ok(r) => r,
            Err(e) => {
                fuzz::scratch::remove(std::process::id());
                return Err(e);
            }
        };
        println!("{}", r.result_line(&o));
        if r.gave_up {
            println!("{}: gave up after {} worker restarts", r.target, r.restarts);
        }
        total += r.findings;
        distinct.extend(
            r.distinct
                .iter()
                .map(|id| a.out.join(&r.target).join(format!("{id}.input"))),
        );
    }
    fuzz::scratch::remove(std::process::id());
    if total > 0 {
        for p in &distinct {
            println!("finding: {}", p.display());
        }
        anyhow::bail!(
            "{total} failing executions ({} distinct findings) saved under {}",
            distinct.len(),
            a.out.display()
        );
    }
    Ok(())
}

pub fn worker(a: FuzzWorkerArgs) -> anyhow::Result<()> {
    worker::run(worker::WorkerOptions {
        target: a.target,
        seed_dirs: a.seed_dir,
        replay: a.replay_file,
        seed: a.seed,
        first_execution: a.first_execution,
        executions: a.executions,
        seconds: a.seconds,
        exchange: a.exchange,
        run_log: a.run_log,
        out: a.out,
        time_limit_ms: a.time_limit_ms,
        alloc_limit_bytes: a.alloc_limit_bytes,
    })?;
    Ok(())
}
