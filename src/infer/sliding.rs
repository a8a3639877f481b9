//! Sliding-window inference: overlapping windows, batched, blended with a Gaussian importance
//! map, on the network's device.

use super::windows::{gaussian_importance, grid_starts};
use super::InferError;
use crate::model::{Lacaf, Precision};
use tch::{Device, Kind, TchError, Tensor};

/// How a volume is cut into windows.
#[derive(Debug, Clone, PartialEq)]
pub struct SlidingWindow {
    /// Window `[k, j, i]` in voxels; each side a positive multiple of 8 (the backbone pools 3 times).
    pub window: [usize; 3],
    /// Fraction of a window shared with its neighbour, in [0, 1).
    pub overlap: f64,
    /// Windows per forward pass.
    pub batch: usize,
    /// Gaussian sigma as a fraction of the window side (1/8).
    pub sigma_scale: f64,
    /// Mixed precision (autocast to half) on CUDA; ignored on the CPU.
    pub half: bool,
    /// Forward-pass arithmetic (autocast to bf16 or fp16 on any device); `half` on CUDA
    /// means fp16 whatever this says.
    pub precision: Precision,
    /// Windows in channels-last layout (the network's weights should be too).
    pub channels_last: bool,
    /// Test-time mirroring: each window also runs mirrored along `i` (the patient's left-right
    /// axis on the canonical grid); channel `k` of that output is class `mirror[k]`, and the
    /// two probability maps are averaged.
    pub mirror: Option<Vec<usize>>,
}

impl SlidingWindow {
    pub fn cube(window: usize, overlap: f64, batch: usize, half: bool) -> Self {
        SlidingWindow { window: [window; 3], overlap, batch, sigma_scale: 0.125, half, precision: Precision::Fp32, channels_last: false, mirror: None }
    }

    /// The same windows in `precision` and layout.
    pub fn with_precision(self, precision: Precision, channels_last: bool) -> Self {
        SlidingWindow { precision, channels_last, ..self }
    }

    /// The same windows, each also run mirrored when `mirror` is given.
    pub fn with_mirror(self, mirror: Option<Vec<usize>>) -> Self {
        SlidingWindow { mirror, ..self }
    }

    /// The arithmetic of the forward passes on `device`.
    pub fn effective_precision(&self, device: Device) -> Precision {
        if self.half && device.is_cuda() {
            Precision::Fp16
        } else {
            self.precision
        }
    }

    pub fn validate(&self) -> Result<(), InferError> {
        let bad = |reason: String| Err(InferError::Settings(reason));
        if self.window.iter().any(|&w| w == 0 || w % 8 != 0) {
            return bad(format!("window {:?}: each side must be a positive multiple of 8", self.window));
        }
        if !(0.0..1.0).contains(&self.overlap) {
            return bad(format!("overlap {} must be in [0, 1)", self.overlap));
        }
        if self.batch == 0 {
            return bad("batch must be at least 1".into());
        }
        if !(self.sigma_scale > 0.0) {
            return bad(format!("sigma scale {} must be positive", self.sigma_scale));
        }
        Ok(())
    }

    /// Probabilities `[K, k, j, i]` (f32, on the network's device) for `input` `[C, k, j, i]` (any
    /// device). Sides smaller than the window are zero-padded at their end and cropped again.
    pub fn run(&self, net: &Lacaf, input: &Tensor) -> Result<Tensor, InferError> {
        self.validate()?;
        let _no_grad = tch::no_grad_guard();
        let device = net.device();
        let size = input.size();
        if size.len() != 4 {
            return Err(InferError::InputShape { expected: "[C, k, j, i]".into(), found: size.iter().map(|&d| d as usize).collect() });
        }
        let (c, shape) = (size[0], [size[1], size[2], size[3]]);
        let w = self.window.map(|v| v as i64);
        let padded = [shape[0].max(w[0]), shape[1].max(w[1]), shape[2].max(w[2])];
        let input = if padded != shape {
            let pad = [0, padded[2] - shape[2], 0, padded[1] - shape[1], 0, padded[0] - shape[0]];
            input.f_constant_pad_nd(pad).map_err(tensor("padding the input"))?
        } else {
            input.shallow_clone()
        };
        let classes = net.config().classes as i64;
        let opts = (Kind::Float, device);
        let mut acc = Tensor::f_zeros([classes, padded[0], padded[1], padded[2]], opts).map_err(tensor("allocating the output"))?;
        let weights = Tensor::f_zeros(padded, opts).map_err(tensor("allocating the weight sum"))?;
        let importance = importance_tensor(self.window, self.sigma_scale, device)?;
        let starts = grid_starts(padded.map(|v| v as usize), self.window, self.overlap);
        let mirror = match &self.mirror {
            Some(m) => {
                let index: Vec<i64> = m.iter().map(|&k| k as i64).collect();
                Some(Tensor::f_from_slice(&index).and_then(|t| t.f_to_device(device)).map_err(tensor("building the mirror index"))?)
            }
            None => None,
        };
        let buffer = Tensor::f_empty([self.batch as i64, c, w[0], w[1], w[2]], opts).map_err(tensor("allocating the window batch"))?;
        for (chunk_index, chunk) in starts.chunks(self.batch).enumerate() {
            let batch = buffer.f_narrow(0, 0, chunk.len() as i64).map_err(tensor("slicing the window batch"))?;
            for (b, s) in chunk.iter().enumerate() {
                let src = crop(&input, 1, *s, w).map_err(tensor("cutting a window"))?;
                batch.f_get(b as i64).and_then(|mut dst| dst.f_copy_(&src)).map_err(tensor("copying a window"))?;
            }
            let batch = if self.channels_last { crate::model::channels_last_3d(&batch).map_err(tensor("making windows channels-last"))? } else { batch };
            let precision = self.effective_precision(device);
            let probabilities = |windows: &Tensor| -> Result<Tensor, InferError> {
                let logits = precision
                    .run(device, || net.forward(windows, false))
                    .map_err(|source| InferError::Window { first: chunk_index * self.batch, start: chunk[0], source })?;
                logits.f_to_kind(Kind::Float).and_then(|t| t.f_sigmoid()).map_err(tensor("taking window probabilities"))
            };
            let mut probs = probabilities(&batch)?;
            if let Some(index) = &mirror {
                let mirrored = batch.f_flip([-1i64]).map_err(tensor("mirroring a window"))?;
                let back = probabilities(&mirrored)?
                    .f_flip([-1i64])
                    .and_then(|t| t.f_index_select(1, index))
                    .map_err(tensor("mirroring window probabilities back"))?;
                probs = probs.f_add(&back).and_then(|t| t.f_mul_scalar(0.5)).map_err(tensor("averaging the mirrored window"))?;
            }
            let probs = probs.f_mul(&importance).map_err(tensor("weighting window probabilities"))?;
            for (b, s) in chunk.iter().enumerate() {
                let mut dst = crop(&acc, 1, *s, w).map_err(tensor("slicing the output"))?;
                let _ = probs.f_get(b as i64).and_then(|p| dst.f_add_(&p)).map_err(tensor("accumulating probabilities"))?;
                let mut wdst = crop(&weights, 0, *s, w).map_err(tensor("slicing the weight sum"))?;
                let _ = wdst.f_add_(&importance).map_err(tensor("accumulating weights"))?;
            }
        }
        let _ = acc.f_div_(&weights).map_err(tensor("normalising by the weight sum"))?;
        drop(weights);
        crop(&acc, 1, [0, 0, 0], shape).and_then(|t| t.f_contiguous()).map_err(tensor("cropping the padding"))
    }
}

/// The view `t[.., s0..s0+w0, s1..s1+w1, s2..s2+w2]` with the spatial axes starting at `axis`.
fn crop(t: &Tensor, axis: i64, start: [usize; 3], size: [i64; 3]) -> Result<Tensor, TchError> {
    t.f_narrow(axis, start[0] as i64, size[0])?
        .f_narrow(axis + 1, start[1] as i64, size[1])?
        .f_narrow(axis + 2, start[2] as i64, size[2])
}

fn importance_tensor(window: [usize; 3], sigma_scale: f64, device: Device) -> Result<Tensor, InferError> {
    let map = gaussian_importance(window, sigma_scale);
    let data = map.as_slice().ok_or_else(|| InferError::Settings("importance map is not contiguous".into()))?;
    Tensor::f_from_slice(data)
        .and_then(|t| t.f_reshape(window.map(|v| v as i64)))
        .and_then(|t| t.f_to_device(device))
        .map_err(tensor("building the importance map"))
}

fn tensor(action: &'static str) -> impl Fn(TchError) -> InferError {
    move |source| InferError::Tensor { action, source }
}
