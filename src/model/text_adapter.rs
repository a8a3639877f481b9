//! Text adapters: one bottleneck MLP per class on the frozen prompt embeddings, then
//! self-attention across the K classes with a residual, giving H_t^a (K x D).

use super::attention::MultiheadAttention;
use super::config::NetConfig;
use super::layers::{LayerNorm, Linear};
use tch::nn::Path;
use tch::{TchError, Tensor};

/// One class's adapter: Linear D -> D/r, ReLU, Linear D/r -> D, LayerNorm.
///
/// The paper normalises with batch norm, but each adapter sees a single embedding, so there is
/// no batch to take statistics over; LayerNorm normalises the one vector over its D features
/// (as bench/reference/lacaf_torch.py does). Parameters `down.*`, `up.*`, `norm.*`.
#[derive(Debug)]
struct TextAdapter {
    down: Linear,
    up: Linear,
    norm: LayerNorm,
}

impl TextAdapter {
    fn new(p: &Path, dim: usize, ratio: usize) -> Result<Self, TchError> {
        Ok(TextAdapter {
            down: Linear::new(&(p / "down"), dim, dim / ratio, true)?,
            up: Linear::new(&(p / "up"), dim / ratio, dim, true)?,
            norm: LayerNorm::new(&(p / "norm"), dim, 1e-5)?,
        })
    }

    fn forward(&self, h: &Tensor) -> Result<Tensor, TchError> {
        self.norm.forward(&self.up.forward(&self.down.forward(h)?.f_relu()?)?)
    }
}

/// Parameters `text_adapters.{k}.*` and `text_self_attn.*` (given as two paths).
#[derive(Debug)]
pub struct TextAdapters {
    adapters: Vec<TextAdapter>,
    self_attn: MultiheadAttention,
}

impl TextAdapters {
    pub fn new(adapters: &Path, self_attn: &Path, cfg: &NetConfig) -> Result<Self, TchError> {
        Ok(TextAdapters {
            adapters: (0..cfg.classes)
                .map(|k| TextAdapter::new(&(adapters / k), cfg.text_dim, cfg.adapter_ratio))
                .collect::<Result<_, _>>()?,
            self_attn: MultiheadAttention::new(self_attn, cfg.text_dim, cfg.text_heads)?,
        })
    }

    /// `text` `[K, D]` -> H_t^a `[K, D]`.
    pub fn forward(&self, text: &Tensor) -> Result<Tensor, TchError> {
        let adapted = self
            .adapters
            .iter()
            .enumerate()
            .map(|(k, a)| a.forward(&text.f_get(k as i64)?))
            .collect::<Result<Vec<_>, _>>()?;
        let h = Tensor::f_stack(&adapted, 0)?;
        let attended = self.self_attn.forward(&h.f_unsqueeze(0)?, None)?.f_squeeze_dim(0)?;
        h.f_add(&attended)
    }
}
