//! `nn.MultiheadAttention` (batch first, self-attention), also used by CLIP's text tower.

use super::layers::Linear;
use tch::nn::{Init, Path};
use tch::{Kind, TchError, Tensor};

/// Parameters `in_proj_weight [3D, D]`, `in_proj_bias [3D]`, `out_proj.weight`, `out_proj.bias`.
#[derive(Debug)]
pub struct MultiheadAttention {
    in_proj_weight: Tensor,
    in_proj_bias: Tensor,
    out_proj: Linear,
    heads: i64,
}

impl MultiheadAttention {
    pub fn new(p: &Path, dim: usize, heads: usize) -> Result<Self, TchError> {
        let d = dim as i64;
        // PyTorch: xavier_uniform_ on the packed projection, zero biases.
        let bound = (6.0 / (d + 3 * d) as f64).sqrt();
        Ok(MultiheadAttention {
            in_proj_weight: p.f_var("in_proj_weight", &[3 * d, d], Init::Uniform { lo: -bound, up: bound })?,
            in_proj_bias: p.f_var("in_proj_bias", &[3 * d], Init::Const(0.0))?,
            out_proj: Linear::new(&(p / "out_proj"), dim, dim, true)?,
            heads: heads as i64,
        })
    }

    /// Self-attention over `x` `[B, L, D]`; `mask` is added to the `[L, L]` attention logits
    /// (`-inf` above the diagonal for a causal mask).
    pub fn forward(&self, x: &Tensor, mask: Option<&Tensor>) -> Result<Tensor, TchError> {
        let (b, l, d) = x.size3()?;
        let hd = d / self.heads;
        let qkv = x.f_linear(&self.in_proj_weight, Some(&self.in_proj_bias))?;
        let heads = |t: &Tensor| t.f_reshape([b, l, self.heads, hd])?.f_transpose(1, 2);
        let parts = qkv.f_chunk(3, -1)?;
        let (q, k, v) = (heads(&parts[0])?, heads(&parts[1])?, heads(&parts[2])?);
        let mut logits = q.f_matmul(&k.f_transpose(-2, -1)?)?.f_mul_scalar(1.0 / (hd as f64).sqrt())?;
        if let Some(m) = mask {
            logits = logits.f_add(m)?;
        }
        let att = logits.f_softmax(-1, Kind::Float)?.f_to_kind(v.kind())?;
        let out = att.f_matmul(&v)?.f_transpose(1, 2)?.f_reshape([b, l, d])?;
        self.out_proj.forward(&out)
    }
}
