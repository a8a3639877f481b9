//! Inference: model input `[C, k, j, i]` -> [`Probabilities`] (sliding window over the network)
//! -> [`LabelMap`].

pub mod cuda_backend;
mod device;
pub(crate) mod labels;
mod predictor;
mod sliding;
mod types;
pub mod windows;

pub use device::DeviceChoice;
pub use labels::label_map;
pub use predictor::{array2_to_tensor, tensor_to_array4, InferSettings, Predictor};
pub use sliding::SlidingWindow;
pub use types::{LabelMap, Probabilities};

#[derive(Debug, thiserror::Error)]
pub enum InferError {
    #[error("device `{0}` is not one of auto, cpu, cuda, cuda:N")]
    DeviceSpec(String),
    #[error("device cuda:{index} was asked for, but libtorch sees {count} CUDA device(s)")]
    CudaUnavailable { index: usize, count: usize },
    #[error("invalid inference settings: {0}")]
    Settings(String),
    #[error("model input has shape {found:?}, expected {expected}")]
    InputShape { expected: String, found: Vec<usize> },
    #[error("{names} class names or labels given for a network with {model} classes")]
    ClassCount { names: usize, model: usize },
    #[error("running the batch of windows from window {first} (start {start:?}): {source}")]
    Window { first: usize, start: [usize; 3], source: crate::model::ModelError },
    #[error("{action}: {source}")]
    Tensor { action: &'static str, source: tch::TchError },
    #[error("prompt embeddings {} were not made for the classes and prompts of plugin {} (rerun pavseg embed)", path.display(), plugin.display())]
    StaleEmbeddings { path: std::path::PathBuf, plugin: std::path::PathBuf },
    #[error(transparent)]
    Model(#[from] crate::model::ModelError),
    #[error(transparent)]
    Embeddings(#[from] crate::text::TextError),
}
