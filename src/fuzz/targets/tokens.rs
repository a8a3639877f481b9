//! Dictionaries for the mutator: tokens of each input format (tags, VRs, UIDs, PDU item
//! types, NIfTI codes, TOML syntax), built from the standard dictionaries rather than literals.

use dicom_core::header::{Header, Length, SequenceItemHeader};
use dicom_core::Tag;
use dicom_dictionary_std::{tags, uids};
use dicom_transfer_syntax_registry::entries::EXPLICIT_VR_BIG_ENDIAN;

fn tag_bytes(tag: Tag, out: &mut Vec<Vec<u8>>) {
    let (g, e) = (tag.group(), tag.element());
    out.push([g.to_le_bytes(), e.to_le_bytes()].concat());
    out.push([g.to_be_bytes(), e.to_be_bytes()].concat());
}

/// Transfer syntaxes and SOP classes the node meets.
fn uid_tokens(out: &mut Vec<Vec<u8>>) {
    for uid in [
        uids::IMPLICIT_VR_LITTLE_ENDIAN,
        uids::EXPLICIT_VR_LITTLE_ENDIAN,
        EXPLICIT_VR_BIG_ENDIAN.uid(),
        uids::DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
        uids::RLE_LOSSLESS,
        uids::JPEG_BASELINE8_BIT,
        uids::JPEG_LOSSLESS_SV1,
        uids::JPEGLS_LOSSLESS,
        uids::JPEGLS_NEAR_LOSSLESS,
        uids::JPEG2000_LOSSLESS,
        uids::JPEG2000,
        uids::CT_IMAGE_STORAGE,
        uids::ENHANCED_CT_IMAGE_STORAGE,
        uids::MR_IMAGE_STORAGE,
        uids::SEGMENTATION_STORAGE,
        uids::VERIFICATION,
        uids::DICOM_APPLICATION_CONTEXT,
    ] {
        out.push(uid.as_bytes().to_vec());
        let mut padded = uid.as_bytes().to_vec();
        padded.push(0);
        out.push(padded);
    }
}

/// DICOM data sets and files.
pub fn dicom() -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = vec![
        b"DICM".to_vec(),
        vec![0xFF; 4],
        vec![0; 4],
        vec![0xFF, 0xFF],
        vec![0; 128],
    ];
    for item in [
        SequenceItemHeader::Item { len: Length::UNDEFINED },
        SequenceItemHeader::ItemDelimiter,
        SequenceItemHeader::SequenceDelimiter,
    ] {
        tag_bytes(item.tag(), &mut out);
    }
    for tag in [
        tags::PIXEL_DATA,
        tags::FILE_META_INFORMATION_GROUP_LENGTH,
        tags::TRANSFER_SYNTAX_UID,
        tags::SPECIFIC_CHARACTER_SET,
        tags::SOP_CLASS_UID,
        tags::SOP_INSTANCE_UID,
        tags::ROWS,
        tags::COLUMNS,
        tags::BITS_ALLOCATED,
        tags::BITS_STORED,
        tags::HIGH_BIT,
        tags::PIXEL_REPRESENTATION,
        tags::SAMPLES_PER_PIXEL,
        tags::PHOTOMETRIC_INTERPRETATION,
        tags::NUMBER_OF_FRAMES,
        tags::PIXEL_SPACING,
        tags::IMAGE_POSITION_PATIENT,
        tags::IMAGE_ORIENTATION_PATIENT,
        tags::RESCALE_SLOPE,
        tags::RESCALE_INTERCEPT,
        tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE,
        tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE,
        tags::SEGMENT_SEQUENCE,
        tags::PLANE_POSITION_SEQUENCE,
        tags::SEGMENT_IDENTIFICATION_SEQUENCE,
        tags::REFERENCED_SEGMENT_NUMBER,
    ] {
        tag_bytes(tag, &mut out);
    }
    for vr in [
        "SQ", "OB", "OW", "OF", "OD", "OL", "OV", "UN", "UT", "UC", "UR", "UV", "SV", "DS", "IS", "US", "UL", "SS",
        "SL", "FD", "FL", "UI", "CS", "LO", "SH", "PN", "DA", "TM", "DT", "AT", "ST", "LT",
    ] {
        out.push(vr.as_bytes().to_vec());
        out.push([vr.as_bytes(), &[0, 0]].concat());
    }
    for text in [
        "ISO_IR 100",
        "ISO_IR 192",
        "ISO 2022 IR 87",
        "ISO 2022 IR 149",
        "GB18030",
        "\\",
        "-0",
        "1e309",
        "NaN",
        "inf",
        "-1",
        "99999999999999999999",
        "0.000000000000001",
        "MONOCHROME2",
        "BINARY",
        "FRACTIONAL",
    ] {
        out.push(text.as_bytes().to_vec());
    }
    uid_tokens(&mut out);
    out
}

/// Upper-layer PDUs, their items and DIMSE command sets.
pub fn pdu() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for pdu_type in 1u8..=7 {
        out.push(vec![pdu_type, 0]);
        out.push(vec![pdu_type, 0, 0xFF, 0xFF, 0xFF, 0xFF]);
    }
    for item in [
        0x10u8, 0x20, 0x21, 0x30, 0x40, 0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59,
    ] {
        out.push(vec![item, 0]);
        out.push(vec![item, 0, 0xFF, 0xFF]);
    }
    // PDV message control headers, protocol version, a TLS ClientHello's record header.
    out.extend([
        vec![0x03],
        vec![0x01],
        vec![0x02],
        vec![0x00, 0x01],
        vec![0x16, 0x03, 0x01],
        b"PAVSEG          ".to_vec(),
    ]);
    for tag in [
        tags::COMMAND_GROUP_LENGTH,
        tags::COMMAND_FIELD,
        tags::MESSAGE_ID,
        tags::COMMAND_DATA_SET_TYPE,
        tags::AFFECTED_SOP_CLASS_UID,
        tags::AFFECTED_SOP_INSTANCE_UID,
        tags::PRIORITY,
    ] {
        tag_bytes(tag, &mut out);
    }
    for field in [0x0001u16, 0x0030, 0x8001, 0x8030, 0x0101] {
        out.push(field.to_le_bytes().to_vec());
    }
    uid_tokens(&mut out);
    out
}

/// NIfTI-1 headers.
pub fn nifti() -> Vec<Vec<u8>> {
    let mut out = vec![
        b"n+1\0".to_vec(),
        b"ni1\0".to_vec(),
        b"n+2\0".to_vec(),
        348i32.to_le_bytes().to_vec(),
        348i32.to_be_bytes().to_vec(),
        352f32.to_le_bytes().to_vec(),
        vec![0x1F, 0x8B, 0x08],
    ];
    for datatype in [
        0i16, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 768, 1024, 1280, 1536, 1792, 2048, 2304,
    ] {
        out.push(datatype.to_le_bytes().to_vec());
    }
    for bitpix in [1i16, 8, 16, 24, 32, 64, 128, 255] {
        out.push(bitpix.to_le_bytes().to_vec());
    }
    for v in [
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        0.0,
        -1.0,
        1e30,
        1e-30,
        f32::MAX,
    ] {
        out.push(v.to_le_bytes().to_vec());
    }
    for d in [-1i16, 0, 1, 3, 4, 7, 8, i16::MAX, i16::MIN] {
        out.push(d.to_le_bytes().to_vec());
    }
    out
}

/// NRRD headers: the magic, field names, types, encodings, spaces and Slicer's segment keys.
pub fn nrrd() -> Vec<Vec<u8>> {
    [
        "NRRD0004\n", "NRRD0005\n", "NRRD0001\n", "\n\n", ": ", ":=", "# ", "type: ", "dimension: ", "sizes: ",
        "encoding: ", "endian: ", "space: ", "space directions: ", "space origin: ", "kinds: ", "byte skip: ",
        "line skip: ", "data file: ", "datafile: ", "LIST", "uchar", "unsigned char", "short", "ushort", "int",
        "uint", "float", "double", "int64", "uint64", "block", "raw", "gzip", "text", "bzip2", "hex", "little",
        "big", "left-posterior-superior", "RAS", "LAS", "scanner-xyz", "none", "(1,0,0)", "(0,0,0)", "(nan,0,0)",
        "(1e308,1e308,1e308)", "(0,0,1)", "list domain domain domain", "-1", "0", "4294967296", "65535",
        "Segment0_Name:=", "Segment0_LabelValue:=", "Segment0_Layer:=", "Segment1_Layer:=", "Segment0_ID:=",
        "Segment0_Tags:=TerminologyEntry:a~SCT^1^b~SCT^81040000^Pulmonary artery~^^~x|", "artery", "vein",
    ]
    .iter()
    .map(|t| t.as_bytes().to_vec())
    .chain([vec![0x1F, 0x8B, 0x08]])
    .collect()
}

/// TOML: syntax, odd values, and the keys of the node settings and plugin files.
pub fn toml() -> Vec<Vec<u8>> {
    [
        "[",
        "]",
        "[[",
        "]]",
        "{",
        "}",
        "=",
        "\"",
        "'",
        "'''",
        "\"\"\"",
        ",",
        ".",
        "#",
        "\n",
        "\\u0000",
        "\\U0010FFFF",
        "inf",
        "-inf",
        "nan",
        "1e309",
        "-0",
        "0x7FFFFFFF",
        "18446744073709551616",
        "-9223372036854775809",
        "true",
        "false",
        "1979-05-27T07:32:00Z",
        "[]",
        "{}",
        "[node]",
        "[node.tls]",
        "[spool]",
        "[pipeline]",
        "[delivery]",
        "[http]",
        "[log]",
        "[[destinations]]",
        "ae_title",
        "port",
        "max_pdu_length",
        "max_instance_bytes",
        "read_timeout_seconds",
        "stability_seconds",
        "min_free_bytes",
        "plugins",
        "workers",
        "queue_capacity",
        "max_series_voxels",
        "level",
        "format",
        "[plugin]",
        "[prompts]",
        "[[classes]]",
        "[model]",
        "[[selection]]",
        "[preprocess]",
        "[postprocess]",
        "[output]",
        "[output.seg]",
        "[[output.seg.segments]]",
        "template",
        "{class}",
        "window",
        "overlap",
        "batch",
        "threshold",
        "spacing",
        "label",
        "label_value",
        "attribute",
        "property",
        "matches",
        "not_matching",
        "one_of",
        "none_of",
        "equals",
        "min",
        "max",
        "(?i)",
        "(",
        ")",
        "*",
        "+",
        "{1000}",
        "\\p{L}",
        "[^",
        "\\b",
        "$",
        "^",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect()
}
