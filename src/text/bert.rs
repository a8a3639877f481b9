//! A BERT encoder (as MiniLM-L6 uses it), parameter names as in Hugging Face's `BertModel`
//! checkpoints without the `bert.` prefix.

use crate::model::{LayerNorm, Linear};
use serde::Deserialize;
use tch::nn::Path;
use tch::{Kind, TchError, Tensor};

/// The fields of a Hugging Face `config.json` that the encoder needs (others are ignored: the
/// file is not ours).
#[derive(Debug, Clone, Deserialize)]
pub struct BertConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    pub max_position_embeddings: usize,
    pub type_vocab_size: usize,
    pub layer_norm_eps: f64,
    pub hidden_act: String,
}

/// `encoder.layer.{i}`: self-attention, its output projection, the feed-forward block.
#[derive(Debug)]
struct BertLayer {
    query: Linear,
    key: Linear,
    value: Linear,
    attn_out: Linear,
    attn_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    out_norm: LayerNorm,
    heads: i64,
}

impl BertLayer {
    fn new(p: &Path, cfg: &BertConfig) -> Result<Self, TchError> {
        let h = cfg.hidden_size;
        let att = p / "attention";
        let sa = &att / "self";
        Ok(BertLayer {
            query: Linear::new(&(&sa / "query"), h, h, true)?,
            key: Linear::new(&(&sa / "key"), h, h, true)?,
            value: Linear::new(&(&sa / "value"), h, h, true)?,
            attn_out: Linear::new(&(&att / "output" / "dense"), h, h, true)?,
            attn_norm: LayerNorm::new(&(&att / "output" / "LayerNorm"), h, cfg.layer_norm_eps)?,
            intermediate: Linear::new(&(p / "intermediate" / "dense"), h, cfg.intermediate_size, true)?,
            output: Linear::new(&(p / "output" / "dense"), cfg.intermediate_size, h, true)?,
            out_norm: LayerNorm::new(&(p / "output" / "LayerNorm"), h, cfg.layer_norm_eps)?,
            heads: cfg.num_attention_heads as i64,
        })
    }

    /// `x` `[B, L, H]`, `bias` `[B, 1, 1, L]` additive attention mask.
    fn forward(&self, x: &Tensor, bias: &Tensor) -> Result<Tensor, TchError> {
        let (b, l, h) = x.size3()?;
        let hd = h / self.heads;
        let split = |t: Tensor| t.f_reshape([b, l, self.heads, hd])?.f_transpose(1, 2);
        let q = split(self.query.forward(x)?)?;
        let k = split(self.key.forward(x)?)?;
        let v = split(self.value.forward(x)?)?;
        let logits = q.f_matmul(&k.f_transpose(-2, -1)?)?.f_mul_scalar(1.0 / (hd as f64).sqrt())?.f_add(bias)?;
        let ctx = logits.f_softmax(-1, Kind::Float)?.f_matmul(&v)?.f_transpose(1, 2)?.f_reshape([b, l, h])?;
        let x = self.attn_norm.forward(&self.attn_out.forward(&ctx)?.f_add(x)?)?;
        let ff = self.output.forward(&self.intermediate.forward(&x)?.f_gelu("none")?)?;
        self.out_norm.forward(&ff.f_add(&x)?)
    }
}

/// Embeddings, embedding LayerNorm and the encoder layers (no pooler: sentence embeddings pool
/// the token states themselves).
#[derive(Debug)]
pub struct Bert {
    word: Tensor,
    position: Tensor,
    token_type: Tensor,
    norm: LayerNorm,
    layers: Vec<BertLayer>,
}

impl Bert {
    pub fn new(p: &Path, cfg: &BertConfig) -> Result<Self, TchError> {
        let e = p / "embeddings";
        let h = cfg.hidden_size as i64;
        let init = tch::nn::Init::Randn { mean: 0.0, stdev: 0.02 };
        Ok(Bert {
            word: (&e / "word_embeddings").f_var("weight", &[cfg.vocab_size as i64, h], init)?,
            position: (&e / "position_embeddings").f_var("weight", &[cfg.max_position_embeddings as i64, h], init)?,
            token_type: (&e / "token_type_embeddings").f_var("weight", &[cfg.type_vocab_size as i64, h], init)?,
            norm: LayerNorm::new(&(&e / "LayerNorm"), cfg.hidden_size, cfg.layer_norm_eps)?,
            layers: (0..cfg.num_hidden_layers)
                .map(|i| BertLayer::new(&(p / "encoder" / "layer" / i), cfg))
                .collect::<Result<_, _>>()?,
        })
    }

    /// Token states `[B, L, H]` for `ids` and `mask` (1 = token, 0 = padding), both `[B, L]` i64.
    pub fn forward(&self, ids: &Tensor, mask: &Tensor) -> Result<Tensor, TchError> {
        let (_, l) = ids.size2()?;
        let positions = Tensor::f_arange(l, (Kind::Int64, ids.device()))?;
        let types = ids.f_zeros_like()?;
        let emb = Tensor::f_embedding(&self.word, ids, -1, false, false)?
            .f_add(&Tensor::f_embedding(&self.position, &positions, -1, false, false)?)?
            .f_add(&Tensor::f_embedding(&self.token_type, &types, -1, false, false)?)?;
        let mut x = self.norm.forward(&emb)?;
        // 0 where attended, a large negative number at padding (as Hugging Face: dtype minimum).
        let bias = mask.f_to_kind(Kind::Float)?.f_neg()?.f_add_scalar(1.0)?.f_mul_scalar(f32::MIN as f64)?.f_unsqueeze(1)?.f_unsqueeze(1)?;
        for layer in &self.layers {
            x = layer.forward(&x, &bias)?;
        }
        Ok(x)
    }
}
