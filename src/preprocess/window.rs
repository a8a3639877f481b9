//! HU windowing: the CT channel of the network, clipped to the pulmonary-vessel range and
//! scaled to `[0, 1]`.

use ndarray::{ArrayView3, ArrayViewMut3, Zip};

/// Writes `(clamp(hu, low, high) - low) / (high - low)` into `out`: exactly 0 at and below
/// `low`, exactly 1 at and above `high`. NaN (never produced by assembly) maps to 0.
pub fn window_into(hu: ArrayView3<'_, f32>, window: [f32; 2], out: ArrayViewMut3<'_, f32>) {
    let [low, high] = window;
    let width = high - low;
    Zip::from(out).and(hu).par_for_each(|o, &v| *o = (v.max(low).min(high) - low) / width);
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array3;

    #[test]
    fn window_is_exact_at_the_ends_and_linear_between() {
        let hu = Array3::from_shape_vec((1, 1, 7), vec![-1024.0, -700.0, -200.0, 0.0, 300.0, 301.0, 3000.0]).unwrap();
        let mut out = Array3::zeros((1, 1, 7));
        window_into(hu.view(), [-700.0, 300.0], out.view_mut());
        assert_eq!(out.as_slice().unwrap(), &[0.0, 0.0, 0.5, 0.7, 1.0, 1.0, 1.0]);
    }
}
