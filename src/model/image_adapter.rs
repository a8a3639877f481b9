//! Image adapter: the deepest features pooled to one vector per volume, H_v^a (B x D).

use super::config::NetConfig;
use super::layers::{GroupNorm, Linear};
use tch::nn::Path;
use tch::{Kind, TchError, Tensor};

/// GroupNorm, ReLU, global average pool, Linear 16b -> D: parameters `image_adapter.0.*`
/// (GroupNorm) and `image_adapter.4.*` (Linear), the indices of the equivalent `nn.Sequential`
/// (GroupNorm, ReLU, AdaptiveAvgPool3d, Flatten, Linear).
#[derive(Debug)]
pub struct ImageAdapter {
    norm: GroupNorm,
    proj: Linear,
}

impl ImageAdapter {
    pub fn new(p: &Path, cfg: &NetConfig) -> Result<Self, TchError> {
        let c = cfg.deep_channels();
        Ok(ImageAdapter {
            norm: GroupNorm::new(&(p / "0"), cfg.norm_groups, c)?,
            proj: Linear::new(&(p / "4"), c, cfg.text_dim, true)?,
        })
    }

    /// `deep` `[B, 16b, d, h, w]` -> `[B, D]`.
    pub fn forward(&self, deep: &Tensor) -> Result<Tensor, TchError> {
        let pooled = self.norm.forward(deep)?.f_relu_()?.f_mean_dim([2i64, 3, 4].as_slice(), false, Kind::Float)?;
        self.proj.forward(&pooled)
    }
}
