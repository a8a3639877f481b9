//! Label map → DICOM Segmentation: the object pavseg sends back to the hospital.
//!
//! [`build`] turns a `[k, j, i]` label map on a source series' grid into a [`Segmentation`]
//! (BINARY: one bit-packed frame per non-empty segment and source slice; LABELMAP: one 8-bit
//! frame of segment numbers per non-empty source slice; every frame referring to its source
//! image); [`read_segmentation`] brings such a SEG back onto the source grid;
//! [`write_label_nifti`] and [`write_preview`] give the same result as NIfTI and as a PNG.
//!
//! An all-empty label map still makes a valid SEG: it keeps one empty frame of segment 1 on the
//! first slice (a SEG needs at least one frame), and every segment description.

mod build;
mod color;
mod config;
mod dataset;
mod elements;
mod encode;
mod frames;
mod grid_check;
mod label_map;
mod groups;
mod labels_nifti;
mod pack;
pub mod preview;
mod read;
mod segmentation;

pub use build::{build, BuildError};
pub use color::{lab_to_dicom, srgb_to_dicom_lab, srgb_to_lab};
pub use config::{AlgorithmConfig, Code, ConfigError, SegConfig, SegmentConfig, SegmentationType};
pub use encode::EncodeError;
pub use frames::{FrameRef, UnknownLabel};
pub use grid_check::{check_same_grid, GridMismatch};
pub use labels_nifti::{read_label_nifti, write_label_nifti, LabelNiftiError};
pub use preview::{render_preview, write_preview, Preview, PreviewError};
pub use read::{read_segmentation, ReadError, ReadSegment, ReadSegmentation};
pub use segmentation::{Segmentation, WriteError};

/// The new identity of a SEG: its UIDs and the moment it was made (local time, written as
/// SeriesDate/Time, ContentDate/Time and InstanceCreationDate/Time). Given one, [`build`] is
/// deterministic.
#[derive(Debug, Clone, PartialEq)]
pub struct SegIdentity {
    pub series_instance_uid: String,
    pub sop_instance_uid: String,
    pub dimension_organization_uid: String,
    /// TrackingUID of each configured segment, in segment order.
    pub tracking_uids: Vec<String>,
    pub created: chrono::NaiveDateTime,
}

impl SegIdentity {
    /// New UIDs under `config.uid_root` (the configured tracking UIDs where given), created now.
    pub fn new(config: &SegConfig) -> Self {
        let root = config.uid_root.as_str();
        SegIdentity {
            series_instance_uid: crate::uid::generate(root),
            sop_instance_uid: crate::uid::generate(root),
            dimension_organization_uid: crate::uid::generate(root),
            tracking_uids: config
                .segments
                .iter()
                .map(|s| s.tracking_uid.clone().unwrap_or_else(|| crate::uid::generate(root)))
                .collect(),
            created: chrono::Local::now().naive_local(),
        }
    }

    /// DICOM DA and TM values of the creation time.
    pub(crate) fn date_time(&self) -> (String, String) {
        (self.created.format("%Y%m%d").to_string(), self.created.format("%H%M%S%.6f").to_string())
    }
}
