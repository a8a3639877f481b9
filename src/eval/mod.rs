//! Evaluation: the segmentation path that the node runs (preprocess, sliding-window inference,
//! label map on the source grid) applied to labelled cases, scored with [`crate::metrics`] and
//! reported in the layout of the paper's Table IV.

mod report;
mod segment;

pub use report::{evaluate_labels, CaseReport, ClassSummary, EvaluationReport, LabelScores, Summary};
pub use segment::{segment, Segmented};

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("preprocessing: {0}")]
    Preprocess(#[from] crate::preprocess::PreprocessError),
    #[error("inference: {0}")]
    Infer(#[from] crate::infer::InferError),
    #[error("plugin: {0}")]
    Plugin(String),
    #[error("post-processing: {0}")]
    Postprocess(#[from] crate::pipeline::PipelineError),
    #[error("measuring {what}: {source}")]
    Measure { what: String, source: crate::metrics::MetricsError },
}
