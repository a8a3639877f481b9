//! Settings of preprocessing, read from the plugin configuration.

use super::vesselness::VesselnessParams;
use super::PreprocessError;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PreprocessConfig {
    /// HU window `[low, high]` of the CT channel.
    pub window: [f32; 2],
    /// Voxel size in mm of the model grid along the canonical `[k, j, i]` axes (see the
    /// module doc); `None` keeps the source's voxel size.
    pub target_spacing_mm: Option<[f64; 3]>,
    /// Along a canonical axis whose source voxel size lies within this fraction of
    /// `target_spacing_mm`, the source's own voxels are kept (no interpolation): resampling
    /// 2.7 mm to 3 mm and the probabilities back blurs vessels a voxel or two wide far more
    /// than the 10 % change of scale costs a network trained with zoom augmentation. 0 (the
    /// default, and what plugins written before this key did) resamples whenever they differ.
    pub spacing_tolerance: f64,
    /// Gaussian scales of the vesselness channel, in mm.
    pub vesselness_scales_mm: Vec<f64>,
    /// Frangi's α and β.
    pub vesselness_alpha: f64,
    pub vesselness_beta: f64,
    /// Frangi's c; `None` derives it from each volume.
    pub vesselness_c: Option<f64>,
    /// How the CT reaches a model grid coarser than the source (see [`Downsample`]).
    pub downsample: Downsample,
}

/// How the CT is resampled along an axis where the model grid is coarser than the source. A
/// network must meet at inference the resampling it was trained with, so the plugin records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Downsample {
    /// Trilinear interpolation at the model voxel centres (what plugins written before this
    /// setting were trained with). Beyond a zoom of 2 it skips source voxels: a vessel
    /// thinner than the gap between two sample points may vanish.
    #[default]
    Linear,
    /// The mean over each model voxel's footprint: a thin vessel becomes the faint
    /// partial-volume streak a CT acquired at that voxel size shows, wherever it lies.
    Area,
}

impl Default for PreprocessConfig {
    fn default() -> Self {
        let v = VesselnessParams::default();
        PreprocessConfig {
            window: [-700.0, 300.0],
            target_spacing_mm: None,
            spacing_tolerance: 0.0,
            vesselness_scales_mm: v.scales_mm,
            vesselness_alpha: v.alpha,
            vesselness_beta: v.beta,
            vesselness_c: v.c,
            downsample: Downsample::Linear,
        }
    }
}

impl PreprocessConfig {
    pub fn vesselness(&self) -> VesselnessParams {
        VesselnessParams {
            scales_mm: self.vesselness_scales_mm.clone(),
            alpha: self.vesselness_alpha,
            beta: self.vesselness_beta,
            c: self.vesselness_c,
            ..VesselnessParams::default()
        }
    }

    pub fn validate(&self) -> Result<(), PreprocessError> {
        let bad = |key: &'static str, reason: String| Err(PreprocessError::CheckConfig { key, reason });
        let [low, high] = self.window;
        if !(low.is_finite() && high.is_finite() && low < high) {
            return bad("window", format!("[{low}, {high}] must be two finite HU values, low < high"));
        }
        if let Some(s) = self.target_spacing_mm {
            if s.iter().any(|v| !(v.is_finite() && *v > 0.0)) {
                return bad("target_spacing_mm", format!("{s:?} must be three positive millimetre values"));
            }
        }
        if !(self.spacing_tolerance.is_finite() && (0.0..0.5).contains(&self.spacing_tolerance)) {
            return bad("spacing_tolerance", format!("{} must be a fraction in [0, 0.5)", self.spacing_tolerance));
        }
        self.vesselness().validate()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_missing_keys_and_unknown_keys_are_refused() {
        let c: PreprocessConfig = serde_json::from_str(r#"{"target_spacing_mm": [1.0, 0.8, 0.8]}"#).unwrap();
        assert_eq!(c.window, [-700.0, 300.0]);
        assert_eq!(c.vesselness_scales_mm, vec![1.0, 2.0, 3.0]);
        assert!(c.validate().is_ok());
        assert!(serde_json::from_str::<PreprocessConfig>(r#"{"windw": [0, 1]}"#).is_err());
        let bad = PreprocessConfig { window: [300.0, -700.0], ..Default::default() };
        assert!(bad.validate().unwrap_err().to_string().contains("window"));
        assert_eq!(c.spacing_tolerance, 0.0);
        for t in [-0.1, 0.5, f64::NAN] {
            let bad = PreprocessConfig { spacing_tolerance: t, ..Default::default() };
            assert!(bad.validate().unwrap_err().to_string().contains("spacing_tolerance"), "{t}");
        }
    }
}
