//! Element lengths checked before dicom-object parses outside bytes.
//!
//! dicom-parser and dicom-object (0.10) reserve and zero-fill the length an element claims
//! before reading its value, so a C-STORE of a hundred bytes whose element claims 4 GB makes
//! them allocate (and touch) 4 GB, and a string element claiming that much aborts the process
//! when the allocation fails; the file meta group is read the same way. The fuzzer found this
//! in every DICOM path. [`check_data_set`], [`check_part10`] and [`check_file`] walk the
//! elements first, with dicom-encoding's own header decoders and the parser's rules for
//! sequences, items, delimiters and encapsulated pixel data (so that both see the same
//! structure), seeking over values instead of reading them, and refuse any value longer than
//! the bytes that follow it, and sequences nested deeper than dicom-object's recursion should
//! go. Where the walk meets bytes the parser would reject anyway, it stops and lets the parser
//! report them.

use dicom_core::header::{DataElementHeader, HasLength, Header, Length, SequenceItemHeader};
use dicom_core::{Tag, VR};
use dicom_dictionary_std::tags;
use dicom_encoding::decode::explicit_le::ExplicitVRLittleEndianDecoder;
use dicom_encoding::transfer_syntax::{Codec, DynDecoder, TransferSyntaxIndex};
use dicom_encoding::TransferSyntax;
use dicom_object::{DefaultDicomObject, OpenFileOptions};
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;
use std::io::{BufReader, Cursor, Read};
use std::path::Path;

/// Sequences nested deeper than this are refused (dicom-object builds nested data sets
/// recursively; real data sets nest a few levels).
pub const MAX_DEPTH: usize = 64;
/// A deflated data set inflating to more than this is refused.
pub const MAX_INFLATED_BYTES: u64 = 1 << 30;

#[derive(Debug, thiserror::Error)]
pub enum LengthError {
    #[error("element {tag} at byte {offset} claims {claimed} bytes, but only {available} follow")]
    TooLong {
        tag: Tag,
        offset: u64,
        claimed: u32,
        available: u64,
    },
    #[error("sequences nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
    #[error("the data set inflates to more than {MAX_INFLATED_BYTES} bytes")]
    Inflates,
    #[error("reading {what}: {source}")]
    Io { what: &'static str, source: std::io::Error },
    #[error(transparent)]
    Parse(#[from] dicom_object::ReadError),
}

/// A source that knows its position and can skip bytes.
trait Input: Read {
    fn skip(&mut self, n: u64) -> std::io::Result<()>;
}

impl Input for Cursor<&[u8]> {
    fn skip(&mut self, n: u64) -> std::io::Result<()> {
        self.set_position(self.position().saturating_add(n));
        Ok(())
    }
}

impl Input for BufReader<std::fs::File> {
    fn skip(&mut self, n: u64) -> std::io::Result<()> {
        self.seek_relative(i64::try_from(n).unwrap_or(i64::MAX))
    }
}

impl Input for Box<dyn Read + '_> {
    fn skip(&mut self, n: u64) -> std::io::Result<()> {
        std::io::copy(&mut self.take(n), &mut std::io::sink()).map(|_| ())
    }
}

/// A source being walked: `pos` is where it really is (what was read or skipped), `counter`
/// is the parser's idea of its position (which adds a value's full length even where it read
/// fewer bytes: an `AT` of 6 bytes reads one tag), `len` the source's total length.
struct Walk<I> {
    input: I,
    pos: u64,
    counter: u64,
    len: u64,
}

impl<I: Input> Read for Walk<I> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.input.read(buf)?;
        self.pos += n as u64;
        self.counter += n as u64;
        Ok(n)
    }
}

impl<I: Input> Walk<I> {
    fn new(input: I, len: u64) -> Self {
        Walk {
            input,
            pos: 0,
            counter: 0,
            len,
        }
    }

    fn available(&self) -> u64 {
        self.len.saturating_sub(self.pos)
    }

    /// A value the parser will allocate `claimed` bytes for: refused when longer than what
    /// follows, else skipped as the parser reads it (`consumed` bytes, its counter advancing
    /// by `counted`).
    fn value(&mut self, tag: Tag, claimed: u32, consumed: u64, counted: u64) -> Result<(), LengthError> {
        if u64::from(claimed) > self.available() {
            return Err(LengthError::TooLong {
                tag,
                offset: self.pos,
                claimed,
                available: self.available(),
            });
        }
        self.input.skip(consumed).map_err(|source| LengthError::Io {
            what: "element value",
            source,
        })?;
        self.pos += consumed;
        self.counter += counted;
        Ok(())
    }
}

/// Bytes dicom-parser reads of a value of `len` bytes: whole elements of the VR's size.
fn consumed_by_parser(vr: VR, len: u32) -> u64 {
    let size = match vr {
        VR::SS | VR::US | VR::OW => 2,
        VR::AT | VR::FL | VR::OF | VR::SL | VR::UL | VR::OL => 4,
        VR::FD | VR::OD | VR::SV | VR::UV | VR::OV => 8,
        _ => 1,
    };
    u64::from(len / size * size)
}

/// The element header decoder of a transfer syntax: the one the parser uses.
struct Headers<'a>(DynDecoder<dyn Read + 'a>);

type DecodeResult<T> = Result<T, dicom_encoding::decode::Error>;

impl<'a> Headers<'a> {
    fn of(ts: &TransferSyntax) -> Option<Self> {
        ts.decoder_for::<dyn Read + 'a>().map(Headers)
    }

    fn explicit_le() -> Self {
        Headers(Box::new(ExplicitVRLittleEndianDecoder::default()))
    }

    fn element(&self, r: &mut (dyn Read + 'a)) -> DecodeResult<DataElementHeader> {
        self.0.decode_header(r).map(|h| h.0)
    }

    fn item(&self, r: &mut (dyn Read + 'a)) -> DecodeResult<SequenceItemHeader> {
        self.0.decode_item_header(r)
    }
}

/// An open sequence or item, as the parser's sequence tokens keep it.
struct Open {
    item: bool,
    len: Length,
    pixel_data: bool,
    /// The parser's position when it was opened.
    base: u64,
}

impl Open {
    fn sequence(len: Length, pixel_data: bool, base: u64) -> Open {
        Open { item: false, len, pixel_data, base }
    }

    fn item(len: Length, pixel_data: bool, base: u64) -> Open {
        Open { item: true, len, pixel_data, base }
    }
}

/// Walks one data set as dicom-parser's `DataSetReader` reads it (a port of its state
/// machine: sequence tokens ended by length or delimiter, the pending delimiter check,
/// encapsulated pixel data with its offset table), checking each value before the parser
/// would allocate it. Returns at the end of the data set or where the parser would fail.
fn walk_data_set<'a, I: Input + 'a>(w: &mut Walk<I>, headers: &Headers<'a>) -> Result<(), LengthError> {
    let mut open: Vec<Open> = Vec::new();
    let mut in_sequence = false;
    let mut pending = false;
    let mut offset_table_next = false;
    let mut last_header: Option<DataElementHeader> = None;
    loop {
        if open.len() > 2 * MAX_DEPTH {
            return Err(LengthError::TooDeep);
        }
        if pending {
            if let Some(top) = open.last() {
                if let Some(len) = top.len.get() {
                    let end = top.base + u64::from(len);
                    if end == w.counter {
                        in_sequence = top.item;
                        open.pop();
                        continue;
                    }
                    if end < w.counter {
                        return Ok(());
                    }
                }
            }
            pending = false;
        }
        if in_sequence {
            match headers.item(w) {
                Ok(SequenceItemHeader::Item { len }) => {
                    let Some(pixel_data) = open.last().map(|o| o.pixel_data) else {
                        return Ok(());
                    };
                    in_sequence = false;
                    open.push(Open::item(len, pixel_data, w.counter));
                    pending |= len == Length(0);
                }
                Ok(SequenceItemHeader::ItemDelimiter) => {
                    open.pop();
                    in_sequence = true;
                    pending = true;
                }
                Ok(SequenceItemHeader::SequenceDelimiter) => {
                    open.pop();
                    in_sequence = false;
                    pending = true;
                }
                Err(_) => return Ok(()),
            }
        } else if let Some(top) = open.last().filter(|o| o.item && o.pixel_data) {
            // A pixel data item: the offset table, read as u32s, or a fragment.
            let Some(len) = top.len.get() else { return Ok(()) };
            let tag = SequenceItemHeader::Item { len: top.len }.tag();
            if offset_table_next {
                let n = u64::from(len >> 2) * 4;
                w.value(tag, len, n, n)?;
                offset_table_next = false;
            } else {
                w.value(tag, len, u64::from(len), u64::from(len))?;
            }
            pending = true;
        } else if let Some(header) = last_header.take() {
            if header.is_encapsulated_pixeldata() {
                open.push(Open::sequence(Length::UNDEFINED, true, w.counter));
                match headers.item(w) {
                    Ok(SequenceItemHeader::Item { len }) => {
                        in_sequence = false;
                        open.push(Open::item(len, true, w.counter));
                        if len == Length(0) {
                            pending = true;
                        } else {
                            offset_table_next = true;
                        }
                    }
                    Ok(SequenceItemHeader::SequenceDelimiter) => {
                        open.pop();
                        in_sequence = false;
                    }
                    _ => return Ok(()),
                }
            } else {
                let Some(len) = header.length().get() else {
                    return Ok(());
                };
                w.value(header.tag(), len, consumed_by_parser(header.vr(), len), u64::from(len))?;
                pending = true;
            }
        } else {
            let header = match headers.element(w) {
                Ok(h) => h,
                Err(_) => return Ok(()),
            };
            let len = header.length();
            if header.vr() == VR::SQ {
                in_sequence = true;
                open.push(Open::sequence(len, false, w.counter));
                pending |= len == Length(0);
            } else if header.tag() == SequenceItemHeader::ItemDelimiter.tag() {
                if !open.is_empty() {
                    in_sequence = true;
                    open.pop();
                    pending = true;
                }
            } else if header.is_encapsulated_pixeldata() || len.is_defined() {
                last_header = Some(header);
            } else {
                in_sequence = true;
                open.push(Open::sequence(len, false, w.counter));
            }
        }
    }
}

/// Walks a data set in transfer syntax `ts` from `input` (`len` bytes).
fn walk_in<'a, I: Input + 'a>(input: I, len: u64, ts: &TransferSyntax) -> Result<(), LengthError> {
    if matches!(ts.codec(), Codec::Dataset(Some(_))) {
        // Deflated: the compressed rest (no longer than the input), checked once inflated.
        let mut rest = Vec::new();
        input
            .take(len)
            .read_to_end(&mut rest)
            .map_err(|source| LengthError::Io {
                what: "data set",
                source,
            })?;
        return check_data_set(&rest, ts);
    }
    let Some(headers) = Headers::of(ts) else { return Ok(()) };
    walk_data_set(&mut Walk::new(input, len), &headers)
}

/// Checks a data set without file meta (as a C-STORE carries it) in transfer syntax `ts`.
pub fn check_data_set(bytes: &[u8], ts: &TransferSyntax) -> Result<(), LengthError> {
    if let Codec::Dataset(Some(adapter)) = ts.codec() {
        let mut counting = adapter.adapt_reader(Box::new(bytes));
        let inflated = std::io::copy(&mut (&mut counting).take(MAX_INFLATED_BYTES + 1), &mut std::io::sink()).map_err(
            |source| LengthError::Io {
                what: "deflated data set",
                source,
            },
        )?;
        if inflated > MAX_INFLATED_BYTES {
            return Err(LengthError::Inflates);
        }
        let Some(headers) = Headers::of(ts) else { return Ok(()) };
        let inflating: Box<dyn Read + '_> = adapter.adapt_reader(Box::new(bytes));
        return walk_data_set(&mut Walk::new(inflating, inflated), &headers);
    }
    walk_in(Cursor::new(bytes), bytes.len() as u64, ts)
}

/// Walks the file meta group (after `DICM`) as dicom-object reads it; returns its transfer
/// syntax, or `None` where dicom-object would fail on the group anyway.
fn walk_meta<'a, I: Input + 'a>(w: &mut Walk<I>) -> Result<Option<String>, LengthError> {
    let headers = Headers::explicit_le();
    let Ok(first) = headers.element(w) else { return Ok(None) };
    if first.tag() != tags::FILE_META_INFORMATION_GROUP_LENGTH || first.length() != Length(4) {
        return Ok(None);
    }
    let mut group_length = [0u8; 4];
    if w.read_exact(&mut group_length).is_err() {
        return Ok(None);
    }
    let group_length = u64::from(u32::from_le_bytes(group_length));
    let start = w.pos;
    let mut transfer_syntax = None;
    while w.pos - start < group_length {
        let Ok(h) = headers.element(w) else { return Ok(None) };
        let Some(n) = h.length().get() else { return Ok(None) };
        if h.tag() == tags::TRANSFER_SYNTAX_UID && n <= 1024 && u64::from(n) <= w.available() {
            let mut uid = vec![0u8; n as usize];
            if w.read_exact(&mut uid).is_err() {
                return Ok(None);
            }
            let uid = String::from_utf8_lossy(&uid)
                .trim_end_matches(['\0', ' '])
                .trim()
                .to_string();
            transfer_syntax = Some(uid);
        } else {
            w.value(h.tag(), n, u64::from(n), u64::from(n))?;
        }
    }
    Ok(transfer_syntax)
}

/// Checks a Part 10 stream (with or without the 128-byte preamble) of `len` bytes.
fn check_stream<'a, I: Input + 'a>(mut input: I, len: u64) -> Result<(), LengthError> {
    let mut head = [0u8; 132];
    let got = read_up_to(&mut input, &mut head).map_err(|source| LengthError::Io {
        what: "file start",
        source,
    })?;
    let skip = if got >= 132 && &head[128..132] == b"DICM" {
        132
    } else if got >= 4 && &head[..4] == b"DICM" {
        4
    } else {
        return Ok(());
    };
    // Back to just after `DICM`: re-read the rest of what was consumed.
    let rest = Cursor::new(head[skip..got].to_vec());
    let mut w = Walk {
        input: Chain {
            first: rest,
            then: input,
        },
        pos: skip as u64,
        counter: skip as u64,
        len,
    };
    let Some(uid) = walk_meta(&mut w)? else { return Ok(()) };
    let Some(ts) = TransferSyntaxRegistry.get(&uid) else {
        return Ok(());
    };
    let remaining = w.available();
    walk_in(w.input, remaining, ts)
}

fn read_up_to<R: Read>(r: &mut R, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..])? {
            0 => break,
            n => got += n,
        }
    }
    Ok(got)
}

/// Bytes already read, then the rest of the input.
struct Chain<I> {
    first: Cursor<Vec<u8>>,
    then: I,
}

impl<I: Input> Read for Chain<I> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self.first.read(buf)? {
            0 => self.then.read(buf),
            n => Ok(n),
        }
    }
}

impl<I: Input> Input for Chain<I> {
    fn skip(&mut self, n: u64) -> std::io::Result<()> {
        let left = (self.first.get_ref().len() as u64).saturating_sub(self.first.position());
        let from_first = n.min(left);
        self.first.set_position(self.first.position() + from_first);
        if n > from_first {
            self.then.skip(n - from_first)?;
        }
        Ok(())
    }
}

/// Checks a DICOM file (Part 10) in memory.
pub fn check_part10(bytes: &[u8]) -> Result<(), LengthError> {
    check_stream(Cursor::new(bytes), bytes.len() as u64)
}

/// Checks the DICOM file at `path`, seeking over values (the pixel data is not read).
pub fn check_file(path: &Path) -> Result<(), LengthError> {
    let file = std::fs::File::open(path).map_err(|source| LengthError::Io {
        what: "DICOM file",
        source,
    })?;
    let len = file
        .metadata()
        .map_err(|source| LengthError::Io {
            what: "DICOM file",
            source,
        })?
        .len();
    check_stream(BufReader::new(file), len)
}

/// Opens a DICOM file after [`check_file`], reading up to (not including) `until` if given.
pub fn open_file(path: &Path, until: Option<Tag>) -> Result<DefaultDicomObject, LengthError> {
    check_file(path)?;
    let options = match until {
        Some(tag) => OpenFileOptions::new().read_until(tag),
        None => OpenFileOptions::new(),
    };
    Ok(options.open_file(path)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dicom_core::value::PrimitiveValue;
    use dicom_core::DataElement;
    use dicom_dictionary_std::uids;
    use dicom_object::InMemDicomObject;

    fn sample() -> InMemDicomObject {
        let mut o = InMemDicomObject::new_empty();
        o.put(DataElement::new(
            tags::PATIENT_NAME,
            VR::PN,
            PrimitiveValue::from("DOE^JOHN"),
        ));
        let mut item = InMemDicomObject::new_empty();
        item.put(DataElement::new(
            tags::CODE_VALUE,
            VR::SH,
            PrimitiveValue::from("T-12345"),
        ));
        o.put(DataElement::new(
            tags::SEGMENT_SEQUENCE,
            VR::SQ,
            dicom_core::value::DataSetSequence::from(vec![item]),
        ));
        o.put(DataElement::new(
            tags::PIXEL_DATA,
            VR::OW,
            PrimitiveValue::from(vec![7u8; 64]),
        ));
        o
    }

    fn encode(ts_uid: &str) -> (Vec<u8>, &'static TransferSyntax) {
        let ts = TransferSyntaxRegistry.get(ts_uid).expect("known transfer syntax");
        let mut out = Vec::new();
        sample().write_dataset_with_ts(&mut out, ts).expect("encodes");
        (out, ts)
    }

    #[test]
    fn accepts_valid_data_sets_in_every_encoding() {
        for uid in [
            uids::IMPLICIT_VR_LITTLE_ENDIAN,
            uids::EXPLICIT_VR_LITTLE_ENDIAN,
            uids::DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
        ] {
            let (bytes, ts) = encode(uid);
            check_data_set(&bytes, ts).unwrap_or_else(|e| panic!("{uid}: {e}"));
        }
    }

    #[test]
    fn refuses_a_length_past_the_end_also_inside_a_sequence() {
        let (mut bytes, ts) = encode(uids::EXPLICIT_VR_LITTLE_ENDIAN);
        // The patient name's 2-byte length (after tag and VR) claims 0xFFFF bytes.
        let at = bytes.windows(2).position(|w| w == b"PN").expect("PN element") + 2;
        bytes[at..at + 2].copy_from_slice(&[0xFF, 0xFF]);
        assert!(matches!(
            check_data_set(&bytes, ts),
            Err(LengthError::TooLong { claimed: 0xFFFF, .. })
        ));
        let (mut bytes, ts) = encode(uids::IMPLICIT_VR_LITTLE_ENDIAN);
        // The code value inside the sequence item: tag (0008,0100), then a 4-byte length.
        let tag = [0x08, 0x00, 0x00, 0x01];
        let at = bytes.windows(4).position(|w| w == tag).expect("code value") + 4;
        bytes[at..at + 4].copy_from_slice(&0xF000_0000u32.to_le_bytes());
        assert!(matches!(check_data_set(&bytes, ts), Err(LengthError::TooLong { .. })));
    }

    #[test]
    fn refuses_deep_nesting_and_checks_files_with_their_meta() {
        let ts = TransferSyntaxRegistry.get(uids::EXPLICIT_VR_LITTLE_ENDIAN).expect("ts");
        // A sequence of undefined length holding an item of undefined length, nested 100 deep.
        let mut bytes = Vec::new();
        for _ in 0..100 {
            bytes.extend_from_slice(&[0x62, 0x00, 0x02, 0x00, b'S', b'Q', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF]);
            bytes.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]);
        }
        assert!(matches!(check_data_set(&bytes, ts), Err(LengthError::TooDeep)));

        let meta = dicom_object::FileMetaTableBuilder::new()
            .media_storage_sop_class_uid(uids::CT_IMAGE_STORAGE)
            .media_storage_sop_instance_uid("1.2.3")
            .transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN);
        let file = sample().with_meta(meta).expect("meta");
        let mut bytes = Vec::new();
        file.write_all(&mut bytes).expect("writes");
        check_part10(&bytes).expect("valid file");
        check_part10(&bytes[128..]).expect("valid file without preamble");
        // The media storage SOP instance UID (in the meta group) claims 0x4000 bytes.
        let at = bytes.windows(5).position(|w| w == b"1.2.3").expect("uid") - 2;
        bytes[at..at + 2].copy_from_slice(&0x4000u16.to_le_bytes());
        assert!(matches!(check_part10(&bytes), Err(LengthError::TooLong { .. })));
    }
}
