//! Branch-free f64 arc cosine, cosine, sine and exp(-y) on the ranges the eigen-analysis
//! needs: plain arithmetic, so that a loop over a row of voxels vectorises (libm calls do not).
//! Accurate to about 1e-9 or better, far below what the vesselness measure can resolve.

/// Coefficients of `acos(x) / sqrt(1 - x)` on `[0, 1]` in powers of `x`, from
/// fixtures/vesselness/fit_acos.py (least-squares Chebyshev fit, max error 5.3e-10).
const ACOS_POLY: [f64; 10] = [
    1.570796326261536,
    -0.21460172591626153,
    0.08904479608166542,
    -0.050740801300049744,
    0.03331491441778417,
    -0.022844571707484256,
    0.014575916973168113,
    -0.007445645629612127,
    0.00251862613034893,
    -0.00040427333281265967,
];

/// Arc cosine of `x` in `[-1, 1]`.
#[inline(always)]
pub fn acos(x: f64) -> f64 {
    let a = x.abs();
    let mut p = ACOS_POLY[9];
    for &c in ACOS_POLY[..9].iter().rev() {
        p = p * a + c;
    }
    let t = (1.0 - a).max(0.0).sqrt() * p;
    if x < 0.0 {
        std::f64::consts::PI - t
    } else {
        t
    }
}

/// Cosine and sine of `x` in `[0, π/3]` by their Taylor series to x¹⁴ and x¹⁵ (remainder below
/// 1e-14 there).
#[inline(always)]
pub fn cos_sin_small(x: f64) -> (f64, f64) {
    let x2 = x * x;
    // 1 - x²/2! + x⁴/4! - ... + x¹⁴/14!, in Horner form.
    let mut c = -1.0 / 87_178_291_200.0;
    let mut s = -1.0 / 1_307_674_368_000.0;
    for (ci, si) in [
        (1.0 / 479_001_600.0, 1.0 / 6_227_020_800.0),
        (-1.0 / 3_628_800.0, -1.0 / 39_916_800.0),
        (1.0 / 40_320.0, 1.0 / 362_880.0),
        (-1.0 / 720.0, -1.0 / 5_040.0),
        (1.0 / 24.0, 1.0 / 120.0),
        (-1.0 / 2.0, -1.0 / 6.0),
        (1.0, 1.0),
    ] {
        c = c * x2 + ci;
        s = s * x2 + si;
    }
    (c, s * x)
}

/// Beyond this, exp(-y) is taken as exp(-40) ≈ 4e-18.
const EXP_NEG_MAX: f64 = 40.0;

/// `exp(-y)` for `y >= 0` (negative `y` is taken as 0): `exp(-y/64)` by its Taylor series,
/// squared six times. Relative error below 1e-10.
#[inline(always)]
pub fn exp_neg(y: f64) -> f64 {
    let z = -(y.clamp(0.0, EXP_NEG_MAX) / 64.0);
    // Taylor series of e^z to z¹², |z| <= 0.625.
    let mut e = 1.0 / 479_001_600.0;
    for c in [
        1.0 / 39_916_800.0,
        1.0 / 3_628_800.0,
        1.0 / 362_880.0,
        1.0 / 40_320.0,
        1.0 / 5_040.0,
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        1.0 / 2.0,
        1.0,
        1.0,
    ] {
        e = e * z + c;
    }
    for _ in 0..6 {
        e *= e;
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acos_matches_the_standard_library() {
        let worst =
            (0..=200_000).map(|n| -1.0 + n as f64 / 100_000.0).map(|x| (acos(x) - x.acos()).abs()).fold(0.0, f64::max);
        assert!(worst < 2e-9, "{worst}");
    }

    #[test]
    fn cos_and_sin_match_the_standard_library_up_to_a_third_of_pi() {
        let top = std::f64::consts::FRAC_PI_3;
        for n in 0..=10_000 {
            let x = top * n as f64 / 10_000.0;
            let (c, s) = cos_sin_small(x);
            assert!((c - x.cos()).abs() < 1e-13 && (s - x.sin()).abs() < 1e-13, "{x}");
        }
    }

    #[test]
    fn exp_neg_matches_the_standard_library() {
        for n in 0..=40_000 {
            let y = n as f64 / 1_000.0;
            let want = (-y).exp();
            assert!((exp_neg(y) - want).abs() <= 1e-10 * want, "{y}: {} vs {want}", exp_neg(y));
        }
        assert!(exp_neg(1e6) < 1e-17 && exp_neg(-3.0) == 1.0);
    }
}
