//! Reorientation to the canonical axis order: a permutation and reversal of array axes, no
//! interpolation, so it is exact and exactly invertible.
//!
//! Canonical order: array `[k, j, i]` with `i` pointing to the patient's left, `j` posterior
//! and `k` superior (orientation code `LPS` in [`Geometry::orientation_code`]): the usual
//! head-first supine axial series, viewed from the feet. Each array axis is matched to the
//! patient axis its direction is closest to, so an oblique series keeps its obliquity but
//! has its axes in the canonical order and sense.

use crate::geometry::{scale, Geometry};
use ndarray::{Array3, Array4, ArrayView3, ArrayView4, Axis};

/// How the canonical axes come from the source array's axes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AxisMap {
    /// Canonical axis `c` (0 = k, 1 = j, 2 = i) is source axis `source_axis[c]` ...
    pub source_axis: [usize; 3],
    /// ... reversed where `flip[c]`.
    pub flip: [bool; 3],
}

/// Patient axis (LPS component) of each canonical axis `[k, j, i]`: S, P, L.
const PATIENT_AXIS: [usize; 3] = [2, 1, 0];

const PERMUTATIONS: [[usize; 3]; 6] = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]];

/// Direction of array axis `a` (0 = k, 1 = j, 2 = i) of a grid.
fn direction(g: &Geometry, a: usize) -> [f64; 3] {
    [g.slice_dir, g.col_dir, g.row_dir][a]
}

impl AxisMap {
    pub const IDENTITY: AxisMap = AxisMap { source_axis: [0, 1, 2], flip: [false; 3] };

    /// The map that brings grid `g` into canonical order: the permutation whose axes are
    /// best aligned with S, P, L (largest sum of |cosines|), reversed where they point the
    /// other way.
    pub fn to_canonical(g: &Geometry) -> AxisMap {
        let score = |p: &[usize; 3]| -> f64 { (0..3).map(|c| direction(g, p[c])[PATIENT_AXIS[c]].abs()).sum() };
        let mut best = PERMUTATIONS[0];
        for p in PERMUTATIONS.iter().skip(1) {
            if score(p) > score(&best) + 1e-12 {
                best = *p;
            }
        }
        let flip = std::array::from_fn(|c| direction(g, best[c])[PATIENT_AXIS[c]] < 0.0);
        AxisMap { source_axis: best, flip }
    }

    pub fn is_identity(&self) -> bool {
        *self == Self::IDENTITY
    }

    /// The canonical grid: the same voxels as `g`, in canonical axis order.
    pub fn geometry(&self, g: &Geometry) -> Geometry {
        let mut first = [0.0f64; 3];
        for c in 0..3 {
            if self.flip[c] {
                first[self.source_axis[c]] = (g.shape[self.source_axis[c]] as f64 - 1.0).max(0.0);
            }
        }
        let dir = |c: usize| {
            let d = direction(g, self.source_axis[c]);
            if self.flip[c] {
                scale(d, -1.0)
            } else {
                d
            }
        };
        Geometry {
            shape: std::array::from_fn(|c| g.shape[self.source_axis[c]]),
            origin: g.index_to_lps(first[0], first[1], first[2]),
            row_dir: dir(2),
            col_dir: dir(1),
            slice_dir: dir(0),
            spacing: std::array::from_fn(|c| g.spacing[self.source_axis[c]]),
        }
    }

    /// Source array → canonical array.
    pub fn apply<T: Clone>(&self, a: ArrayView3<'_, T>) -> Array3<T> {
        self.view(a).as_standard_layout().into_owned()
    }

    /// The source array seen in canonical axis order, without copying (permuted and negative
    /// strides), for passes that read it once.
    pub fn view<'a, T>(&self, a: ArrayView3<'a, T>) -> ArrayView3<'a, T> {
        let mut v = a.permuted_axes(self.source_axis);
        for c in 0..3 {
            if self.flip[c] {
                v.invert_axis(Axis(c));
            }
        }
        v
    }

    /// The canonical index of source voxel `s` (`shape`: the source grid's shape).
    pub fn canonical_index(&self, s: [usize; 3], shape: [usize; 3]) -> [usize; 3] {
        std::array::from_fn(|c| {
            let a = self.source_axis[c];
            if self.flip[c] {
                shape[a] - 1 - s[a]
            } else {
                s[a]
            }
        })
    }

    /// Canonical array → source array (the inverse of [`Self::apply`]).
    pub fn invert<T: Clone>(&self, a: ArrayView3<'_, T>) -> Array3<T> {
        let mut v = a;
        for c in 0..3 {
            if self.flip[c] {
                v.invert_axis(Axis(c));
            }
        }
        v.permuted_axes(self.inverse_permutation()).as_standard_layout().into_owned()
    }

    /// [`Self::invert`] for `[class, k, j, i]` arrays: the class axis stays first.
    pub fn invert_classes<T: Clone>(&self, a: ArrayView4<'_, T>) -> Array4<T> {
        let mut v = a;
        for c in 0..3 {
            if self.flip[c] {
                v.invert_axis(Axis(1 + c));
            }
        }
        let p = self.inverse_permutation();
        v.permuted_axes([0, 1 + p[0], 1 + p[1], 1 + p[2]]).as_standard_layout().into_owned()
    }

    /// For each source axis, the canonical axis that holds it.
    fn inverse_permutation(&self) -> [usize; 3] {
        let mut inv = [0; 3];
        for (c, &s) in self.source_axis.iter().enumerate() {
            inv[s] = c;
        }
        inv
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::{norm, sub};

    fn values(shape: [usize; 3]) -> Array3<u32> {
        Array3::from_shape_fn(shape, |(k, j, i)| (k * 10000 + j * 100 + i) as u32)
    }

    /// Every canonical voxel holds the value of the source voxel at the same patient position.
    fn check_positions(src: &Geometry) {
        let m = AxisMap::to_canonical(src);
        let can = m.geometry(src);
        assert_eq!(can.orientation_code(), "LPS", "{src:?} -> {can:?}");
        let a = values(src.shape);
        let b = m.apply(a.view());
        assert_eq!(b.shape(), &can.shape[..]);
        for ((k, j, i), v) in b.indexed_iter() {
            let p = can.index_to_lps(k as f64, j as f64, i as f64);
            let s = src.lps_to_index(p);
            let s = [s[0].round() as usize, s[1].round() as usize, s[2].round() as usize];
            assert!(norm(sub(src.index_to_lps(s[0] as f64, s[1] as f64, s[2] as f64), p)) < 1e-9);
            assert_eq!(*v, a[s]);
        }
        assert_eq!(m.invert(b.view()), a);
    }

    #[test]
    fn head_first_is_already_canonical() {
        let g = Geometry::new([4, 5, 6], [1.0, 2.0, 3.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [2.0, 0.7, 0.7]);
        assert!(AxisMap::to_canonical(&g).is_identity());
        check_positions(&g);
    }

    #[test]
    fn feet_first_flipped_rows_coronal_and_oblique_series_become_canonical() {
        let shape = [4, 5, 6];
        let sp = [2.5, 0.7, 0.8];
        // Feet-first supine: rows to the patient's right, slices toward the feet.
        check_positions(&Geometry::new(shape, [0.0; 3], [-1.0, 0.0, 0.0], [0.0, 1.0, 0.0], sp));
        // Rows flipped (columns toward anterior).
        check_positions(&Geometry::new(shape, [0.0; 3], [1.0, 0.0, 0.0], [0.0, -1.0, 0.0], sp));
        // Coronal: rows to the left, columns toward the feet, slices toward posterior.
        check_positions(&Geometry::new(shape, [5.0, -3.0, 7.0], [1.0, 0.0, 0.0], [0.0, 0.0, -1.0], sp));
        // Oblique sagittal.
        let r = crate::geometry::normalize([0.1, 1.0, 0.15]);
        let c = crate::geometry::normalize(crate::geometry::cross([1.0, 0.05, 0.0], r));
        check_positions(&Geometry::new(shape, [0.0; 3], r, crate::geometry::scale(c, -1.0), sp));
    }

    #[test]
    fn class_axis_stays_first_when_inverting() {
        let g = Geometry::new([3, 4, 5], [0.0; 3], [-1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [1.0; 3]);
        let m = AxisMap::to_canonical(&g);
        let a = values(g.shape);
        let can = m.apply(a.view());
        let stacked = ndarray::stack(Axis(0), &[can.view(), can.view()]).unwrap();
        let back = m.invert_classes(stacked.view());
        assert_eq!(back.index_axis(Axis(0), 1), a);
    }
}
