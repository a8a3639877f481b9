//! The typed result of the SEG stage: an encoded-ready DICOM Segmentation object and what it
//! holds, and writing it out.

use super::frames::FrameRef;
use dicom_object::{FileDicomObject, InMemDicomObject};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Why a SEG could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("cannot write DICOM-SEG file {path}: {reason}")]
    WriteFile { path: PathBuf, reason: String },
    #[error("cannot encode DICOM-SEG {sop_instance_uid}: {reason}")]
    Encode { sop_instance_uid: String, reason: String },
}

/// A DICOM Segmentation (BINARY) with its file meta, ready to be written or sent.
#[derive(Debug, Clone)]
pub struct Segmentation {
    pub(crate) object: FileDicomObject<InMemDicomObject>,
    pub(crate) frames: Vec<FrameRef>,
    pub(crate) series_instance_uid: String,
    pub(crate) sop_instance_uid: String,
}

impl Segmentation {
    /// The DICOM object (file meta + data set).
    pub fn object(&self) -> &FileDicomObject<InMemDicomObject> {
        &self.object
    }

    pub fn into_object(self) -> FileDicomObject<InMemDicomObject> {
        self.object
    }

    /// The frames in the order they are stored: segment by segment, along the slice normal.
    pub fn frames(&self) -> &[FrameRef] {
        &self.frames
    }

    pub fn series_instance_uid(&self) -> &str {
        &self.series_instance_uid
    }

    pub fn sop_instance_uid(&self) -> &str {
        &self.sop_instance_uid
    }

    /// Writes a DICOM file (preamble, file meta, explicit VR little endian data set).
    pub fn write_to_file(&self, path: &Path) -> Result<(), WriteError> {
        self.object
            .write_to_file(path)
            .map_err(|e| WriteError::WriteFile { path: path.to_path_buf(), reason: e.to_string() })
    }

    /// Encodes the whole file (preamble, file meta and data set) into `to`.
    pub fn write_to(&self, to: impl Write) -> Result<(), WriteError> {
        self.object
            .write_all(to)
            .map_err(|e| WriteError::Encode { sop_instance_uid: self.sop_instance_uid.clone(), reason: e.to_string() })
    }
}
