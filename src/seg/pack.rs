//! BINARY segmentation pixel data: one bit per pixel, frames packed back to back.
//!
//! DICOM packs 1-bit pixels little-endian within each byte (the first pixel of a frame is the
//! least significant bit) and does not pad frames to whole bytes: frame `f` starts at bit
//! `f * rows * columns`. The hot loop reads eight label bytes as one `u64` and turns the bytes
//! equal to a label value into eight bits with a few word operations, so that it stays fast
//! without auto-vectorisation.

use rayon::prelude::*;

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

/// Packs the pixels of `plane` equal to `value` into `out` (`plane.len().div_ceil(8)` bytes),
/// starting at bit 0 of `out[0]`; bits past the plane's end are zero.
pub fn pack_plane(plane: &[u8], value: u8, out: &mut [u8]) {
    debug_assert_eq!(out.len(), plane.len().div_ceil(8));
    let mut chunks = plane.chunks_exact(8);
    for (o, c) in out.iter_mut().zip(&mut chunks) {
        let word = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        *o = if word == 0 { 0 } else { match_bits(word, value) };
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut byte = 0u8;
        for (b, &v) in rest.iter().enumerate() {
            byte |= ((v == value) as u8) << b;
        }
        out[plane.len() / 8] = byte;
    }
}

/// For each plane, which label values it contains: `present[plane][value]`.
pub fn label_presence(planes: &[&[u8]]) -> Vec<[bool; 256]> {
    planes
        .par_iter()
        .map(|plane| {
            let mut seen = [false; 256];
            let mut chunks = plane.chunks_exact(8);
            for c in &mut chunks {
                let word = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
                if word != 0 {
                    for &v in c {
                        seen[v as usize] = true;
                    }
                }
            }
            for &v in chunks.remainder() {
                seen[v as usize] = true;
            }
            seen[0] = false;
            seen
        })
        .collect()
}

/// Packs the frames `(plane, value)` one after another into BINARY pixel data (padded with a
/// zero byte to even length, as DICOM values must be).
pub fn pack_frames(planes: &[&[u8]], frames: &[(usize, u8)], pixels_per_frame: usize) -> Vec<u8> {
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
            .for_each(|(out, &(p, v))| pack_plane(planes[p], v, out));
    } else {
        // Frames start mid-byte: pack each one aligned, then shift it into place.
        let mut tmp = vec![0u8; pixels_per_frame.div_ceil(8)];
        for (f, &(p, v)) in frames.iter().enumerate() {
            pack_plane(planes[p], v, &mut tmp);
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
        dst[byte0 + n] |= s << shift;
        if shift != 0 && s >> (8 - shift) != 0 {
            dst[byte0 + n + 1] |= s >> (8 - shift);
        }
    }
}

/// Unpacks frame `frame` of BINARY pixel data into one byte (0 or 1) per pixel.
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
        for (rows, cols) in [(8, 8), (5, 7), (3, 3), (16, 17), (1, 9)] {
            let n = rows * cols;
            let planes_data: Vec<Vec<u8>> = (0..4).map(|s| pseudo_random(n, s as u64 + 7)).collect();
            let planes: Vec<&[u8]> = planes_data.iter().map(Vec::as_slice).collect();
            let frames = vec![(0, 1), (2, 2), (1, 255), (3, 1), (0, 2)];
            let packed = pack_frames(&planes, &frames, n);
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
        }
    }

    #[test]
    fn presence_lists_the_labels_of_each_plane() {
        let a = [0u8; 19];
        let mut b = [0u8; 19];
        b[18] = 2;
        b[3] = 7;
        let p = label_presence(&[&a, &b]);
        assert!(!p[0].iter().any(|&x| x));
        assert!(p[1][2] && p[1][7] && !p[1][1] && !p[1][0]);
    }
}
