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

/// A JPEG-LS frame must start with SOI and end with EOI (after the fragment's even-length
/// padding). CharLS searches for the end of a scan that has none and can spin for seconds on
/// a truncated or corrupted codestream, so such a frame is refused before decoding.
pub fn check_jpeg_ls_frame(obj: &DefaultDicomObject) -> Result<(), String> {
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
    let first = fragments.iter().find(|f| !f.is_empty()).ok_or("JPEG-LS pixel data has no fragments")?;
    if !first.starts_with(&[0xFF, 0xD8]) {
        return Err("JPEG-LS frame does not start with an SOI marker (FFD8)".into());
    }
    let last = fragments.iter().rev().find(|f| !f.is_empty()).expect("a non-empty fragment exists");
    let end = last.len() - last.iter().rev().take_while(|&&b| b == 0).count();
    if !last[..end].ends_with(&[0xFF, 0xD9]) {
        return Err("JPEG-LS frame does not end with an EOI marker (FFD9): truncated or corrupt codestream".into());
    }
    Ok(())
}
