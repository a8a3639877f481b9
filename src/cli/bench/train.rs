//! `pavseg bench train`.

use super::default_anchors;
use super::infer::NormArg;
use crate::bench;
use crate::model::{Fusion, NetConfig, Norm};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    /// Folder with the reference scripts (lacaf_torch.py).
    #[arg(long, default_value_os_t = default_anchors())]
    pub anchors: PathBuf,
    /// Python with torch; default: $VIRTUAL_ENV/bin/python, else python3.
    #[arg(long)]
    pub python: Option<PathBuf>,
    /// Network base width (32 = the paper's network).
    #[arg(long, default_value_t = 32)]
    pub base: usize,
    #[arg(long, value_enum, default_value = "instance")]
    pub norm: NormArg,
    #[arg(long, default_value_t = 384)]
    pub text_dim: usize,
    /// Patch side in voxels.
    #[arg(long, default_value_t = 96)]
    pub size: usize,
    #[arg(long, default_value_t = 2)]
    pub batch: usize,
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// Timed steps per round after one warm-up (median reported).
    #[arg(long, default_value_t = 3)]
    pub reps: usize,
    /// Alternate pavseg and the reference this many times.
    #[arg(long, default_value_t = 2)]
    pub rounds: usize,
    #[arg(long)]
    pub no_reference: bool,
}

pub fn train(a: TrainArgs) -> anyhow::Result<()> {
    let python = a.python.clone().unwrap_or_else(|| {
        std::env::var_os("VIRTUAL_ENV").map(|v| PathBuf::from(v).join("bin/python")).filter(|p| p.exists()).unwrap_or_else(|| "python3".into())
    });
    let net = NetConfig {
        base_width: a.base,
        norm: match a.norm {
            NormArg::Instance => Norm::Instance,
            NormArg::Batch => Norm::Batch,
        },
        text_dim: a.text_dim,
        classes: 4,
        fusion: Fusion::CrossAttention,
        // The reference computes H_f = AV without the residual.
        fusion_residual: false,
        ..NetConfig::default()
    };
    let o = bench::train::Options { anchors: a.anchors, python, net, size: a.size, batch: a.batch, threads: a.threads, reps: a.reps, rounds: a.rounds, no_reference: a.no_reference };
    let r = bench::train::run(&o)?;
    println!("parameters {}  batch {}  patch {}^3  threads {}  (CPU)", r.params, o.batch, o.size, o.threads);
    println!("pavseg  {:.3} s per training step (median over {} rounds)", r.ours_step_s, o.rounds);
    if let Some(t) = r.reference_step_s {
        println!("PyTorch eager {:.3} s per step  ratio pavseg/PyTorch {:.3}", t, r.ours_step_s / t);
    }
    Ok(())
}
