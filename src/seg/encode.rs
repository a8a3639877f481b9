//! A direct explicit VR little endian encoder for a SEG's data set.
//!
//! dicom-object's writer turns every element into tokens and spends most of a large SEG's
//! write time on its ~10 000 small elements; this walks the in-memory object once into one
//! buffer. It writes what dicom-object writes for the same object (undefined-length sequences
//! and items, text padded with spaces, UIDs with NUL), which a test checks byte for byte.

use super::elements::format_ds;
use dicom_core::value::{PrimitiveValue, Value};
use dicom_core::{Tag, VR};
use dicom_dictionary_std::tags;
use dicom_encoding::encode::explicit_le::ExplicitVRLittleEndianEncoder;
use dicom_encoding::encode::Encode;
use dicom_encoding::text::{SpecificCharacterSet, TextCodec};
use dicom_object::InMemDicomObject;

/// An element that cannot be encoded.
#[derive(Debug, Clone, thiserror::Error)]
#[error("cannot encode element {tag} ({vr:?}): {reason}")]
pub struct EncodeError {
    pub tag: Tag,
    pub vr: VR,
    pub reason: String,
}

const UNDEFINED: u32 = 0xFFFF_FFFF;

/// VRs whose explicit VR header has two reserved bytes and a 32-bit length.
fn long_header(vr: VR) -> bool {
    matches!(
        vr,
        VR::OB
            | VR::OD
            | VR::OF
            | VR::OL
            | VR::OV
            | VR::OW
            | VR::SQ
            | VR::SV
            | VR::UC
            | VR::UN
            | VR::UR
            | VR::UT
            | VR::UV
    )
}

/// VRs written as text.
fn textual(vr: VR) -> bool {
    matches!(
        vr,
        VR::AE
            | VR::AS
            | VR::CS
            | VR::DA
            | VR::DS
            | VR::DT
            | VR::IS
            | VR::LO
            | VR::LT
            | VR::PN
            | VR::SH
            | VR::ST
            | VR::TM
            | VR::UC
            | VR::UI
            | VR::UR
            | VR::UT
    )
}

/// Text VRs that may hold characters beyond the default repertoire.
fn uses_charset(vr: VR) -> bool {
    matches!(vr, VR::LO | VR::LT | VR::PN | VR::SH | VR::ST | VR::UC | VR::UT)
}

fn tag_bytes(out: &mut Vec<u8>, tag: Tag) {
    out.extend_from_slice(&tag.group().to_le_bytes());
    out.extend_from_slice(&tag.element().to_le_bytes());
}

fn header(out: &mut Vec<u8>, tag: Tag, vr: VR, len: u32) -> Result<(), EncodeError> {
    tag_bytes(out, tag);
    out.extend_from_slice(vr.to_string().as_bytes());
    if long_header(vr) {
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&len.to_le_bytes());
    } else {
        let short = u16::try_from(len).map_err(|_| EncodeError {
            tag,
            vr,
            reason: format!("{len} bytes do not fit a 16-bit length"),
        })?;
        out.extend_from_slice(&short.to_le_bytes());
    }
    Ok(())
}

/// Encodes data sets into one buffer.
pub struct Encoder {
    charset: Option<SpecificCharacterSet>,
    charset_name: String,
    text: Vec<u8>,
    /// Writes item and sequence headers and delimiters.
    delimiters: ExplicitVRLittleEndianEncoder,
}

impl Encoder {
    /// An encoder for `obj`, using its Specific Character Set for non-ASCII text.
    pub fn for_object(obj: &InMemDicomObject) -> Self {
        let name = obj
            .get(tags::SPECIFIC_CHARACTER_SET)
            .and_then(|e| e.to_str().ok())
            .map(|s| s.trim_matches(|c: char| c == '\0' || c == ' ').to_string())
            .unwrap_or_default();
        let charset = if name.is_empty() {
            SpecificCharacterSet::from_code("ISO_IR 6")
        } else {
            SpecificCharacterSet::from_code(&name)
        };
        Encoder { charset, charset_name: name, text: Vec::new(), delimiters: ExplicitVRLittleEndianEncoder::default() }
    }

    /// Appends the data set `obj` (all its elements in tag order) to `out`.
    pub fn dataset(&mut self, obj: &InMemDicomObject, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        for elem in obj {
            let (tag, vr) = (elem.header().tag, elem.header().vr);
            match elem.value() {
                Value::Primitive(v) => self.primitive(tag, vr, v, out)?,
                Value::Sequence(seq) => {
                    header(out, tag, VR::SQ, UNDEFINED)?;
                    let delimit = |e: dicom_encoding::encode::Error| EncodeError { tag, vr, reason: e.to_string() };
                    for item in seq.items() {
                        self.delimiters.encode_item_header(&mut *out, UNDEFINED).map_err(delimit)?;
                        self.dataset(item, out)?;
                        self.delimiters.encode_item_delimiter(&mut *out).map_err(delimit)?;
                    }
                    self.delimiters.encode_sequence_delimiter(&mut *out).map_err(delimit)?;
                }
                Value::PixelSequence(_) => {
                    return Err(EncodeError { tag, vr, reason: "encapsulated pixel data is not supported".into() })
                }
            }
        }
        Ok(())
    }

    fn primitive(&mut self, tag: Tag, vr: VR, v: &PrimitiveValue, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let fail = |reason: String| EncodeError { tag, vr, reason };
        if textual(vr) {
            self.text.clear();
            match v {
                PrimitiveValue::Empty => {}
                PrimitiveValue::Str(s) => self.text.extend_from_slice(s.as_bytes()),
                PrimitiveValue::Strs(list) => {
                    for (n, s) in list.iter().enumerate() {
                        if n > 0 {
                            self.text.push(b'\\');
                        }
                        self.text.extend_from_slice(s.as_bytes());
                    }
                }
                PrimitiveValue::F64(list) if vr == VR::DS => {
                    let s: Vec<String> = list.iter().map(|&x| format_ds(x)).collect();
                    self.text.extend_from_slice(s.join("\\").as_bytes());
                }
                PrimitiveValue::F32(list) if vr == VR::DS => {
                    let s: Vec<String> = list.iter().map(|&x| format_ds(x as f64)).collect();
                    self.text.extend_from_slice(s.join("\\").as_bytes());
                }
                other => self.text.extend_from_slice(other.to_str().as_bytes()),
            }
            if !self.text.is_ascii() && uses_charset(vr) {
                let s = std::str::from_utf8(&self.text).map_err(|e| fail(e.to_string()))?.to_string();
                let codec = self.charset.as_ref().ok_or_else(|| {
                    fail(format!("non-ASCII text in unsupported Specific Character Set {:?}", self.charset_name))
                })?;
                self.text = codec.encode(&s).map_err(|e| fail(e.to_string()))?;
            }
            if self.text.len() % 2 == 1 {
                self.text.push(if vr == VR::UI { 0 } else { b' ' });
            }
            let len = u32::try_from(self.text.len()).map_err(|_| fail("value longer than 4 GiB".into()))?;
            header(out, tag, vr, len)?;
            out.extend_from_slice(&self.text);
            return Ok(());
        }
        let start = out.len();
        header(out, tag, vr, 0)?;
        let value_start = out.len();
        match v {
            PrimitiveValue::Empty => {}
            PrimitiveValue::U8(b) => out.extend_from_slice(b),
            PrimitiveValue::U16(x) => x.iter().for_each(|v| out.extend_from_slice(&v.to_le_bytes())),
            PrimitiveValue::I16(x) => x.iter().for_each(|v| out.extend_from_slice(&v.to_le_bytes())),
            PrimitiveValue::U32(x) => x.iter().for_each(|v| out.extend_from_slice(&v.to_le_bytes())),
            PrimitiveValue::I32(x) => x.iter().for_each(|v| out.extend_from_slice(&v.to_le_bytes())),
            PrimitiveValue::U64(x) => x.iter().for_each(|v| out.extend_from_slice(&v.to_le_bytes())),
            PrimitiveValue::I64(x) => x.iter().for_each(|v| out.extend_from_slice(&v.to_le_bytes())),
            PrimitiveValue::F32(x) => x.iter().for_each(|v| out.extend_from_slice(&v.to_le_bytes())),
            PrimitiveValue::F64(x) => x.iter().for_each(|v| out.extend_from_slice(&v.to_le_bytes())),
            PrimitiveValue::Tags(x) => x.iter().for_each(|t| tag_bytes(out, *t)),
            other => return Err(fail(format!("a binary VR cannot hold the text value {:?}", other.to_str()))),
        }
        if (out.len() - value_start) % 2 == 1 {
            out.push(0);
        }
        let len = u32::try_from(out.len() - value_start).map_err(|_| fail("value longer than 4 GiB".into()))?;
        // Rewrite the header now that the length is known.
        let mut h = Vec::with_capacity(12);
        header(&mut h, tag, vr, len)?;
        out[start..value_start].copy_from_slice(&h);
        Ok(())
    }
}
