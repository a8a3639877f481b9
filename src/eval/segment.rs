//! CT on its source grid → label map on the same grid, as the node does it: `prepare` with the
//! plugin's model spacing, the plugin's sliding window, per-class probabilities taken back to
//! the source grid (trilinear), then each voxel labelled with its most probable class's label at
//! or above the threshold.

use super::EvalError;
use crate::geometry::Geometry;
use crate::infer::{label_map, Predictor, Probabilities};
use crate::plugin::Plugin;
use crate::preprocess::{prepare_grid, PreprocessConfig, VesselnessBackend};
use ndarray::{Array3, ArrayView3};
use std::time::{Duration, Instant};

/// A segmentation on the source grid with the time each stage took.
pub struct Segmented {
    /// 0 background, then the plugin's labels (1 artery, 2 vein).
    pub labels: Array3<u8>,
    pub preprocess: Duration,
    pub inference: Duration,
}

/// The preprocessing settings a plugin implies: its model spacing, defaults otherwise.
pub fn preprocess_config(plugin: &Plugin) -> PreprocessConfig {
    PreprocessConfig { target_spacing_mm: Some(plugin.file.model.spacing), ..PreprocessConfig::default() }
}

pub fn segment(predictor: &Predictor, plugin: &Plugin, hu: ArrayView3<'_, f32>, geometry: &Geometry) -> Result<Segmented, EvalError> {
    let t0 = Instant::now();
    let backend = if predictor.device().is_cuda() { VesselnessBackend::Torch(predictor.device()) } else { VesselnessBackend::Cpu };
    let (input, _) = prepare_grid(hu, geometry, &preprocess_config(plugin), backend)?;
    let preprocess = t0.elapsed();
    let t1 = Instant::now();
    let probs = predictor.predict(input.channels.view(), &input.grid)?;
    let on_source = input.to_source.probabilities_to_source(probs.data.view())?;
    let source = Probabilities { data: on_source, grid: geometry.clone(), classes: probs.classes };
    let labels = label_map(&source, &plugin.class_labels(), plugin.file.model.threshold)?.labels;
    Ok(Segmented { labels, preprocess, inference: t1.elapsed() })
}
