//! `pavseg bench scale`.

use super::CtSize;
use crate::bench::scale::{self, RecipeRun};
use crate::phantom::PhantomParams;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct ScaleArgs {
    /// Phantom CTs in the dataset.
    #[arg(long, default_value_t = 24)]
    pub cases: usize,
    #[command(flatten)]
    pub size: CtSize,
    #[arg(long, default_value_t = 0.7)]
    pub pixel_spacing: f64,
    #[arg(long, default_value_t = 1.0)]
    pub slice_spacing: f64,
    /// Phantoms, caches and runs (kept, so a second run skips what is done).
    #[arg(long, default_value = ".work/bench/scale")]
    pub work: PathBuf,
    /// Cases prepared in parallel.
    #[arg(long, default_value_t = 2)]
    pub prepare_workers: usize,
    /// libtorch CPU threads.
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// The demo recipe, timed over --demo-steps with one loader thread and with none.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/phantom-train.toml"))]
    pub demo_recipe: PathBuf,
    #[arg(long, default_value_t = 40)]
    pub demo_steps: usize,
    /// The paper's recipe (base width 32, 96^3), with --paper-batch on the CPU.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/paper-recipe.toml"))]
    pub paper_recipe: PathBuf,
    #[arg(long, default_value_t = 3)]
    pub paper_steps: usize,
    #[arg(long, default_value_t = 2)]
    pub paper_batch: usize,
    /// Device of the training steps (auto | cpu | cuda | cuda:N).
    #[arg(long, default_value = "cpu")]
    pub device: crate::infer::DeviceChoice,
    /// Forward-pass arithmetic of every recipe's steps.
    #[arg(long, value_enum, default_value = "fp32")]
    pub precision: crate::model::Precision,
    /// Channels-last weights and batches.
    #[arg(long)]
    pub channels_last: bool,
    /// Leave the paper's recipe out (its steps take minutes on 2 cores).
    #[arg(long)]
    pub no_paper: bool,
}

pub fn run(a: ScaleArgs) -> anyhow::Result<()> {
    let params = PhantomParams { slices: a.size.slices, rows: a.size.rows, cols: a.size.cols, pixel_spacing: a.pixel_spacing, slice_spacing: a.slice_spacing, ..PhantomParams::default() };
    let demo_batch = crate::train::TrainConfig::from_file(&a.demo_recipe)?.batch;
    let mut runs = vec![
        RecipeRun { name: "demo".into(), recipe: a.demo_recipe.clone(), steps: a.demo_steps, batch: demo_batch, loader_workers: 1 },
        RecipeRun { name: "demo".into(), recipe: a.demo_recipe.clone(), steps: a.demo_steps, batch: demo_batch, loader_workers: 0 },
    ];
    if !a.no_paper {
        runs.push(RecipeRun { name: "paper".into(), recipe: a.paper_recipe.clone(), steps: a.paper_steps, batch: a.paper_batch, loader_workers: 1 });
    }
    let o = scale::Options { cases: a.cases, params, work: a.work.clone(), prepare_workers: a.prepare_workers, threads: a.threads, runs, device: a.device, precision: a.precision, channels_last: a.channels_last };
    let r = scale::run(&o)?;
    let gib = |b: u64| b as f64 / (1u64 << 30) as f64;
    let mib = |k: Option<u64>| k.map(|k| format!("{:.0}", k as f64 / 1024.0)).unwrap_or_else(|| "?".into());
    println!(
        "dataset: {} phantoms of {}x{}x{} at {} x {} x {} mm, {:.2} GiB on disk ({:.0} s to write, 0 when found)",
        a.cases, a.size.cols, a.size.rows, a.size.slices, a.pixel_spacing, a.pixel_spacing, a.slice_spacing, gib(r.dataset_bytes), r.dataset_seconds
    );
    println!("device {:?}, precision {:?}, channels-last {}", a.device, a.precision, a.channels_last);
    println!("| recipe | loader threads | batch | cases prepared now | s per case (prepare, {} workers) | cache GiB | peak RSS prepare MiB | steps/s | data wait | peak RSS train MiB |", a.prepare_workers);
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for x in &r.results {
        println!(
            "| {} | {} | {} | {} | {:.1} | {:.2} | {} | {:.3} | {:.1}% | {} |",
            x.run.name,
            x.run.loader_workers,
            x.run.batch,
            x.prepared,
            x.prepare_seconds_per_case,
            gib(x.cache_bytes),
            mib(x.prepare_peak_rss_kib),
            x.steps_per_second,
            100.0 * x.data_wait,
            mib(x.train_peak_rss_kib)
        );
    }
    for x in &r.results {
        println!(
            "RESULT scale recipe={} loader_workers={} steps_per_s={:.4} data_wait={:.4} prepare_s_per_case={:.2} cache_bytes={} peak_rss_train_kib={}",
            x.run.name,
            x.run.loader_workers,
            x.steps_per_second,
            x.data_wait,
            x.prepare_seconds_per_case,
            x.cache_bytes,
            x.train_peak_rss_kib.unwrap_or(0)
        );
    }
    Ok(())
}
