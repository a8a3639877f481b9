//! `dicom-file`: a DICOM Part 10 file, as dicom-object reads it from memory, then as volume
//! assembly reads it from disk (the slice header, then the volume with three valid slices of the
//! same series, pixel data decoded), as a job does with the files in the spool.

use super::fixture::{self, Series};
use super::Target;
use crate::fuzz::scratch;
use crate::volume::{assemble_slices, read_frame_headers, SliceHeader};
use dicom_object::OpenFileOptions;
use std::path::Path;

pub const TARGET: Target = Target::against_series(
    "dicom-file",
    "DICOM Part 10 file: dicom-object, SliceHeader (per frame), assemble_slices with valid slices",
    run,
    super::tokens::dicom,
);

fn run(bytes: &[u8]) {
    let Ok(series) = fixture::series() else { return };
    // As our readers do: element lengths checked before dicom-object sees the bytes.
    if crate::element_lengths::check_part10(bytes).is_ok() {
        if let Ok(obj) = OpenFileOptions::new().from_reader(bytes) {
            let _ = SliceHeader::planes_of(Path::new("input.dcm"), &obj);
        }
    }
    if let Some(path) = scratch::write("input.dcm", bytes) {
        assemble_with_series(&path, series);
    }
}

/// Reads the plane headers of the file at `path` (one per frame of a multi-frame image) and
/// assembles them with the series' other slices.
pub(super) fn assemble_with_series(path: &Path, series: &Series) {
    if let Ok(planes) = read_frame_headers(path) {
        let mut headers = Vec::with_capacity(series.companions.len() + planes.len());
        headers.extend(planes);
        headers.extend(series.companions.iter().cloned());
        let _ = assemble_slices(headers, &series.limits);
    }
}
