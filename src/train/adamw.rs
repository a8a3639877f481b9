//! AdamW (decoupled weight decay, PyTorch's `torch.optim.AdamW` update) over the trainable
//! variables of a var store, with its moments readable and writable so that training resumes
//! exactly where it stopped.

use super::TrainError;
use std::collections::BTreeMap;
use tch::nn::VarStore;
use crate::model::channels_last_3d;
use tch::{Kind, Tensor};

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AdamWConfig {
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        AdamWConfig { beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 1e-5 }
    }
}

struct Slot {
    param: Tensor,
    m: Tensor,
    v: Tensor,
}

pub struct AdamW {
    cfg: AdamWConfig,
    /// Trainable variables by state_dict name.
    slots: BTreeMap<String, Slot>,
    /// Updates done so far (PyTorch's `step`, for bias correction).
    pub steps: u64,
}

fn tensor_err(action: &'static str) -> impl Fn(tch::TchError) -> TrainError {
    move |source| TrainError::Tensor { action, source }
}

impl AdamW {
    pub fn new(vs: &VarStore, cfg: AdamWConfig) -> Result<Self, TrainError> {
        let mut slots = BTreeMap::new();
        for (name, param) in vs.variables() {
            if !param.requires_grad() {
                continue;
            }
            let m = param.f_zeros_like().map_err(tensor_err("allocating optimizer moments"))?;
            let v = param.f_zeros_like().map_err(tensor_err("allocating optimizer moments"))?;
            slots.insert(name, Slot { param, m, v });
        }
        Ok(AdamW { cfg, slots, steps: 0 })
    }

    pub fn zero_grad(&mut self) -> Result<(), TrainError> {
        for s in self.slots.values_mut() {
            let mut g = s.param.grad();
            if g.defined() {
                let _ = g.f_zero_().map_err(tensor_err("zeroing gradients"))?;
            }
        }
        Ok(())
    }

    /// Multiplies every gradient by `factor` (undoing a loss scale) and says whether all of
    /// them are finite afterwards.
    pub fn unscale_grads(&mut self, factor: f64) -> Result<bool, TrainError> {
        let _guard = tch::no_grad_guard();
        let e = tensor_err("unscaling gradients");
        let mut sum = 0.0;
        for s in self.slots.values_mut() {
            let mut g = s.param.grad();
            if g.defined() {
                let _ = g.f_mul_scalar_(factor).map_err(&e)?;
                sum += g.f_abs().and_then(|a| a.f_sum(Kind::Double)).and_then(|a| a.f_double_value(&[])).map_err(&e)?;
            }
        }
        Ok(sum.is_finite())
    }

    /// Gives every 5-D parameter (the convolution weights) channels-last strides, the layout
    /// cuDNN's fastest 3-D kernels use; values and names are unchanged.
    pub fn channels_last(&mut self) -> Result<(), TrainError> {
        let _guard = tch::no_grad_guard();
        let e = tensor_err("making weights channels-last");
        for s in self.slots.values_mut() {
            if s.param.dim() == 5 {
                let cl = channels_last_3d(&s.param).map_err(&e)?;
                s.param.f_set_data(&cl).map_err(&e)?;
                let m = channels_last_3d(&s.m).map_err(&e)?;
                let v = channels_last_3d(&s.v).map_err(&e)?;
                s.m = m;
                s.v = v;
            }
        }
        Ok(())
    }

    /// Scales the gradients so that their global L2 norm is at most `max_norm` (as PyTorch's
    /// `clip_grad_norm_`); returns the norm before clipping. One bad batch then cannot throw
    /// the weights far enough to kill the network.
    pub fn clip_grad_norm(&mut self, max_norm: f64) -> Result<f64, TrainError> {
        let _guard = tch::no_grad_guard();
        let e = tensor_err("clipping gradients");
        let mut sum_sq = 0.0;
        for s in self.slots.values() {
            let g = s.param.grad();
            if g.defined() {
                sum_sq += g.f_square().and_then(|q| q.f_sum(Kind::Double)).and_then(|q| q.f_double_value(&[])).map_err(&e)?;
            }
        }
        let norm = sum_sq.sqrt();
        if norm.is_finite() && norm > max_norm {
            let scale = max_norm / (norm + 1e-6);
            for s in self.slots.values_mut() {
                let mut g = s.param.grad();
                if g.defined() {
                    let _ = g.f_mul_scalar_(scale).map_err(&e)?;
                }
            }
        }
        Ok(norm)
    }

    /// One update with learning rate `lr`.
    pub fn step(&mut self, lr: f64) -> Result<(), TrainError> {
        self.steps += 1;
        let c = self.cfg;
        let t = self.steps as i32;
        let bias1 = 1.0 - c.beta1.powi(t);
        let bias2 = 1.0 - c.beta2.powi(t);
        let _guard = tch::no_grad_guard();
        for s in self.slots.values_mut() {
            let g = s.param.grad();
            if !g.defined() {
                continue;
            }
            let e = tensor_err("updating parameters");
            let _ = s.param.f_mul_scalar_(1.0 - lr * c.weight_decay).map_err(&e)?;
            let _ = s.m.f_mul_scalar_(c.beta1).map_err(&e)?;
            let _ = s.m.f_add_(&g.f_mul_scalar(1.0 - c.beta1).map_err(&e)?).map_err(&e)?;
            let _ = s.v.f_mul_scalar_(c.beta2).map_err(&e)?;
            let _ = s.v.f_add_(&g.f_mul(&g).map_err(&e)?.f_mul_scalar(1.0 - c.beta2).map_err(&e)?).map_err(&e)?;
            let denom = s.v.f_sqrt().and_then(|d| d.f_div_scalar(bias2.sqrt())).and_then(|d| d.f_add_scalar(c.eps)).map_err(&e)?;
            let update = s.m.f_div(&denom).and_then(|u| u.f_mul_scalar(lr / bias1)).map_err(&e)?;
            let _ = s.param.f_sub_(&update).map_err(&e)?;
        }
        Ok(())
    }

    /// The moments as named tensors (`<name>.exp_avg`, `<name>.exp_avg_sq`) for a checkpoint.
    pub fn state(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::with_capacity(2 * self.slots.len());
        for (name, s) in &self.slots {
            out.push((format!("{name}.exp_avg"), s.m.shallow_clone()));
            out.push((format!("{name}.exp_avg_sq"), s.v.shallow_clone()));
        }
        out
    }

    /// Restores moments written by [`Self::state`] (every one must be present, with the
    /// variable's shape) and the step count.
    pub fn load_state(&mut self, tensors: &BTreeMap<String, Tensor>, steps: u64) -> Result<(), TrainError> {
        let _guard = tch::no_grad_guard();
        for (name, s) in self.slots.iter_mut() {
            for (suffix, dst) in [("exp_avg", &mut s.m), ("exp_avg_sq", &mut s.v)] {
                let key = format!("{name}.{suffix}");
                let src = tensors.get(&key).ok_or_else(|| TrainError::Resume { reason: format!("optimizer state lacks `{key}`") })?;
                if src.size() != dst.size() {
                    return Err(TrainError::Resume { reason: format!("optimizer tensor `{key}` has shape {:?}, expected {:?}", src.size(), dst.size()) });
                }
                let _ = dst.f_copy_(&src.f_to_kind(Kind::Float).map_err(tensor_err("restoring optimizer state"))?).map_err(tensor_err("restoring optimizer state"))?;
            }
        }
        self.steps = steps;
        Ok(())
    }
}
