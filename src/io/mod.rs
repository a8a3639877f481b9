//! File formats other than DICOM.

pub mod nifti;
pub mod nrrd;
