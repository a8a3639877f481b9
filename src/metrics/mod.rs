//! Segmentation metrics per class, in millimetres of the grid they are measured on: Dice (DSC),
//! Jaccard, normalised surface Dice (NSD) at a tolerance, and the 95th-percentile Hausdorff
//! distance (HD95), and the centreline Dice (clDice, [`cldice`]) that weighs thin branches and
//! breaks by their length.
//!
//! Definitions follow MONAI (`DiceMetric`, `compute_surface_dice` without sub-voxels,
//! `compute_hausdorff_distance` with `percentile=95`), checked against it by
//! `tests/metrics_reference.rs` with golden values from `fixtures/metrics/make_golden.py`:
//! - the surface of a mask is its voxels with at least one of the six face neighbours outside
//!   the mask or outside the image;
//! - distances go from each surface voxel centre of one mask to the nearest surface voxel
//!   centre of the other, Euclidean, with the voxel spacing;
//! - NSD = (surface voxels of either mask within `tolerance` of the other's surface) / (all
//!   surface voxels of both);
//! - HD95 = the larger of the two directed 95th percentiles (linear interpolation between
//!   ranks, as `torch.quantile` and `numpy.percentile`).
//!
//! Empty masks (where MONAI gives NaN, pavseg gives a defined value):
//! - both empty: DSC = Jaccard = NSD = 1, HD95 = 0 (nothing to find, nothing found);
//! - one empty: DSC = Jaccard = NSD = 0, HD95 = +infinity (as MONAI; written as `null` in
//!   JSON and `inf` in tables, and left out of means, which then report how many were left out).

mod cldice;
mod components;
mod edges;
mod edt;
mod overlap;
mod padded_grid;
mod skeleton;
mod surface;

pub use cldice::{centerline_dice, centreline, CenterlineDice};
pub use components::for_each_component;
pub use edges::{bounding_box, surface_voxels, BoundingBox};
pub use edt::squared_distance_transform;
pub use overlap::{overlap, Overlap};
pub use padded_grid::PaddedGrid;
pub use skeleton::skeletonize;
pub use surface::{percentile, surface_distances, SurfaceDistances};

use ndarray::{ArrayView3, Zip};
use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("prediction of shape {pred:?} and reference of shape {truth:?} are not on one grid")]
    CompareShapes { pred: Vec<usize>, truth: Vec<usize> },
    #[error("voxel spacing {0:?} mm must be positive and finite")]
    CheckSpacing([f64; 3]),
    #[error("NSD tolerance {0} mm must be finite and not negative")]
    CheckTolerance(f64),
}

/// The metrics of one binary mask pair.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BinaryMetrics {
    pub dsc: f64,
    pub jaccard: f64,
    /// Normalised surface Dice at `tolerance_mm`.
    pub nsd: f64,
    /// 95th-percentile Hausdorff distance in mm; `None` (JSON `null`) when exactly one mask is
    /// empty (infinite).
    pub hd95_mm: Option<f64>,
    /// Centreline Dice (1 when both masks are empty, 0 when one is).
    pub cldice: f64,
    pub tolerance_mm: f64,
    pub pred_voxels: u64,
    pub truth_voxels: u64,
}

impl BinaryMetrics {
    /// HD95 with +infinity for `None`.
    pub fn hd95(&self) -> f64 {
        self.hd95_mm.unwrap_or(f64::INFINITY)
    }
}

fn check(pred: &[usize], truth: &[usize], spacing: [f64; 3], tolerance_mm: f64) -> Result<(), MetricsError> {
    if pred != truth {
        return Err(MetricsError::CompareShapes { pred: pred.to_vec(), truth: truth.to_vec() });
    }
    if spacing.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
        return Err(MetricsError::CheckSpacing(spacing));
    }
    if !(tolerance_mm.is_finite() && tolerance_mm >= 0.0) {
        return Err(MetricsError::CheckTolerance(tolerance_mm));
    }
    Ok(())
}

/// All metrics of `pred` against `truth` (the reference), both `[k, j, i]` on a grid of
/// `spacing` mm.
pub fn binary_metrics<'a>(
    pred: ArrayView3<'a, bool>,
    truth: ArrayView3<'a, bool>,
    spacing: [f64; 3],
    tolerance_mm: f64,
) -> Result<BinaryMetrics, MetricsError> {
    check(pred.shape(), truth.shape(), spacing, tolerance_mm)?;
    let o = overlap(pred, truth);
    let (nsd, hd95_mm) = match (o.pred, o.truth) {
        (0, 0) => (1.0, Some(0.0)),
        (0, _) | (_, 0) => (0.0, None),
        _ => {
            let d = surface_distances(pred, truth, spacing);
            (d.nsd(tolerance_mm), Some(d.hd(95.0)))
        }
    };
    let cldice = centerline_dice(pred, truth).cldice;
    Ok(BinaryMetrics {
        dsc: o.dsc(),
        jaccard: o.jaccard(),
        nsd,
        hd95_mm,
        cldice,
        tolerance_mm,
        pred_voxels: o.pred,
        truth_voxels: o.truth,
    })
}

/// Metrics of one label value of two label maps (`pred == label` against `truth == label`).
pub fn label_metrics(
    pred: ArrayView3<'_, u8>,
    truth: ArrayView3<'_, u8>,
    label: u8,
    spacing: [f64; 3],
    tolerance_mm: f64,
) -> Result<BinaryMetrics, MetricsError> {
    check(pred.shape(), truth.shape(), spacing, tolerance_mm)?;
    let mut p = ndarray::Array3::from_elem(pred.raw_dim(), false);
    let mut t = ndarray::Array3::from_elem(truth.raw_dim(), false);
    Zip::from(&mut p).and(&mut t).and(pred).and(truth).par_for_each(|p, t, &a, &b| {
        *p = a == label;
        *t = b == label;
    });
    binary_metrics(p.view(), t.view(), spacing, tolerance_mm)
}

/// Mean of finite values and how many values were not finite (left out).
pub fn finite_mean(values: impl IntoIterator<Item = f64>) -> (f64, usize) {
    let (mut sum, mut n, mut skipped) = (0.0, 0usize, 0usize);
    for v in values {
        if v.is_finite() {
            sum += v;
            n += 1;
        } else {
            skipped += 1;
        }
    }
    (if n == 0 { f64::NAN } else { sum / n as f64 }, skipped)
}
