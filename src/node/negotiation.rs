//! What the node negotiates: the storage SOP classes it takes and the transfer syntaxes whose
//! pixel data it can decode.

use super::access::AllowList;
use crate::config::NodeSettings;
use dicom_dictionary_std::uids;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;
use dicom_ul::association::server::{DefaultNegotiation, ServerAssociationOptions};
use std::time::Duration;

/// Storage SOP classes accepted: single-frame CT and the multi-frame CT objects (Enhanced CT,
/// and Legacy Converted Enhanced CT as archives convert classic series) that volume assembly
/// reads frame by frame. Non-CT images (MR) are stored too, so that a misrouted series is kept
/// and reported by series selection rather than refused half-way.
pub const STORAGE_SOP_CLASSES: &[&str] = &[
    uids::CT_IMAGE_STORAGE,
    uids::ENHANCED_CT_IMAGE_STORAGE,
    uids::LEGACY_CONVERTED_ENHANCED_CT_IMAGE_STORAGE,
    uids::MR_IMAGE_STORAGE,
    uids::ENHANCED_MR_IMAGE_STORAGE,
];

/// JPIP transfer syntaxes carry a reference to the pixel data, not the pixels.
const PIXELS_BY_REFERENCE: &[&str] = &[
    uids::JPIP_REFERENCED,
    uids::JPIP_REFERENCED_DEFLATE,
    uids::JPIPHTJ2K_REFERENCED,
    uids::JPIPHTJ2K_REFERENCED_DEFLATE,
];

/// Transfer syntaxes whose data set and pixel data the registry can decode (this build has
/// the native JPEG, JPEG-LS (CharLS), JPEG 2000 (OpenJPEG port) and RLE codecs, and deflate).
pub fn decodable_transfer_syntaxes() -> Vec<&'static str> {
    TransferSyntaxRegistry
        .iter()
        .filter(|ts| ts.can_decode_all() && !ts.is_unsupported() && !PIXELS_BY_REFERENCE.contains(&ts.uid()))
        .map(|ts| ts.uid())
        .collect()
}

pub type Options = ServerAssociationOptions<'static, AllowList, DefaultNegotiation>;

pub fn options(node: &NodeSettings) -> Options {
    let mut o = ServerAssociationOptions::new()
        .ae_access_control(AllowList { allowed_calling: node.allowed_calling_ae_titles.clone() })
        .ae_title(node.ae_title.clone())
        .max_pdu_length(node.max_pdu_length)
        .read_timeout(Duration::from_secs(node.read_timeout_seconds))
        .write_timeout(Duration::from_secs(node.read_timeout_seconds))
        // A PDU longer than our maximum is an error, not a reason to buffer: a length field
        // claiming 4 GB must not make us collect 4 GB.
        .strict(true)
        .with_abstract_syntax(uids::VERIFICATION);
    for class in STORAGE_SOP_CLASSES {
        o = o.with_abstract_syntax(*class);
    }
    for ts in decodable_transfer_syntaxes() {
        o = o.with_transfer_syntax(ts);
    }
    o
}

