//! `dataset`: the data set of a C-STORE as the node parses it (`dimse::read_data_set`, no file
//! meta) in each data set encoding the node accepts (implicit VR LE, explicit VR LE, explicit
//! VR BE, deflated), then, where it passes the node's checks, the spool file the node would
//! write from it (file meta + the received bytes) through the slice header and volume assembly.

use super::fixture;
use super::Target;
use crate::fuzz::node_negotiation::decodable_transfer_syntaxes;
use crate::fuzz::scratch;
use dicom_dictionary_std::{tags, uids};
use dicom_encoding::transfer_syntax::TransferSyntaxIndex;
use dicom_encoding::TransferSyntax;
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
use dicom_transfer_syntax_registry::entries::EXPLICIT_VR_BIG_ENDIAN;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;
use std::sync::OnceLock;

pub const TARGET: Target = Target {
    name: "dataset",
    about: "C-STORE data set (implicit/explicit VR LE, BE, deflated) as the node parses and spools it",
    prepare,
    run,
    dictionary: super::tokens::dicom,
    builtin_seeds: &[],
    hidden: false,
};

/// The data set encodings among the transfer syntaxes the node accepts (the others are
/// explicit VR little endian with encapsulated pixel data).
fn encodings() -> &'static [&'static TransferSyntax] {
    static TS: OnceLock<Vec<&'static TransferSyntax>> = OnceLock::new();
    TS.get_or_init(|| {
        let accepted = decodable_transfer_syntaxes();
        [
            uids::IMPLICIT_VR_LITTLE_ENDIAN,
            uids::EXPLICIT_VR_LITTLE_ENDIAN,
            EXPLICIT_VR_BIG_ENDIAN.uid(),
            uids::DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
        ]
        .into_iter()
        .filter(|uid| accepted.contains(uid))
        .filter_map(|uid| TransferSyntaxRegistry.get(uid))
        .collect()
    })
}

fn prepare() -> Result<(), String> {
    if encodings().len() < 2 {
        return Err("the node accepts neither implicit nor explicit VR little endian".into());
    }
    fixture::series().map(|_| ())
}

fn run(bytes: &[u8]) {
    let Ok(series) = fixture::series() else { return };
    for ts in encodings() {
        let Ok(obj) = crate::dimse::read_data_set(bytes, ts) else {
            continue;
        };
        let Some(path) = spool_file(&obj, ts, bytes) else {
            continue;
        };
        super::dicom_file::assemble_with_series(&path, series);
    }
}

/// The node's checks of a stored data set (SOP Class/Instance and Series UIDs present, UIDs
/// valid), then its spool file: 128 zero bytes, `DICM`, the file meta, the received bytes.
fn spool_file(obj: &InMemDicomObject, ts: &TransferSyntax, bytes: &[u8]) -> Option<std::path::PathBuf> {
    let text = |tag| {
        obj.element(tag)
            .ok()
            .and_then(|e| e.to_str().ok())
            .map(|s| crate::uid::trim(s.trim()).to_string())
            .filter(|s| !s.is_empty())
    };
    let (class, sop, series) = (
        text(tags::SOP_CLASS_UID)?,
        text(tags::SOP_INSTANCE_UID)?,
        text(tags::SERIES_INSTANCE_UID)?,
    );
    crate::uid::validate(&sop).ok()?;
    crate::uid::validate(&series).ok()?;
    let meta = FileMetaTableBuilder::new()
        .media_storage_sop_class_uid(class)
        .media_storage_sop_instance_uid(sop)
        .transfer_syntax(ts.uid())
        .implementation_class_uid(crate::IMPLEMENTATION_CLASS_UID)
        .implementation_version_name(crate::IMPLEMENTATION_VERSION_NAME)
        .source_application_entity_title("FUZZ")
        .build()
        .ok()?;
    let mut file = vec![0u8; 128];
    file.extend_from_slice(b"DICM");
    meta.write(&mut file).ok()?;
    file.extend_from_slice(bytes);
    scratch::write("dataset.dcm", &file)
}
