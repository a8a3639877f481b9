//! CT on its source grid → label map on the same grid, exactly as the node does it: the
//! plugin's preprocessing (window, vesselness, model spacing), its sliding window, and the
//! node's post-processing (`pipeline::to_source_labels`: classes merged per label, back to the
//! source grid, threshold, small components removed), so `pavseg evaluate` scores what the node
//! would send.

use super::EvalError;
use crate::geometry::Geometry;
use crate::infer::Predictor;
use crate::pipeline::to_source_labels;
use crate::plugin::{Plugin, PostprocessSection};
use crate::preprocess::{prepare_grid, VesselnessBackend};
use ndarray::{Array3, ArrayView3};
use std::time::{Duration, Instant};

/// A segmentation on the source grid with the time each stage took.
pub struct Segmented {
    /// 0 background, then the plugin's labels (1 artery, 2 vein): one label map per
    /// post-processing asked for, from the same network output.
    pub labels: Vec<Array3<u8>>,
    pub preprocess: Duration,
    pub inference: Duration,
    /// Seconds of each post-processing.
    pub postprocess: Vec<Duration>,
}

/// The segmentation with the plugin's post-processing, or with each of `variants` (say, with
/// and without branch refinement) from one network output.
pub fn segment(
    predictor: &Predictor,
    plugin: &Plugin,
    hu: ArrayView3<'_, f32>,
    geometry: &Geometry,
    variants: &[PostprocessSection],
) -> Result<Segmented, EvalError> {
    let t0 = Instant::now();
    let backend = if predictor.device().is_cuda() { VesselnessBackend::Torch(predictor.device()) } else { VesselnessBackend::Cpu };
    let config = plugin.preprocess_config().map_err(|e| EvalError::Plugin(e.to_string()))?;
    let (input, _) = prepare_grid(hu, geometry, &config, backend)?;
    let preprocess = t0.elapsed();
    let t1 = Instant::now();
    let probs = predictor.predict(input.channels.view(), &input.grid)?;
    let inference = t1.elapsed();
    let m = &plugin.file;
    let posts = if variants.is_empty() { std::slice::from_ref(&m.postprocess) } else { variants };
    let (mut labels, mut postprocess) = (Vec::new(), Vec::new());
    for post in posts {
        let t = Instant::now();
        labels.push(to_source_labels(&probs, &input.to_source, &plugin.class_labels(), m.model.threshold, post)?.labels);
        postprocess.push(t.elapsed());
    }
    Ok(Segmented { labels, preprocess, inference, postprocess })
}
