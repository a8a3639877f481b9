//! Volumes: a CT series assembled into one `[k, j, i]` array of Hounsfield units with its
//! patient geometry and the references a derived object (the DICOM-SEG) needs. A series is
//! single-frame images (CT Image Storage), or one or more multi-frame images (Enhanced CT,
//! Legacy Converted Enhanced CT) whose frames are its planes.

mod assemble;
mod decode;
mod frames;
#[cfg(test)]
mod frames_tests;
mod header;
mod pixel_checks;
mod summary;

pub use assemble::{assemble_files, assemble_headers, assemble_slices, AssembleError, AssemblyLimits};
pub use header::{read_frame_headers, read_slice_header, SliceHeader};
pub use summary::VolumeSummary;

use crate::geometry::Geometry;
use dicom_object::InMemDicomObject;
use ndarray::Array3;

/// One source image of a volume, in slice order: a single-frame instance, or one frame of a
/// multi-frame instance (Enhanced CT), which a derived object must reference by frame number.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceImage {
    pub sop_class_uid: String,
    pub sop_instance_uid: String,
    /// 1-based frame number within a multi-frame instance; `None` for a single-frame image.
    pub frame_number: Option<u32>,
}

/// What a volume was made from: enough to write a derived object that refers back to it.
#[derive(Debug, Clone)]
pub struct SeriesRef {
    pub study_instance_uid: String,
    pub series_instance_uid: String,
    pub frame_of_reference_uid: String,
    pub modality: String,
    /// Source images ordered by slice index `k` (position along the slice normal), not by
    /// arrival or InstanceNumber.
    pub images: Vec<SourceImage>,
    /// The data set of the first slice (or of the multi-frame image holding it) without pixel
    /// data: patient, study and equipment attributes for derived objects. Never logged (it holds patient identity).
    pub header: InMemDicomObject,
}

/// A CT volume in Hounsfield units, indexed `[k, j, i]`.
#[derive(Debug, Clone)]
pub struct Volume {
    pub hu: Array3<f32>,
    pub geometry: Geometry,
    pub source: SeriesRef,
}

impl Volume {
    pub fn summary(&self) -> VolumeSummary {
        VolumeSummary::of(self)
    }
}
