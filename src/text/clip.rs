//! CLIP text embeddings: [`ClipTokenizer`] + [`ClipText`] with user-supplied weights.
//!
//! The weights are the text part of a CLIP `state_dict()` saved as safetensors (see
//! `pavseg embed --help` for the one-off export from the public ViT-B/32 checkpoint). Embeddings
//! are `encode_text`'s output, not normalised (as the Universal Model stores them).

use super::clip_text::{ClipText, ClipTextConfig};
use super::clip_tokenizer::ClipTokenizer;
use super::minilm::tensor_to_array2;
use super::TextError;
use crate::weights;
use ndarray::Array2;
use std::path::Path;
use tch::nn::VarStore;
use tch::{Device, Tensor};

/// State-dict entries of a full CLIP text export that the tower does not use.
const UNUSED: &[&str] = &["logit_scale", "logit_bias", "attn_mask"];

pub struct ClipTextEncoder {
    tokenizer: ClipTokenizer,
    tower: ClipText,
    cfg: ClipTextConfig,
    _vs: VarStore,
}

impl ClipTextEncoder {
    pub fn load(weights_path: &Path, vocabulary: &Path, cfg: &ClipTextConfig) -> Result<Self, TextError> {
        let tokenizer = ClipTokenizer::from_file(vocabulary)?;
        let vs = VarStore::new(Device::Cpu);
        let tower = ClipText::new(&vs.root(), cfg).map_err(|source| TextError::Tensor { action: "building the CLIP text tower", source })?;
        weights::load_strict(&vs, weights_path, UNUSED)?;
        Ok(ClipTextEncoder { tokenizer, tower, cfg: cfg.clone(), _vs: vs })
    }

    /// `[N, output_dim]` embeddings of `texts`.
    pub fn embed(&self, texts: &[String]) -> Result<Array2<f32>, TextError> {
        let ctx = self.cfg.context_length;
        let ids: Vec<i64> = texts.iter().flat_map(|t| self.tokenizer.tokenize(t, ctx)).collect();
        let t = |action| move |source| TextError::Tensor { action, source };
        let _no_grad = tch::no_grad_guard();
        let tokens = Tensor::f_from_slice(&ids).and_then(|x| x.f_reshape([texts.len() as i64, ctx as i64])).map_err(t("copying token ids"))?;
        let out = self.tower.forward(&tokens).map_err(t("running the CLIP text tower"))?;
        tensor_to_array2(&out)
    }
}
