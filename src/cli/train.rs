//! `pavseg train`: train the fusion network on a dataset of fully and half-labelled CTs.

use crate::infer::DeviceChoice;
use crate::model::Fusion;
use crate::train::{self, HalfLabelPolicy, RunOptions, TrainConfig};
use std::io::IsTerminal;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Training configuration (TOML), e.g. fixtures/phantom-train.toml.
    #[arg(long)]
    pub config: PathBuf,
    /// Dataset: a manifest (.toml) or a folder with dataset.json (overrides `dataset`).
    #[arg(long)]
    pub dataset: Option<PathBuf>,
    /// Output folder (overrides the configuration's `out`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Continue from `<out>/last` (weights, optimiser moments, step, history).
    #[arg(long)]
    pub resume: bool,
    /// How half-labelled cases enter the loss (overrides `half_labeled`).
    #[arg(long, value_enum)]
    pub half_labeled: Option<HalfLabelPolicy>,
    #[arg(long)]
    pub epochs: Option<usize>,
    #[arg(long)]
    pub steps_per_epoch: Option<usize>,
    #[arg(long)]
    pub seed: Option<u64>,
    /// auto | cpu | cuda | cuda:N
    #[arg(long)]
    pub device: Option<DeviceChoice>,
    #[arg(long)]
    pub threads: Option<usize>,
    /// Initialise the backbone from these weights (safetensors with `backbone.*`).
    #[arg(long)]
    pub init_backbone: Option<PathBuf>,
    /// Initialise the whole network from these weights (a checkpoint of the same network
    /// config): fine-tune trained weights on new data.
    #[arg(long)]
    pub init_weights: Option<PathBuf>,
    /// Stop after this many epochs (checkpointed; continue with --resume).
    #[arg(long)]
    pub stop_after_epoch: Option<usize>,
    /// Fusion of image and text features (overrides `[network] fusion`): the paper's
    /// cross-attention or the Universal Model's concatenation (the paper's Table III).
    #[arg(long, value_enum)]
    pub fusion: Option<FusionChoice>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum FusionChoice {
    CrossAttention,
    Concat,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let mut cfg = TrainConfig::from_file(&a.config)?;
    if let Some(v) = a.dataset {
        cfg.dataset = v;
    }
    if let Some(v) = a.out {
        cfg.out = v;
    }
    if let Some(v) = a.half_labeled {
        cfg.half_labeled = v;
    }
    if let Some(v) = a.epochs {
        cfg.epochs = v;
    }
    if let Some(v) = a.steps_per_epoch {
        cfg.steps_per_epoch = v;
    }
    if let Some(v) = a.seed {
        cfg.seed = v;
    }
    if let Some(v) = a.device {
        cfg.device = v;
    }
    if let Some(v) = a.threads {
        cfg.threads = v;
    }
    if let Some(v) = a.init_backbone {
        cfg.init_backbone = Some(v);
    }
    if let Some(v) = a.init_weights {
        cfg.init_weights = Some(v);
    }
    if let Some(v) = a.fusion {
        cfg.network.fusion = match v {
            FusionChoice::CrossAttention => Fusion::CrossAttention,
            FusionChoice::Concat => Fusion::Concat,
        };
    }
    cfg.validate().map_err(|e| anyhow::anyhow!("{}: {e}", a.config.display()))?;
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let opts = RunOptions { resume: a.resume, command, progress: std::io::stderr().is_terminal(), stop_after_epoch: a.stop_after_epoch };
    let s = train::train(&cfg, &opts)?;
    println!(
        "trained {} steps in {:.0} s; best validation mean DSC {} (epoch {}); checkpoints in {}/best and {}/last",
        s.steps,
        s.seconds,
        s.best_val_dsc.map(|v| format!("{v:.4}")).unwrap_or_else(|| "-".into()),
        s.best_epoch.map(|e| (e + 1).to_string()).unwrap_or_else(|| "-".into()),
        s.out.display(),
        s.out.display()
    );
    Ok(())
}
