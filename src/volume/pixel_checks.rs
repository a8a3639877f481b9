//! Checks of a slice's pixel data made before it is handed to a decoder: the decoders
//! (dicom-pixeldata, CharLS) trust what they are given, and a malformed header or codestream
//! can make them panic, allocate gigabytes or loop for seconds.

use dicom_core::value::Value;
use dicom_dictionary_std::{tags, uids};
use dicom_object::DefaultDicomObject;

/// The sample layout dicom-pixeldata is trusted with: it converts 8 and 16 bits allocated only,
/// builds a lookup table of 2^BitsStored entries and asserts 1 <= BitsStored <= 32, so a header
/// with BitsStored 0 or beyond BitsAllocated would make it panic or allocate gigabytes.
pub fn check_sample_layout(obj: &DefaultDicomObject) -> Result<(), String> {
    let uint = |tag| obj.element(tag).ok().and_then(|e| e.to_int::<u16>().ok());
    let allocated = uint(tags::BITS_ALLOCATED).ok_or("missing BitsAllocated")?;
    let stored = uint(tags::BITS_STORED).ok_or("missing BitsStored")?;
    if !matches!(allocated, 8 | 16) {
        return Err(format!("BitsAllocated {allocated} (only 8 and 16 bits per sample are supported)"));
    }
    if stored == 0 || stored > allocated {
        return Err(format!("BitsStored {stored} with BitsAllocated {allocated}"));
    }
    if let Some(high) = uint(tags::HIGH_BIT).filter(|&h| h >= allocated) {
        return Err(format!("HighBit {high} with BitsAllocated {allocated}"));
    }
    Ok(())
}

/// Each JPEG-LS frame must start with SOI and end with EOI (after the fragment's even-length
/// padding). CharLS searches for the end of a scan that has none and can spin for seconds on
/// a truncated or corrupted codestream, so such a frame is refused before decoding. The
/// frames of a multi-frame image are found as the decoder finds them: one fragment per frame,
/// or else by the Basic Offset Table.
pub fn check_jpeg_ls_frames(obj: &DefaultDicomObject, frames: u32) -> Result<(), String> {
    let ts = obj.meta().transfer_syntax();
    let ts = ts.trim_end_matches('\0');
    if ts != uids::JPEGLS_LOSSLESS && ts != uids::JPEGLS_NEAR_LOSSLESS {
        return Ok(());
    }
    let Ok(element) = obj.element(tags::PIXEL_DATA) else { return Ok(()) };
    let Value::PixelSequence(sequence) = element.value() else {
        return Err("JPEG-LS transfer syntax with native (not encapsulated) pixel data".into());
    };
    let fragments = sequence.fragments();
    for (n, span) in frame_spans(sequence.offset_table(), fragments, frames)?.into_iter().enumerate() {
        let frame = &fragments[span];
        let which = if frames > 1 { format!("JPEG-LS frame {}", n + 1) } else { "JPEG-LS frame".to_string() };
        let first = frame.iter().find(|f| !f.is_empty()).ok_or(format!("{which} has no data"))?;
        if !first.starts_with(&[0xFF, 0xD8]) {
            return Err(format!("{which} does not start with an SOI marker (FFD8)"));
        }
        let last = frame.iter().rev().find(|f| !f.is_empty()).expect("a non-empty fragment exists");
        let end = last.len() - last.iter().rev().take_while(|&&b| b == 0).count();
        if !last[..end].ends_with(&[0xFF, 0xD9]) {
            return Err(format!("{which} does not end with an EOI marker (FFD9): truncated or corrupt codestream"));
        }
    }
    Ok(())
}

/// The fragments of each frame: all of them for one frame, one each when there are as many
/// fragments as frames, else as the Basic Offset Table (byte offsets of each frame's first
/// fragment item, counted from the first item) divides them.
fn frame_spans(table: &[u32], fragments: &[Vec<u8>], frames: u32) -> Result<Vec<std::ops::Range<usize>>, String> {
    let (count, frames) = (fragments.len(), frames as usize);
    if count == 0 {
        return Err("JPEG-LS pixel data has no fragments".into());
    }
    if frames <= 1 {
        return Ok(vec![0..count]);
    }
    if count == frames {
        return Ok((0..count).map(|i| i..i + 1).collect());
    }
    if table.len() != frames {
        return Err(format!(
            "JPEG-LS pixel data has {count} fragments for NumberOfFrames {frames} and a Basic Offset Table of {} entries",
            table.len()
        ));
    }
    let mut starts = Vec::with_capacity(count);
    let mut offset = 0u64;
    for f in fragments {
        starts.push(offset);
        offset += f.len() as u64 + 8;
    }
    let first_at = |o: u32| starts.iter().position(|&s| s >= o as u64).unwrap_or(count);
    let mut spans = Vec::with_capacity(frames);
    for n in 0..frames {
        let begin = first_at(table[n]);
        let end = if n + 1 < frames { first_at(table[n + 1]) } else { count };
        if begin >= end || starts[begin] != table[n] as u64 {
            return Err(format!("Basic Offset Table entry {} ({}) does not start a fragment of frame {}", n + 1, table[n], n + 1));
        }
        spans.push(begin..end);
    }
    Ok(spans)
}
