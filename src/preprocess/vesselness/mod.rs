//! Multi-scale Hessian vesselness (Frangi et al. 1998) for bright tubes on a dark background:
//! the second input channel of the network, which brings out vessels of every calibre.
//!
//! At each scale σ (millimetres, converted to voxels per axis so anisotropic grids are
//! handled) the Hessian is computed by separable Gaussian derivative filtering and normalised
//! by σ². With its eigenvalues ordered by magnitude (`|λ1| <= |λ2| <= |λ3|`) the measure is
//! `(1 - exp(-Ra²/2α²)) · exp(-Rb²/2β²) · (1 - exp(-S²/2c²))` with `Ra = |λ2|/|λ3|`,
//! `Rb = |λ1|/sqrt(|λ2 λ3|)`, `S² = Σλ²`, and 0 where `λ2` or `λ3` is positive. Unless given,
//! `c` is half the largest Hessian norm `S` at the smallest scale (as scikit-image does), and
//! the same `c` serves every scale so that the maximum over scales compares like with like.
//! Borders are extended by half-sample mirroring (scikit-image's `reflect`).
//!
//! [`vesselness`] runs on the CPU and needs no libtorch; [`torch::vesselness`] is the same
//! filter on libtorch tensors (separable `conv3d`), for running next to the model on a GPU.

mod approx;
mod cpu;
pub mod eigen;
pub mod kernel;
pub mod shapes;
pub mod torch;

pub use cpu::vesselness;

use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum VesselnessError {
    #[error("invalid vesselness parameter {name}: {reason}")]
    CheckParameter { name: &'static str, reason: String },
    #[error("cannot filter an image of shape {shape:?}: every axis needs at least one voxel")]
    CheckShape { shape: Vec<usize> },
    #[error("cannot filter with voxel spacing {spacing_mm:?} mm: spacings must be positive and finite")]
    CheckSpacing { spacing_mm: [f64; 3] },
    #[error("cannot address the image or output buffer as one contiguous slice")]
    NotContiguous,
}

/// Parameters of the filter; the defaults are those of the pipeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VesselnessParams {
    /// Gaussian scales σ in millimetres; the output is the maximum over them.
    pub scales_mm: Vec<f64>,
    /// Frangi's α: sensitivity to the plate-versus-line ratio Ra.
    pub alpha: f64,
    /// Frangi's β: sensitivity to the blob ratio Rb.
    pub beta: f64,
    /// Frangi's c for the structure term; `None` derives it from the data (see module doc).
    pub c: Option<f64>,
    /// Power p of the scale normalisation σ^p of the second derivatives. 2 (the default)
    /// makes tubes of different radius respond alike, each at its own scale; 0 leaves the
    /// Hessian unnormalised, as scikit-image's `frangi` does, which favours the smallest scale.
    pub scale_normalization: f64,
}

impl Default for VesselnessParams {
    fn default() -> Self {
        VesselnessParams { scales_mm: vec![1.0, 2.0, 3.0], alpha: 0.5, beta: 0.5, c: None, scale_normalization: 2.0 }
    }
}

impl VesselnessParams {
    pub fn validate(&self) -> Result<(), VesselnessError> {
        let bad = |name, reason: String| Err(VesselnessError::CheckParameter { name, reason });
        if self.scales_mm.is_empty() {
            return bad("scales_mm", "at least one scale is needed".into());
        }
        if let Some(s) = self.scales_mm.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
            return bad("scales_mm", format!("{s} is not a positive number of millimetres"));
        }
        for (name, v) in [("alpha", self.alpha), ("beta", self.beta)] {
            if !(v.is_finite() && v > 0.0) {
                return bad(name, format!("{v} must be positive"));
            }
        }
        if let Some(c) = self.c.filter(|c| !(c.is_finite() && *c > 0.0)) {
            return bad("c", format!("{c} must be positive"));
        }
        if !self.scale_normalization.is_finite() {
            return bad("scale_normalization", format!("{} must be finite", self.scale_normalization));
        }
        Ok(())
    }

    /// Scales in the order they are filtered: ascending, duplicates dropped.
    pub fn ascending_scales(&self) -> Vec<f64> {
        let mut s = self.scales_mm.clone();
        s.sort_by(f64::total_cmp);
        s.dedup();
        s
    }
}

/// `c` from the largest S² at the first scale: half the largest Hessian norm (1 for an image
/// without any structure, where every term is 0 anyway).
pub fn derived_c(max_s2: f64) -> f64 {
    let c = max_s2.sqrt() / 2.0;
    if c > 0.0 && c.is_finite() {
        c
    } else {
        1.0
    }
}

fn check_grid(shape: &[usize], spacing_mm: [f64; 3]) -> Result<(), VesselnessError> {
    if shape.len() != 3 || shape.contains(&0) {
        return Err(VesselnessError::CheckShape { shape: shape.to_vec() });
    }
    if spacing_mm.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
        return Err(VesselnessError::CheckSpacing { spacing_mm });
    }
    Ok(())
}
