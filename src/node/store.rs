//! The synchronous core of C-STORE: check the data set against its command, write it to the
//! spool with fsync, and decide the DIMSE status. Runs on a blocking thread.

use super::Shared;
use crate::dimse::{Command, Status};
use crate::spool::SpoolError;
use crate::uid;
use dicom_dictionary_std::tags;
use dicom_encoding::transfer_syntax::TransferSyntaxIndex;
use dicom_object::FileMetaTableBuilder;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;
use tracing::{debug, warn};

pub struct StoreRequest {
    pub command: Command,
    pub transfer_syntax: String,
    pub calling_ae: String,
    pub data: Vec<u8>,
}

pub struct StoreOutcome {
    pub status: Status,
    /// ErrorComment for a failure: what the sender should fix.
    pub comment: Option<String>,
}

fn fail(status: Status, comment: String) -> StoreOutcome {
    warn!(status = format!("{:#06X}", status.code()), "{comment}");
    StoreOutcome { status, comment: Some(comment) }
}

/// Validates and stores one instance; Success only once it is durable on disk.
pub fn store_instance(shared: &Shared, req: StoreRequest) -> StoreOutcome {
    let cmd = &req.command;
    let (Some(class), Some(sop)) = (cmd.affected_sop_class_uid.as_deref(), cmd.affected_sop_instance_uid.as_deref()) else {
        return fail(Status::CannotUnderstand, "C-STORE request lacks Affected SOP Class/Instance UID".into());
    };
    if let Err(e) = uid::validate(sop) {
        return fail(Status::CannotUnderstand, format!("Affected SOP Instance UID: {e}"));
    }
    let Some(ts) = TransferSyntaxRegistry.get(&req.transfer_syntax) else {
        return fail(Status::CannotUnderstand, format!("unknown transfer syntax {}", req.transfer_syntax));
    };
    // Element lengths are checked against the bytes received first: a header that claims
    // gigabytes must not become an allocation.
    let obj = match crate::dimse::read_data_set(&req.data, ts) {
        Ok(o) => o,
        Err(e) => return fail(Status::CannotUnderstand, e.to_string()),
    };
    let text = |tag| {
        obj.element(tag).ok().and_then(|e| e.to_str().ok()).map(|s| uid::trim(s.trim()).to_string()).filter(|s| !s.is_empty())
    };
    match text(tags::SOP_INSTANCE_UID) {
        Some(s) if s == sop => {}
        Some(s) => return fail(Status::DataSetDoesNotMatchSopClass, format!("data set SOPInstanceUID {s} differs from the command's")),
        None => return fail(Status::DataSetDoesNotMatchSopClass, "data set lacks SOPInstanceUID (0008,0018)".into()),
    }
    match text(tags::SOP_CLASS_UID) {
        Some(s) if s == class => {}
        Some(s) => return fail(Status::DataSetDoesNotMatchSopClass, format!("data set SOPClassUID {s} differs from the command's")),
        None => return fail(Status::DataSetDoesNotMatchSopClass, "data set lacks SOPClassUID (0008,0016)".into()),
    }
    let Some(series) = text(tags::SERIES_INSTANCE_UID) else {
        return fail(Status::DataSetDoesNotMatchSopClass, "data set lacks SeriesInstanceUID (0020,000E)".into());
    };
    if let Err(e) = uid::validate(&series) {
        return fail(Status::CannotUnderstand, format!("SeriesInstanceUID: {e}"));
    }
    let meta = FileMetaTableBuilder::new()
        .media_storage_sop_class_uid(class)
        .media_storage_sop_instance_uid(sop)
        .transfer_syntax(req.transfer_syntax.as_str())
        .implementation_class_uid(crate::IMPLEMENTATION_CLASS_UID)
        .implementation_version_name(crate::IMPLEMENTATION_VERSION_NAME)
        .source_application_entity_title(req.calling_ae.as_str())
        .build();
    let mut head = vec![0u8; 128];
    head.extend_from_slice(b"DICM");
    if let Err(e) = meta.map_err(|e| e.to_string()).and_then(|m| m.write(&mut head).map_err(|e| e.to_string())) {
        return fail(Status::ProcessingFailure, format!("cannot build file meta information: {e}"));
    }
    shared.tracker.begin(&series);
    let result = shared.spool.store_instance(&series, sop, &[&head, &req.data]);
    shared.tracker.end(&series);
    match result {
        Ok(path) => {
            debug!(series = %series, sop = %sop, file = %path.display(), "stored");
            StoreOutcome { status: Status::Success, comment: None }
        }
        Err(SpoolError::DiskFull { free, .. }) => fail(Status::OutOfResources, format!("spool disk full ({free} bytes free)")),
        Err(e @ SpoolError::InvalidUid { .. }) => fail(Status::CannotUnderstand, e.to_string()),
        Err(e) => fail(Status::OutOfResources, format!("cannot store: {e}")),
    }
}
