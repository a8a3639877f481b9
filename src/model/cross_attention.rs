//! Cross-attention of the adapted text and image embeddings, giving H_f (B x K x D).

use super::config::NetConfig;
use super::layers::Linear;
use tch::nn::Path;
use tch::{Kind, TchError, Tensor};

/// Q from H_t^a, K from H_t^a + H_v^a, V from H_v^a (repeated K times); one head of width D.
/// Parameters `q.*`, `k.*`, `v.*` (each Linear D -> D, at the network's root).
#[derive(Debug)]
pub struct CrossAttention {
    q: Linear,
    k: Linear,
    v: Linear,
    residual: bool,
}

impl CrossAttention {
    pub fn new(root: &Path, cfg: &NetConfig) -> Result<Self, TchError> {
        let d = cfg.text_dim;
        Ok(CrossAttention {
            q: Linear::new(&(root / "q"), d, d, true)?,
            k: Linear::new(&(root / "k"), d, d, true)?,
            v: Linear::new(&(root / "v"), d, d, true)?,
            residual: cfg.fusion_residual,
        })
    }

    /// `text` H_t^a `[K, D]`, `image` H_v^a `[B, D]` -> H_f `[B, K, D]`.
    pub fn forward(&self, text: &Tensor, image: &Tensor) -> Result<Tensor, TchError> {
        let (k, d) = text.size2()?;
        let b = image.size()[0];
        let ht = text.f_unsqueeze(0)?.f_expand([b, k, d], false)?;
        let hv = image.f_unsqueeze(1)?.f_expand([b, k, d], false)?;
        let q = self.q.forward(&ht)?;
        let keys = self.k.forward(&ht.f_add(&hv)?)?;
        let logits = q.f_matmul(&keys.f_transpose(1, 2)?)?.f_mul_scalar(1.0 / (d as f64).sqrt())?;
        let fused = logits.f_softmax(-1, Kind::Float)?.f_matmul(&self.v.forward(&hv)?)?;
        if self.residual {
            fused.f_add(&ht)
        } else {
            Ok(fused)
        }
    }
}
