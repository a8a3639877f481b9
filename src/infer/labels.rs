//! Probabilities to labels: each class maps to an output label (left and right arteries to 1,
//! veins to 2); a voxel takes the label of its most probable class among those at or above the
//! threshold, or 0.

use super::types::{LabelMap, Probabilities};
use super::InferError;
use ndarray::Array3;
use rayon::prelude::*;

/// Whether probability `p` takes the voxel from the best so far (`best`, starting at the
/// threshold, and its label, 0 for none): at or above the threshold, and strictly above an
/// earlier class's, so ties go to the first class.
#[inline]
pub(crate) fn takes_label(p: f32, best: f32, best_label: u8) -> bool {
    p >= best && (best_label == 0 || p > best)
}

/// `class_labels[c]` is the output label of class `c` (1..=255).
pub fn label_map(probs: &Probabilities, class_labels: &[u8], threshold: f32) -> Result<LabelMap, InferError> {
    let (k, d, h, w) = probs.data.dim();
    if class_labels.len() != k {
        return Err(InferError::ClassCount { names: class_labels.len(), model: k });
    }
    let n = d * h * w;
    let data = probs.data.as_standard_layout();
    let flat = data.as_slice().ok_or_else(|| InferError::Settings("probabilities are not contiguous".into()))?;
    let mut labels = vec![0u8; n];
    const CHUNK: usize = 1 << 16;
    labels.par_chunks_mut(CHUNK).enumerate().for_each(|(chunk, out)| {
        let base = chunk * CHUNK;
        for (offset, label) in out.iter_mut().enumerate() {
            let v = base + offset;
            let mut best = threshold;
            let mut best_label = 0u8;
            for (c, &cl) in class_labels.iter().enumerate() {
                let p = flat[c * n + v];
                if takes_label(p, best, best_label) {
                    best = p;
                    best_label = cl;
                }
            }
            *label = best_label;
        }
    });
    let labels = Array3::from_shape_vec((d, h, w), labels).map_err(|_| InferError::Settings("label shape mismatch".into()))?;
    Ok(LabelMap { labels, geometry: probs.grid.clone() })
}
