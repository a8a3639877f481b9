//! Gaussian image noise that is a function of the physical point, not of the voxel index, so
//! any grid through the same points (head-first or feet-first, any thread schedule) gets the
//! same values.

use crate::geometry::Vec3;

/// White Gaussian noise keyed by a seed-derived key and the point's position to 1 µm.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Noise {
    key: u64,
    sd: f32,
}

/// The splitmix64 finaliser: a fast bijective 64-bit mixer.
#[inline]
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Noise {
    pub fn new(key: u64, sd: f32) -> Self {
        Noise { key, sd }
    }

    /// One normal deviate (times the standard deviation) for point `p` (Box-Muller on 2 x 24
    /// hashed bits).
    #[inline]
    pub fn at(&self, p: Vec3) -> f32 {
        let q = p.map(|c| (c * 1000.0).round() as i64 as u64);
        let h = mix(self.key ^ mix(q[0] ^ mix(q[1].wrapping_add(0x9e37_79b9_7f4a_7c15) ^ mix(q[2]))));
        let u1 = ((h >> 40) as f32 + 0.5) * (1.0 / 16_777_216.0);
        let u2 = (h & 0xff_ffff) as f32 * (1.0 / 16_777_216.0);
        self.sd * (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
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
        assert_eq!(n.at([1.0, 2.0, 3.0]), n.at([1.0 + 1e-9, 2.0, 3.0]));
        assert_ne!(n.at([1.0, 2.0, 3.0]), Noise::new(8, 1.0).at([1.0, 2.0, 3.0]));
    }
}
