//! One-dimensional Gaussian derivative kernels, sampled and moment-corrected, shared by the CPU
//! and the libtorch filters so that both apply exactly the same weights.
//!
//! Sampled Gaussian derivatives of small width are not exact on polynomials: the second
//! derivative kernel does not sum to zero, so a constant bright region would look like a
//! ridge. The kernels here are corrected so that order 0 sums to 1, order 1 returns the exact
//! slope of a linear ramp and order 2 sums to 0 and returns the exact curvature of a parabola.

/// Kernels are cut at this many standard deviations.
pub const TRUNCATE_SIGMAS: f64 = 4.0;

/// The three kernels (derivative orders 0, 1, 2) of one scale along one axis, as half kernels:
/// `half[o][t]` is the weight at offset `t = 0..=radius`; order 0 and 2 are symmetric, order 1
/// antisymmetric (weight at `-t` is `-half[1][t]`). Weights are for correlation:
/// `out[x] = Σ_t w[t] · in[x + t]`.
#[derive(Debug, Clone, PartialEq)]
pub struct AxisKernels {
    pub radius: usize,
    pub half: [Vec<f32>; 3],
}

impl AxisKernels {
    /// Kernels of standard deviation `sigma_vox` voxels, with the derivatives taken per
    /// millimetre (`spacing_mm` per voxel) and every order multiplied by `gain`.
    pub fn new(sigma_vox: f64, spacing_mm: f64, gain: f64) -> Self {
        let radius = ((TRUNCATE_SIGMAS * sigma_vox).ceil() as usize).max(1);
        let s2 = sigma_vox * sigma_vox;
        let g: Vec<f64> = (0..=radius).map(|t| (-((t * t) as f64) / (2.0 * s2)).exp()).collect();
        // Sums over the full kernel -R..=R of a symmetric half kernel.
        let full_sum = |h: &[f64], f: &dyn Fn(f64) -> f64| -> f64 {
            h.iter().enumerate().map(|(t, w)| if t == 0 { w * f(0.0) } else { 2.0 * w * f(t as f64) }).sum()
        };
        let g_sum = full_sum(&g, &|_| 1.0);
        let g0: Vec<f64> = g.iter().map(|w| w / g_sum).collect();
        // Order 1: t·g, scaled so that Σ t·w[t] = 1 (slope of a ramp).
        let d1: Vec<f64> = (0..=radius).map(|t| t as f64 * g0[t]).collect();
        let d1_moment = full_sum(&d1, &|t| t);
        let d1: Vec<f64> = d1.iter().map(|w| w / d1_moment).collect();
        // Order 2: (t²/σ² - 1)·g, made zero-sum, scaled so that Σ t²·w[t] = 2 (curvature of t²).
        let d2: Vec<f64> = (0..=radius).map(|t| ((t * t) as f64 / s2 - 1.0) * g0[t]).collect();
        let d2_sum = full_sum(&d2, &|_| 1.0);
        let d2: Vec<f64> = d2.iter().zip(&g0).map(|(w, g)| w - d2_sum * g).collect();
        let d2_moment = full_sum(&d2, &|t| t * t);
        let d2: Vec<f64> = d2.iter().map(|w| 2.0 * w / d2_moment).collect();
        let per_mm = |h: Vec<f64>, order: i32| -> Vec<f32> {
            let f = gain / spacing_mm.powi(order);
            h.into_iter().map(|w| (w * f) as f32).collect()
        };
        AxisKernels { radius, half: [per_mm(g0, 0), per_mm(d1, 1), per_mm(d2, 2)] }
    }

    /// The whole kernel of `order` over offsets `-radius..=radius`.
    pub fn full(&self, order: usize) -> Vec<f32> {
        let h = &self.half[order];
        let sign = if order == 1 { -1.0 } else { 1.0 };
        (0..=2 * self.radius)
            .map(|n| if n < self.radius { sign * h[self.radius - n] } else { h[n - self.radius] })
            .collect()
    }
}

/// The kernels of one scale (`sigma_mm`) along the `[k, j, i]` axes of a grid with `spacing_mm`.
/// The Hessian is normalised by `sigma_mm^power` (Lindeberg's γ-normalisation; 2 makes the
/// responses of tubes of different radius comparable); that factor is folded into the `k`
/// kernels, so that a product of the three axes' kernels is one normalised Hessian element.
pub fn scale_kernels(sigma_mm: f64, spacing_mm: [f64; 3], power: f64) -> [AxisKernels; 3] {
    let norm = sigma_mm.powf(power);
    [
        AxisKernels::new(sigma_mm / spacing_mm[0], spacing_mm[0], norm),
        AxisKernels::new(sigma_mm / spacing_mm[1], spacing_mm[1], 1.0),
        AxisKernels::new(sigma_mm / spacing_mm[2], spacing_mm[2], 1.0),
    ]
}

/// Index of `i` (possibly outside `0..n`) under half-sample symmetric extension
/// (`… c b a | a b c … x y z | z y x …`, SciPy's and scikit-image's `reflect`), repeated as
/// often as a kernel wider than the image needs.
pub fn mirror(i: isize, n: usize) -> usize {
    let n = n as isize;
    let m = i.rem_euclid(2 * n);
    (if m < n { m } else { 2 * n - 1 - m }) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(k: &[f32], f: impl Fn(f64) -> f64) -> f64 {
        let r = (k.len() / 2) as isize;
        k.iter().enumerate().map(|(n, w)| *w as f64 * f((n as isize - r) as f64)).sum()
    }

    #[test]
    fn kernels_are_exact_on_low_order_polynomials() {
        for sigma in [0.8, 1.43, 4.3] {
            let k = AxisKernels::new(sigma, 1.0, 1.0);
            let (g, d1, d2) = (k.full(0), k.full(1), k.full(2));
            assert!((apply(&g, |_| 1.0) - 1.0).abs() < 1e-6);
            assert!((apply(&d1, |t| 3.0 + 2.0 * t) - 2.0).abs() < 1e-5, "slope at sigma {sigma}");
            assert!(apply(&d2, |_| 5.0).abs() < 1e-5, "constant at sigma {sigma}");
            assert!((apply(&d2, |t| 1.0 + t + 1.5 * t * t) - 3.0).abs() < 1e-4, "curvature at sigma {sigma}");
        }
    }

    #[test]
    fn derivatives_are_per_millimetre_and_normalised() {
        let k = scale_kernels(2.0, [1.25, 0.5, 0.5], 2.0);
        // A parabola x² in mm along k sampled at 1.25 mm: curvature 2, normalised by σ² = 4.
        let d2 = k[0].full(2);
        let v = apply(&d2, |t| (t * 1.25) * (t * 1.25));
        assert!((v - 8.0).abs() < 1e-3, "{v}");
        assert_eq!(k[1].radius, 16);
    }

    #[test]
    fn mirror_reflects_half_sample() {
        let idx: Vec<usize> = (-3..7).map(|i| mirror(i, 4)).collect();
        assert_eq!(idx, vec![2, 1, 0, 0, 1, 2, 3, 3, 2, 1]);
        assert_eq!(mirror(-5, 2), 0);
        assert_eq!(mirror(0, 1), 0);
        assert_eq!(mirror(5, 1), 0);
    }
}
