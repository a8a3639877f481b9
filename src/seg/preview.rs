//! A PNG to glance at a result: the CT's maximum-intensity projection along the patient's
//! head-feet axis with each segment in its display colour, shown the radiological way (patient
//! right on the image's left, anterior up) whatever the acquisition's orientation.

use super::config::SegConfig;
use crate::geometry::Geometry;
use image::{Rgb, RgbImage};
use ndarray::ArrayView3;
use std::path::{Path, PathBuf};

/// HU window of the grey MIP.
const WINDOW_LOW: f32 = -1000.0;
const WINDOW_HIGH: f32 = 1000.0;
/// Weight of the segment colour over the grey MIP.
const ALPHA: f32 = 0.7;

#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    #[error("CT of shape {ct:?} and label map of shape {labels:?} are not on one grid")]
    ShapeMismatch { ct: [usize; 3], labels: [usize; 3] },
    #[error("cannot write preview {path}: {reason}")]
    Write { path: PathBuf, reason: String },
}

/// Which array axis (0 = k, 1 = j, 2 = i) runs along patient x (L), y (P) and z (S), and
/// whether it runs the positive way. Falls back to (i, j, k) for grids too oblique to say.
fn display_axes(g: &Geometry) -> [(usize, bool); 3] {
    let dirs = [g.slice_dir, g.col_dir, g.row_dir];
    let mut used = [false; 3];
    let mut out = [(2, true), (1, true), (0, true)];
    for (patient_axis, slot) in out.iter_mut().enumerate() {
        let best = (0..3)
            .filter(|&a| !used[a])
            .max_by(|&a, &b| dirs[a][patient_axis].abs().total_cmp(&dirs[b][patient_axis].abs()));
        if let Some(a) = best {
            used[a] = true;
            *slot = (a, dirs[a][patient_axis] >= 0.0);
        }
    }
    out
}

/// Renders the preview: width along patient left, height along patient posterior.
pub fn render_preview(
    hu: ArrayView3<'_, f32>,
    labels: ArrayView3<'_, u8>,
    geometry: &Geometry,
    config: &SegConfig,
) -> Result<RgbImage, PreviewError> {
    let shape = |s: &[usize]| [s[0], s[1], s[2]];
    if hu.shape() != labels.shape() {
        return Err(PreviewError::ShapeMismatch { ct: shape(hu.shape()), labels: shape(labels.shape()) });
    }
    let n = shape(hu.shape());
    let [(ax, x_pos), (ay, y_pos), _] = display_axes(geometry);
    let (w, h) = (n[ax], n[ay]);
    let n_seg = config.segments.len();
    let segment_of = config.segment_of_label();
    let mut mip = vec![f32::NEG_INFINITY; w * h];
    let mut counts = vec![0u32; w * h * n_seg];
    for ((idx, &v), &l) in hu.indexed_iter().zip(labels.iter()) {
        let index = [idx.0, idx.1, idx.2];
        let x = if x_pos { index[ax] } else { w - 1 - index[ax] };
        let y = if y_pos { index[ay] } else { h - 1 - index[ay] };
        let px = y * w + x;
        if v > mip[px] {
            mip[px] = v;
        }
        let s = segment_of[l as usize];
        if s != 0 {
            counts[px * n_seg + s as usize - 1] += 1;
        }
    }
    let mut img = RgbImage::new(w as u32, h as u32);
    for (px, &m) in mip.iter().enumerate() {
        let grey = ((m - WINDOW_LOW) / (WINDOW_HIGH - WINDOW_LOW)).clamp(0.0, 1.0) * 255.0;
        let c = &counts[px * n_seg..(px + 1) * n_seg];
        let top = (0..n_seg).filter(|&s| c[s] > 0).max_by_key(|&s| (c[s], std::cmp::Reverse(s)));
        let rgb = match top {
            Some(s) => config.segments[s].color_rgb.map(|ch| (ALPHA * ch as f32 + (1.0 - ALPHA) * grey).round() as u8),
            None => [grey.round() as u8; 3],
        };
        img.put_pixel((px % w) as u32, (px / w) as u32, Rgb(rgb));
    }
    Ok(img)
}

/// Renders the preview and writes it as PNG.
pub fn write_preview(
    path: &Path,
    hu: ArrayView3<'_, f32>,
    labels: ArrayView3<'_, u8>,
    geometry: &Geometry,
    config: &SegConfig,
) -> Result<(), PreviewError> {
    let img = render_preview(hu, labels, geometry, config)?;
    img.save_with_format(path, image::ImageFormat::Png)
        .map_err(|e| PreviewError::Write { path: path.to_path_buf(), reason: e.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array3;

    fn grid(feet_first: bool) -> Geometry {
        let row = if feet_first { [-1.0, 0.0, 0.0] } else { [1.0, 0.0, 0.0] };
        Geometry::new([3, 4, 5], [0.0; 3], row, [0.0, 1.0, 0.0], [1.0; 3])
    }

    #[test]
    fn shows_patient_right_on_the_left_for_head_and_feet_first() {
        let config = SegConfig::default();
        for feet_first in [false, true] {
            let g = grid(feet_first);
            let hu = Array3::<f32>::from_elem((3, 4, 5), -1000.0);
            let mut labels = Array3::<u8>::zeros((3, 4, 5));
            // An artery voxel at the patient's rightmost column (x smallest), row 1.
            let i = if feet_first { 4 } else { 0 };
            labels[[1, 1, i]] = 1;
            labels[[2, 3, 2]] = 2;
            let img = render_preview(hu.view(), labels.view(), &g, &config).unwrap();
            assert_eq!(img.dimensions(), (5, 4));
            let red = img.get_pixel(0, 1).0;
            assert!(red[0] > 150 && red[2] < 60, "feet_first={feet_first}: {red:?}");
            let blue = img.get_pixel(2, 3).0;
            assert!(blue[2] > 150 && blue[0] < 60, "{blue:?}");
            assert_eq!(img.get_pixel(4, 0).0, [0, 0, 0]);
        }
    }
}
