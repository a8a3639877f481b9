//! The mutation engine: stacks of byte-level edits of a seed, the usual havoc set (bit and byte
//! flips, arithmetic, interesting integers, chunk insert/delete/duplicate/overwrite, splice with
//! another seed, truncate, extend, dictionary tokens), plus one aimed at the formats here: every
//! one of them (DICOM elements, PDUs and their items, NIfTI extensions) says how long what
//! follows is, so a plausible length field (a 2- or 4-byte value, little- or big-endian, no
//! larger than the bytes after it) is overwritten with 0, 1, 0xFF, 0x7FFFFFFF, 0xFFFFFFFF and
//! the like.

use super::rng::FuzzRng;

/// One kind of edit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    FlipBit,
    FlipByte,
    RandomByte,
    Arith,
    Interesting8,
    Interesting16,
    Interesting32,
    LengthField,
    InsertRandom,
    InsertRepeat,
    Delete,
    Duplicate,
    Overwrite,
    Splice,
    SpliceInsert,
    Truncate,
    Extend,
    Token,
}

/// The edits drawn from, with repeats as weights: length fields and interesting integers are
/// where parsers of length-prefixed formats break.
pub const OPS: &[Op] = &[
    Op::FlipBit,
    Op::FlipBit,
    Op::FlipByte,
    Op::RandomByte,
    Op::RandomByte,
    Op::Arith,
    Op::Interesting8,
    Op::Interesting16,
    Op::Interesting32,
    Op::Interesting32,
    Op::LengthField,
    Op::LengthField,
    Op::LengthField,
    Op::InsertRandom,
    Op::InsertRepeat,
    Op::Delete,
    Op::Delete,
    Op::Duplicate,
    Op::Overwrite,
    Op::Splice,
    Op::SpliceInsert,
    Op::Truncate,
    Op::Extend,
    Op::Token,
    Op::Token,
];

pub const INTERESTING_8: &[u8] = &[0, 1, 2, 0x7F, 0x80, 0xFE, 0xFF, 0x10, 0x20, 0x40, 0x64];
pub const INTERESTING_16: &[u16] = &[
    0, 1, 2, 0x7F, 0x80, 0xFF, 0x100, 0x3FF, 0x400, 0x7FFF, 0x8000, 0xFFFE, 0xFFFF,
];
pub const INTERESTING_32: &[u32] = &[
    0,
    1,
    2,
    0xFF,
    0x100,
    0xFFFF,
    0x1_0000,
    0x10_0000,
    0x1000_0000,
    0x4000_0000,
    0x7FFF_FFFE,
    0x7FFF_FFFF,
    0x8000_0000,
    0xF000_0000,
    0xFFFF_FFFE,
    0xFFFF_FFFF,
];

/// Mutates seeds into inputs of at most `max_len` bytes.
#[derive(Debug, Clone)]
pub struct Mutator<'a> {
    pub max_len: usize,
    /// Tokens of the target's format (magic numbers, tags, keywords) to insert or overwrite.
    pub dictionary: &'a [Vec<u8>],
}

impl Mutator<'_> {
    /// Writes into `out` a mutation of `seed`: 1 to 16 stacked edits (fewer more often);
    /// `other` is a second seed to splice with.
    pub fn mutate(&self, rng: &mut FuzzRng, seed: &[u8], other: &[u8], out: &mut Vec<u8>) {
        out.clear();
        out.extend_from_slice(&seed[..seed.len().min(self.max_len)]);
        let rounds = 1usize << rng.below(5);
        for _ in 0..rounds {
            let op = *rng.pick(OPS).unwrap_or(&Op::FlipBit);
            self.apply(op, rng, out, other);
            out.truncate(self.max_len);
        }
    }

    /// Applies one edit (a no-op where the buffer is too short for it).
    pub fn apply(&self, op: Op, rng: &mut FuzzRng, buf: &mut Vec<u8>, other: &[u8]) {
        let len = buf.len();
        let room = self.max_len.saturating_sub(len);
        match op {
            Op::FlipBit if len > 0 => {
                let p = rng.below(len);
                buf[p] ^= 1 << rng.below(8);
            }
            Op::FlipByte if len > 0 => {
                let p = rng.below(len);
                buf[p] ^= 0xFF;
            }
            Op::RandomByte if len > 0 => {
                let p = rng.below(len);
                buf[p] = rng.byte();
            }
            Op::Arith if len > 0 => {
                let width = [1, 2, 4][rng.below(3)].min(len);
                let p = rng.below(len - width + 1);
                let big = rng.chance(1, 2);
                let delta = 1 + rng.below(35) as u64;
                let v = get(buf, p, width, big);
                let v = if rng.chance(1, 2) {
                    v.wrapping_add(delta)
                } else {
                    v.wrapping_sub(delta)
                };
                put(buf, p, width, big, v);
            }
            Op::Interesting8 if len > 0 => {
                let p = rng.below(len);
                buf[p] = *rng.pick(INTERESTING_8).unwrap_or(&0);
            }
            Op::Interesting16 if len >= 2 => {
                let p = rng.below(len - 1);
                let v = *rng.pick(INTERESTING_16).unwrap_or(&0);
                put(buf, p, 2, rng.chance(1, 2), u64::from(v));
            }
            Op::Interesting32 if len >= 4 => {
                let p = rng.below(len - 3);
                let v = *rng.pick(INTERESTING_32).unwrap_or(&0);
                put(buf, p, 4, rng.chance(1, 2), u64::from(v));
            }
            Op::LengthField => {
                if let Some(field) = find_length_field(rng, buf) {
                    let v = length_value(rng, field);
                    put(buf, field.offset, field.width, field.big_endian, v);
                } else if len >= 4 {
                    self.apply(Op::Interesting32, rng, buf, other);
                }
            }
            Op::InsertRandom if room > 0 => {
                let n = chunk_len(rng, room);
                let p = rng.below(len + 1);
                let mut chunk = vec![0u8; n];
                rng.fill(&mut chunk);
                buf.splice(p..p, chunk);
            }
            Op::InsertRepeat if room > 0 => {
                let n = chunk_len(rng, room.min(4096)) * if rng.chance(1, 8) { 16 } else { 1 };
                let n = n.min(room);
                let p = rng.below(len + 1);
                let b = if len > 0 && rng.chance(1, 2) {
                    buf[rng.below(len)]
                } else {
                    rng.byte()
                };
                buf.splice(p..p, std::iter::repeat_n(b, n));
            }
            Op::Delete if len > 0 => {
                let n = chunk_len(rng, len);
                let p = rng.below(len - n + 1);
                buf.drain(p..p + n);
            }
            Op::Duplicate if len > 0 && room > 0 => {
                let n = chunk_len(rng, len.min(room));
                let from = rng.below(len - n + 1);
                let to = if rng.chance(1, 2) { from + n } else { rng.below(len + 1) };
                let chunk = buf[from..from + n].to_vec();
                buf.splice(to..to, chunk);
            }
            Op::Overwrite if len >= 2 => {
                let n = chunk_len(rng, len / 2);
                let from = rng.below(len - n + 1);
                let to = rng.below(len - n + 1);
                buf.copy_within(from..from + n, to);
            }
            Op::Splice if !other.is_empty() => {
                let keep = rng.below(len + 1);
                let from = rng.below(other.len());
                buf.truncate(keep);
                let n = (other.len() - from).min(self.max_len.saturating_sub(keep));
                buf.extend_from_slice(&other[from..from + n]);
            }
            Op::SpliceInsert if !other.is_empty() && room > 0 => {
                let n = chunk_len(rng, other.len().min(room));
                let from = rng.below(other.len() - n + 1);
                let p = rng.below(len + 1);
                buf.splice(p..p, other[from..from + n].iter().copied());
            }
            Op::Truncate if len > 0 => {
                let keep = if rng.chance(1, 2) {
                    rng.below(len)
                } else {
                    len - chunk_len(rng, len)
                };
                buf.truncate(keep);
            }
            Op::Extend if room > 0 => {
                let n = chunk_len(rng, room);
                if len > 0 && rng.chance(1, 2) {
                    let from = rng.below(len);
                    let n = n.min(len - from);
                    buf.extend_from_within(from..from + n);
                } else {
                    let start = buf.len();
                    buf.resize(start + n, 0);
                    if rng.chance(1, 2) {
                        rng.fill(&mut buf[start..]);
                    }
                }
            }
            Op::Token => {
                let Some(token) = rng.pick(self.dictionary) else { return };
                let token = &token[..token.len().min(self.max_len)];
                if len >= token.len() && rng.chance(1, 2) {
                    let p = rng.below(len - token.len() + 1);
                    buf[p..p + token.len()].copy_from_slice(token);
                } else if room >= token.len() {
                    let p = rng.below(len + 1);
                    buf.splice(p..p, token.iter().copied());
                }
            }
            _ => {}
        }
    }
}

/// A chunk length in `1..=max` (0 when `max` is 0), mostly short.
fn chunk_len(rng: &mut FuzzRng, max: usize) -> usize {
    if max == 0 {
        return 0;
    }
    let cap = [4, 16, 64, 512, 4096][rng.below(5)].min(max);
    1 + rng.below(cap)
}

fn get(buf: &[u8], p: usize, width: usize, big: bool) -> u64 {
    let bytes = &buf[p..p + width];
    let fold = |acc: u64, b: &u8| (acc << 8) | u64::from(*b);
    if big {
        bytes.iter().fold(0, fold)
    } else {
        bytes.iter().rev().fold(0, fold)
    }
}

fn put(buf: &mut [u8], p: usize, width: usize, big: bool, v: u64) {
    for i in 0..width {
        let shift = 8 * if big { width - 1 - i } else { i };
        buf[p + i] = (v >> shift) as u8;
    }
}

/// A plausible length field in the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LengthField {
    pub offset: usize,
    pub width: usize,
    pub big_endian: bool,
    /// Its current value.
    pub value: u64,
    /// Bytes after the field.
    pub rest: usize,
}

/// Looks (at random places, a bounded number of times) for a 4- or 2-byte value, little- or
/// big-endian, that is non-zero and no larger than what follows it: where a length field lies.
pub fn find_length_field(rng: &mut FuzzRng, buf: &[u8]) -> Option<LengthField> {
    if buf.len() < 4 {
        return None;
    }
    for _ in 0..64 {
        let width = if rng.chance(3, 4) { 4 } else { 2 };
        let offset = rng.below(buf.len() - width + 1);
        let rest = buf.len() - offset - width;
        let fits = |v: u64| v > 0 && v <= rest as u64;
        let (le, be) = (get(buf, offset, width, false), get(buf, offset, width, true));
        let big_endian = match (fits(le), fits(be)) {
            (true, true) => rng.chance(1, 2),
            (true, false) => false,
            (false, true) => true,
            (false, false) => continue,
        };
        let value = if big_endian { be } else { le };
        return Some(LengthField {
            offset,
            width,
            big_endian,
            value,
            rest,
        });
    }
    None
}

/// A new value for a length field: an interesting integer, just past the end, or off by a little.
fn length_value(rng: &mut FuzzRng, f: LengthField) -> u64 {
    let max = if f.width == 4 {
        u64::from(u32::MAX)
    } else {
        u64::from(u16::MAX)
    };
    let v = match rng.below(6) {
        0 | 1 if f.width == 4 => u64::from(*rng.pick(INTERESTING_32).unwrap_or(&0)),
        0 | 1 => u64::from(*rng.pick(INTERESTING_16).unwrap_or(&0)),
        2 => f.rest as u64 + 1 + rng.below(8) as u64,
        3 => f.value.saturating_mul(2 + rng.below(4096) as u64),
        4 => f.value.wrapping_add(1 + rng.below(16) as u64),
        _ => f.value.wrapping_sub(1 + rng.below(16) as u64),
    };
    v & max
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutation_is_deterministic_and_bounded() {
        let dictionary = vec![b"DICM".to_vec(), vec![0xFE, 0xFF, 0x00, 0xE0]];
        let m = Mutator {
            max_len: 300,
            dictionary: &dictionary,
        };
        let seed: Vec<u8> = (0..200u8).collect();
        let other = vec![7u8; 50];
        let run = |exec| {
            let mut r = FuzzRng::for_execution(9, exec);
            let mut out = Vec::new();
            m.mutate(&mut r, &seed, &other, &mut out);
            out
        };
        assert_eq!(run(1), run(1));
        assert!((0..2000).map(run).all(|o| o.len() <= 300));
        assert!((0..50).any(|e| run(e) != seed));
    }

    #[test]
    fn every_op_copes_with_short_and_empty_buffers() {
        let dictionary = vec![b"n+1\0".to_vec()];
        let m = Mutator {
            max_len: 64,
            dictionary: &dictionary,
        };
        let mut r = FuzzRng::for_execution(1, 1);
        for &op in OPS {
            for start in [&b""[..], b"a", b"abc", b"abcdefgh"] {
                for other in [&b""[..], b"xyz"] {
                    let mut buf = start.to_vec();
                    for _ in 0..50 {
                        m.apply(op, &mut r, &mut buf, other);
                        buf.truncate(64);
                    }
                }
            }
        }
    }

    #[test]
    fn finds_and_rewrites_length_fields() {
        // An explicit VR element: tag, "OB", reserved, 4-byte length 8, then 8 bytes.
        let mut buf = vec![0x7F, 0xE0, 0x10, 0x00, b'O', b'B', 0, 0, 8, 0, 0, 0];
        buf.extend_from_slice(&[1; 8]);
        let mut r = FuzzRng::for_execution(5, 0);
        let found: Vec<LengthField> = (0..200).filter_map(|_| find_length_field(&mut r, &buf)).collect();
        assert!(found.iter().all(|f| f.value > 0 && f.value <= f.rest as u64));
        assert!(found
            .iter()
            .any(|f| f.offset == 8 && f.width == 4 && !f.big_endian && f.value == 8));
        let mut be = vec![0u8, 0, 0, 4];
        be.extend_from_slice(b"abcd");
        let f = find_length_field(&mut r, &be[..]);
        assert!(f.is_some());
        assert_eq!(get(&[0x12, 0x34], 0, 2, true), 0x1234);
        let mut b = [0u8; 4];
        put(&mut b, 0, 4, false, 0x7FFF_FFFF);
        assert_eq!(b, [0xFF, 0xFF, 0xFF, 0x7F]);
    }
}
