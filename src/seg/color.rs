//! Display colours: sRGB to the scaled CIELab triplet of RecommendedDisplayCIELabValue.
//!
//! Uses sRGB primaries with the D65 white point, as dcmqi, highdicom and 3D Slicer do, so a
//! colour survives the trip through those tools unchanged.

/// sRGB component (0..=255) to linear light (0..=1).
fn linearize(c: u8) -> f64 {
    let c = c as f64 / 255.0;
    if c > 0.04045 {
        ((c + 0.055) / 1.055).powf(2.4)
    } else {
        c / 12.92
    }
}

/// CIELab (L* 0..100, a* and b* about -128..127) of an sRGB colour, D65 white.
pub fn srgb_to_lab(rgb: [u8; 3]) -> [f64; 3] {
    let [r, g, b] = rgb.map(linearize);
    let x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047;
    let y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    let z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883;
    let f = |t: f64| if t > 216.0 / 24389.0 { t.cbrt() } else { (24389.0 / 27.0 * t + 16.0) / 116.0 };
    let (fx, fy, fz) = (f(x), f(y), f(z));
    [116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)]
}

/// The DICOM encoding of CIELab: L* 0..100 and a*, b* -128..127 scaled to 0..65535.
pub fn lab_to_dicom(lab: [f64; 3]) -> [u16; 3] {
    let scale = |v: f64, lo: f64, hi: f64| ((v.clamp(lo, hi) - lo) * 65535.0 / (hi - lo)).round() as u16;
    [scale(lab[0], 0.0, 100.0), scale(lab[1], -128.0, 127.0), scale(lab[2], -128.0, 127.0)]
}

/// RecommendedDisplayCIELabValue of an sRGB colour.
pub fn srgb_to_dicom_lab(rgb: [u8; 3]) -> [u16; 3] {
    lab_to_dicom(srgb_to_lab(rgb))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Golden values: fixtures/seg/cielab_golden.json, made by fixtures/seg/make_cielab_golden.py
    /// with highdicom's CIELabColor.from_rgb.
    #[test]
    fn matches_highdicom_golden_values() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/seg/cielab_golden.json");
        let text = std::fs::read_to_string(path).expect("fixtures/seg/cielab_golden.json");
        let cases: Vec<([u8; 3], [u16; 3])> = serde_json::from_str(&text).expect("golden JSON");
        assert!(cases.len() >= 8);
        for (rgb, want) in cases {
            let got = srgb_to_dicom_lab(rgb);
            for c in 0..3 {
                assert!((got[c] as i32 - want[c] as i32).abs() <= 1, "rgb {rgb:?}: got {got:?}, highdicom {want:?}");
            }
        }
    }
}
