//! The Universal Model's fusion, kept as a baseline: the image vector concatenated with a ReLU
//! projection of each class's raw text embedding, no adapters and no attention.

use super::config::NetConfig;
use super::layers::Linear;
use tch::nn::Path;
use tch::{TchError, Tensor};

/// Parameters `text_to_vision.*` (Linear D -> D).
#[derive(Debug)]
pub struct ConcatFusion {
    text_to_vision: Linear,
}

impl ConcatFusion {
    pub fn new(root: &Path, cfg: &NetConfig) -> Result<Self, TchError> {
        Ok(ConcatFusion { text_to_vision: Linear::new(&(root / "text_to_vision"), cfg.text_dim, cfg.text_dim, true)? })
    }

    /// `text` `[K, D]` (raw embeddings), `image` `[B, D]` -> `[B, K, 2D]`.
    pub fn forward(&self, text: &Tensor, image: &Tensor) -> Result<Tensor, TchError> {
        let (k, d) = text.size2()?;
        let b = image.size()[0];
        let t = self.text_to_vision.forward(text)?.f_relu()?.f_unsqueeze(0)?.f_expand([b, k, d], false)?;
        let v = image.f_unsqueeze(1)?.f_expand([b, k, d], false)?;
        Tensor::f_cat(&[v, t], 2)
    }
}
