//! Options shared by the benchmarks that run the fusion network against the PyTorch
//! reference (`lacaf_torch.py`): which network, which Python, how many threads.

use super::default_reference_dir;
use crate::model::{Fusion, NetConfig, Norm};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct ReferenceNetArgs {
    /// Folder with the reference scripts (lacaf_torch.py).
    #[arg(long, default_value_os_t = default_reference_dir())]
    pub reference: PathBuf,
    /// Python with torch (and monai for `bench infer --whole`); default: $VIRTUAL_ENV/bin/python, else python3.
    #[arg(long)]
    pub python: Option<PathBuf>,
    /// Network base width (32 = the paper's network).
    #[arg(long, default_value_t = 32)]
    pub base: usize,
    #[arg(long, value_enum, default_value = "instance")]
    pub norm: NormArg,
    #[arg(long, default_value_t = 384)]
    pub text_dim: usize,
    /// CPU threads for both (tch::set_num_threads / torch.set_num_threads).
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum NormArg {
    Instance,
    Batch,
}

/// $VIRTUAL_ENV/bin/python where it exists, else python3.
pub fn default_python() -> PathBuf {
    std::env::var_os("VIRTUAL_ENV")
        .map(|v| PathBuf::from(v).join("bin/python"))
        .filter(|p| p.exists())
        .unwrap_or_else(|| "python3".into())
}

impl ReferenceNetArgs {
    /// The Python that runs the reference.
    pub fn python(&self) -> PathBuf {
        self.python.clone().unwrap_or_else(default_python)
    }

    /// The cross-attention network with these widths and `classes` outputs.
    pub fn net(&self, classes: usize) -> NetConfig {
        NetConfig {
            base_width: self.base,
            norm: match self.norm {
                NormArg::Instance => Norm::Instance,
                NormArg::Batch => Norm::Batch,
            },
            text_dim: self.text_dim,
            classes,
            fusion: Fusion::CrossAttention,
            ..NetConfig::default()
        }
    }
}
