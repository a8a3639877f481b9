//! [`Predictor`]: a loaded network plus its sliding-window settings, turning a model input into
//! per-class probabilities.

use super::device::DeviceChoice;
use super::sliding::SlidingWindow;
use super::types::Probabilities;
use super::InferError;
use crate::geometry::Geometry;
use crate::model::{self, Lacaf, Precision};
use crate::plugin::Plugin;
use crate::text::PromptEmbeddings;
use ndarray::{Array4, ArrayView4};
use std::path::Path;
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

/// Inference settings as the plugin states them.
#[derive(Debug, Clone, PartialEq)]
pub struct InferSettings {
    pub device: DeviceChoice,
    pub window: usize,
    pub overlap: f64,
    pub batch: usize,
    pub half: bool,
    pub precision: Precision,
    pub channels_last: bool,
    /// Test-time mirroring: channel `k` of a left-right mirrored window's output is class
    /// `mirror[k]` (see [`crate::plugin::mirror_partners`]); `None` runs each window once.
    pub mirror: Option<Vec<usize>>,
}

impl Default for InferSettings {
    fn default() -> Self {
        InferSettings { device: DeviceChoice::Auto, window: 96, overlap: 0.5, batch: 1, half: false, precision: Precision::Fp32, channels_last: false, mirror: None }
    }
}

pub struct Predictor {
    net: Lacaf,
    /// Owns the network's variables.
    _vs: VarStore,
    classes: Vec<String>,
    sliding: SlidingWindow,
}

impl Predictor {
    /// Wraps a built network; `classes` names its K output channels.
    pub fn new(vs: VarStore, net: Lacaf, classes: Vec<String>, settings: &InferSettings) -> Result<Self, InferError> {
        if classes.len() != net.config().classes {
            return Err(InferError::ClassCount { names: classes.len(), model: net.config().classes });
        }
        let sliding = SlidingWindow::cube(settings.window, settings.overlap, settings.batch, settings.half)
            .with_precision(settings.precision, settings.channels_last)
            .with_mirror(settings.mirror.clone());
        sliding.validate()?;
        if let Some(m) = &settings.mirror {
            let mut seen = m.clone();
            seen.sort_unstable();
            if seen != (0..classes.len()).collect::<Vec<_>>() {
                return Err(InferError::Settings(format!("mirror {m:?} is not a permutation of the {} classes", classes.len())));
            }
        }
        if settings.channels_last {
            model::weights_channels_last(&vs).map_err(|source| InferError::Tensor { action: "making weights channels-last", source })?;
        }
        if net.device().is_cuda() {
            // Every forward pass has the same shape: let cuDNN pick its fastest algorithms once.
            tch::Cuda::cudnn_set_benchmark(true);
        }
        Ok(Predictor { net, _vs: vs, classes, sliding })
    }

    /// Loads a network (config JSON, safetensors weights) on the configured device.
    pub fn load(
        config: &Path,
        weights: &Path,
        text: &ndarray::Array2<f32>,
        classes: Vec<String>,
        settings: &InferSettings,
    ) -> Result<Self, InferError> {
        let device = settings.device.resolve()?;
        let text = array2_to_tensor(text)?;
        let (vs, net) = model::load(config, weights, &text, device)?;
        Self::new(vs, net, classes, settings)
    }

    /// Loads the plugin's network with its prompt embeddings, checking that the embeddings were
    /// made for the plugin's classes and prompts.
    pub fn from_plugin(plugin: &Plugin) -> Result<Self, InferError> {
        let m = &plugin.file.model;
        let embeddings = PromptEmbeddings::read(&m.embeddings)?;
        if embeddings.classes != plugin.class_names() || embeddings.prompts != plugin.prompts() {
            return Err(InferError::StaleEmbeddings { path: m.embeddings.clone(), plugin: plugin.path.clone() });
        }
        let settings = plugin.infer_settings().map_err(|e| InferError::Settings(e.to_string()))?;
        Self::load(&m.config, &m.weights, &embeddings.data, plugin.class_names(), &settings)
    }

    pub fn device(&self) -> Device {
        self.net.device()
    }

    pub fn network(&self) -> &Lacaf {
        &self.net
    }

    pub fn sliding_window(&self) -> &SlidingWindow {
        &self.sliding
    }

    /// Per-class probabilities for `channels` `[C, k, j, i]` on `grid`.
    pub fn predict(&self, channels: ArrayView4<f32>, grid: &Geometry) -> Result<Probabilities, InferError> {
        let (c, k, j, i) = channels.dim();
        if c != self.net.config().in_channels || [k, j, i] != grid.shape {
            return Err(InferError::InputShape {
                expected: format!("[{}, {}, {}, {}] (channels, then the grid's shape)", self.net.config().in_channels, grid.shape[0], grid.shape[1], grid.shape[2]),
                found: vec![c, k, j, i],
            });
        }
        let standard = channels.as_standard_layout();
        let data = standard.as_slice().ok_or_else(|| InferError::Settings("input is not contiguous".into()))?;
        let input = Tensor::f_from_slice(data)
            .and_then(|t| t.f_reshape([c as i64, k as i64, j as i64, i as i64]))
            .map_err(|source| InferError::Tensor { action: "copying the input", source })?;
        let probs = self.sliding.run(&self.net, &input)?;
        let data = tensor_to_array4(&probs, [self.classes.len(), k, j, i])?;
        Ok(Probabilities { data, grid: grid.clone(), classes: self.classes.clone() })
    }
}

/// A `[K, D]` f32 tensor on the CPU from an ndarray.
pub fn array2_to_tensor(a: &ndarray::Array2<f32>) -> Result<Tensor, InferError> {
    let (r, c) = a.dim();
    let standard = a.as_standard_layout();
    let data = standard.as_slice().ok_or_else(|| InferError::Settings("embeddings are not contiguous".into()))?;
    Tensor::f_from_slice(data)
        .and_then(|t| t.f_reshape([r as i64, c as i64]))
        .map_err(|source| InferError::Tensor { action: "copying the embeddings", source })
}

/// Copies an f32 tensor of `shape` (any device) into an ndarray.
pub fn tensor_to_array4(t: &Tensor, shape: [usize; 4]) -> Result<Array4<f32>, InferError> {
    let err = |source| InferError::Tensor { action: "copying probabilities to the host", source };
    let cpu = t.f_to_device(Device::Cpu).and_then(|t| t.f_to_kind(Kind::Float)).and_then(|t| t.f_contiguous()).map_err(err)?;
    let n = shape.iter().product();
    let mut out = vec![0f32; n];
    cpu.f_copy_data(&mut out, n).map_err(err)?;
    Array4::from_shape_vec(shape, out).map_err(|_| InferError::Settings("probability shape mismatch".into()))
}
