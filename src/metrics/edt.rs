//! Exact squared Euclidean distance transform with anisotropic spacing (Felzenszwalb and
//! Huttenlocher's lower envelope of parabolas, one axis at a time).

use ndarray::{Array3, ArrayView3, Axis, Zip};

/// Squared distance in mm² from every voxel centre to the nearest `true` voxel centre of
/// `features`; +infinity everywhere when there is none.
pub fn squared_distance_transform(features: ArrayView3<'_, bool>, spacing: [f64; 3]) -> Array3<f64> {
    let mut d = features.mapv(|f| if f { 0.0 } else { f64::INFINITY });
    // Fastest axis first (any order gives the same exact result).
    for axis in [2usize, 1, 0] {
        let s = spacing[axis];
        let n = d.len_of(Axis(axis));
        Zip::from(d.lanes_mut(Axis(axis))).par_for_each(|mut lane| {
            let f: Vec<f64> = lane.iter().copied().collect();
            let mut out = vec![0.0; n];
            envelope(&f, s, &mut out);
            for (dst, v) in lane.iter_mut().zip(out) {
                *dst = v;
            }
        });
    }
    d
}

/// One dimension: `out[q] = min_p s²(q - p)² + f[p]`.
fn envelope(f: &[f64], s: f64, out: &mut [f64]) {
    let n = f.len();
    let s2 = s * s;
    let mut v = vec![0usize; n];
    let mut z = vec![0.0f64; n + 1];
    let mut k: isize = -1;
    let key = |p: usize| f[p] + s2 * (p as f64) * (p as f64);
    for q in 0..n {
        if !f[q].is_finite() {
            continue;
        }
        loop {
            if k < 0 {
                k = 0;
                v[0] = q;
                z[0] = f64::NEG_INFINITY;
                z[1] = f64::INFINITY;
                break;
            }
            let p = v[k as usize];
            let x = (key(q) - key(p)) / (2.0 * s2 * (q - p) as f64);
            if x <= z[k as usize] {
                k -= 1;
                continue;
            }
            k += 1;
            v[k as usize] = q;
            z[k as usize] = x;
            z[k as usize + 1] = f64::INFINITY;
            break;
        }
    }
    if k < 0 {
        out.fill(f64::INFINITY);
        return;
    }
    let mut k = 0usize;
    for (q, o) in out.iter_mut().enumerate() {
        while z[k + 1] < q as f64 {
            k += 1;
        }
        let dq = q as f64 - v[k] as f64;
        *o = s2 * dq * dq + f[v[k]];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Brute force over all feature voxels.
    fn brute(features: ArrayView3<'_, bool>, spacing: [f64; 3]) -> Array3<f64> {
        let pts: Vec<[usize; 3]> = features.indexed_iter().filter(|(_, &v)| v).map(|((k, j, i), _)| [k, j, i]).collect();
        Array3::from_shape_fn(features.raw_dim(), |(k, j, i)| {
            pts.iter()
                .map(|p| {
                    (0..3)
                        .map(|a| ((([k, j, i][a] as f64) - p[a] as f64) * spacing[a]).powi(2))
                        .sum::<f64>()
                })
                .fold(f64::INFINITY, f64::min)
        })
    }

    #[test]
    fn matches_brute_force_on_anisotropic_grids() {
        let mut state = 12345u64;
        let mut next = || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 33) as u32
        };
        for (shape, spacing) in [((7, 9, 11), [2.5, 0.7, 0.9]), ((1, 5, 13), [1.0, 1.0, 3.0]), ((6, 1, 1), [0.3, 1.0, 1.0])] {
            let f = Array3::from_shape_fn(shape, |_| next() % 23 == 0);
            let fast = squared_distance_transform(f.view(), spacing);
            let slow = brute(f.view(), spacing);
            for (a, b) in fast.iter().zip(slow.iter()) {
                assert!((a == b) || (a - b).abs() < 1e-9, "{a} vs {b}");
            }
        }
        let none = Array3::from_elem((3, 3, 3), false);
        assert!(squared_distance_transform(none.view(), [1.0; 3]).iter().all(|v| v.is_infinite()));
    }
}
