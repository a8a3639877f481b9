//! The "tubed skeleton" of a patch's one-hot target, for the skeleton recall term of the loss
//! (Kirchhoff et al., "Skeleton Recall Loss for Connectivity Conserving and Resource Efficient
//! Segmentation of Thin Tubular Structures", ECCV 2024). Each class's centreline
//! ([`crate::metrics::cldice::centreline`], the thinning clDice scores with), grown by one voxel
//! along the six axes and kept inside the class's mask: a thin vessel counts with its whole
//! length, a wide one with its core, so missing a one-voxel branch costs as much as missing the
//! middle of a trunk. Built on the loader threads, after augmentation, from the patch itself.

use super::TrainError;
use crate::metrics::centreline;
use ndarray::{Array3, ArrayView3};
use tch::{Kind, Tensor};

/// `[1, K, P0, P1, P2]` 0/1 target → its tubed skeleton, same shape, float.
pub fn tubed_skeleton(target: &Tensor) -> Result<Tensor, TrainError> {
    let terr = |source| TrainError::Tensor { action: "building the skeleton target", source };
    let size = target.size();
    let [1, k, p0, p1, p2] = size[..] else {
        return Err(TrainError::Loader { reason: format!("a skeleton target needs a [1, K, P0, P1, P2] patch, got {size:?}") });
    };
    let dims = (p0 as usize, p1 as usize, p2 as usize);
    let values: Vec<f32> = Vec::try_from(target.f_to_kind(Kind::Float).and_then(|t| t.f_contiguous()).and_then(|t| t.f_flatten(0, -1)).map_err(terr)?).map_err(terr)?;
    let per_class = dims.0 * dims.1 * dims.2;
    let mut out = Vec::with_capacity(values.len());
    for c in 0..k as usize {
        let mask = Array3::from_shape_fn(dims, |(a, b, d)| values[c * per_class + (a * dims.1 + b) * dims.2 + d] > 0.5);
        let tube = grow_inside(centreline(mask.view()).view(), mask.view());
        out.extend(tube.iter().map(|&v| if v { 1.0f32 } else { 0.0 }));
    }
    Tensor::f_from_slice(&out).and_then(|t| t.f_reshape(size.as_slice())).map_err(terr)
}

/// `line` grown by its six face neighbours, then intersected with `mask`.
fn grow_inside(line: ArrayView3<'_, bool>, mask: ArrayView3<'_, bool>) -> Array3<bool> {
    let (nk, nj, ni) = mask.dim();
    let mut out = Array3::from_elem(mask.raw_dim(), false);
    for ((k, j, i), &on) in line.indexed_iter() {
        if !on {
            continue;
        }
        out[[k, j, i]] = mask[[k, j, i]];
        let steps = [(k.wrapping_sub(1), j, i), (k + 1, j, i), (k, j.wrapping_sub(1), i), (k, j + 1, i), (k, j, i.wrapping_sub(1)), (k, j, i + 1)];
        for (a, b, d) in steps {
            if a < nk && b < nj && d < ni && mask[[a, b, d]] {
                out[[a, b, d]] = true;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    /// A one-hot patch `[1, 2, 9, 9, 9]`: class 0 a 5x5 bar along k, class 1 a one-voxel line.
    fn patch() -> Tensor {
        let mut v = vec![0.0f32; 2 * 729];
        for k in 1..8 {
            for j in 2..7 {
                for i in 2..7 {
                    v[(k * 9 + j) * 9 + i] = 1.0;
                }
            }
            v[729 + (k * 9 + 1) * 9 + 1] = 1.0;
        }
        Tensor::from_slice(&v).reshape([1, 2, 9, 9, 9]).to_device(Device::Cpu)
    }

    #[test]
    fn a_thin_line_is_its_own_tube_and_a_wide_bar_keeps_its_core() {
        let target = patch();
        let tube = tubed_skeleton(&target).unwrap();
        assert_eq!(tube.size(), target.size());
        // Never outside the mask.
        let outside = tube.multiply(&target.ones_like().subtract(&target)).sum(Kind::Float).double_value(&[]);
        assert_eq!(outside, 0.0);
        // The one-voxel line: every voxel is centreline.
        let line = |t: &Tensor| t.get(0).get(1).sum(Kind::Float).double_value(&[]);
        assert_eq!(line(&tube), line(&target));
        // The 5x5 bar: a core a few voxels thick, well under the bar's 175 voxels, along its length.
        let bar = tube.get(0).get(0);
        let kept = bar.sum(Kind::Float).double_value(&[]);
        assert!(kept > 0.0 && kept < 175.0 / 2.0, "{kept} of the bar's voxels");
        assert_eq!(bar.get(4).get(4).get(4).double_value(&[]), 1.0);
    }

    #[test]
    fn an_empty_class_has_an_empty_tube() {
        let target = Tensor::zeros([1, 3, 6, 6, 6], (Kind::Float, Device::Cpu));
        assert_eq!(tubed_skeleton(&target).unwrap().sum(Kind::Float).double_value(&[]), 0.0);
    }
}
