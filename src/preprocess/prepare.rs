//! Volume → ModelInput: reorient, resample, window and add the vesselness channel.

use super::config::PreprocessConfig;
use super::mapping::GridMapping;
use super::vesselness;
use super::window::window_into;
use super::PreprocessError;
use crate::geometry::Geometry;
use crate::volume::Volume;
use ndarray::{Array4, ArrayView3, Axis};
use std::time::{Duration, Instant};

/// Largest model grid accepted (a target voxel size far below the source's would otherwise
/// exhaust memory).
pub const MAX_MODEL_VOXELS: usize = 1 << 30;

/// Channel index of the windowed CT in [`ModelInput::channels`].
pub const CHANNEL_CT: usize = 0;
/// Channel index of the vesselness map.
pub const CHANNEL_VESSELNESS: usize = 1;

/// What the network gets: two channels on the model grid and the way back to the source.
#[derive(Debug, Clone)]
pub struct ModelInput {
    /// `[2, k, j, i]`: the windowed CT and its vesselness, both in `[0, 1]`.
    pub channels: Array4<f32>,
    /// The model grid (canonical axis order, target voxel size).
    pub grid: Geometry,
    /// How to put outputs on the model grid back onto the source grid.
    pub to_source: GridMapping,
}

/// Where the vesselness channel is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VesselnessBackend {
    #[default]
    Cpu,
    /// libtorch on this device (the model's), e.g. `tch::Device::Cuda(0)`.
    Torch(tch::Device),
}

/// Wall time of each stage, in order.
pub type StageTimings = Vec<(&'static str, Duration)>;

/// Prepares a volume on the CPU.
pub fn prepare(volume: &Volume, cfg: &PreprocessConfig) -> Result<ModelInput, PreprocessError> {
    prepare_grid(volume.hu.view(), &volume.geometry, cfg, VesselnessBackend::Cpu).map(|(m, _)| m)
}

/// Prepares HU values on `geometry` (a volume or a NIfTI file) and reports stage timings.
pub fn prepare_grid(
    hu: ArrayView3<'_, f32>,
    geometry: &Geometry,
    cfg: &PreprocessConfig,
    backend: VesselnessBackend,
) -> Result<(ModelInput, StageTimings), PreprocessError> {
    cfg.validate()?;
    let mut timings = StageTimings::new();
    let mut clock = Instant::now();
    let mut lap = |name: &'static str, timings: &mut StageTimings| {
        timings.push((name, clock.elapsed()));
        clock = Instant::now();
    };
    let mapping = GridMapping::with_tolerance(geometry, cfg.target_spacing_mm, cfg.spacing_tolerance);
    let voxels = mapping.model.voxel_count();
    if voxels == 0 || voxels > MAX_MODEL_VOXELS {
        return Err(PreprocessError::CheckGridSize { shape: mapping.model.shape, limit: MAX_MODEL_VOXELS });
    }
    let resampled = mapping.image_to_model_with(hu, cfg.downsample)?;
    lap("reorient+resample", &mut timings);
    let [nk, nj, ni] = mapping.model.shape;
    let mut channels = Array4::<f32>::zeros((2, nk, nj, ni));
    window_into(resampled.view(), cfg.window, channels.index_axis_mut(Axis(0), CHANNEL_CT));
    drop(resampled);
    lap("window", &mut timings);
    let ct = channels.index_axis(Axis(0), CHANNEL_CT);
    let params = cfg.vesselness();
    let spacing = mapping.model.spacing;
    let v = match backend {
        VesselnessBackend::Cpu => vesselness::vesselness(ct, spacing, &params)?,
        VesselnessBackend::Torch(device) => vesselness::torch::vesselness_on(ct, spacing, &params, device)?,
    };
    channels.index_axis_mut(Axis(0), CHANNEL_VESSELNESS).assign(&v);
    lap("vesselness", &mut timings);
    Ok((ModelInput { channels, grid: mapping.model.clone(), to_source: mapping }, timings))
}
