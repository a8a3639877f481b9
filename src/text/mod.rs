//! Text encoders for the frozen prompt embeddings H_t: MiniLM (default, offline) and CLIP's text
//! tower, both in tch, and the embeddings file they produce. Used by `pavseg embed` only; the
//! node reads the file ([`PromptEmbeddings`]).

mod bert;
mod clip;
mod clip_text;
mod clip_tokenizer;
pub mod discover;
mod embeddings;
mod minilm;
mod prompts;

pub use bert::{Bert, BertConfig};
pub use clip::ClipTextEncoder;
pub use clip_text::{ClipText, ClipTextConfig};
pub use clip_tokenizer::{find_vocabulary, ClipTokenizer, END_OF_TEXT, START_OF_TEXT, VOCAB_IN_SITE_PACKAGES};
pub use embeddings::{PromptEmbeddings, TENSOR};
pub use minilm::{MiniLm, MODEL_IN_SITE_PACKAGES};
pub use prompts::{prompts, PLACEHOLDER};

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum TextError {
    #[error("prompt template `{0}` has no {{class}} placeholder")]
    Template(String),
    #[error("{what} not found; looked at: {}", searched.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "))]
    NotFound { what: String, searched: Vec<PathBuf> },
    #[error("reading model file {}: {reason}", path.display())]
    ModelFile { path: PathBuf, reason: String },
    #[error("reading CLIP vocabulary {}: {reason}", path.display())]
    Vocabulary { path: PathBuf, reason: String },
    #[error("tokenizing prompts: {0}")]
    Tokenize(String),
    #[error("{action}: {source}")]
    Tensor { action: &'static str, source: tch::TchError },
    #[error("prompt embeddings file {}: {reason}", path.display())]
    EmbeddingsFile { path: PathBuf, reason: String },
    #[error(transparent)]
    Weights(#[from] crate::weights::WeightsError),
}
