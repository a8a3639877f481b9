//! Patient geometry of a voxel grid in DICOM's LPS patient coordinates.
//!
//! Arrays in pavseg are indexed `[k, j, i]`: `k` the slice, `j` the row, `i` the column, so one
//! DICOM frame is one contiguous `[j, i]` plane. The slice axis always points along
//! `row × column` (the slice normal), whatever order the instances arrived in or which way the
//! patient lay in the scanner; a feet-first series simply has other direction cosines.

use serde::{Deserialize, Serialize};

/// A point or direction in patient space (millimetres, LPS).
pub type Vec3 = [f64; 3];

/// Where a `[k, j, i]` grid sits in patient space.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Geometry {
    /// Number of voxels along `[k, j, i]`.
    pub shape: [usize; 3],
    /// Patient position (LPS, mm) of the centre of voxel `[0, 0, 0]` (ImagePositionPatient of the
    /// first slice).
    pub origin: Vec3,
    /// Unit direction of increasing column index `i` (first triplet of ImageOrientationPatient).
    pub row_dir: Vec3,
    /// Unit direction of increasing row index `j` (second triplet of ImageOrientationPatient).
    pub col_dir: Vec3,
    /// Unit direction of increasing slice index `k`: `row_dir × col_dir`.
    pub slice_dir: Vec3,
    /// Voxel size in mm along `[k, j, i]`: slice spacing, row spacing (PixelSpacing\[0\]),
    /// column spacing (PixelSpacing\[1\]).
    pub spacing: [f64; 3],
}

pub fn cross(a: Vec3, b: Vec3) -> Vec3 {
    [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
}

pub fn dot(a: Vec3, b: Vec3) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

pub fn norm(a: Vec3) -> f64 {
    dot(a, a).sqrt()
}

pub fn scale(a: Vec3, s: f64) -> Vec3 {
    [a[0] * s, a[1] * s, a[2] * s]
}

pub fn add(a: Vec3, b: Vec3) -> Vec3 {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}

pub fn sub(a: Vec3, b: Vec3) -> Vec3 {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

pub fn normalize(a: Vec3) -> Vec3 {
    let n = norm(a);
    if n == 0.0 {
        a
    } else {
        scale(a, 1.0 / n)
    }
}

impl Geometry {
    /// A grid from ImageOrientationPatient-style cosines; the slice axis is their cross product.
    pub fn new(shape: [usize; 3], origin: Vec3, row_dir: Vec3, col_dir: Vec3, spacing: [f64; 3]) -> Self {
        let row_dir = normalize(row_dir);
        let col_dir = normalize(col_dir);
        let slice_dir = normalize(cross(row_dir, col_dir));
        Geometry { shape, origin, row_dir, col_dir, slice_dir, spacing }
    }

    pub fn voxel_count(&self) -> usize {
        self.shape.iter().product()
    }

    /// Patient position (LPS) of the centre of voxel `[k, j, i]` (fractional indices allowed).
    pub fn index_to_lps(&self, k: f64, j: f64, i: f64) -> Vec3 {
        let mut p = self.origin;
        for a in 0..3 {
            p[a] += i * self.spacing[2] * self.row_dir[a]
                + j * self.spacing[1] * self.col_dir[a]
                + k * self.spacing[0] * self.slice_dir[a];
        }
        p
    }

    /// Fractional `[k, j, i]` index of a patient position (inverse of [`Self::index_to_lps`];
    /// exact because the direction cosines are orthonormal).
    pub fn lps_to_index(&self, p: Vec3) -> [f64; 3] {
        let d = sub(p, self.origin);
        [
            dot(d, self.slice_dir) / self.spacing[0],
            dot(d, self.col_dir) / self.spacing[1],
            dot(d, self.row_dir) / self.spacing[2],
        ]
    }

    /// Patient position of slice `k`'s first voxel: that slice's ImagePositionPatient.
    pub fn slice_position(&self, k: usize) -> Vec3 {
        self.index_to_lps(k as f64, 0.0, 0.0)
    }

    /// 4x4 matrix mapping `(i, j, k, 1)` to LPS millimetres (ITK/DICOM convention).
    pub fn affine_lps(&self) -> [[f64; 4]; 4] {
        let mut m = [[0.0; 4]; 4];
        for a in 0..3 {
            m[a][0] = self.row_dir[a] * self.spacing[2];
            m[a][1] = self.col_dir[a] * self.spacing[1];
            m[a][2] = self.slice_dir[a] * self.spacing[0];
            m[a][3] = self.origin[a];
        }
        m[3][3] = 1.0;
        m
    }

    /// 4x4 matrix mapping `(i, j, k, 1)` to RAS millimetres (the NIfTI convention).
    pub fn affine_ras(&self) -> [[f64; 4]; 4] {
        let mut m = self.affine_lps();
        for c in 0..4 {
            m[0][c] = -m[0][c];
            m[1][c] = -m[1][c];
        }
        m
    }

    /// The grid described by a NIfTI-style RAS affine for an `(i, j, k)` array of `shape_ijk`.
    pub fn from_affine_ras(shape_ijk: [usize; 3], m: [[f64; 4]; 4]) -> Self {
        let col = |c: usize| [-m[0][c], -m[1][c], m[2][c]];
        let (ci, cj, ck) = (col(0), col(1), col(2));
        let spacing = [norm(ck), norm(cj), norm(ci)];
        let mut g = Geometry {
            shape: [shape_ijk[2], shape_ijk[1], shape_ijk[0]],
            origin: [-m[0][3], -m[1][3], m[2][3]],
            row_dir: normalize(ci),
            col_dir: normalize(cj),
            slice_dir: normalize(ck),
            spacing,
        };
        // Keep the stored slice axis as given, even if it is left-handed (NIfTI allows it).
        if dot(cross(g.row_dir, g.col_dir), g.slice_dir) < 0.0 {
            g.slice_dir = normalize(ck);
        }
        g
    }

    /// Whether two grids coincide within `tol_mm` at every corner.
    pub fn same_grid(&self, other: &Geometry, tol_mm: f64) -> bool {
        if self.shape != other.shape {
            return false;
        }
        let [nk, nj, ni] = self.shape;
        let corners = [0.0, 1.0];
        for &a in &corners {
            for &b in &corners {
                for &c in &corners {
                    let (k, j, i) = (a * (nk.max(1) - 1) as f64, b * (nj.max(1) - 1) as f64, c * (ni.max(1) - 1) as f64);
                    if norm(sub(self.index_to_lps(k, j, i), other.index_to_lps(k, j, i))) > tol_mm {
                        return false;
                    }
                }
            }
        }
        true
    }

    /// Physical extent along `[k, j, i]` in mm (number of voxels times spacing).
    pub fn extent_mm(&self) -> [f64; 3] {
        [
            self.shape[0] as f64 * self.spacing[0],
            self.shape[1] as f64 * self.spacing[1],
            self.shape[2] as f64 * self.spacing[2],
        ]
    }

    /// A short orientation code such as `LPS` or `RPI`: the patient direction each of the
    /// `i`, `j`, `k` axes points to most.
    pub fn orientation_code(&self) -> String {
        [self.row_dir, self.col_dir, self.slice_dir]
            .iter()
            .map(|d| {
                let a = (0..3).max_by(|&x, &y| d[x].abs().total_cmp(&d[y].abs())).unwrap_or(0);
                match (a, d[a] >= 0.0) {
                    (0, true) => 'L',
                    (0, false) => 'R',
                    (1, true) => 'P',
                    (1, false) => 'A',
                    (_, true) => 'S',
                    (_, false) => 'I',
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oblique() -> Geometry {
        let r = normalize([1.0, 0.2, 0.0]);
        let c = normalize(cross([0.0, 0.0, 1.0], r));
        let c = [c[0], c[1], c[2]];
        Geometry::new([7, 5, 3], [10.0, -20.0, 30.0], r, c, [2.5, 0.7, 0.8])
    }

    #[test]
    fn index_and_lps_round_trip() {
        let g = oblique();
        let p = g.index_to_lps(3.0, 2.0, 1.0);
        let idx = g.lps_to_index(p);
        assert!((idx[0] - 3.0).abs() < 1e-9 && (idx[1] - 2.0).abs() < 1e-9 && (idx[2] - 1.0).abs() < 1e-9);
    }

    #[test]
    fn ras_affine_round_trip() {
        let g = oblique();
        let back = Geometry::from_affine_ras([3, 5, 7], g.affine_ras());
        assert!(g.same_grid(&back, 1e-9));
    }

    #[test]
    fn orientation_codes() {
        let hf = Geometry::new([2, 2, 2], [0.0; 3], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0; 3]);
        assert_eq!(hf.orientation_code(), "LPS");
        let ff = Geometry::new([2, 2, 2], [0.0; 3], [-1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0; 3]);
        assert_eq!(ff.orientation_code(), "RPI");
    }
}
