//! The backbone's unit: 3x3x3 conv, normalisation, ReLU (`nn.Sequential(conv, norm, relu)`).

use super::config::Norm;
use super::layers::Conv3d;
use super::norm::Norm3d;
use tch::nn::Path;
use tch::{TchError, Tensor};

/// Parameters `{p}.0.*` (conv) and `{p}.1.*` (norm).
#[derive(Debug)]
pub struct ConvBlock {
    conv: Conv3d,
    norm: Norm3d,
}

impl ConvBlock {
    pub fn new(p: &Path, input: usize, output: usize, norm: Norm) -> Result<Self, TchError> {
        Ok(ConvBlock { conv: Conv3d::new(&(p / "0"), input, output, 3)?, norm: Norm3d::new(&(p / "1"), norm, output)? })
    }

    pub fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor, TchError> {
        // In-place ReLU: the normalised tensor is a fresh temporary, as with PyTorch's inplace=True.
        self.norm.forward(&self.conv.forward(x)?, train)?.f_relu_()
    }
}

/// Two conv blocks in sequence (`{p}.0`, `{p}.1`): one resolution level of the U-Net.
#[derive(Debug)]
pub struct DoubleConv {
    first: ConvBlock,
    second: ConvBlock,
}

impl DoubleConv {
    pub fn new(p: &Path, input: usize, middle: usize, output: usize, norm: Norm) -> Result<Self, TchError> {
        Ok(DoubleConv {
            first: ConvBlock::new(&(p / "0"), input, middle, norm)?,
            second: ConvBlock::new(&(p / "1"), middle, output, norm)?,
        })
    }

    pub fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor, TchError> {
        self.second.forward(&self.first.forward(x, train)?, train)
    }
}
