//! A case made ready for training: the model input (the same `preprocess::prepare` as the
//! node) and the four-class label map on the model grid, cached on disk between runs.

use super::dataset::{Case, LabeledSide};
use super::sides::{split_sides, Midline};
use super::TrainError;
use crate::geometry::Geometry;
use crate::preprocess::{prepare_grid, PreprocessConfig, VesselnessBackend};
use ndarray::{Array3, Array4};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

/// One case on the model grid.
#[derive(Debug, Clone)]
pub struct PreparedCase {
    pub id: String,
    /// `[C, k, j, i]`: the model input channels.
    pub input: Array4<f32>,
    /// `[k, j, i]`: 0 background, 1 left artery, 2 left vein, 3 right artery, 4 right vein.
    pub labels: Array3<u8>,
    pub labeled_side: LabeledSide,
    pub grid: Geometry,
    pub midline: Midline,
}

/// Cache file name: the case id and a hash of its files (paths, sizes, modification times) and
/// of the preprocessing settings.
fn cache_key(case: &Case, cfg: &PreprocessConfig) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    let mut stamp = |p: &Path| {
        p.hash(&mut h);
        if let Ok(m) = std::fs::metadata(p) {
            m.len().hash(&mut h);
            m.modified().ok().hash(&mut h);
        }
    };
    stamp(case.image.path());
    stamp(&case.labels);
    if let Some(m) = &case.side_mask {
        stamp(m);
    }
    serde_json::to_string(cfg).unwrap_or_default().hash(&mut h);
    case.segment_names.hash(&mut h);
    // Bump when the prepared format or the side split changes.
    "prepared-v1".hash(&mut h);
    let safe: String = case.id.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
    format!("{safe}-{:016x}.safetensors", h.finish())
}

/// Where `case` is (or will be) cached under `cache`.
pub fn cache_path(case: &Case, cfg: &PreprocessConfig, cache: &Path) -> PathBuf {
    cache.join(cache_key(case, cfg))
}

/// Prepares `case` (reading it from `cache` when there, writing it there otherwise).
pub fn prepare_case(case: &Case, cfg: &PreprocessConfig, cache: Option<&Path>) -> Result<PreparedCase, TrainError> {
    let path = cache.map(|c| c.join(cache_key(case, cfg)));
    if let Some(p) = path.as_ref().filter(|p| p.exists()) {
        match read_cache(p, case) {
            Ok(prepared) => return Ok(prepared),
            Err(e) => tracing::warn!(error = %e, "ignoring unreadable cache file"),
        }
    }
    let loaded = case.load()?;
    let midline = Midline::from_lungs(loaded.hu.view(), &loaded.geometry);
    let (input, _) = prepare_grid(loaded.hu.view(), &loaded.geometry, cfg, VesselnessBackend::Cpu)
        .map_err(|e| TrainError::Prepare { case: case.id.clone(), reason: e.to_string() })?;
    let mapping = &input.to_source;
    let to_model = |a: &Array3<u8>| mapping.labels_to_model(a.view()).map_err(|e| TrainError::Prepare { case: case.id.clone(), reason: e.to_string() });
    let labels = to_model(&loaded.labels)?;
    let side_mask = loaded.side_mask.as_ref().map(to_model).transpose()?;
    let four = split_sides(labels.view(), &input.grid, &midline, side_mask.as_ref().map(|m| m.view()));
    let prepared = PreparedCase { id: case.id.clone(), input: input.channels, labels: four, labeled_side: case.labeled_side, grid: input.grid, midline };
    if let (Some(p), Some(dir)) = (path, cache) {
        std::fs::create_dir_all(dir).map_err(|source| TrainError::WriteFile { path: dir.to_owned(), source })?;
        if let Err(e) = write_cache(&p, &prepared) {
            tracing::warn!(error = %e, "cannot write cache file");
        }
    }
    Ok(prepared)
}

fn write_cache(path: &Path, c: &PreparedCase) -> Result<(), String> {
    let input: Vec<u8> = c.input.iter().flat_map(|v| v.to_le_bytes()).collect();
    let labels: Vec<u8> = c.labels.iter().copied().collect();
    let views = [
        ("input", TensorView::new(Dtype::F32, c.input.shape().to_vec(), &input).map_err(|e| e.to_string())?),
        ("labels", TensorView::new(Dtype::U8, c.labels.shape().to_vec(), &labels).map_err(|e| e.to_string())?),
    ];
    let meta = HashMap::from([
        ("grid".to_owned(), serde_json::to_string(&c.grid).map_err(|e| e.to_string())?),
        ("midline".to_owned(), serde_json::to_string(&c.midline).map_err(|e| e.to_string())?),
    ]);
    let tmp = path.with_extension("tmp");
    safetensors::tensor::serialize_to_file(views, Some(meta), &tmp).map_err(|e| e.to_string())?;
    std::fs::rename(&tmp, path).map_err(|e| e.to_string())
}

fn read_cache(path: &Path, case: &Case) -> Result<PreparedCase, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let st = SafeTensors::deserialize(&bytes).map_err(|e| e.to_string())?;
    let (_, header) = SafeTensors::read_metadata(&bytes).map_err(|e| e.to_string())?;
    let meta = header.metadata().clone().unwrap_or_default();
    let grid: Geometry = serde_json::from_str(meta.get("grid").ok_or("no grid")?).map_err(|e| e.to_string())?;
    let midline: Midline = serde_json::from_str(meta.get("midline").ok_or("no midline")?).map_err(|e| e.to_string())?;
    let i = st.tensor("input").map_err(|e| e.to_string())?;
    let l = st.tensor("labels").map_err(|e| e.to_string())?;
    let values: Vec<f32> = i.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    let s = i.shape();
    let input = Array4::from_shape_vec((s[0], s[1], s[2], s[3]), values).map_err(|e| e.to_string())?;
    let s = l.shape();
    let labels = Array3::from_shape_vec((s[0], s[1], s[2]), l.data().to_vec()).map_err(|e| e.to_string())?;
    Ok(PreparedCase { id: case.id.clone(), input, labels, labeled_side: case.labeled_side, grid, midline })
}

/// The cache folder for a training output folder.
pub fn default_cache(out: &Path) -> PathBuf {
    out.join("cache")
}
