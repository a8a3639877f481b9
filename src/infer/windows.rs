//! Window placement and weighting for sliding-window inference (MONAI's scheme, so window
//! counts match its `sliding_window_inference`).

use ndarray::Array3;

/// Start offsets along one axis of `size` voxels (`size >= window`): steps of
/// `floor(window * (1 - overlap))` (at least 1), the last start moved back to end at `size`.
pub fn starts(size: usize, window: usize, overlap: f64) -> Vec<usize> {
    if size <= window {
        return vec![0];
    }
    let step = ((window as f64 * (1.0 - overlap)).floor() as usize).max(1);
    let count = (size - window).div_ceil(step) + 1;
    (0..count).map(|n| (n * step).min(size - window)).collect()
}

/// Every window's `[k, j, i]` start for a padded volume of `size`, k slowest.
pub fn grid_starts(size: [usize; 3], window: [usize; 3], overlap: f64) -> Vec<[usize; 3]> {
    let per_axis: Vec<Vec<usize>> = (0..3).map(|a| starts(size[a], window[a], overlap)).collect();
    let mut out = Vec::with_capacity(per_axis.iter().map(Vec::len).product());
    for &k in &per_axis[0] {
        for &j in &per_axis[1] {
            for &i in &per_axis[2] {
                out.push([k, j, i]);
            }
        }
    }
    out
}

/// Number of windows for a volume of `size` (each side padded up to the window if smaller).
pub fn window_count(size: [usize; 3], window: [usize; 3], overlap: f64) -> usize {
    (0..3).map(|a| starts(size[a].max(window[a]), window[a], overlap).len()).product()
}

/// Gaussian importance map of a window: separable, centred, sigma = `sigma_scale * side`
/// (1/8 by default), scaled to a maximum of 1. Far from the centre it stays positive (about 6e-11
/// in the corners of a 96^3 window), so every voxel has a non-zero weight sum.
pub fn gaussian_importance(window: [usize; 3], sigma_scale: f64) -> Array3<f32> {
    let axis = |n: usize| -> Vec<f64> {
        let c = (n as f64 - 1.0) / 2.0;
        let sigma = (sigma_scale * n as f64).max(f64::MIN_POSITIVE);
        let g: Vec<f64> = (0..n).map(|x| (-((x as f64 - c).powi(2)) / (2.0 * sigma * sigma)).exp()).collect();
        let max = g.iter().cloned().fold(0.0, f64::max);
        g.into_iter().map(|v| (v / max).max(1e-30)).collect()
    };
    let (gk, gj, gi) = (axis(window[0]), axis(window[1]), axis(window[2]));
    Array3::from_shape_fn((window[0], window[1], window[2]), |(k, j, i)| (gk[k] * gj[j] * gi[i]) as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_cover_the_axis_with_the_requested_step() {
        assert_eq!(starts(96, 96, 0.5), vec![0]);
        assert_eq!(starts(50, 96, 0.5), vec![0]);
        assert_eq!(starts(200, 96, 0.5), vec![0, 48, 96, 104]);
        assert_eq!(starts(100, 32, 0.25), vec![0, 24, 48, 68]);
        for (size, window, overlap) in [(300, 96, 0.5), (239, 96, 0.5), (97, 96, 0.0), (512, 64, 0.75)] {
            let s = starts(size, window, overlap);
            assert_eq!(s[0], 0);
            assert_eq!(*s.last().unwrap() + window, size);
            let step = ((window as f64) * (1.0 - overlap)).floor() as usize;
            assert!(s.windows(2).all(|w| w[1] > w[0] && w[1] - w[0] <= step));
        }
    }

    #[test]
    fn importance_peaks_in_the_centre_and_stays_positive() {
        let g = gaussian_importance([8, 12, 16], 0.125);
        let max = g.iter().cloned().fold(0.0f32, f32::max);
        assert!((max - 1.0).abs() < 1e-6);
        assert!(g.iter().all(|&v| v > 0.0));
        assert!(g[[3, 5, 7]] > g[[0, 5, 7]] && g[[3, 5, 7]] > g[[3, 0, 7]] && g[[3, 5, 7]] > g[[3, 5, 0]]);
        assert_eq!(g[[0, 0, 0]], g[[7, 11, 15]]);
    }
}
