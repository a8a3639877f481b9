//! Surface voxels of a mask: voxels of the mask with a face neighbour outside it (or outside
//! the image), i.e. the mask minus its erosion by the 6-neighbourhood cross with a background
//! border, as `scipy.ndimage.binary_erosion` gives after MONAI's zero-padded crop.

use ndarray::{Array3, ArrayView3};

/// A half-open box `[lo, hi)` of voxel indices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoundingBox {
    pub lo: [usize; 3],
    pub hi: [usize; 3],
}

impl BoundingBox {
    pub fn shape(&self) -> [usize; 3] {
        [self.hi[0] - self.lo[0], self.hi[1] - self.lo[1], self.hi[2] - self.lo[2]]
    }
}

/// The smallest box holding every true voxel of any of `masks`; `None` if all are empty.
pub fn bounding_box(masks: &[ArrayView3<'_, bool>]) -> Option<BoundingBox> {
    let mut lo = [usize::MAX; 3];
    let mut hi = [0usize; 3];
    for m in masks {
        for ((k, j, i), &v) in m.indexed_iter() {
            if v {
                for (a, x) in [k, j, i].into_iter().enumerate() {
                    lo[a] = lo[a].min(x);
                    hi[a] = hi[a].max(x + 1);
                }
            }
        }
    }
    (lo[0] != usize::MAX).then_some(BoundingBox { lo, hi })
}

/// Surface voxels of `mask` inside `bbox` (which must hold all of the mask), as a mask of the
/// box's shape. Neighbours outside the box are background: the box holds the whole mask.
pub fn surface_voxels(mask: ArrayView3<'_, bool>, bbox: BoundingBox) -> Array3<bool> {
    let [nk, nj, ni] = bbox.shape();
    let at = |k: isize, j: isize, i: isize| -> bool {
        if k < 0 || j < 0 || i < 0 || k >= nk as isize || j >= nj as isize || i >= ni as isize {
            return false;
        }
        mask[[bbox.lo[0] + k as usize, bbox.lo[1] + j as usize, bbox.lo[2] + i as usize]]
    };
    Array3::from_shape_fn((nk, nj, ni), |(k, j, i)| {
        let (k, j, i) = (k as isize, j as isize, i as isize);
        at(k, j, i)
            && !(at(k - 1, j, i) && at(k + 1, j, i) && at(k, j - 1, i) && at(k, j + 1, i) && at(k, j, i - 1) && at(k, j, i + 1))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cube_loses_only_its_core() {
        let mut m = Array3::from_elem((5, 5, 5), false);
        m.slice_mut(ndarray::s![1..4, 1..4, 1..4]).fill(true);
        let b = bounding_box(&[m.view()]).unwrap();
        assert_eq!(b, BoundingBox { lo: [1; 3], hi: [4; 3] });
        let s = surface_voxels(m.view(), b);
        assert_eq!(s.iter().filter(|&&v| v).count(), 26);
        assert!(!s[[1, 1, 1]]);
        // A mask touching the image border is surface there.
        let full = Array3::from_elem((3, 3, 3), true);
        let s = surface_voxels(full.view(), bounding_box(&[full.view()]).unwrap());
        assert_eq!(s.iter().filter(|&&v| v).count(), 26);
    }
}
