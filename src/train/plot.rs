//! A PNG of the training curves: loss per epoch (left) and validation mean DSC (right), drawn
//! with the image crate and a tiny built-in 3x5 pixel font for the labels.

use super::checkpoint::EpochRecord;
use image::{Rgb, RgbImage};
use std::path::Path;

const W: u32 = 900;
const H: u32 = 380;
const WHITE: Rgb<u8> = Rgb([255, 255, 255]);
const GREY: Rgb<u8> = Rgb([200, 200, 200]);
const BLACK: Rgb<u8> = Rgb([20, 20, 20]);
const BLUE: Rgb<u8> = Rgb([31, 90, 180]);
const RED: Rgb<u8> = Rgb([200, 50, 40]);

/// 3x5 glyphs, one row per 3-bit number (top row first).
fn glyph(c: char) -> Option<[u8; 5]> {
    Some(match c {
        '0' => [7, 5, 5, 5, 7],
        '1' => [2, 6, 2, 2, 7],
        '2' => [7, 1, 7, 4, 7],
        '3' => [7, 1, 7, 1, 7],
        '4' => [5, 5, 7, 1, 1],
        '5' => [7, 4, 7, 1, 7],
        '6' => [7, 4, 7, 5, 7],
        '7' => [7, 1, 1, 1, 1],
        '8' => [7, 5, 7, 5, 7],
        '9' => [7, 5, 7, 1, 7],
        '.' => [0, 0, 0, 0, 2],
        '-' => [0, 0, 7, 0, 0],
        ' ' => [0, 0, 0, 0, 0],
        'A' => [2, 5, 7, 5, 5],
        'C' => [7, 4, 4, 4, 7],
        'D' => [6, 5, 5, 5, 6],
        'E' => [7, 4, 6, 4, 7],
        'H' => [5, 5, 7, 5, 5],
        'I' => [7, 2, 2, 2, 7],
        'L' => [4, 4, 4, 4, 7],
        'N' => [5, 7, 7, 7, 5],
        'O' => [7, 5, 5, 5, 7],
        'P' => [7, 5, 7, 4, 4],
        'R' => [6, 5, 6, 5, 5],
        'S' => [7, 4, 7, 1, 7],
        'T' => [7, 2, 2, 2, 2],
        'V' => [5, 5, 5, 5, 2],
        _ => return None,
    })
}

fn text(img: &mut RgbImage, x: i64, y: i64, s: &str, scale: i64, color: Rgb<u8>) {
    for (n, c) in s.chars().enumerate() {
        let Some(g) = glyph(c.to_ascii_uppercase()) else { continue };
        for (row, bits) in g.iter().enumerate() {
            for col in 0..3 {
                if bits & (4 >> col) != 0 {
                    for dy in 0..scale {
                        for dx in 0..scale {
                            put(img, x + (n as i64 * 4 + col) * scale + dx, y + row as i64 * scale + dy, color);
                        }
                    }
                }
            }
        }
    }
}

fn put(img: &mut RgbImage, x: i64, y: i64, c: Rgb<u8>) {
    if x >= 0 && y >= 0 && (x as u32) < img.width() && (y as u32) < img.height() {
        img.put_pixel(x as u32, y as u32, c);
    }
}

fn line(img: &mut RgbImage, (x0, y0): (i64, i64), (x1, y1): (i64, i64), c: Rgb<u8>) {
    let n = (x1 - x0).abs().max((y1 - y0).abs()).max(1);
    for t in 0..=n {
        let x = x0 + (x1 - x0) * t / n;
        let y = y0 + (y1 - y0) * t / n;
        put(img, x, y, c);
        put(img, x, y + 1, c);
    }
}

/// One panel: axes, three horizontal grid lines with values, the series as a polyline.
fn panel(img: &mut RgbImage, x0: i64, title: &str, points: &[(f64, f64)], fixed: Option<(f64, f64)>, color: Rgb<u8>, max_epoch: f64) {
    let (left, top, width, height) = (x0 + 60, 40i64, 360i64, 280i64);
    text(img, x0 + 60, 12, title, 3, BLACK);
    text(img, left + width - 60, top + height + 14, "EPOCH", 2, BLACK);
    let (lo, hi) = fixed.unwrap_or_else(|| {
        let lo = points.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
        let hi = points.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
        if lo.is_finite() && hi > lo {
            (lo, hi)
        } else if lo.is_finite() {
            (lo - 0.5, lo + 0.5)
        } else {
            (0.0, 1.0)
        }
    });
    for g in 0..=4 {
        let v = lo + (hi - lo) * g as f64 / 4.0;
        let y = top + height - (height as f64 * g as f64 / 4.0) as i64;
        line(img, (left, y), (left + width, y), GREY);
        text(img, x0 + 4, y - 4, &format!("{v:.3}"), 2, BLACK);
    }
    line(img, (left, top), (left, top + height), BLACK);
    line(img, (left, top + height), (left + width, top + height), BLACK);
    text(img, left - 4, top + height + 8, "0", 2, BLACK);
    text(img, left + width - 8, top + height + 8 - 16, &format!("{max_epoch:.0}"), 2, BLACK);
    let to_px = |(e, v): (f64, f64)| {
        let x = left + (width as f64 * e / max_epoch.max(1.0)) as i64;
        let y = top + height - (height as f64 * ((v - lo) / (hi - lo)).clamp(0.0, 1.0)) as i64;
        (x, y)
    };
    let px: Vec<(i64, i64)> = points.iter().copied().filter(|p| p.1.is_finite()).map(to_px).collect();
    for w in px.windows(2) {
        line(img, w[0], w[1], color);
    }
    for &(x, y) in &px {
        for dy in -2..=2 {
            for dx in -2..=2 {
                put(img, x + dx, y + dy, color);
            }
        }
    }
}

/// Writes the plot of `history` to `path` (PNG).
pub fn write_plot(path: &Path, history: &[EpochRecord]) -> Result<(), image::ImageError> {
    let mut img = RgbImage::from_pixel(W, H, WHITE);
    let max_epoch = history.last().map(|r| (r.epoch + 1) as f64).unwrap_or(1.0);
    let loss: Vec<(f64, f64)> = history.iter().map(|r| ((r.epoch + 1) as f64, r.loss)).collect();
    let dsc: Vec<(f64, f64)> = history.iter().filter_map(|r| r.val_dsc.map(|d| ((r.epoch + 1) as f64, d))).collect();
    panel(&mut img, 0, "TRAIN LOSS", &loss, None, BLUE, max_epoch);
    panel(&mut img, 450, "VAL DSC", &dsc, Some((0.0, 1.0)), RED, max_epoch);
    img.save(path)
}
