//! The segmentation pipeline a job runs after assembly: select a plugin, preprocess, infer,
//! post-process, and build the DICOM-SEG. The node and `pavseg segment` share it.

pub mod components;
mod engine;
mod outputs;
mod postprocess;
mod refine;

pub use engine::{Engine, Outcome, Timings};
pub use outputs::{write_outputs, OutputError, Written};
pub use postprocess::to_source_labels;
pub use refine::{refine_branches, BranchRefinement};

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Plugin(#[from] crate::plugin::PluginError),
    #[error("preprocessing: {0}")]
    Preprocess(#[from] crate::preprocess::PreprocessError),
    #[error("inference: {0}")]
    Infer(#[from] crate::infer::InferError),
    #[error("post-processing: {0}")]
    Postprocess(String),
    #[error("building the DICOM-SEG: {0}")]
    BuildSeg(#[from] crate::seg::BuildError),
}
