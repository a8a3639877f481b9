//! Primitive layers with PyTorch's parameter names and initialisation, built only from fallible
//! `f_*` ops (tch's own `nn` modules panic on a bad input, which must never reach the node).

use tch::nn::{Init, Path};
use tch::{Device, TchError, Tensor};

/// Whether the 3-D convolutions keep channels-last (NDHWC) strides on `device`. On the CPU,
/// oneDNN runs the network's convolutions 15-30 % faster that way (measured with this network);
/// on CUDA the default layout is kept, as PyTorch does.
pub fn prefers_channels_last(device: Device) -> bool {
    device == Device::Cpu
}

/// `t` (5-D) with channels-last strides; values and shape unchanged.
pub fn to_channels_last(t: &Tensor) -> Result<Tensor, TchError> {
    t.f_permute([0, 2, 3, 4, 1])?.f_contiguous()?.f_permute([0, 4, 1, 2, 3])
}

/// Gives a new 5-D variable channels-last storage (shared with the VarStore's entry).
fn channels_last_var(mut var: Tensor, device: Device) -> Result<Tensor, TchError> {
    if prefers_channels_last(device) {
        let cl = tch::no_grad(|| to_channels_last(&var))?;
        var.f_set_data(&cl)?;
    }
    Ok(var)
}

/// PyTorch's default init for Linear and Conv: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias.
fn uniform_fan_in(fan_in: usize) -> Init {
    let bound = 1.0 / (fan_in.max(1) as f64).sqrt();
    Init::Uniform { lo: -bound, up: bound }
}

/// `nn.Linear`: `weight [out, in]`, `bias [out]`.
#[derive(Debug)]
pub struct Linear {
    pub weight: Tensor,
    pub bias: Option<Tensor>,
}

impl Linear {
    pub fn new(p: &Path, input: usize, output: usize, bias: bool) -> Result<Self, TchError> {
        let init = uniform_fan_in(input);
        let weight = p.f_var("weight", &[output as i64, input as i64], init)?;
        let bias = if bias { Some(p.f_var("bias", &[output as i64], init)?) } else { None };
        Ok(Linear { weight, bias })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor, TchError> {
        x.f_linear(&self.weight, self.bias.as_ref())
    }
}

/// `nn.LayerNorm` over the last dimension: `weight`, `bias`.
#[derive(Debug)]
pub struct LayerNorm {
    weight: Tensor,
    bias: Tensor,
    dim: i64,
    eps: f64,
}

impl LayerNorm {
    pub fn new(p: &Path, dim: usize, eps: f64) -> Result<Self, TchError> {
        Ok(LayerNorm {
            weight: p.f_var("weight", &[dim as i64], Init::Const(1.0))?,
            bias: p.f_var("bias", &[dim as i64], Init::Const(0.0))?,
            dim: dim as i64,
            eps,
        })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor, TchError> {
        x.f_layer_norm([self.dim], Some(&self.weight), Some(&self.bias), self.eps, true)
    }
}

/// `nn.GroupNorm(groups, channels)`: `weight`, `bias`; eps 1e-5 as PyTorch.
#[derive(Debug)]
pub struct GroupNorm {
    weight: Tensor,
    bias: Tensor,
    groups: i64,
}

impl GroupNorm {
    pub fn new(p: &Path, groups: usize, channels: usize) -> Result<Self, TchError> {
        Ok(GroupNorm {
            weight: p.f_var("weight", &[channels as i64], Init::Const(1.0))?,
            bias: p.f_var("bias", &[channels as i64], Init::Const(0.0))?,
            groups: groups as i64,
        })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor, TchError> {
        x.f_group_norm(self.groups, Some(&self.weight), Some(&self.bias), 1e-5, true)
    }
}

/// `nn.Conv3d(in, out, k, padding=k/2)`, stride 1: `weight [out, in, k, k, k]`, `bias [out]`.
#[derive(Debug)]
pub struct Conv3d {
    weight: Tensor,
    bias: Tensor,
    padding: i64,
}

impl Conv3d {
    pub fn new(p: &Path, input: usize, output: usize, kernel: usize) -> Result<Self, TchError> {
        let k = kernel as i64;
        let init = uniform_fan_in(input * kernel.pow(3));
        Ok(Conv3d {
            weight: channels_last_var(p.f_var("weight", &[output as i64, input as i64, k, k, k], init)?, p.device())?,
            bias: p.f_var("bias", &[output as i64], init)?,
            padding: k / 2,
        })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor, TchError> {
        x.f_conv3d(&self.weight, Some(&self.bias), [1, 1, 1], [self.padding; 3], [1, 1, 1], 1)
    }
}

/// `nn.ConvTranspose3d(c_in, c_out, 2, stride=2)`: `weight [in, out, 2, 2, 2]`, `bias [out]`.
#[derive(Debug)]
pub struct UpConv3d {
    weight: Tensor,
    bias: Tensor,
}

impl UpConv3d {
    pub fn new(p: &Path, input: usize, output: usize) -> Result<Self, TchError> {
        // PyTorch computes the transposed conv's fan-in from weight.size(1) * k^3.
        let init = uniform_fan_in(output * 8);
        Ok(UpConv3d {
            weight: channels_last_var(p.f_var("weight", &[input as i64, output as i64, 2, 2, 2], init)?, p.device())?,
            bias: p.f_var("bias", &[output as i64], init)?,
        })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor, TchError> {
        x.f_conv_transpose3d(&self.weight, Some(&self.bias), [2, 2, 2], [0, 0, 0], [0, 0, 0], 1, [1, 1, 1])
    }
}
