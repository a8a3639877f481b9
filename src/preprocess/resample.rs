//! Resampling between grids whose axes are parallel (the canonical grid and the model grid),
//! one axis at a time: trilinear for probabilities, nearest for label maps, and for the CT
//! trilinear where the model grid is as fine as the source or finer, the mean over each model
//! voxel's footprint where it is coarser. Sampling a 0.7 mm CT at points 3 mm apart would miss most vessels thinner than
//! the gap between the points; the average over each model voxel's footprint keeps them as
//! the faint partial-volume streaks a CT acquired at that voxel size shows.
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

    /// For each output index: the first input index and the weights of the input voxels for
    /// the mean over its footprint `[u - step/2, u + step/2]` of the piecewise-linear signal
    /// through the input samples (constant beyond the ends), normalised to sum 1. Exact for
    /// an affine signal where the footprint lies inside the input, and it keeps the signal's
    /// mass. Only for `step > 1` (a coarser output).
    pub(crate) fn area_taps(&self, input_len: usize) -> Vec<(usize, Vec<f32>)> {
        let half = 0.5 * self.step;
        let last = input_len - 1;
        (0..self.len)
            .map(|p| {
                let u = self.position(p, input_len);
                let (lo, hi) = (u - half, u + half);
                let first = (lo.floor().max(0.0) as usize).min(last);
                let end = (hi.ceil().max(0.0) as usize).min(last);
                let mut w: Vec<f64> = (first..=end).map(|i| hat_integral(i, last, lo, hi)).collect();
                let sum: f64 = w.iter().sum();
                if sum > 0.0 {
                    w.iter_mut().for_each(|v| *v /= sum);
                } else {
                    w = vec![1.0];
                }
                (first, w.into_iter().map(|v| v as f32).collect())
            })
            .collect()
    }

    /// For each output index: the nearest input index (halves round up).
    fn nearest(&self, input_len: usize) -> Vec<usize> {
        (0..self.len).map(|p| ((self.position(p, input_len) + 0.5).floor() as usize).min(input_len - 1)).collect()
    }
}

/// The integral over `[lo, hi]` of the linear-interpolation basis function of sample `i` on
/// samples `0..=last`, the end samples' functions extended as 1 beyond the ends.
fn hat_integral(i: usize, last: usize, lo: f64, hi: f64) -> f64 {
    // Antiderivative of the hat max(0, 1 - |t|).
    let h = |t: f64| match t {
        t if t <= -1.0 => 0.0,
        t if t <= 0.0 => 0.5 * (t + 1.0) * (t + 1.0),
        t if t <= 1.0 => 1.0 - 0.5 * (1.0 - t) * (1.0 - t),
        _ => 1.0,
    };
    let x = i as f64;
    if last == 0 {
        return (hi - lo).max(0.0);
    }
    let mut w = 0.0;
    // The left half of the hat, or the constant before the first sample.
    let (a, b) = (lo.max(x - 1.0), hi.min(x));
    if i == 0 {
        w += (hi.min(0.0) - lo).max(0.0);
    } else if b > a {
        w += h(b - x) - h(a - x);
    }
    // The right half, or the constant after the last sample.
    let (a, b) = (lo.max(x), hi.min(x + 1.0));
    if i == last {
        w += (hi - lo.max(x)).max(0.0);
    } else if b > a {
        w += h(b - x) - h(a - x);
    }
    w
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

/// [`resample_linear`], except that an axis whose output is coarser than its input (step > 1)
/// is area-averaged: the resampling for the CT on its way to a coarser model grid.
pub fn resample_image(input: ArrayView3<'_, f32>, axes: &[AxisSampling; 3]) -> Array3<f32> {
    if input.is_empty() {
        return Array3::zeros((axes[0].len, axes[1].len, axes[2].len));
    }
    let mut cur: Option<Array3<f32>> = None;
    for (a, s) in axes.iter().enumerate() {
        let view = cur.as_ref().map_or(input.view(), |c| c.view());
        if s.step > 1.0 + SNAP {
            cur = Some(area_along(view, Axis(a), s));
        } else if !s.is_identity(view.shape()[a]) {
            cur = Some(linear_along(view, Axis(a), s));
        }
    }
    cur.unwrap_or_else(|| input.as_standard_layout().into_owned())
}

/// One axis of [`resample_image`]: each output voxel is the weighted mean of the input voxels
/// under its footprint.
fn area_along(input: ArrayView3<'_, f32>, axis: Axis, s: &AxisSampling) -> Array3<f32> {
    let taps = s.area_taps(input.len_of(axis));
    let mut shape = [input.shape()[0], input.shape()[1], input.shape()[2]];
    shape[axis.index()] = s.len;
    let mut out = Array3::<f32>::zeros(shape);
    match axis.index() {
        0 => out.axis_iter_mut(Axis(0)).into_par_iter().zip(taps.par_iter()).for_each(|(mut o, (first, weights))| {
            for (j, row) in o.outer_iter_mut().enumerate() {
                accumulate(row, *first, weights, |k| input.slice(ndarray::s![k, j, ..]));
            }
        }),
        1 => out.axis_iter_mut(Axis(0)).into_par_iter().enumerate().for_each(|(k, mut o)| {
            for (row, (first, weights)) in o.outer_iter_mut().zip(&taps) {
                accumulate(row, *first, weights, |j| input.slice(ndarray::s![k, j, ..]));
            }
        }),
        _ => out.axis_iter_mut(Axis(0)).into_par_iter().enumerate().for_each(|(k, mut o)| {
            for (j, mut row) in o.outer_iter_mut().enumerate() {
                let src = input.slice(ndarray::s![k, j, ..]);
                for (v, (first, weights)) in row.iter_mut().zip(&taps) {
                    *v = weights.iter().enumerate().map(|(n, &w)| w * src[first + n]).sum();
                }
            }
        }),
    }
    out
}

/// Adds `weights[n]` times input line `first + n` to `o`.
fn accumulate<'a>(mut o: ndarray::ArrayViewMut1<'_, f32>, first: usize, weights: &[f32], line: impl Fn(usize) -> ndarray::ArrayView1<'a, f32>) {
    for (n, &w) in weights.iter().enumerate() {
        Zip::from(&mut o).and(line(first + n)).for_each(|o, &v| *o += w * v);
    }
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
