//! Training on fully and half-labelled CTs: datasets, label augmentation into left/right
//! classes, the masked Dice + BCE loss, patch sampling with augmentation, AdamW with warm-up
//! and cosine decay, validation, checkpoints (each a loadable plugin folder) and resume.

pub mod adamw;
pub mod checkpoint;
pub mod config;
pub mod dataset;
pub mod grad_scaler;
pub mod loader;
pub mod loss;
pub mod mapped;
pub mod nnunet_export;
pub mod phantoms;
pub mod plot;
pub mod prepare_all;
pub mod prepared;
pub mod sampler;
pub mod schedule;
pub mod sides;
pub mod skeleton_target;
mod trainer;
pub mod validate;

pub use config::{HalfLabelPolicy, LoaderConfig, LossConfig, OptimConfig, SamplingConfig, TrainConfig, ValSelect};
pub use trainer::{prepare_split, train, RunOptions, TrainSummary};

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("reading {}: {source}", path.display())]
    ReadFile { path: PathBuf, source: std::io::Error },
    #[error("writing {}: {source}", path.display())]
    WriteFile { path: PathBuf, source: std::io::Error },
    #[error("training configuration {}: {reason}", path.display())]
    Config { path: PathBuf, reason: String },
    #[error("plugin: {reason}")]
    Plugin { reason: String },
    #[error(transparent)]
    Dataset(#[from] dataset::DatasetError),
    #[error("preparing case {case}: {reason}")]
    Prepare { case: String, reason: String },
    #[error("{action}: {source}")]
    Tensor { action: &'static str, source: tch::TchError },
    #[error("training step {step} (batch {batch}, patch {patch:?}): {reason}")]
    Step { step: u64, batch: usize, patch: [usize; 3], reason: String },
    #[error("loading batches: {reason}")]
    Loader { reason: String },
    #[error("validating on case {case}: {reason}")]
    Validate { case: String, reason: String },
    #[error("checkpoint: {reason}")]
    Checkpoint { reason: String },
    #[error("resuming: {reason}")]
    Resume { reason: String },
    #[error("initialising the backbone from {}: {reason}", path.display())]
    InitBackbone { path: PathBuf, reason: String },
    #[error("initialising the network from {}: {reason}", path.display())]
    InitWeights { path: PathBuf, reason: String },
    #[error("making phantom case {case}: {reason}")]
    Phantom { case: String, reason: String },
}
