//! Probabilities on the model grid → label map on the source grid.
//!
//! Classes that share an output label (left and right artery → 1) are merged by their larger
//! probability on the model grid; only these merged channels are interpolated (trilinear) at
//! each source voxel, and the voxel takes the most probable label at or above the threshold
//! in the same pass (`GridMapping::labels_from_probabilities`), so no source-sized float
//! volume is made. Where the plugin asks for it, the merged channels are first refined to one
//! label per vessel branch ([`super::refine`]). Then specks smaller than `min_component_mm3`
//! are removed.

use super::components::remove_small_components;
use super::refine::refine_branches;
use super::PipelineError;
use crate::infer::{LabelMap, Probabilities};
use crate::plugin::PostprocessSection;
use crate::preprocess::GridMapping;
use ndarray::{Array4, Axis, Zip};

pub fn to_source_labels(
    probs: &Probabilities,
    mapping: &GridMapping,
    class_labels: &[u8],
    threshold: f32,
    post: &PostprocessSection,
) -> Result<LabelMap, PipelineError> {
    let k = probs.data.len_of(Axis(0));
    if class_labels.len() != k {
        return Err(PipelineError::Postprocess(format!("{} class labels for {k} probability channels", class_labels.len())));
    }
    let mut outputs: Vec<u8> = class_labels.to_vec();
    outputs.sort_unstable();
    outputs.dedup();
    let (_, nk, nj, ni) = probs.data.dim();
    let mut merged = Array4::<f32>::zeros((outputs.len(), nk, nj, ni));
    for (c, &label) in class_labels.iter().enumerate() {
        let slot = outputs.iter().position(|&l| l == label).unwrap_or(0);
        let mut dst = merged.index_axis_mut(Axis(0), slot);
        Zip::from(&mut dst).and(&probs.data.index_axis(Axis(0), c)).par_for_each(|d, &p| *d = d.max(p));
    }
    if post.refine_branches {
        let t = std::time::Instant::now();
        let (refined, stats) = refine_branches(merged.view(), threshold);
        merged = refined;
        tracing::info!(seconds = t.elapsed().as_secs_f64(), branches = stats.branches, junctions = stats.junctions, relabelled = stats.relabelled, "branches refined");
    }
    let on_source = mapping.labels_from_probabilities(merged.view(), &outputs, threshold).map_err(|e| PipelineError::Postprocess(e.to_string()))?;
    drop(merged);
    let mut labels = LabelMap { labels: on_source, geometry: mapping.source.clone() };
    let voxel_mm3 = mapping.source.spacing.iter().product::<f64>();
    let removed = remove_small_components(&mut labels.labels, voxel_mm3, post.min_component_mm3);
    tracing::debug!(removed, min_component_mm3 = post.min_component_mm3, "small components removed");
    Ok(labels)
}
