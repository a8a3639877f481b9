//! Territories: the sample points a tree divides up, and their statistics.

use crate::geometry::{add, dot, norm, normalize, scale, sub, Vec3};
use rand::Rng;

/// `n` points spread uniformly over the region where `inside` holds within box `lo`-`hi` (fewer
/// if the region is too small to find them in `50 n` tries).
pub(crate) fn sample_region<R: Rng>(lo: Vec3, hi: Vec3, n: usize, rng: &mut R, inside: impl Fn(Vec3) -> bool) -> Vec<Vec3> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n.saturating_mul(50) {
        if out.len() == n {
            break;
        }
        let p = [0, 1, 2].map(|c| if hi[c] > lo[c] { rng.random_range(lo[c]..hi[c]) } else { lo[c] });
        if inside(p) {
            out.push(p);
        }
    }
    out
}

pub(crate) fn centroid(points: &[Vec3], idx: &[u32]) -> Vec3 {
    let mut c = [0.0; 3];
    for &i in idx {
        c = add(c, points[i as usize]);
    }
    scale(c, 1.0 / idx.len().max(1) as f64)
}

/// Direction of largest spread of the points (power iteration on their covariance).
pub(crate) fn principal_axis(points: &[Vec3], idx: &[u32]) -> Vec3 {
    let c = centroid(points, idx);
    let mut m = [[0.0; 3]; 3];
    for &i in idx {
        let d = sub(points[i as usize], c);
        for a in 0..3 {
            for b in 0..3 {
                m[a][b] += d[a] * d[b];
            }
        }
    }
    let mut v = normalize([1.0, 0.7, 0.4]);
    for _ in 0..40 {
        let w = [dot(m[0], v), dot(m[1], v), dot(m[2], v)];
        if norm(w) < 1e-12 {
            return [1.0, 0.0, 0.0];
        }
        v = normalize(w);
    }
    v
}
