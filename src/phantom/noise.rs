//! Gaussian image noise that is a function of the physical point, not of the voxel index, so
//! any grid through the same points (head-first or feet-first, any thread schedule) gets the
//! same values.

use crate::geometry::Vec3;

/// The noise draws from a table of 2^16 standard normal quantiles (the exact distribution,
/// quantised; tails to 4.3 sd).
const TABLE_BITS: u32 = 16;

/// Standard normal quantile function (Acklam's rational approximation, relative error
/// about 1e-9).
fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
    const B: [f64; 5] = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
    const C: [f64; 6] = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
    const D: [f64; 4] = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5]) / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    const LOW: f64 = 0.02425;
    if p < LOW {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - LOW {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// Gaussian noise keyed by a seed-derived key and the point's position to 1 µm: white, plus
/// optionally a correlated part (value noise: deviates on a lattice of `grain` mm, trilinearly
/// interpolated, so neighbouring voxels share it as reconstruction kernels make them do).
#[derive(Debug, Clone)]
pub(crate) struct Noise {
    key: u64,
    table: Vec<f32>,
    /// Weights of the white and the correlated part (their squares sum to 1).
    white: f32,
    correlated: f32,
    grain: f64,
}

/// Mean variance of a trilinear interpolation of unit-variance lattice values at a uniformly
/// distributed point: (2/3)^3, so dividing by its square root restores unit variance on average.
const TRILINEAR_SD: f32 = 0.544_331_05;

/// The splitmix64 finaliser: a fast bijective 64-bit mixer.
#[inline]
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// `x` rounded to the nearest integer (ties to even) without a libm call; exact for
/// |x| < 2^51.
#[inline]
fn round_fast(x: f64) -> i64 {
    const MAGIC: f64 = 6_755_399_441_055_744.0; // 2^52 + 2^51
    ((x + MAGIC) - MAGIC) as i64
}

impl Noise {
    /// White noise of standard deviation `sd`.
    #[cfg_attr(not(test), allow(dead_code))]
    pub fn new(key: u64, sd: f32) -> Self {
        Noise::textured(key, sd, 0.0, 1.0)
    }

    /// Noise of standard deviation `sd` of which the share `correlated` of the variance is
    /// correlated over `grain` mm.
    pub fn textured(key: u64, sd: f32, correlated: f32, grain: f64) -> Self {
        let n = 1usize << TABLE_BITS;
        let table = (0..n).map(|k| (sd as f64 * normal_quantile((k as f64 + 0.5) / n as f64)) as f32).collect();
        let c = correlated.clamp(0.0, 1.0);
        Noise { key, table, white: (1.0 - c).sqrt(), correlated: c.sqrt() / TRILINEAR_SD, grain: grain.max(1e-3) }
    }

    /// The deviate (times the standard deviation) of the hashed integer point `q`.
    #[inline]
    fn deviate(&self, key: u64, q: [u64; 3]) -> f32 {
        let h = mix(key ^ mix(q[0] ^ mix(q[1].wrapping_add(0x9e37_79b9_7f4a_7c15) ^ mix(q[2]))));
        self.table[(h >> (64 - TABLE_BITS)) as usize]
    }

    /// The noise value at point `p`.
    #[inline]
    pub fn at(&self, p: Vec3) -> f32 {
        let white = self.deviate(self.key, p.map(|c| round_fast(c * 1000.0) as u64));
        if self.correlated == 0.0 {
            return white;
        }
        self.white * white + self.correlated * self.lattice(p)
    }

    /// Trilinear interpolation of lattice deviates (unit variance at the lattice points).
    fn lattice(&self, p: Vec3) -> f32 {
        let key = mix(self.key ^ 0x5851_f42d_4c95_7f2d);
        let u = p.map(|c| c / self.grain);
        let base = u.map(f64::floor);
        let t = [0, 1, 2].map(|c| (u[c] - base[c]) as f32);
        let mut sum = 0.0;
        for corner in 0..8u32 {
            let mut w = 1.0;
            let mut q = [0u64; 3];
            for c in 0..3 {
                let up = (corner >> c) & 1 == 1;
                w *= if up { t[c] } else { 1.0 - t[c] };
                q[c] = (base[c] as i64 + i64::from(up)) as u64;
            }
            sum += w * self.deviate(key, q);
        }
        sum
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_is_standard_normal_and_keyed() {
        let n = Noise::new(7, 1.0);
        let v: Vec<f32> = (0..20000).map(|i| n.at([i as f64 * 0.7, 1.35, -2.0])).collect();
        let mean = v.iter().sum::<f32>() / v.len() as f32;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / v.len() as f32;
        assert!(mean.abs() < 0.03, "mean {mean}");
        assert!((var.sqrt() - 1.0).abs() < 0.03, "sd {}", var.sqrt());
        let beyond2 = v.iter().filter(|x| x.abs() > 2.0).count() as f64 / v.len() as f64;
        assert!((beyond2 - 0.0455).abs() < 0.01, "tail {beyond2}");
        let beyond3 = v.iter().filter(|x| x.abs() > 3.0).count() as f64 / v.len() as f64;
        assert!(beyond3 > 0.0005 && beyond3 < 0.006, "far tail {beyond3}");
        assert_eq!(n.at([1.0, 2.0, 3.0]), n.at([1.0 + 1e-9, 2.0, 3.0]));
        assert_ne!(n.at([1.0, 2.0, 3.0]), Noise::new(8, 1.0).at([1.0, 2.0, 3.0]));
        // The quantile function against known values.
        assert!((normal_quantile(0.975) - 1.959964).abs() < 1e-5);
        assert!((normal_quantile(0.001) + 3.090232).abs() < 1e-5);
        assert!(normal_quantile(0.5).abs() < 1e-12);
    }

    #[test]
    fn correlated_noise_keeps_its_sd_and_is_correlated_over_its_grain() {
        let n = Noise::textured(7, 10.0, 0.8, 3.0);
        // A diagonal line, so that the points sample every offset within the lattice cells.
        let at = |x: f64| n.at([x, 0.37 * x + 1.35, 0.23 * x - 2.0]);
        let v: Vec<f32> = (0..30000).map(|i| at(i as f64 * 0.5)).collect();
        let mean = v.iter().sum::<f32>() / v.len() as f32;
        let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / v.len() as f32).sqrt();
        assert!((sd - 10.0).abs() < 0.8, "sd {sd}");
        // Neighbours 0.5 mm apart share most of the correlated part; 10 mm apart nothing.
        let corr = |lag: usize| {
            let pairs = v.len() - lag;
            (0..pairs).map(|i| (v[i] - mean) * (v[i + lag] - mean)).sum::<f32>() / pairs as f32 / (sd * sd)
        };
        assert!(corr(1) > 0.5, "lag 0.5 mm correlation {}", corr(1));
        assert!(corr(20).abs() < 0.05, "lag 10 mm correlation {}", corr(20));
        let white = Noise::new(7, 10.0);
        let wv: Vec<f32> = (0..2000).map(|i| white.at([i as f64 * 0.5, 1.35, -2.0])).collect();
        let wc = (0..1999).map(|i| wv[i] * wv[i + 1]).sum::<f32>() / 1999.0 / 100.0;
        assert!(wc.abs() < 0.1, "white noise correlated at lag 1: {wc}");
    }
}
