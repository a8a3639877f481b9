//! DIMSE status codes pavseg returns (PS3.4 B.2.3, PS3.7 C).

/// The outcome of a C-STORE or C-ECHO as the peer will see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Success,
    /// Refused: out of resources (disk full, instance too large, spool not writable).
    OutOfResources,
    /// Error: the data set does not match the SOP class (UIDs differ from the command, or a
    /// required attribute is missing).
    DataSetDoesNotMatchSopClass,
    /// Error: cannot understand (the data set cannot be parsed, or a UID is malformed).
    CannotUnderstand,
    /// Refused: SOP class not supported.
    SopClassNotSupported,
    /// Processing failure (unexpected internal error).
    ProcessingFailure,
}

impl Status {
    pub fn code(self) -> u16 {
        match self {
            Status::Success => 0x0000,
            Status::OutOfResources => 0xA700,
            Status::DataSetDoesNotMatchSopClass => 0xA900,
            Status::CannotUnderstand => 0xC000,
            Status::SopClassNotSupported => 0x0122,
            Status::ProcessingFailure => 0x0110,
        }
    }

    /// Success and warnings (0x0001, 0xB000-0xBFFF) mean the instance was stored.
    pub fn code_is_success(code: u16) -> bool {
        code == 0x0000 || code == 0x0001 || (0xB000..=0xBFFF).contains(&code)
    }
}
