//! CLIP's text tower (ViT-B/32: 12 layers, width 512, 8 heads, context 77), parameter names as
//! the text part of an open_clip / OpenAI CLIP `state_dict()`.

use crate::model::{LayerNorm, Linear, MultiheadAttention};
use serde::{Deserialize, Serialize};
use tch::nn::{Init, Path};
use tch::{Kind, TchError, Tensor};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClipTextConfig {
    pub context_length: usize,
    pub vocab_size: usize,
    pub width: usize,
    pub heads: usize,
    pub layers: usize,
    /// Width of `text_projection`'s output (the joint embedding).
    pub output_dim: usize,
    /// QuickGELU (x * sigmoid(1.702 x)) as OpenAI's checkpoints were trained with; else exact GELU.
    pub quick_gelu: bool,
}

impl Default for ClipTextConfig {
    fn default() -> Self {
        ClipTextConfig { context_length: 77, vocab_size: 49408, width: 512, heads: 8, layers: 12, output_dim: 512, quick_gelu: true }
    }
}

/// `transformer.resblocks.{i}`: pre-norm attention and MLP, each with a residual.
#[derive(Debug)]
struct ResidualBlock {
    ln_1: LayerNorm,
    attn: MultiheadAttention,
    ln_2: LayerNorm,
    c_fc: Linear,
    c_proj: Linear,
    quick_gelu: bool,
}

impl ResidualBlock {
    fn new(p: &Path, cfg: &ClipTextConfig) -> Result<Self, TchError> {
        let w = cfg.width;
        Ok(ResidualBlock {
            ln_1: LayerNorm::new(&(p / "ln_1"), w, 1e-5)?,
            attn: MultiheadAttention::new(&(p / "attn"), w, cfg.heads)?,
            ln_2: LayerNorm::new(&(p / "ln_2"), w, 1e-5)?,
            c_fc: Linear::new(&(p / "mlp" / "c_fc"), w, 4 * w, true)?,
            c_proj: Linear::new(&(p / "mlp" / "c_proj"), 4 * w, w, true)?,
            quick_gelu: cfg.quick_gelu,
        })
    }

    fn forward(&self, x: &Tensor, mask: &Tensor) -> Result<Tensor, TchError> {
        let x = x.f_add(&self.attn.forward(&self.ln_1.forward(x)?, Some(mask))?)?;
        let h = self.c_fc.forward(&self.ln_2.forward(&x)?)?;
        let h = if self.quick_gelu { h.f_mul(&h.f_mul_scalar(1.702)?.f_sigmoid()?)? } else { h.f_gelu("none")? };
        x.f_add(&self.c_proj.forward(&h)?)
    }
}

/// Token embedding, positional embedding, causal transformer, final LayerNorm, pooling at the
/// end-of-text token (the largest id in each row), projection.
#[derive(Debug)]
pub struct ClipText {
    token_embedding: Tensor,
    positional_embedding: Tensor,
    blocks: Vec<ResidualBlock>,
    ln_final: LayerNorm,
    text_projection: Tensor,
    context: i64,
}

impl ClipText {
    pub fn new(p: &Path, cfg: &ClipTextConfig) -> Result<Self, TchError> {
        let w = cfg.width as i64;
        Ok(ClipText {
            token_embedding: (p / "token_embedding").f_var("weight", &[cfg.vocab_size as i64, w], Init::Randn { mean: 0.0, stdev: 0.02 })?,
            positional_embedding: p.f_var("positional_embedding", &[cfg.context_length as i64, w], Init::Randn { mean: 0.0, stdev: 0.01 })?,
            blocks: (0..cfg.layers)
                .map(|i| ResidualBlock::new(&(p / "transformer" / "resblocks" / i), cfg))
                .collect::<Result<_, _>>()?,
            ln_final: LayerNorm::new(&(p / "ln_final"), cfg.width, 1e-5)?,
            text_projection: p.f_var(
                "text_projection",
                &[w, cfg.output_dim as i64],
                Init::Randn { mean: 0.0, stdev: (cfg.width as f64).powf(-0.5) },
            )?,
            context: cfg.context_length as i64,
        })
    }

    /// `tokens` `[B, context]` i64 (see [`super::ClipTokenizer::tokenize`]) -> `[B, output_dim]`.
    pub fn forward(&self, tokens: &Tensor) -> Result<Tensor, TchError> {
        let (b, l) = tokens.size2()?;
        if l != self.context {
            return Err(TchError::Shape(format!("CLIP tokens have length {l}, the text tower's context is {}", self.context)));
        }
        let device = tokens.device();
        let mut x = Tensor::f_embedding(&self.token_embedding, tokens, -1, false, false)?.f_add(&self.positional_embedding)?;
        let mask = Tensor::f_full([l, l], f64::NEG_INFINITY, (Kind::Float, device))?.f_triu(1)?;
        for block in &self.blocks {
            x = block.forward(&x, &mask)?;
        }
        let x = self.ln_final.forward(&x)?;
        let eot = tokens.f_argmax(-1, false)?;
        let rows = Tensor::f_arange(b, (Kind::Int64, device))?;
        let pooled = x.f_index(&[Some(rows), Some(eot)])?;
        pooled.f_matmul(&self.text_projection)
    }
}
