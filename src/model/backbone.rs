//! The Universal Model's 3-D U-Net: four encoder levels, three decoder levels.
//!
//! Widths for base width b (b = 32 in the paper): encoder in->b->2b | 2b->2b->4b (1/2) |
//! 4b->4b->8b (1/4) | 8b->8b->16b (1/8, the deepest features); decoder: transposed conv k2 s2,
//! concatenation with the skip, two conv blocks: 16b+8b->8b->8b | 8b+4b->4b->4b | 4b+2b->2b->2b.

use super::config::NetConfig;
use super::conv_block::DoubleConv;
use super::layers::{prefers_channels_last, to_channels_last, UpConv3d};
use tch::nn::Path;
use tch::{TchError, Tensor};

/// Parameters `enc.{0..3}.{0,1}.*`, `up.{0..2}.*`, `dec.{0..2}.{0,1}.*` (under `backbone.`).
#[derive(Debug)]
pub struct UNet3d {
    enc: Vec<DoubleConv>,
    up: Vec<UpConv3d>,
    dec: Vec<DoubleConv>,
    /// Feed the input channels-last (the conv weights are, see `layers::prefers_channels_last`).
    channels_last: bool,
}

/// Output of the backbone: the deepest features (16b channels, 1/8 resolution) for the image
/// adapter and the decoder's full-resolution features (2b channels) for the heads.
pub struct Features {
    pub deep: Tensor,
    pub decoded: Tensor,
}

impl UNet3d {
    pub fn new(p: &Path, cfg: &NetConfig) -> Result<Self, TchError> {
        let b = cfg.base_width;
        let n = cfg.norm;
        let enc_p = p / "enc";
        let enc = vec![
            DoubleConv::new(&(&enc_p / "0"), cfg.in_channels, b, 2 * b, n)?,
            DoubleConv::new(&(&enc_p / "1"), 2 * b, 2 * b, 4 * b, n)?,
            DoubleConv::new(&(&enc_p / "2"), 4 * b, 4 * b, 8 * b, n)?,
            DoubleConv::new(&(&enc_p / "3"), 8 * b, 8 * b, 16 * b, n)?,
        ];
        let up_p = p / "up";
        let up = [16 * b, 8 * b, 4 * b]
            .iter()
            .enumerate()
            .map(|(i, &c)| UpConv3d::new(&(&up_p / i), c, c))
            .collect::<Result<Vec<_>, _>>()?;
        let dec_p = p / "dec";
        let dec = vec![
            DoubleConv::new(&(&dec_p / "0"), 16 * b + 8 * b, 8 * b, 8 * b, n)?,
            DoubleConv::new(&(&dec_p / "1"), 8 * b + 4 * b, 4 * b, 4 * b, n)?,
            DoubleConv::new(&(&dec_p / "2"), 4 * b + 2 * b, 2 * b, 2 * b, n)?,
        ];
        Ok(UNet3d { enc, up, dec, channels_last: prefers_channels_last(p.device()) })
    }

    /// `x`: `[B, in, D, H, W]` with D, H, W multiples of 8 (checked by the caller).
    pub fn forward(&self, x: &Tensor, train: bool) -> Result<Features, TchError> {
        let mut skips = Vec::with_capacity(3);
        let mut h = if self.channels_last { self.enc[0].forward(&to_channels_last(x)?, train)? } else { self.enc[0].forward(x, train)? };
        for stage in &self.enc[1..] {
            let pooled = h.f_max_pool3d([2, 2, 2], [2, 2, 2], [0, 0, 0], [1, 1, 1], false)?;
            skips.push(h);
            h = stage.forward(&pooled, train)?;
        }
        let deep = h;
        let mut h = deep.shallow_clone();
        for ((up, dec), skip) in self.up.iter().zip(&self.dec).zip(skips.iter().rev()) {
            let joined = Tensor::f_cat(&[&up.forward(&h)?, skip], 1)?;
            h = dec.forward(&joined, train)?;
        }
        Ok(Features { deep, decoded: h })
    }
}
