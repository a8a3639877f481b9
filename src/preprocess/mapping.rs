//! The way between a source grid and the model grid, both ways: reorientation (exact) and
//! resampling along the canonical axes.

use super::orient::AxisMap;
use super::resample::{resample_image, resample_linear, resample_nearest, sampling, zoomed_grid};
use super::{Downsample, PreprocessError};
use crate::geometry::Geometry;
use ndarray::{Array3, Array4, ArrayView3, ArrayView4};

/// The model grid's voxel size per canonical axis: the source's where it lies within
/// `tolerance` (a fraction) of the target, else the target.
fn kept_spacing(source: [f64; 3], target: [f64; 3], tolerance: f64) -> [f64; 3] {
    std::array::from_fn(|a| if (source[a] / target[a] - 1.0).abs() <= tolerance { source[a] } else { target[a] })
}

/// How the model grid relates to the source grid. Produced by [`GridMapping::new`] and kept
/// with the model input so that outputs can be put back on the source grid.
#[derive(Debug, Clone, PartialEq)]
pub struct GridMapping {
    /// The grid of the source volume (the DICOM series).
    pub source: Geometry,
    /// Source axes → canonical axes.
    pub axes: AxisMap,
    /// The source voxels in canonical axis order.
    pub canonical: Geometry,
    /// The grid the network sees: the canonical grid at the target voxel size.
    pub model: Geometry,
}

impl GridMapping {
    pub fn new(source: &Geometry, target_spacing_mm: Option<[f64; 3]>) -> Self {
        Self::with_tolerance(source, target_spacing_mm, 0.0)
    }

    /// As [`GridMapping::new`], keeping the source's voxel size along each canonical axis
    /// where it lies within `tolerance` (a fraction) of the target (see [`kept_spacing`]).
    pub fn with_tolerance(source: &Geometry, target_spacing_mm: Option<[f64; 3]>, tolerance: f64) -> Self {
        let axes = AxisMap::to_canonical(source);
        let canonical = axes.geometry(source);
        let model = match target_spacing_mm.map(|t| kept_spacing(canonical.spacing, t, tolerance)) {
            Some(s) if s != canonical.spacing => zoomed_grid(&canonical, s),
            _ => canonical.clone(),
        };
        GridMapping { source: source.clone(), axes, canonical, model }
    }

    /// An image on the source grid → the model grid (trilinear).
    pub fn image_to_model(&self, image: ArrayView3<'_, f32>) -> Result<Array3<f32>, PreprocessError> {
        self.image_to_model_with(image, Downsample::Linear)
    }

    /// An image on the source grid → the model grid: trilinear along axes the model grid
    /// samples as finely as the source or finer; along coarser ones as `downsample` says.
    pub fn image_to_model_with(&self, image: ArrayView3<'_, f32>, downsample: Downsample) -> Result<Array3<f32>, PreprocessError> {
        check_shape("image", "source", &self.source, image.shape())?;
        if self.model == self.canonical {
            return Ok(self.axes.apply(image));
        }
        // Reorientation is a view: resampling reads the source in place.
        let (view, axes) = (self.axes.view(image), sampling(&self.canonical, &self.model)?);
        Ok(match downsample {
            Downsample::Linear => resample_linear(view, &axes),
            Downsample::Area => resample_image(view, &axes),
        })
    }

    /// A label map on the source grid → the model grid (nearest).
    pub fn labels_to_model<T>(&self, labels: ArrayView3<'_, T>) -> Result<Array3<T>, PreprocessError>
    where
        T: Copy + Send + Sync + Default,
    {
        check_shape("label map", "source", &self.source, labels.shape())?;
        let c = self.axes.apply(labels);
        if self.model == self.canonical {
            return Ok(c);
        }
        Ok(resample_nearest(c.view(), &sampling(&self.canonical, &self.model)?))
    }

    /// Per-class probabilities `[K, k, j, i]` on the model grid → the source grid (trilinear),
    /// exactly the source's shape.
    pub fn probabilities_to_source(&self, p: ArrayView4<'_, f32>) -> Result<Array4<f32>, PreprocessError> {
        check_shape("probabilities", "model", &self.model, &p.shape()[1..])?;
        let back = sampling(&self.model, &self.canonical)?;
        let [nk, nj, ni] = self.canonical.shape;
        let mut canonical = Array4::<f32>::zeros((p.shape()[0], nk, nj, ni));
        for (class, mut out) in p.outer_iter().zip(canonical.outer_iter_mut()) {
            if self.model == self.canonical {
                out.assign(&class);
            } else {
                out.assign(&resample_linear(class, &back));
            }
        }
        Ok(self.axes.invert_classes(canonical.view()))
    }

    /// Per-label probabilities `[L, k, j, i]` on the model grid → the label of each source
    /// voxel: `labels[l]` where channel `l` is the most probable at or above `threshold`, else
    /// 0. The same values as [`Self::probabilities_to_source`] followed by
    /// `infer::label_map`, in one parallel pass that holds no source-sized float volume.
    pub fn labels_from_probabilities(&self, p: ArrayView4<'_, f32>, labels: &[u8], threshold: f32) -> Result<Array3<u8>, PreprocessError> {
        check_shape("probabilities", "model", &self.model, &p.shape()[1..])?;
        if labels.len() != p.shape()[0] {
            return Err(PreprocessError::CheckGrids { reason: format!("{} labels for {} probability channels", labels.len(), p.shape()[0]) });
        }
        let back = sampling(&self.model, &self.canonical)?;
        Ok(super::fused::sample_labels(p, &back, self, labels, threshold))
    }

    /// A label map on the model grid → the source grid (nearest), exactly the source's shape.
    pub fn labels_to_source<T>(&self, labels: ArrayView3<'_, T>) -> Result<Array3<T>, PreprocessError>
    where
        T: Copy + Send + Sync + Default,
    {
        check_shape("label map", "model", &self.model, labels.shape())?;
        let canonical = if self.model == self.canonical {
            labels.to_owned()
        } else {
            resample_nearest(labels, &sampling(&self.model, &self.canonical)?)
        };
        Ok(self.axes.invert(canonical.view()))
    }
}

fn check_shape(what: &'static str, grid: &'static str, g: &Geometry, shape: &[usize]) -> Result<(), PreprocessError> {
    if shape != g.shape {
        return Err(PreprocessError::CheckShape { what, grid, expected: g.shape, got: shape.to_vec() });
    }
    Ok(())
}
