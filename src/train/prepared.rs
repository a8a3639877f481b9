//! A case made ready for training: the model input (the same `preprocess::prepare` as the
//! node) and the four-class label map on the model grid, cached on disk between runs.

use super::dataset::{Case, LabeledSide};
use super::sides::{split_sides, Midline};
use super::TrainError;
use crate::geometry::Geometry;
use crate::preprocess::{prepare_grid, PreprocessConfig, VesselnessBackend};
use ndarray::{Array3, Array4};
use super::mapped::{foreground_by_class, MappedCase};
use safetensors::tensor::{Dtype, TensorView};
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
    // Bump when the prepared format, the side split or the resampling changes (v3: the CT is
    // averaged over each model voxel's footprint on a coarser model grid).
    "prepared-v3".hash(&mut h);
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

/// The cache file's bytes: safetensors with the input `[C, K, J, I]` f32, the labels
/// `[K, J, I]` u8 and the flat indices of each class's voxels (u32, class by class), so the
/// sampler finds foreground without scanning the case.
pub(crate) fn encode(c: &PreparedCase) -> Result<Vec<u8>, String> {
    if c.labels.len() > u32::MAX as usize {
        return Err(format!("case {}: {} voxels on the model grid is more than a cache file indexes", c.id, c.labels.len()));
    }
    let input: Vec<u8> = c.input.iter().flat_map(|v| v.to_le_bytes()).collect();
    let labels: Vec<u8> = c.labels.iter().copied().collect();
    let (foreground, counts) = foreground_by_class(&c.labels);
    let fg: Vec<u8> = foreground.iter().flat_map(|v| v.to_le_bytes()).collect();
    let views = [
        ("input", TensorView::new(Dtype::F32, c.input.shape().to_vec(), &input).map_err(|e| e.to_string())?),
        ("labels", TensorView::new(Dtype::U8, c.labels.shape().to_vec(), &labels).map_err(|e| e.to_string())?),
        ("foreground", TensorView::new(Dtype::U32, vec![foreground.len()], &fg).map_err(|e| e.to_string())?),
    ];
    let meta = HashMap::from([
        ("grid".to_owned(), serde_json::to_string(&c.grid).map_err(|e| e.to_string())?),
        ("midline".to_owned(), serde_json::to_string(&c.midline).map_err(|e| e.to_string())?),
        ("class_counts".to_owned(), serde_json::to_string(&counts).map_err(|e| e.to_string())?),
    ]);
    safetensors::tensor::serialize(views, Some(meta)).map_err(|e| e.to_string())
}

fn write_cache(path: &Path, c: &PreparedCase) -> Result<(), String> {
    let bytes = encode(c)?;
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, &bytes).map_err(|e| e.to_string())?;
    std::fs::rename(&tmp, path).map_err(|e| e.to_string())
}

fn read_cache(path: &Path, case: &Case) -> Result<PreparedCase, String> {
    MappedCase::open(path, case).map(|m| m.to_prepared())
}

/// Makes sure `case` is in `cache`; true when it already was (a file that maps, so nothing
/// was computed), false when it was prepared now.
pub fn ensure_cached(case: &Case, cfg: &PreprocessConfig, cache: &Path) -> Result<bool, TrainError> {
    let path = cache_path(case, cfg, cache);
    if path.is_file() {
        match MappedCase::open(&path, case) {
            Ok(_) => return Ok(true),
            Err(e) => tracing::warn!(error = %e, "preparing again: unreadable cache file"),
        }
    }
    prepare_case(case, cfg, Some(cache))?;
    if !path.is_file() {
        return Err(TrainError::WriteFile { path, source: std::io::Error::other("the prepared case could not be cached") });
    }
    Ok(false)
}

/// Maps the cached file of `case` (prepared by [`ensure_cached`]).
pub fn open_cached(case: &Case, cfg: &PreprocessConfig, cache: &Path) -> Result<MappedCase, TrainError> {
    let path = cache_path(case, cfg, cache);
    MappedCase::open(&path, case).map_err(|reason| TrainError::Prepare { case: case.id.clone(), reason })
}

/// The cache folder for a training output folder.
pub fn default_cache(out: &Path) -> PathBuf {
    out.join("cache")
}
