//! Pre-classifier and the K dynamic heads: three 1x1x1 convolutions per class whose weights come
//! from the controller, run for all classes and batch items in one grouped pass.

use super::config::{NetConfig, HEAD_CHANNELS};
use super::layers::{Conv3d, GroupNorm};
use tch::nn::Path;
use tch::{TchError, Tensor};

/// GroupNorm, ReLU, 1x1x1 conv 2b -> 8: parameters `precls.0.*` and `precls.2.*`.
#[derive(Debug)]
pub struct DynamicHead {
    norm: GroupNorm,
    conv: Conv3d,
}

impl DynamicHead {
    pub fn new(p: &Path, cfg: &NetConfig) -> Result<Self, TchError> {
        Ok(DynamicHead {
            norm: GroupNorm::new(&(p / "0"), cfg.norm_groups, cfg.decoder_channels())?,
            conv: Conv3d::new(&(p / "2"), cfg.decoder_channels(), HEAD_CHANNELS, 1)?,
        })
    }

    /// `decoded` `[B, 2b, D, H, W]`, `params` `[B, K, 153]` -> logits `[B, K, D, H, W]`.
    ///
    /// Parameter layout per class (as the Universal Model): w1 (64), w2 (64), w3 (8), b1 (8),
    /// b2 (8), b3 (1), each weight row-major `[out, in]`. Batch items and classes become conv
    /// groups. Every class's first layer reads the same 8 channels, so instead of repeating the
    /// features K times the first layer is one conv with K x 8 outputs per batch item.
    pub fn forward(&self, decoded: &Tensor, params: &Tensor) -> Result<Tensor, TchError> {
        let feats = self.conv.forward(&self.norm.forward(decoded)?.f_relu_()?)?;
        let (b, k, _) = params.size3()?;
        let c = HEAD_CHANNELS as i64;
        let size = feats.size();
        let spatial = &size[2..];
        let split = params.f_split_with_sizes([c * c, c * c, c, c, c, 1], 2)?;
        let kernel = |t: &Tensor, out: i64, inp: i64| t.f_reshape([out, inp, 1, 1, 1]);
        let bias = |t: &Tensor| t.f_reshape([-1]);
        let x = feats.f_reshape([1, b * c, spatial[0], spatial[1], spatial[2]])?;
        let one = [1i64, 1, 1];
        let zero = [0i64, 0, 0];
        let x = x.f_conv3d(&kernel(&split[0], b * k * c, c)?, Some(&bias(&split[3])?), one, zero, one, b)?.f_relu_()?;
        let x = x.f_conv3d(&kernel(&split[1], b * k * c, c)?, Some(&bias(&split[4])?), one, zero, one, b * k)?.f_relu_()?;
        let x = x.f_conv3d(&kernel(&split[2], b * k, c)?, Some(&bias(&split[5])?), one, zero, one, b * k)?;
        x.f_reshape([b, k, spatial[0], spatial[1], spatial[2]])
    }
}
