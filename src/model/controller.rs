//! Controller: an MLP from each class's fused embedding to its dynamic head's parameters.

use super::config::{Fusion, NetConfig, HEAD_PARAMS};
use super::layers::Linear;
use tch::nn::Path;
use tch::{TchError, Tensor};

/// Linear in -> D, ReLU, Linear D -> 153 (`controller.0.*`, `controller.2.*`); `in` is D after
/// cross-attention and 2D after concatenation.
#[derive(Debug)]
pub struct Controller {
    hidden: Linear,
    out: Linear,
}

impl Controller {
    pub fn new(p: &Path, cfg: &NetConfig) -> Result<Self, TchError> {
        let d = cfg.text_dim;
        let input = match cfg.fusion {
            Fusion::CrossAttention => d,
            Fusion::Concat => 2 * d,
        };
        Ok(Controller { hidden: Linear::new(&(p / "0"), input, d, true)?, out: Linear::new(&(p / "2"), d, HEAD_PARAMS, true)? })
    }

    /// `[B, K, in]` -> `[B, K, 153]`.
    pub fn forward(&self, fused: &Tensor) -> Result<Tensor, TchError> {
        self.out.forward(&self.hidden.forward(fused)?.f_relu()?)
    }
}
