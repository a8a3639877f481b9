//! Surface distances between two non-empty masks, and NSD and HD from them.

use super::edges::{bounding_box, surface_voxels};
use super::edt::squared_distance_transform;
use ndarray::{ArrayView3, Zip};

/// Distances (mm) from each surface voxel of the prediction to the reference's surface, and
/// from each surface voxel of the reference to the prediction's surface.
#[derive(Debug, Clone, PartialEq)]
pub struct SurfaceDistances {
    pub pred_to_truth: Vec<f64>,
    pub truth_to_pred: Vec<f64>,
}

impl SurfaceDistances {
    /// Fraction of all surface voxels within `tolerance_mm` (inclusive) of the other surface.
    pub fn nsd(&self, tolerance_mm: f64) -> f64 {
        let total = self.pred_to_truth.len() + self.truth_to_pred.len();
        if total == 0 {
            return 1.0;
        }
        let within = self.pred_to_truth.iter().chain(&self.truth_to_pred).filter(|&&d| d <= tolerance_mm).count();
        within as f64 / total as f64
    }

    /// The larger of the two directed `q`-th percentiles (0..=100).
    pub fn hd(&self, q: f64) -> f64 {
        percentile(&self.pred_to_truth, q).max(percentile(&self.truth_to_pred, q))
    }
}

/// `q`-th percentile (0..=100) with linear interpolation between closest ranks; 0 for no values.
pub fn percentile(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let pos = (q / 100.0).clamp(0.0, 1.0) * (v.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
}

/// Surface distances of two masks on one grid (both may be empty; an empty side gives no
/// distances, and distances to an empty surface are infinite).
pub fn surface_distances<'a>(pred: ArrayView3<'a, bool>, truth: ArrayView3<'a, bool>, spacing: [f64; 3]) -> SurfaceDistances {
    let Some(bbox) = bounding_box(&[pred, truth]) else {
        return SurfaceDistances { pred_to_truth: vec![], truth_to_pred: vec![] };
    };
    let sp = surface_voxels(pred, bbox);
    let st = surface_voxels(truth, bbox);
    let directed = |from: &ndarray::Array3<bool>, to: &ndarray::Array3<bool>| -> Vec<f64> {
        let d2 = squared_distance_transform(to.view(), spacing);
        let mut out = Vec::new();
        Zip::from(from).and(&d2).for_each(|&f, &d| {
            if f {
                out.push(d.sqrt());
            }
        });
        out
    };
    SurfaceDistances { pred_to_truth: directed(&sp, &st), truth_to_pred: directed(&st, &sp) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_interpolates_linearly() {
        assert_eq!(percentile(&[3.0, 1.0, 2.0, 4.0], 50.0), 2.5);
        assert_eq!(percentile(&[5.0], 95.0), 5.0);
        assert!((percentile(&(0..=100).map(f64::from).collect::<Vec<_>>(), 95.0) - 95.0).abs() < 1e-12);
        assert!((percentile(&[0.0, 10.0], 95.0) - 9.5).abs() < 1e-12);
    }
}
