//! DIMSE messages pavseg speaks: C-ECHO and C-STORE, request and response command sets, and
//! the status codes they carry.

mod status;

pub use status::Status;

use dicom_core::value::PrimitiveValue;
use dicom_core::{DataElement, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use dicom_transfer_syntax_registry::entries::IMPLICIT_VR_LITTLE_ENDIAN;

/// Command Field values (PS3.7 E.1).
pub mod command_field {
    pub const C_STORE_RQ: u16 = 0x0001;
    pub const C_STORE_RSP: u16 = 0x8001;
    pub const C_ECHO_RQ: u16 = 0x0030;
    pub const C_ECHO_RSP: u16 = 0x8030;
}

/// CommandDataSetType: no data set follows the command.
pub const NO_DATA_SET: u16 = 0x0101;
/// CommandDataSetType: a data set follows (any value other than 0x0101; 0x0000 by convention).
pub const DATA_SET_PRESENT: u16 = 0x0000;

#[derive(Debug, thiserror::Error)]
pub enum DimseError {
    #[error("cannot decode DIMSE command set: {0}")]
    DecodeCommand(String),
    #[error("cannot parse data set: {0}")]
    DecodeDataSet(String),
    #[error("DIMSE command lacks {0}")]
    MissingField(&'static str),
    #[error("cannot encode DIMSE command set: {0}")]
    EncodeCommand(String),
}

/// The fields of an incoming command that pavseg acts on.
#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    pub field: u16,
    pub message_id: u16,
    pub affected_sop_class_uid: Option<String>,
    pub affected_sop_instance_uid: Option<String>,
    pub has_data_set: bool,
    /// Status, on a response.
    pub status: Option<u16>,
    pub error_comment: Option<String>,
}

/// Parses a command set (always implicit VR little endian, PS3.7 6.3.1); element lengths are
/// checked first (see [`crate::element_lengths`]).
pub fn decode_command(bytes: &[u8]) -> Result<Command, DimseError> {
    let ts = IMPLICIT_VR_LITTLE_ENDIAN.erased();
    crate::element_lengths::check_data_set(bytes, &ts).map_err(|e| DimseError::DecodeCommand(e.to_string()))?;
    let obj = InMemDicomObject::read_dataset_with_ts(bytes, &ts).map_err(|e| DimseError::DecodeCommand(e.to_string()))?;
    let u16_of = |tag| obj.element(tag).ok().and_then(|e| e.to_int::<u16>().ok());
    let str_of = |tag| {
        obj.element(tag)
            .ok()
            .and_then(|e| e.to_str().ok())
            .map(|s| crate::uid::trim(&s).to_string())
    };
    let field = u16_of(tags::COMMAND_FIELD).ok_or(DimseError::MissingField("CommandField (0000,0100)"))?;
    let message_id = u16_of(tags::MESSAGE_ID).or_else(|| u16_of(tags::MESSAGE_ID_BEING_RESPONDED_TO)).unwrap_or(0);
    Ok(Command {
        field,
        message_id,
        affected_sop_class_uid: str_of(tags::AFFECTED_SOP_CLASS_UID),
        affected_sop_instance_uid: str_of(tags::AFFECTED_SOP_INSTANCE_UID),
        has_data_set: u16_of(tags::COMMAND_DATA_SET_TYPE).is_some_and(|t| t != NO_DATA_SET),
        status: u16_of(tags::STATUS),
        error_comment: str_of(tags::ERROR_COMMENT),
    })
}

/// Parses the data set of a C-STORE in its presentation context's transfer syntax, after
/// checking that no element claims more bytes than the data set holds (dicom-parser would
/// allocate the claimed length first; see [`crate::element_lengths`]).
pub fn read_data_set(bytes: &[u8], ts: &dicom_encoding::TransferSyntax) -> Result<InMemDicomObject, DimseError> {
    crate::element_lengths::check_data_set(bytes, ts).map_err(|e| DimseError::DecodeDataSet(e.to_string()))?;
    InMemDicomObject::read_dataset_with_ts(bytes, ts).map_err(|e| DimseError::DecodeDataSet(e.to_string()))
}

fn encode(elements: Vec<DataElement<InMemDicomObject>>) -> Result<Vec<u8>, DimseError> {
    let obj = InMemDicomObject::command_from_element_iter(elements);
    let mut out = Vec::with_capacity(256);
    obj.write_dataset_with_ts(&mut out, &IMPLICIT_VR_LITTLE_ENDIAN.erased())
        .map_err(|e| DimseError::EncodeCommand(e.to_string()))?;
    Ok(out)
}

fn us(tag: dicom_core::Tag, v: u16) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, VR::US, PrimitiveValue::from(v))
}

fn ui(tag: dicom_core::Tag, v: &str) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, VR::UI, PrimitiveValue::from(v))
}

/// C-ECHO-RSP with status Success.
pub fn echo_response(message_id: u16, sop_class_uid: &str) -> Result<Vec<u8>, DimseError> {
    encode(vec![
        ui(tags::AFFECTED_SOP_CLASS_UID, sop_class_uid),
        us(tags::COMMAND_FIELD, command_field::C_ECHO_RSP),
        us(tags::MESSAGE_ID_BEING_RESPONDED_TO, message_id),
        us(tags::COMMAND_DATA_SET_TYPE, NO_DATA_SET),
        us(tags::STATUS, Status::Success.code()),
    ])
}

/// C-ECHO-RQ.
pub fn echo_request(message_id: u16, sop_class_uid: &str) -> Result<Vec<u8>, DimseError> {
    encode(vec![
        ui(tags::AFFECTED_SOP_CLASS_UID, sop_class_uid),
        us(tags::COMMAND_FIELD, command_field::C_ECHO_RQ),
        us(tags::MESSAGE_ID, message_id),
        us(tags::COMMAND_DATA_SET_TYPE, NO_DATA_SET),
    ])
}

/// C-STORE-RSP with the given status; a failure carries an ErrorComment (at most 64
/// characters, PS3.7 C.4.2.1.6) saying what was wrong.
pub fn store_response(
    message_id: u16,
    sop_class_uid: &str,
    sop_instance_uid: &str,
    status: Status,
    error_comment: Option<&str>,
) -> Result<Vec<u8>, DimseError> {
    let mut e = vec![
        ui(tags::AFFECTED_SOP_CLASS_UID, sop_class_uid),
        us(tags::COMMAND_FIELD, command_field::C_STORE_RSP),
        us(tags::MESSAGE_ID_BEING_RESPONDED_TO, message_id),
        us(tags::COMMAND_DATA_SET_TYPE, NO_DATA_SET),
        us(tags::STATUS, status.code()),
        ui(tags::AFFECTED_SOP_INSTANCE_UID, sop_instance_uid),
    ];
    if let Some(c) = error_comment {
        let c: String = c.chars().filter(|ch| ch.is_ascii() && !ch.is_ascii_control() && *ch != '\\').take(64).collect();
        e.push(DataElement::new(tags::ERROR_COMMENT, VR::LO, PrimitiveValue::from(c)));
    }
    encode(e)
}

/// C-STORE-RQ (priority medium).
pub fn store_request(message_id: u16, sop_class_uid: &str, sop_instance_uid: &str) -> Result<Vec<u8>, DimseError> {
    encode(vec![
        ui(tags::AFFECTED_SOP_CLASS_UID, sop_class_uid),
        us(tags::COMMAND_FIELD, command_field::C_STORE_RQ),
        us(tags::MESSAGE_ID, message_id),
        us(tags::PRIORITY, 0),
        us(tags::COMMAND_DATA_SET_TYPE, DATA_SET_PRESENT),
        ui(tags::AFFECTED_SOP_INSTANCE_UID, sop_instance_uid),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use dicom_dictionary_std::uids;

    #[test]
    fn store_response_round_trips_with_status_and_comment() {
        let b = store_response(7, uids::CT_IMAGE_STORAGE, "1.2.3", Status::CannotUnderstand, Some("bad data")).unwrap();
        let c = decode_command(&b).unwrap();
        assert_eq!(c.field, command_field::C_STORE_RSP);
        assert_eq!(c.message_id, 7);
        assert_eq!(c.status, Some(0xC000));
        assert_eq!(c.error_comment.as_deref(), Some("bad data"));
        assert!(!c.has_data_set);
    }

    #[test]
    fn store_request_announces_a_data_set() {
        let c = decode_command(&store_request(3, uids::CT_IMAGE_STORAGE, "1.2.3.4").unwrap()).unwrap();
        assert_eq!((c.field, c.message_id, c.has_data_set), (command_field::C_STORE_RQ, 3, true));
        assert_eq!(c.affected_sop_instance_uid.as_deref(), Some("1.2.3.4"));
    }
}
