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

/// White Gaussian noise keyed by a seed-derived key and the point's position to 1 µm.
#[derive(Debug, Clone)]
pub(crate) struct Noise {
    key: u64,
    table: Vec<f32>,
}

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
    pub fn new(key: u64, sd: f32) -> Self {
        let n = 1usize << TABLE_BITS;
        let table = (0..n).map(|k| (sd as f64 * normal_quantile((k as f64 + 0.5) / n as f64)) as f32).collect();
        Noise { key, table }
    }

    /// The deviate (times the standard deviation) at point `p`.
    #[inline]
    pub fn at(&self, p: Vec3) -> f32 {
        let q = p.map(|c| round_fast(c * 1000.0) as u64);
        let h = mix(self.key ^ mix(q[0] ^ mix(q[1].wrapping_add(0x9e37_79b9_7f4a_7c15) ^ mix(q[2]))));
        self.table[(h >> (64 - TABLE_BITS)) as usize]
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
}
