//! Resampling between grids whose axes are parallel (the canonical grid and the model grid),
//! one axis at a time: trilinear for images and probabilities, nearest for label maps.
//!
//! The model grid starts at the canonical grid's first voxel centre and reaches at least its
//! last one, so mapping back never extrapolates, and an integer zoom puts every source voxel
//! on a model voxel: there both round trips are exact.

use super::PreprocessError;
use crate::geometry::{dot, Geometry};
use ndarray::{Array3, ArrayView3, Axis, Zip};
use rayon::prelude::*;

/// Fractional positions closer than this (in voxels) to an integer are taken as that integer,
/// so that grid ratios such as 0.7 / 0.35 hit source voxels exactly.
const SNAP: f64 = 1e-6;

/// Where the samples along one output axis fall on the input axis: output index `p` sits at
/// input index `offset + step · p` (clamped to the input).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AxisSampling {
    pub len: usize,
    pub offset: f64,
    pub step: f64,
}

impl AxisSampling {
    fn is_identity(&self, input_len: usize) -> bool {
        self.len == input_len && self.offset == 0.0 && self.step == 1.0
    }

    fn position(&self, p: usize, input_len: usize) -> f64 {
        let u = (self.offset + self.step * p as f64).clamp(0.0, (input_len - 1) as f64);
        let r = u.round();
        if (u - r).abs() < SNAP {
            r
        } else {
            u
        }
    }

    /// For each output index: the two input indices and the weight of the second.
    pub(crate) fn linear_taps(&self, input_len: usize) -> Vec<(usize, usize, f32)> {
        (0..self.len)
            .map(|p| {
                let u = self.position(p, input_len);
                let i0 = u.floor() as usize;
                let w = (u - i0 as f64) as f32;
                (i0, (i0 + 1).min(input_len - 1), w)
            })
            .collect()
    }

    /// For each output index: the nearest input index (halves round up).
    fn nearest(&self, input_len: usize) -> Vec<usize> {
        (0..self.len).map(|p| ((self.position(p, input_len) + 0.5).floor() as usize).min(input_len - 1)).collect()
    }
}

/// The grid with the directions and first voxel centre of `g` and voxel size `spacing_mm`,
/// long enough to reach `g`'s last voxel centre on every axis.
pub fn zoomed_grid(g: &Geometry, spacing_mm: [f64; 3]) -> Geometry {
    let shape = std::array::from_fn(|a| {
        let span = (g.shape[a].max(1) - 1) as f64 * g.spacing[a] / spacing_mm[a];
        let r = span.round();
        let n = if (span - r).abs() < SNAP { r } else { span.ceil() };
        n as usize + 1
    });
    Geometry { shape, spacing: spacing_mm, ..g.clone() }
}

/// How the voxels of `to` sit on the axes of `from` (same axis directions required).
pub fn sampling(from: &Geometry, to: &Geometry) -> Result<[AxisSampling; 3], PreprocessError> {
    let dirs = |g: &Geometry| [g.slice_dir, g.col_dir, g.row_dir];
    let (df, dt) = (dirs(from), dirs(to));
    if (0..3).any(|a| dot(df[a], dt[a]) < 1.0 - 1e-6) {
        return Err(PreprocessError::CheckGrids { reason: "axis directions differ".into() });
    }
    let offset = from.lps_to_index(to.origin);
    Ok(std::array::from_fn(|a| AxisSampling {
        len: to.shape[a],
        offset: offset[a],
        step: to.spacing[a] / from.spacing[a],
    }))
}

/// Trilinear resampling, as three linear passes (k, then j, then i); an axis whose sampling
/// is the identity is skipped.
pub fn resample_linear(input: ArrayView3<'_, f32>, axes: &[AxisSampling; 3]) -> Array3<f32> {
    if input.is_empty() {
        return Array3::zeros((axes[0].len, axes[1].len, axes[2].len));
    }
    // The first pass reads the input where it lies (any strides, e.g. a reoriented view), so
    // a large source is never copied whole.
    let mut cur: Option<Array3<f32>> = None;
    for (a, s) in axes.iter().enumerate() {
        let view = cur.as_ref().map_or(input.view(), |c| c.view());
        if !s.is_identity(view.shape()[a]) {
            cur = Some(linear_along(view, Axis(a), s));
        }
    }
    cur.unwrap_or_else(|| input.as_standard_layout().into_owned())
}

fn linear_along(input: ArrayView3<'_, f32>, axis: Axis, s: &AxisSampling) -> Array3<f32> {
    let taps = s.linear_taps(input.len_of(axis));
    let mut shape = [input.shape()[0], input.shape()[1], input.shape()[2]];
    shape[axis.index()] = s.len;
    let mut out = Array3::<f32>::zeros(shape);
    let mix = |o: ndarray::ArrayViewMut1<'_, f32>,
               a: ndarray::ArrayView1<'_, f32>,
               b: ndarray::ArrayView1<'_, f32>,
               w: f32| {
        if w == 0.0 {
            Zip::from(o).and(a).for_each(|o, &a| *o = a);
        } else {
            Zip::from(o).and(a).and(b).for_each(|o, &a, &b| *o = a + w * (b - a));
        }
    };
    match axis.index() {
        0 => out.axis_iter_mut(Axis(0)).into_par_iter().zip(taps.par_iter()).for_each(|(mut o, &(i0, i1, w))| {
            for (j, row) in o.outer_iter_mut().enumerate() {
                let (a, b) = (input.slice(ndarray::s![i0, j, ..]), input.slice(ndarray::s![i1, j, ..]));
                mix(row, a, b, w);
            }
        }),
        1 => out.axis_iter_mut(Axis(0)).into_par_iter().enumerate().for_each(|(k, mut o)| {
            for (row, &(i0, i1, w)) in o.outer_iter_mut().zip(&taps) {
                let (a, b) = (input.slice(ndarray::s![k, i0, ..]), input.slice(ndarray::s![k, i1, ..]));
                mix(row, a, b, w);
            }
        }),
        _ => out.axis_iter_mut(Axis(0)).into_par_iter().enumerate().for_each(|(k, mut o)| {
            for (j, mut row) in o.outer_iter_mut().enumerate() {
                let src = input.slice(ndarray::s![k, j, ..]);
                for (v, &(i0, i1, w)) in row.iter_mut().zip(&taps) {
                    let (a, b) = (src[i0], src[i1]);
                    *v = if w == 0.0 { a } else { a + w * (b - a) };
                }
            }
        }),
    }
    out
}

/// Nearest-neighbour resampling (for label maps).
pub fn resample_nearest<T: Copy + Send + Sync + Default>(
    input: ArrayView3<'_, T>,
    axes: &[AxisSampling; 3],
) -> Array3<T> {
    let mut out = Array3::<T>::from_elem((axes[0].len, axes[1].len, axes[2].len), T::default());
    if input.is_empty() {
        return out;
    }
    let idx: [Vec<usize>; 3] = std::array::from_fn(|a| axes[a].nearest(input.shape()[a]));
    out.axis_iter_mut(Axis(0)).into_par_iter().zip(idx[0].par_iter()).for_each(|(mut o, &k)| {
        for (mut row, &j) in o.outer_iter_mut().zip(&idx[1]) {
            for (v, &i) in row.iter_mut().zip(&idx[2]) {
                *v = input[[k, j, i]];
            }
        }
    });
    out
}
