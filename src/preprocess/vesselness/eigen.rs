//! Per-voxel algebra: eigenvalues of the symmetric 3x3 Hessian in closed form and Frangi's
//! tube measure. Computed in f64 because the trigonometric solution loses about half its
//! digits where two eigenvalues meet, which is exactly a round tube's centre line; written
//! without branches or library calls (selects and the polynomials of [`super::approx`]) so
//! that a loop over a row of voxels vectorises.

use super::approx::{acos, cos_sin_small, exp_neg};

/// A symmetric 3x3 matrix as its six distinct elements `[kk, jj, ii, kj, ki, ji]`.
pub type Sym3 = [f64; 6];

/// √3
const SQRT_3: f64 = 1.732_050_807_568_877_2;

/// Squared Frobenius norm of the matrix: the sum of its squared eigenvalues (Frangi's S²).
#[inline(always)]
pub fn frobenius2(h: &Sym3) -> f64 {
    h[0] * h[0] + h[1] * h[1] + h[2] * h[2] + 2.0 * (h[3] * h[3] + h[4] * h[4] + h[5] * h[5])
}

/// Eigenvalues by the trigonometric solution of the characteristic cubic, sorted by
/// ascending magnitude (`|λ1| <= |λ2| <= |λ3|`).
#[inline(always)]
pub fn eigenvalues_by_magnitude(h: &Sym3) -> [f64; 3] {
    let [a, b, c, d, e, f] = *h;
    let q = (a + b + c) / 3.0;
    let (a, b, c) = (a - q, b - q, c - q);
    let p2 = a * a + b * b + c * c + 2.0 * (d * d + e * e + f * f);
    let p = (p2 / 6.0).sqrt();
    // B = (A - qI) / p has eigenvalues 2cos(φ + 2πn/3); det(B)/2 = cos(3φ). A zero p leaves
    // B zero whatever the finite divisor.
    let inv = 1.0 / p.max(f64::MIN_POSITIVE);
    let (a, b, c, d, e, f) = (a * inv, b * inv, c * inv, d * inv, e * inv, f * inv);
    let det = a * (b * c - f * f) - d * (d * c - f * e) + e * (d * f - b * e);
    let r = (0.5 * det).clamp(-1.0, 1.0);
    // φ in [0, π/3]; cos(φ + 2π/3) = -(cos φ + √3 sin φ) / 2.
    let (cos, sin) = cos_sin_small(acos(r) / 3.0);
    let largest = q + 2.0 * p * cos;
    let smallest = q - p * (cos + SQRT_3 * sin);
    let middle = 3.0 * q - largest - smallest;
    sort_by_magnitude([smallest, middle, largest])
}

/// Three compare-exchanges written as selects.
#[inline(always)]
fn sort_by_magnitude(l: [f64; 3]) -> [f64; 3] {
    let swap = |x: f64, y: f64| if x.abs() > y.abs() { (y, x) } else { (x, y) };
    let (a, b) = swap(l[0], l[1]);
    let (b, c) = swap(b, l[2]);
    let (a, b) = swap(a, b);
    [a, b, c]
}

/// Frangi's measure split into the part that depends on the eigenvalue ratios only and the
/// structure term that needs `c`, so that `c` can be derived from the data after one pass.
#[derive(Debug, Clone, Copy)]
pub struct Frangi {
    /// 1 / 2α²
    plate: f64,
    /// 1 / 2β²
    blob: f64,
}

impl Frangi {
    pub fn new(alpha: f64, beta: f64) -> Self {
        Frangi { plate: 1.0 / (2.0 * alpha * alpha), blob: 1.0 / (2.0 * beta * beta) }
    }

    /// `(1 - exp(-Ra²/2α²)) · exp(-Rb²/2β²)` for a bright tube (`λ2, λ3 < 0`), else 0.
    #[inline(always)]
    pub fn shape(&self, l: [f64; 3]) -> f64 {
        let [l1, l2, l3] = l;
        let ra2 = (l2 / l3) * (l2 / l3);
        let rb2 = (l1 * l1) / (l2 * l3);
        let v = (1.0 - exp_neg(ra2 * self.plate)) * exp_neg(rb2 * self.blob);
        // Where λ2 or λ3 is not negative the ratios may be 0/0; the select drops them.
        if l2 < 0.0 && l3 < 0.0 {
            v
        } else {
            0.0
        }
    }

    /// The shape term of a Hessian.
    #[inline(always)]
    pub fn shape_of(&self, h: &Sym3) -> f64 {
        self.shape(eigenvalues_by_magnitude(h))
    }
}

/// Frangi's structure term `1 - exp(-S²/2c²)`, given `1/2c²`.
#[inline(always)]
pub fn structure(s2: f64, inv_two_c2: f64) -> f64 {
    1.0 - exp_neg(s2 * inv_two_c2)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// R·diag(λ)·Rᵀ for a fixed rotation.
    fn rotated(l: [f64; 3]) -> Sym3 {
        let (a, b) = (0.7_f64, -1.1_f64);
        let rx = [[1.0, 0.0, 0.0], [0.0, a.cos(), -a.sin()], [0.0, a.sin(), a.cos()]];
        let rz = [[b.cos(), -b.sin(), 0.0], [b.sin(), b.cos(), 0.0], [0.0, 0.0, 1.0]];
        let mut r = [[0.0; 3]; 3];
        for i in 0..3 {
            for j in 0..3 {
                r[i][j] = (0..3).map(|k| rz[i][k] * rx[k][j]).sum();
            }
        }
        let m = |i: usize, j: usize| (0..3).map(|k| r[i][k] * l[k] * r[j][k]).sum::<f64>();
        [m(0, 0), m(1, 1), m(2, 2), m(0, 1), m(0, 2), m(1, 2)]
    }

    #[test]
    fn eigenvalues_of_rotated_diagonals() {
        for l in [[0.1, -2.0, -2.0], [3.0, -1.0, 0.5], [-4.0, -4.0, -4.0], [0.0, 0.0, 0.0], [1e-3, -7.5, 2.0]] {
            let got = eigenvalues_by_magnitude(&rotated(l));
            let want = sort_by_magnitude(l);
            for n in 0..3 {
                assert!((got[n] - want[n]).abs() < 1e-6 * (1.0 + want[2].abs()), "{l:?}: {got:?} vs {want:?}");
            }
            let s2: f64 = l.iter().map(|x| x * x).sum();
            assert!((frobenius2(&rotated(l)) - s2).abs() < 1e-9 * (1.0 + s2));
        }
    }

    #[test]
    fn shape_prefers_tubes_and_rejects_dark_or_flat() {
        let f = Frangi::new(0.5, 0.5);
        let tube = f.shape([0.0, -1.0, -1.0]);
        let plate = f.shape([0.0, -0.05, -1.0]);
        let blob = f.shape([-1.0, -1.0, -1.0]);
        let dark = f.shape([0.0, 1.0, 1.0]);
        assert!(tube > 0.85, "{tube}");
        assert!(plate < 0.05 && blob < 0.2 && dark == 0.0, "{plate} {blob} {dark}");
        assert_eq!(f.shape_of(&rotated([0.2, 1.0, -1.5])), 0.0);
    }
}
