//! DICOMweb STOW-RS (PS3.18 10.5): stores a segmentation in a DICOMweb origin server with one
//! `multipart/related; type="application/dicom"` request, and reads the answer (its HTTP
//! status and the Store Instances Response Module) into what the delivery worker does next:
//! done, try again later, or give up with the reason.

mod client;
mod multipart;
mod response;

pub use client::{service_root, ClientError, StowClient};
pub use multipart::related_dicom;
pub use response::{classify, StowOutcome};
