//! Text on the preview, rasterised with ab_glyph from a bundled open font (Hack, from the
//! `epaint_default_fonts` crate), so the PNG reads the same on every machine.

use ab_glyph::{point, Font, FontRef, GlyphId, PxScale, ScaleFont};
use image::RgbImage;
use std::sync::OnceLock;

/// The bundled font cannot be parsed (a broken build, never a runtime condition).
#[derive(Debug, Clone, thiserror::Error)]
#[error("the bundled Hack font cannot be parsed: {0}")]
pub struct FontError(String);

/// The bundled font, parsed once.
fn font() -> Result<&'static FontRef<'static>, FontError> {
    static FONT: OnceLock<Result<FontRef<'static>, FontError>> = OnceLock::new();
    FONT.get_or_init(|| {
        FontRef::try_from_slice(epaint_default_fonts::HACK_REGULAR).map_err(|e| FontError(e.to_string()))
    })
    .as_ref()
    .map_err(Clone::clone)
}

/// Width in pixels of `text` at `size` pixels.
pub fn width(text: &str, size: f32) -> Result<u32, FontError> {
    let f = font()?.as_scaled(PxScale::from(size));
    let mut w = 0.0f32;
    let mut prev: Option<GlyphId> = None;
    for c in text.chars() {
        let id = f.glyph_id(c);
        if let Some(p) = prev {
            w += f.kern(p, id);
        }
        w += f.h_advance(id);
        prev = Some(id);
    }
    Ok(w.ceil() as u32)
}

/// Height of a line at `size` pixels (ascent + descent).
pub fn line_height(size: f32) -> Result<u32, FontError> {
    let f = font()?.as_scaled(PxScale::from(size));
    Ok((f.ascent() - f.descent()).ceil() as u32)
}

/// Draws `text` with its top-left corner at `(x, y)`, blending by glyph coverage; what falls
/// outside the image is clipped.
pub fn draw(img: &mut RgbImage, x: i64, y: i64, size: f32, color: [u8; 3], text: &str) -> Result<(), FontError> {
    let font = font()?;
    let scale = PxScale::from(size);
    let f = font.as_scaled(scale);
    let baseline = y as f32 + f.ascent();
    let mut caret = x as f32;
    let mut prev: Option<GlyphId> = None;
    for c in text.chars() {
        let id = f.glyph_id(c);
        if let Some(p) = prev {
            caret += f.kern(p, id);
        }
        let glyph = id.with_scale_and_position(scale, point(caret, baseline));
        caret += f.h_advance(id);
        prev = Some(id);
        let Some(outline) = font.outline_glyph(glyph) else {
            continue;
        };
        let bounds = outline.px_bounds();
        outline.draw(|gx, gy, coverage| {
            let px = bounds.min.x as i64 + gx as i64;
            let py = bounds.min.y as i64 + gy as i64;
            if px < 0 || py < 0 || px >= img.width() as i64 || py >= img.height() as i64 {
                return;
            }
            let pixel = img.get_pixel_mut(px as u32, py as u32);
            let a = coverage.clamp(0.0, 1.0);
            for (dst, &src) in pixel.0.iter_mut().zip(&color) {
                *dst = (a * src as f32 + (1.0 - a) * *dst as f32).round() as u8;
            }
        });
    }
    Ok(())
}
