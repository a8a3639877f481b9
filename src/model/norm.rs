//! The backbone's normalisation layer, one of [`Norm`], with PyTorch's names for each.

use super::config::Norm;
use tch::nn::{Init, Path};
use tch::{Kind, TchError, Tensor};

const EPS: f64 = 1e-5;
const MOMENTUM: f64 = 0.1;

#[derive(Debug)]
pub struct Norm3d {
    kind: Norm,
    weight: Tensor,
    bias: Tensor,
    /// `running_mean`, `running_var`, `num_batches_tracked` (batch norms only).
    running: Option<(Tensor, Tensor, Tensor)>,
}

impl Norm3d {
    pub fn new(p: &Path, kind: Norm, channels: usize) -> Result<Self, TchError> {
        let c = channels as i64;
        let weight = p.f_var("weight", &[c], Init::Const(1.0))?;
        let bias = p.f_var("bias", &[c], Init::Const(0.0))?;
        let running = match kind {
            Norm::Instance => None,
            Norm::Batch | Norm::BatchStats => Some((
                p.f_zeros_no_train("running_mean", &[c])?,
                p.f_ones_no_train("running_var", &[c])?,
                p.add("num_batches_tracked", Tensor::f_zeros([], (Kind::Int64, p.device()))?, false),
            )),
        };
        Ok(Norm3d { kind, weight, bias, running })
    }

    /// Normalises `x` `[B, C, D, H, W]`; `train` selects batch statistics (and updates the running
    /// ones) for [`Norm::Batch`].
    pub fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor, TchError> {
        let (w, b) = (Some(&self.weight), Some(&self.bias));
        match (&self.running, self.kind) {
            (Some((mean, var, count)), Norm::Batch | Norm::BatchStats) => {
                if train {
                    let _ = tch::no_grad(|| count.shallow_clone().f_add_scalar_(1))?;
                    x.f_batch_norm(w, b, Some(mean), Some(var), true, MOMENTUM, EPS, true)
                } else if self.kind == Norm::BatchStats {
                    x.f_batch_norm(w, b, None::<&Tensor>, None, true, MOMENTUM, EPS, true)
                } else {
                    x.f_batch_norm(w, b, Some(mean), Some(var), false, MOMENTUM, EPS, true)
                }
            }
            // Instance norm is group norm with one channel per group (statistics per sample and
            // channel over space): the same values, and libtorch's group-norm kernel is about
            // twice as fast on the CPU as instance_norm, which goes through batch_norm.
            _ => x.f_group_norm(self.weight.size()[0], w, b, EPS, true),
        }
    }
}
