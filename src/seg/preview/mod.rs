//! A PNG for a person to glance at a result: maximum-intensity projections of the CT in the
//! lung window (axial, coronal, sagittal, each at its true physical aspect) with every segment
//! in its display colour, patient orientation letters, a legend with each segment's name and
//! volume in mL, and the notice that the result is for research use and not for diagnosis.

mod project;
mod text;

pub use project::{display_axes, project, Projection, Projections};

use super::config::SegConfig;
use crate::geometry::Geometry;
use image::{Rgb, RgbImage};
use ndarray::ArrayView3;
use std::path::{Path, PathBuf};

/// Lung window (W 1500, L -600) of the grey projections.
pub const WINDOW_HU: [f32; 2] = [-1350.0, 150.0];
/// Weight of the segment colour over the grey projection.
pub const ALPHA: f32 = 0.7;
/// The notice printed on every preview.
pub const NOTICE: &str = "Research use, not for diagnosis";

/// Width the three panels aim at together, and the tallest a panel may be.
const PANELS_WIDTH: f64 = 1200.0;
const MAX_PANEL_HEIGHT: f64 = 720.0;
/// The narrowest preview, whatever the CT's size.
pub const MIN_WIDTH: u32 = 512;
const MARGIN: u32 = 16;
const GAP: u32 = 16;
const TEXT: f32 = 18.0;
const SMALL: f32 = 16.0;
const BACKGROUND: [u8; 3] = [0, 0, 0];
const FOREGROUND: [u8; 3] = [235, 235, 235];
const NOTICE_BAND: [u8; 3] = [170, 25, 25];
const NOTICE_TEXT: [u8; 3] = [255, 255, 255];
const LETTER_COLOR: [u8; 3] = [255, 230, 0];

#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    #[error("CT of shape {ct:?} and label map of shape {labels:?} are not on one grid")]
    ShapeMismatch { ct: [usize; 3], labels: [usize; 3] },
    #[error(transparent)]
    Font(#[from] text::FontError),
    #[error("cannot write preview {path}: {reason}")]
    Write { path: PathBuf, reason: String },
}

/// Where a projection sits in the image, and its orientation letters (left, right, top, bottom).
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    pub name: &'static str,
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
    pub letters: [&'static str; 4],
}

impl Panel {
    pub fn contains(&self, x: u32, y: u32) -> bool {
        x >= self.x && y >= self.y && x < self.x + self.width && y < self.y + self.height
    }
}

/// One legend line: the segment's colour swatch, label and volume.
#[derive(Debug, Clone, PartialEq)]
pub struct LegendEntry {
    pub label: String,
    pub color: [u8; 3],
    pub volume_ml: f64,
    pub text: String,
    /// Top-left corner of the swatch.
    pub swatch: (u32, u32),
}

/// The rendered preview and where its parts are.
#[derive(Debug, Clone)]
pub struct Preview {
    pub image: RgbImage,
    /// Axial, coronal, sagittal.
    pub panels: [Panel; 3],
    pub legend: Vec<LegendEntry>,
}

/// The colour of a pixel of segment colour `color` over grey value `grey`.
pub fn blend(color: [u8; 3], grey: f32) -> [u8; 3] {
    color.map(|c| (ALPHA * c as f32 + (1.0 - ALPHA) * grey).round() as u8)
}

fn grey_of(hu: f32) -> f32 {
    ((hu - WINDOW_HU[0]) / (WINDOW_HU[1] - WINDOW_HU[0])).clamp(0.0, 1.0) * 255.0
}

/// Source pixels `[from, to)` that display pixel `u` of `display` covers on a `source`-wide axis:
/// at least one, so that no thin vessel falls between display pixels when shrinking.
fn covered(u: u32, display: u32, source: usize) -> (usize, usize) {
    let from = (u as usize * source) / display as usize;
    let to = (((u as usize + 1) * source) / display as usize)
        .max(from + 1)
        .min(source);
    (from.min(source - 1), to)
}

/// Draws projection `p` into `panel`: per display pixel the brightest grey and the segment with
/// the most voxels along the rays it covers.
fn draw_panel(img: &mut RgbImage, p: &Projection, panel: &Panel, colors: &[[u8; 3]]) -> Result<(), PreviewError> {
    let mut counts = vec![0u64; p.segments];
    for v in 0..panel.height {
        let (y0, y1) = covered(v, panel.height, p.height);
        for u in 0..panel.width {
            let (x0, x1) = covered(u, panel.width, p.width);
            let mut hu = f32::NEG_INFINITY;
            counts.iter_mut().for_each(|c| *c = 0);
            for y in y0..y1 {
                for x in x0..x1 {
                    hu = hu.max(p.max_hu[y * p.width + x]);
                    for (c, &n) in counts.iter_mut().zip(p.counts_at(x, y)) {
                        *c += n as u64;
                    }
                }
            }
            let grey = grey_of(hu);
            let top = (0..p.segments)
                .filter(|&s| counts[s] > 0)
                .max_by_key(|&s| (counts[s], std::cmp::Reverse(s)));
            let rgb = match top {
                Some(s) => blend(colors[s], grey),
                None => [grey.round() as u8; 3],
            };
            img.put_pixel(panel.x + u, panel.y + v, Rgb(rgb));
        }
    }
    let size = SMALL;
    let h = text::line_height(size)? as i64;
    let (x, y, w, ph) = (panel.x as i64, panel.y as i64, panel.width as i64, panel.height as i64);
    let [left, right, top, bottom] = panel.letters;
    text::draw(img, x + 4, y + ph / 2 - h / 2, size, LETTER_COLOR, left)?;
    text::draw(
        img,
        x + w - 4 - text::width(right, size)? as i64,
        y + ph / 2 - h / 2,
        size,
        LETTER_COLOR,
        right,
    )?;
    text::draw(
        img,
        x + w / 2 - text::width(top, size)? as i64 / 2,
        y + 2,
        size,
        LETTER_COLOR,
        top,
    )?;
    text::draw(
        img,
        x + w / 2 - text::width(bottom, size)? as i64 / 2,
        y + ph - h - 2,
        size,
        LETTER_COLOR,
        bottom,
    )?;
    Ok(())
}

/// Renders the preview of `hu` with `labels` (same grid) and the segments of `config`.
pub fn render_preview(
    hu: ArrayView3<'_, f32>,
    labels: ArrayView3<'_, u8>,
    geometry: &Geometry,
    config: &SegConfig,
) -> Result<Preview, PreviewError> {
    let shape = |s: &[usize]| [s[0], s[1], s[2]];
    if hu.shape() != labels.shape() {
        return Err(PreviewError::ShapeMismatch {
            ct: shape(hu.shape()),
            labels: shape(labels.shape()),
        });
    }
    let n_seg = config.segments.len();
    let p = project(hu, labels, geometry, &config.segment_of_label(), n_seg);

    // One scale (pixels per mm) for all three panels, so that they line up and keep their aspect.
    let mm = |q: &Projection| [q.width as f64 * q.spacing_mm[0], q.height as f64 * q.spacing_mm[1]];
    let (a, c, s) = (mm(&p.axial), mm(&p.coronal), mm(&p.sagittal));
    let px_per_mm = (PANELS_WIDTH / (a[0] + c[0] + s[0])).min(MAX_PANEL_HEIGHT / a[1].max(c[1]).max(s[1]));
    let size = |v: f64| ((v * px_per_mm).round() as u32).max(1);

    let line = text::line_height(TEXT)?;
    let small_line = text::line_height(SMALL)?;
    let title = format!("{} - pavseg {}", config.series_description, crate::VERSION);
    let top = MARGIN + 2 * line + 12;
    let panel_y = top + small_line + 4;
    let mut x = MARGIN;
    let mut panel = |name, dims: [f64; 2], letters| {
        let p = Panel {
            name,
            x,
            y: panel_y,
            width: size(dims[0]),
            height: size(dims[1]),
            letters,
        };
        x += p.width + GAP;
        p
    };
    let panels = [
        panel("Axial MIP", a, ["R", "L", "A", "P"]),
        panel("Coronal MIP", c, ["R", "L", "H", "F"]),
        panel("Sagittal MIP", s, ["A", "P", "H", "F"]),
    ];
    let panels_right = x - GAP + MARGIN;
    let panels_bottom = panels.iter().map(|p| p.y + p.height).max().unwrap_or(panel_y);

    let voxel_ml = geometry.spacing.iter().product::<f64>() / 1000.0;
    let legend_y = panels_bottom + 12;
    let mut legend = Vec::with_capacity(n_seg);
    let mut lx = MARGIN;
    for (seg, &voxels) in config.segments.iter().zip(&p.voxels_per_segment) {
        let volume_ml = voxels as f64 * voxel_ml;
        let text = format!("{}  {:.1} mL", seg.label, volume_ml);
        legend.push(LegendEntry {
            label: seg.label.clone(),
            color: seg.color_rgb,
            volume_ml,
            text: text.clone(),
            swatch: (lx, legend_y),
        });
        lx += line + 8 + text::width(&text, TEXT)? + 3 * GAP;
    }
    let footnote = "Maximum-intensity projections, lung window W1500 L-600";
    let footnote_y = legend_y + line + 8;
    let width = [
        MIN_WIDTH,
        panels_right,
        lx + MARGIN,
        2 * MARGIN + text::width(&title, TEXT)?,
        2 * MARGIN + text::width(footnote, SMALL)?,
    ]
    .into_iter()
    .max()
    .unwrap_or(MIN_WIDTH);
    let height = footnote_y + small_line + MARGIN;

    let mut img = RgbImage::from_pixel(width, height, Rgb(BACKGROUND));
    text::draw(&mut img, MARGIN as i64, MARGIN as i64, TEXT, FOREGROUND, &title)?;
    // The notice in white on a red band, so that nobody misses it (light on dark like all
    // other text, which keeps it legible to OCR too).
    let notice_y = MARGIN + line + 4;
    let notice_w = text::width(NOTICE, TEXT)? + 16;
    for y in notice_y - 2..notice_y + line + 2 {
        for x in MARGIN..(MARGIN + notice_w).min(width) {
            img.put_pixel(x, y, Rgb(NOTICE_BAND));
        }
    }
    text::draw(
        &mut img,
        (MARGIN + 8) as i64,
        notice_y as i64,
        TEXT,
        NOTICE_TEXT,
        NOTICE,
    )?;
    let colors: Vec<[u8; 3]> = config.segments.iter().map(|s| s.color_rgb).collect();
    for (panel, projection) in panels.iter().zip([&p.axial, &p.coronal, &p.sagittal]) {
        text::draw(&mut img, panel.x as i64, top as i64, SMALL, FOREGROUND, panel.name)?;
        draw_panel(&mut img, projection, panel, &colors)?;
    }
    for e in &legend {
        let (sx, sy) = e.swatch;
        for y in sy..(sy + line).min(height) {
            for x in sx..(sx + line).min(width) {
                img.put_pixel(x, y, Rgb(e.color));
            }
        }
        text::draw(&mut img, (sx + line + 8) as i64, sy as i64, TEXT, FOREGROUND, &e.text)?;
    }
    text::draw(&mut img, MARGIN as i64, footnote_y as i64, SMALL, FOREGROUND, footnote)?;
    Ok(Preview {
        image: img,
        panels,
        legend,
    })
}

/// Renders the preview and writes it as PNG.
pub fn write_preview(
    path: &Path,
    hu: ArrayView3<'_, f32>,
    labels: ArrayView3<'_, u8>,
    geometry: &Geometry,
    config: &SegConfig,
) -> Result<(), PreviewError> {
    let preview = render_preview(hu, labels, geometry, config)?;
    preview
        .image
        .save_with_format(path, image::ImageFormat::Png)
        .map_err(|e| PreviewError::Write {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array3;

    fn grid(feet_first: bool) -> Geometry {
        let row = if feet_first { [-1.0, 0.0, 0.0] } else { [1.0, 0.0, 0.0] };
        Geometry::new([30, 40, 50], [0.0; 3], row, [0.0, 1.0, 0.0], [1.0; 3])
    }

    /// The projection puts patient right on the left of the axial view for head-first and
    /// feet-first series alike.
    #[test]
    fn axial_projection_shows_patient_right_on_the_left() {
        let config = SegConfig::default();
        for feet_first in [false, true] {
            let g = grid(feet_first);
            let hu = Array3::<f32>::from_elem((30, 40, 50), -1000.0);
            let mut labels = Array3::<u8>::zeros((30, 40, 50));
            // An artery voxel at the patient's rightmost column (x smallest), row 1.
            let i = if feet_first { 49 } else { 0 };
            labels[[10, 1, i]] = 1;
            let p = project(hu.view(), labels.view(), &g, &config.segment_of_label(), 2);
            assert_eq!((p.axial.width, p.axial.height), (50, 40));
            assert_eq!(p.axial.counts_at(0, 1), &[1, 0], "feet_first={feet_first}");
            assert_eq!(p.voxels_per_segment, vec![1, 0]);
        }
    }

    #[test]
    fn covered_source_pixels_never_skip_one() {
        for (display, source) in [(7u32, 20usize), (20, 7), (5, 5), (1, 3)] {
            let mut next = 0;
            for u in 0..display {
                let (a, b) = covered(u, display, source);
                assert!(a <= next && b > a && b <= source, "{display} {source} {u}: {a}..{b}");
                next = next.max(b);
            }
            assert_eq!(next, source);
        }
    }
}
