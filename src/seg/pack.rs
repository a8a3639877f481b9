//! BINARY segmentation pixel data: one bit per pixel, frames packed back to back.
//!
//! DICOM packs 1-bit pixels little-endian within each byte (the first pixel of a frame is the
//! least significant bit) and does not pad frames to whole bytes: frame `f` starts at bit
//! `f * rows * columns`. The hot loops read eight label bytes as one `u64`, skip all-background
//! words, and turn the bytes equal to a label value into eight bits with a few word
//! operations, so that they stay fast without auto-vectorisation (our crate builds at
//! opt-level 1 in the dev profile).

use rayon::prelude::*;
use std::ops::Range;

const ONES: u64 = 0x0101_0101_0101_0101;
const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;
const HIGH: u64 = 0x8080_8080_8080_8080;
/// Multiplier that moves the low bit of byte `b` to bit `56 + b`.
const GATHER: u64 = 0x0102_0408_1020_4080;

/// Bit `b` set where byte `b` of `word` equals `value` (little-endian byte order).
#[inline]
pub fn match_bits(word: u64, value: u8) -> u8 {
    let x = word ^ (value as u64).wrapping_mul(ONES);
    // High bit of each byte set where that byte of `x` is zero, exactly (no borrow between bytes).
    let zero = !(((x & LOW7).wrapping_add(LOW7)) | x) & HIGH;
    ((zero >> 7).wrapping_mul(GATHER) >> 56) as u8
}

/// What one label plane holds: which values occur, and the range of its 8-pixel groups that
/// are not all background (empty when the plane is).
#[derive(Debug, Clone)]
pub struct PlaneSummary {
    pub present: [bool; 256],
    pub groups: Range<usize>,
}

/// The plane as little-endian 64-bit words when it is 8-byte aligned and a whole number of words.
fn as_words(plane: &[u8]) -> Option<&[u64]> {
    if cfg!(target_endian = "little") {
        bytemuck::try_cast_slice(plane).ok()
    } else {
        None
    }
}

fn word_at(plane: &[u8], g: usize) -> u64 {
    let mut b = [0u8; 8];
    let chunk = &plane[g * 8..(g * 8 + 8).min(plane.len())];
    b[..chunk.len()].copy_from_slice(chunk);
    u64::from_le_bytes(b)
}

fn summarize(plane: &[u8]) -> PlaneSummary {
    let mut present = [false; 256];
    let (mut first, mut last) = (usize::MAX, 0);
    let mut note = |g: usize, w: u64, present: &mut [bool; 256]| {
        first = first.min(g);
        last = g;
        for b in w.to_le_bytes() {
            present[b as usize] = true;
        }
    };
    match as_words(plane) {
        Some(words) => {
            // Background dominates: test four words at once and look closer only when needed.
            let mut blocks = words.chunks_exact(4);
            for (b, block) in (&mut blocks).enumerate() {
                if (block[0] | block[1] | block[2] | block[3]) != 0 {
                    for (n, &w) in block.iter().enumerate() {
                        if w != 0 {
                            note(4 * b + n, w, &mut present);
                        }
                    }
                }
            }
            let tail = words.len() - blocks.remainder().len();
            for (n, &w) in blocks.remainder().iter().enumerate() {
                if w != 0 {
                    note(tail + n, w, &mut present);
                }
            }
        }
        None => {
            for g in 0..plane.len().div_ceil(8) {
                let w = word_at(plane, g);
                if w != 0 {
                    note(g, w, &mut present);
                }
            }
        }
    }
    present[0] = false;
    let groups = if first == usize::MAX { 0..0 } else { first..last + 1 };
    PlaneSummary { present, groups }
}

/// Summaries of all planes, in parallel.
pub fn summarize_planes(planes: &[&[u8]]) -> Vec<PlaneSummary> {
    planes.par_iter().map(|p| summarize(p)).collect()
}

/// Packs the pixels of `plane` equal to `value` into `out` (`plane.len().div_ceil(8)` bytes,
/// zeroed), looking only at the 8-pixel groups in `groups`; bits past the plane's end stay zero.
pub fn pack_plane(plane: &[u8], value: u8, groups: Range<usize>, out: &mut [u8]) {
    debug_assert!(value != 0 && out.len() == plane.len().div_ceil(8));
    match as_words(plane) {
        Some(words) => {
            for (o, &w) in out[groups.clone()].iter_mut().zip(&words[groups]) {
                if w != 0 {
                    *o = match_bits(w, value);
                }
            }
        }
        None => {
            for g in groups {
                let w = word_at(plane, g);
                if w != 0 {
                    // Padding bytes past the plane's end are zero and never match `value`.
                    out[g] = match_bits(w, value);
                }
            }
        }
    }
}

/// Packs the frames `(plane, value)` one after another into BINARY pixel data (padded with a
/// zero byte to even length, as DICOM values must be).
pub fn pack_frames(
    planes: &[&[u8]],
    summaries: &[PlaneSummary],
    frames: &[(usize, u8)],
    pixels_per_frame: usize,
) -> Vec<u8> {
    let total_bits = frames.len() * pixels_per_frame;
    let mut len = total_bits.div_ceil(8);
    len += len % 2;
    let mut data = vec![0u8; len];
    if pixels_per_frame == 0 {
        return data;
    }
    if pixels_per_frame % 8 == 0 {
        // Byte-aligned frames: each frame owns its own bytes, so pack them in parallel.
        let frame_bytes = pixels_per_frame / 8;
        data[..frames.len() * frame_bytes]
            .par_chunks_mut(frame_bytes)
            .zip(frames.par_iter())
            .for_each(|(out, &(p, v))| pack_plane(planes[p], v, summaries[p].groups.clone(), out));
    } else {
        // Frames start mid-byte: pack each one aligned, then shift it into place.
        let mut tmp = vec![0u8; pixels_per_frame.div_ceil(8)];
        for (f, &(p, v)) in frames.iter().enumerate() {
            tmp.fill(0);
            pack_plane(planes[p], v, summaries[p].groups.clone(), &mut tmp);
            append_bits(&mut data, f * pixels_per_frame, &tmp, pixels_per_frame);
        }
    }
    data
}

/// ORs the first `nbits` bits of `src` into `dst` starting at bit `bit0`.
fn append_bits(dst: &mut [u8], bit0: usize, src: &[u8], nbits: usize) {
    let (byte0, shift) = (bit0 / 8, bit0 % 8);
    let last_bits = nbits % 8;
    for (n, &s) in src.iter().enumerate() {
        let s = if n == src.len() - 1 && last_bits != 0 { s & ((1u16 << last_bits) - 1) as u8 } else { s };
        if s == 0 {
            continue;
        }
        dst[byte0 + n] |= s << shift;
        if shift != 0 && s >> (8 - shift) != 0 {
            dst[byte0 + n + 1] |= s >> (8 - shift);
        }
    }
}

/// Unpacks frame `frame` of BINARY pixel data into one byte (0 or 1) per pixel; false when
/// the data is too short for that frame.
pub fn unpack_frame(data: &[u8], frame: usize, pixels_per_frame: usize, out: &mut [u8]) -> bool {
    let bit0 = frame * pixels_per_frame;
    if (bit0 + pixels_per_frame).div_ceil(8) > data.len() || out.len() != pixels_per_frame {
        return false;
    }
    for (p, o) in out.iter_mut().enumerate() {
        let bit = bit0 + p;
        *o = (data[bit / 8] >> (bit % 8)) & 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive_bits(plane: &[u8], value: u8, bit0: usize, data: &mut [u8]) {
        for (p, &v) in plane.iter().enumerate() {
            if v == value {
                data[(bit0 + p) / 8] |= 1 << ((bit0 + p) % 8);
            }
        }
    }

    fn pseudo_random(n: usize, seed: u64) -> Vec<u8> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                // Mostly background, some 1, 2 and 255 to catch borrows between bytes.
                match (s >> 33) % 10 {
                    0 => 1,
                    1 => 2,
                    2 => 255,
                    3 => 0x81,
                    _ => 0,
                }
            })
            .collect()
    }

    #[test]
    fn match_bits_finds_exactly_the_equal_bytes() {
        for seed in 0..200u64 {
            let bytes = pseudo_random(8, seed);
            let word = u64::from_le_bytes(bytes.clone().try_into().unwrap());
            for value in [0u8, 1, 2, 0x81, 255] {
                let want = bytes.iter().enumerate().fold(0u8, |acc, (b, &v)| acc | (((v == value) as u8) << b));
                assert_eq!(match_bits(word, value), want, "bytes {bytes:?} value {value}");
            }
        }
    }

    #[test]
    fn packs_like_the_bit_by_bit_definition_for_aligned_and_unaligned_frames() {
        for (rows, cols) in [(8, 8), (5, 7), (3, 3), (16, 17), (1, 9), (32, 32), (8, 10), (8, 7)] {
            let n = rows * cols;
            // One buffer, planes back to back, as in a label volume (also misaligned planes).
            let mut volume: Vec<u8> = (0..4).flat_map(|s| pseudo_random(n, s as u64 + 7)).collect();
            volume[n..2 * n].fill(0); // an empty plane
            volume[3 * n..3 * n + n / 2].fill(0); // a plane empty in its first half
            let planes: Vec<&[u8]> = volume.chunks_exact(n).collect();
            let summaries = summarize_planes(&planes);
            assert_eq!(summaries[1].groups, 0..0);
            let frames = vec![(0, 1), (2, 2), (1, 255), (3, 1), (0, 2), (3, 0x81)];
            let packed = pack_frames(&planes, &summaries, &frames, n);
            let mut want = vec![0u8; (frames.len() * n).div_ceil(8)];
            want.resize(want.len() + want.len() % 2, 0);
            for (f, &(p, v)) in frames.iter().enumerate() {
                naive_bits(planes[p], v, f * n, &mut want);
            }
            assert_eq!(packed, want, "{rows}x{cols}");
            let mut back = vec![0u8; n];
            for (f, &(p, v)) in frames.iter().enumerate() {
                assert!(unpack_frame(&packed, f, n, &mut back));
                let expect: Vec<u8> = planes[p].iter().map(|&x| (x == v) as u8).collect();
                assert_eq!(back, expect);
            }
            assert!(!unpack_frame(&packed, frames.len() + 1, n, &mut back));
        }
    }

    #[test]
    fn summaries_list_the_labels_and_the_occupied_range_of_each_plane() {
        let a = [0u8; 19];
        let mut b = [0u8; 19];
        b[18] = 2;
        b[9] = 7;
        let s = summarize_planes(&[&a, &b]);
        assert!(!s[0].present.iter().any(|&x| x));
        assert_eq!(s[0].groups, 0..0);
        assert!(s[1].present[2] && s[1].present[7] && !s[1].present[1] && !s[1].present[0]);
        assert_eq!(s[1].groups, 1..3);
    }
}
