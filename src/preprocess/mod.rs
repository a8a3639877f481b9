//! Preprocessing: Volume → [`ModelInput`], and the way back for the network's outputs.
//!
//! The network takes two channels on one grid, the *model grid*:
//! 1. the CT windowed to the pulmonary-vessel range (default -700..300 HU) scaled to `[0, 1]`;
//! 2. multi-scale Hessian vesselness of that windowed CT ([`vesselness`]), in `[0, 1]`.
//!
//! The model grid is the source grid brought into the **canonical orientation** and, if
//! configured, resampled (trilinear) to a target voxel size. Canonical means array
//! `[k, j, i]` with `i` toward the patient's left, `j` toward posterior and `k` toward superior
//! (orientation code `LPS`, the usual head-first supine axial series), whatever the scanner's
//! ImageOrientationPatient or patient position; see [`orient`]. Reorientation only permutes
//! and reverses axes, so it is exact. [`GridMapping`] takes per-class probabilities
//! (trilinear) and label maps (nearest) from the model grid back to exactly the source grid.
//!
//! The vesselness is computed on the windowed CT, so that bone and air edges outside the
//! window do not dominate its data-derived contrast constant.

mod config;
mod fused;
mod mapping;
pub mod orient;
mod prepare;
pub mod resample;
pub mod vesselness;
mod window;

pub use config::{Downsample, PreprocessConfig};
pub use mapping::GridMapping;
pub use orient::AxisMap;
pub use prepare::{
    prepare, prepare_grid, ModelInput, StageTimings, VesselnessBackend, CHANNEL_CT, CHANNEL_VESSELNESS,
    MAX_MODEL_VOXELS,
};
pub use vesselness::{VesselnessError, VesselnessParams};
pub use window::window_into;

#[derive(Debug, thiserror::Error)]
pub enum PreprocessError {
    #[error("invalid preprocessing setting {key}: {reason}")]
    CheckConfig { key: &'static str, reason: String },
    #[error("cannot map the {what}: its shape {got:?} is not the {grid} grid's {expected:?}")]
    CheckShape { what: &'static str, grid: &'static str, expected: [usize; 3], got: Vec<usize> },
    #[error("model grid of {shape:?} voxels is empty or above the limit of {limit} voxels: check target_spacing_mm")]
    CheckGridSize { shape: [usize; 3], limit: usize },
    #[error("cannot resample between the grids: {reason}")]
    CheckGrids { reason: String },
    #[error("vesselness: {0}")]
    Vesselness(#[from] VesselnessError),
    #[error("vesselness on libtorch: {0}")]
    TorchVesselness(#[from] vesselness::torch::TorchVesselnessError),
}
