//! The LABELMAP encoding (Label Map Segmentation Storage): one 8-bit frame per source slice
//! whose pixels are segment numbers, and the palette that colours them.

use super::config::SegConfig;
use super::elements::{put_us, Obj};
use super::frames::{check_known_labels, FrameRef, UnknownLabel};
use dicom_core::value::PrimitiveValue;
use dicom_core::{DataElement, VR};
use dicom_dictionary_std::tags;
use rayon::prelude::*;

/// The frames of a LABELMAP SEG: one per slice that holds a segmented voxel (every slice with
/// `keep_empty_frames`), along the slice normal; a map without any segmented voxel keeps slice
/// 0, because a SEG needs at least one frame. `segment_number` is 0: each frame holds every
/// segment.
pub fn plan_label_map_frames(present: &[[bool; 256]], config: &SegConfig) -> Result<Vec<FrameRef>, UnknownLabel> {
    check_known_labels(present, config)?;
    let mut frames: Vec<FrameRef> = present
        .iter()
        .enumerate()
        .filter(|(_, p)| config.keep_empty_frames || config.segments.iter().any(|s| p[s.label_value as usize]))
        .map(|(k, _)| FrameRef { segment_number: 0, slice: k })
        .collect();
    if frames.is_empty() && !present.is_empty() {
        frames.push(FrameRef { segment_number: 0, slice: 0 });
    }
    Ok(frames)
}

/// The frames' pixel data: each label value replaced by its segment number (0 stays 0),
/// frame after frame, padded to even length.
pub fn pack_label_frames(planes: &[&[u8]], frames: &[FrameRef], config: &SegConfig) -> Vec<u8> {
    let segment_of = config.segment_of_label();
    let per_frame = planes.first().map_or(0, |p| p.len());
    let mut data = vec![0u8; frames.len() * per_frame + (frames.len() * per_frame) % 2];
    if per_frame == 0 {
        return data;
    }
    data[..frames.len() * per_frame].par_chunks_mut(per_frame).zip(frames.par_iter()).for_each(|(out, f)| {
        for (o, &v) in out.iter_mut().zip(planes[f.slice]) {
            *o = segment_of[v as usize];
        }
    });
    data
}

/// Image Pixel attributes of the LABELMAP encoding: 8-bit unsigned segment numbers, background
/// 0 as PixelPaddingValue; MONOCHROME2 (what OHIF writes and draws; colours come from the
/// Segment Sequence), or with `config.palette` PALETTE COLOR through a palette (Palette Color
/// Lookup Table module).
///
/// The palette has an 8-bit entry (one byte an entry, as highdicom writes it) for every pixel
/// value: black for the background, each segment's `color_rgb`, so that a reader that ignores
/// the Segment Sequence's CIELab colours shows the same colours, and white for values that
/// name no segment (they never occur; white would make one stand out).
pub(crate) fn put_pixel_module(obj: &mut Obj, config: &SegConfig) {
    put_us(obj, tags::SAMPLES_PER_PIXEL, &[1]);
    let photometric = if config.palette { "PALETTE COLOR" } else { "MONOCHROME2" };
    put_str_cs(obj, tags::PHOTOMETRIC_INTERPRETATION, photometric);
    put_us(obj, tags::BITS_ALLOCATED, &[8]);
    put_us(obj, tags::BITS_STORED, &[8]);
    put_us(obj, tags::HIGH_BIT, &[7]);
    put_us(obj, tags::PIXEL_REPRESENTATION, &[0]);
    put_us(obj, tags::PIXEL_PADDING_VALUE, &[0]);
    if config.palette {
        put_palette(obj, config);
    }
}

/// The Palette Color Lookup Table module.
fn put_palette(obj: &mut Obj, config: &SegConfig) {
    const ENTRIES: usize = 256;
    let mut lut = [vec![255u8; ENTRIES], vec![255u8; ENTRIES], vec![255u8; ENTRIES]];
    for channel in lut.iter_mut() {
        channel[0] = 0;
    }
    for (n, s) in config.segments.iter().enumerate() {
        for (channel, &c) in lut.iter_mut().zip(&s.color_rgb) {
            channel[n + 1] = c;
        }
    }
    let descriptors = [
        tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
        tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
        tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
    ];
    let data = [
        tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DATA,
        tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DATA,
        tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DATA,
    ];
    for ((descriptor, data), channel) in descriptors.into_iter().zip(data).zip(lut) {
        // Number of entries, first mapped pixel value, bits per entry.
        put_us(obj, descriptor, &[ENTRIES as u16, 0, 8]);
        obj.put(DataElement::new(data, VR::OW, PrimitiveValue::U8(channel.into())));
    }
}

fn put_str_cs(obj: &mut Obj, tag: dicom_core::Tag, value: &str) {
    super::elements::put_str(obj, tag, VR::CS, value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seg::frames::presence;

    #[test]
    fn one_frame_per_slice_with_labels_and_one_for_an_empty_map() {
        let config = SegConfig::default();
        let slices: Vec<usize> =
            plan_label_map_frames(&presence(&[&[], &[1], &[1, 2], &[], &[2]]), &config).unwrap().iter().map(|f| f.slice).collect();
        assert_eq!(slices, vec![1, 2, 4]);
        let keep = SegConfig { keep_empty_frames: true, ..SegConfig::default() };
        assert_eq!(plan_label_map_frames(&presence(&[&[], &[1], &[]]), &keep).unwrap().len(), 3);
        let empty = plan_label_map_frames(&presence(&[&[], &[]]), &config).unwrap();
        assert_eq!(empty, vec![FrameRef { segment_number: 0, slice: 0 }]);
        assert_eq!(plan_label_map_frames(&presence(&[&[1], &[3]]), &config).unwrap_err().value, 3);
    }

    #[test]
    fn pixels_become_segment_numbers() {
        let mut config = SegConfig::default();
        // Label values 7 and 3 are segments 1 and 2.
        config.segments[0].label_value = 7;
        config.segments[1].label_value = 3;
        let a = [0u8, 7, 3, 7, 0];
        let b = [3u8, 3, 0, 0, 7];
        let frames = [FrameRef { segment_number: 0, slice: 1 }, FrameRef { segment_number: 0, slice: 0 }];
        let data = pack_label_frames(&[&a, &b], &frames, &config);
        assert_eq!(data, vec![2, 2, 0, 0, 1, 0, 1, 2, 1, 0]);
    }
}
