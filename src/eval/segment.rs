//! CT on its source grid → label map on the same grid, exactly as the node does it: the
//! plugin's preprocessing (window, vesselness, model spacing), its sliding window, and the
//! node's post-processing (`pipeline::to_source_labels`: classes merged per label, back to the
//! source grid, threshold, small components removed), so `pavseg evaluate` scores what the node
//! would send.

use super::EvalError;
use crate::geometry::Geometry;
use crate::infer::Predictor;
use crate::pipeline::to_source_labels;
use crate::plugin::Plugin;
use crate::preprocess::{prepare_grid, VesselnessBackend};
use ndarray::{Array3, ArrayView3};
use std::time::{Duration, Instant};

/// A segmentation on the source grid with the time each stage took.
pub struct Segmented {
    /// 0 background, then the plugin's labels (1 artery, 2 vein).
    pub labels: Array3<u8>,
    pub preprocess: Duration,
    pub inference: Duration,
}

pub fn segment(predictor: &Predictor, plugin: &Plugin, hu: ArrayView3<'_, f32>, geometry: &Geometry) -> Result<Segmented, EvalError> {
    let t0 = Instant::now();
    let backend = if predictor.device().is_cuda() { VesselnessBackend::Torch(predictor.device()) } else { VesselnessBackend::Cpu };
    let config = plugin.preprocess_config().map_err(|e| EvalError::Plugin(e.to_string()))?;
    let (input, _) = prepare_grid(hu, geometry, &config, backend)?;
    let preprocess = t0.elapsed();
    let t1 = Instant::now();
    let probs = predictor.predict(input.channels.view(), &input.grid)?;
    let m = &plugin.file;
    let labels = to_source_labels(&probs, &input.to_source, &plugin.class_labels(), m.model.threshold, m.postprocess.min_component_mm3)?.labels;
    Ok(Segmented { labels, preprocess, inference: t1.elapsed() })
}
