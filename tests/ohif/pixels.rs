//! Which segment colours a screenshot of the viewer's CT viewport shows.
//!
//! A viewer draws a segment as its colour laid over the grey CT: blended for the fill, at full
//! strength for the outline. So a pixel `p` of segment colour `c` is `a·c + (1 − a)·g` for an
//! opacity `a` and the grey `g` beneath, in each of its three channels. A least-squares fit of
//! the three channels of `p` against those of `c` gives `a` and a residual: a grey pixel fits
//! with `a = 0`, a pixel of another hue leaves a large residual. A pixel counts for `c` when the
//! fit is good and `a` is at least [`MIN_OPACITY`].

use image::RgbImage;

/// Weakest blend that counts (viewers fill segments at 0.3 to 0.7 opacity).
pub const MIN_OPACITY: f64 = 0.2;
/// Largest root-mean-square residual, in 8-bit levels, of a pixel that counts.
pub const MAX_RESIDUAL: f64 = 6.0;

/// Opacity, grey beneath and residual of `p` read as colour `c` over grey.
pub fn fit(p: [u8; 3], c: [u8; 3]) -> (f64, f64, f64) {
    let p = p.map(f64::from);
    let c = c.map(f64::from);
    let mean = |v: [f64; 3]| v.iter().sum::<f64>() / 3.0;
    let (mp, mc) = (mean(p), mean(c));
    let var_c: f64 = c.iter().map(|x| (x - mc).powi(2)).sum();
    assert!(var_c > 1.0, "segment colour {c:?} is grey: a screenshot cannot tell it from the CT");
    let cov: f64 = (0..3).map(|i| (p[i] - mp) * (c[i] - mc)).sum();
    let a = cov / var_c;
    let b = mp - a * mc; // (1 − a)·g
    let rms = ((0..3).map(|i| (p[i] - a * c[i] - b).powi(2)).sum::<f64>() / 3.0).sqrt();
    let grey = if a < 0.95 { b / (1.0 - a) } else { f64::NAN };
    (a, grey, rms)
}

/// Whether pixel `p` shows colour `c` over grey.
pub fn shows(p: [u8; 3], c: [u8; 3]) -> bool {
    let (a, grey, rms) = fit(p, c);
    (MIN_OPACITY..=1.1).contains(&a) && rms <= MAX_RESIDUAL && (grey.is_nan() || (-8.0..=263.0).contains(&grey))
}

/// For each pixel, whether it shows colour `c`.
pub fn mask(img: &RgbImage, c: [u8; 3]) -> Vec<bool> {
    img.pixels().map(|p| shows(p.0, c)).collect()
}

/// How many pixels show colour `c`.
pub fn count(img: &RgbImage, c: [u8; 3]) -> usize {
    mask(img, c).iter().filter(|&&m| m).count()
}

/// Mean grey level of `img` (taken as grey) over the pixels where `m` is set; None if none is.
pub fn mean_grey_under(img: &RgbImage, m: &[bool]) -> Option<f64> {
    let (sum, n) = img
        .pixels()
        .zip(m)
        .filter(|(_, &on)| on)
        .fold((0.0, 0usize), |(s, n), (p, _)| (s + p.0.iter().map(|&v| f64::from(v)).sum::<f64>() / 3.0, n + 1));
    (n > 0).then(|| sum / n as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RED: [u8; 3] = [220, 40, 40];
    const BLUE: [u8; 3] = [40, 90, 230];

    fn blend(c: [u8; 3], a: f64, g: f64) -> [u8; 3] {
        c.map(|v| (a * f64::from(v) + (1.0 - a) * g).round() as u8)
    }

    #[test]
    fn blends_count_and_grey_and_other_hues_do_not() {
        for g in [0.0, 60.0, 128.0, 240.0] {
            for a in [0.3, 0.5, 0.7, 1.0] {
                assert!(shows(blend(RED, a, g), RED), "red at {a} over {g}");
                assert!(!shows(blend(RED, a, g), BLUE), "red at {a} over {g} read as blue");
                assert!(shows(blend(BLUE, a, g), BLUE), "blue at {a} over {g}");
                assert!(!shows(blend(BLUE, a, g), RED), "blue at {a} over {g} read as red");
            }
            let grey = [g as u8; 3];
            assert!(!shows(grey, RED) && !shows(grey, BLUE));
        }
        // The viewer's light-blue icons and green are neither.
        for other in [[90, 200, 230], [77, 228, 121], [255, 255, 0]] {
            assert!(!shows(other, RED) && !shows(other, BLUE), "{other:?}");
        }
    }
}
