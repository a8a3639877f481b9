//! The prompt-embeddings file: K x D frozen text embeddings with the prompts and encoder that
//! made them. `pavseg embed` writes it once per prompt set; the node only reads it (no tch).

use super::TextError;
use ndarray::Array2;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use std::collections::HashMap;
use std::path::Path;

/// Name of the one tensor in the file.
pub const TENSOR: &str = "embeddings";

#[derive(Debug, Clone, PartialEq)]
pub struct PromptEmbeddings {
    /// Encoder that produced them (`minilm` or `clip`), and its weights' provenance.
    pub encoder: String,
    pub encoder_weights: String,
    /// Prompt template with `{class}`.
    pub template: String,
    pub classes: Vec<String>,
    /// The prompts as encoded, one per class.
    pub prompts: Vec<String>,
    /// `[K, D]`.
    pub data: Array2<f32>,
}

impl PromptEmbeddings {
    pub fn write(&self, path: &Path) -> Result<(), TextError> {
        let err = |reason: String| TextError::EmbeddingsFile { path: path.to_owned(), reason };
        let (k, d) = self.data.dim();
        if k != self.classes.len() || k != self.prompts.len() {
            return Err(err(format!("{k} rows for {} classes and {} prompts", self.classes.len(), self.prompts.len())));
        }
        let bytes: Vec<u8> = self.data.iter().flat_map(|v| v.to_le_bytes()).collect();
        let view = TensorView::new(Dtype::F32, vec![k, d], &bytes).map_err(|e| err(e.to_string()))?;
        let json = |v: &Vec<String>| serde_json::to_string(v).unwrap_or_default();
        let metadata = HashMap::from([
            ("format".to_owned(), "pt".to_owned()),
            ("encoder".to_owned(), self.encoder.clone()),
            ("encoder_weights".to_owned(), self.encoder_weights.clone()),
            ("template".to_owned(), self.template.clone()),
            ("classes".to_owned(), json(&self.classes)),
            ("prompts".to_owned(), json(&self.prompts)),
        ]);
        safetensors::tensor::serialize_to_file([(TENSOR, view)], Some(metadata), path).map_err(|e| err(e.to_string()))
    }

    pub fn read(path: &Path) -> Result<Self, TextError> {
        let err = |reason: String| TextError::EmbeddingsFile { path: path.to_owned(), reason };
        let bytes = std::fs::read(path).map_err(|e| err(e.to_string()))?;
        let st = SafeTensors::deserialize(&bytes).map_err(|e| err(e.to_string()))?;
        let view = st.tensor(TENSOR).map_err(|_| err(format!("no tensor `{TENSOR}`")))?;
        if view.dtype() != Dtype::F32 || view.shape().len() != 2 {
            return Err(err(format!("tensor `{TENSOR}` is {:?} {:?}, expected F32 [K, D]", view.dtype(), view.shape())));
        }
        let (k, d) = (view.shape()[0], view.shape()[1]);
        let values: Vec<f32> = view.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        let data = Array2::from_shape_vec((k, d), values).map_err(|e| err(e.to_string()))?;
        let (_, header) = SafeTensors::read_metadata(&bytes).map_err(|e| err(e.to_string()))?;
        let meta = header.metadata().clone().unwrap_or_default();
        let text = |key: &str| meta.get(key).cloned().ok_or_else(|| err(format!("metadata lacks `{key}`")));
        let list = |key: &str| -> Result<Vec<String>, TextError> {
            serde_json::from_str(&text(key)?).map_err(|e| err(format!("metadata `{key}`: {e}")))
        };
        let out = PromptEmbeddings {
            encoder: text("encoder")?,
            encoder_weights: text("encoder_weights")?,
            template: text("template")?,
            classes: list("classes")?,
            prompts: list("prompts")?,
            data,
        };
        if out.classes.len() != k || out.prompts.len() != k {
            return Err(err(format!("{k} rows for {} classes and {} prompts", out.classes.len(), out.prompts.len())));
        }
        Ok(out)
    }
}
