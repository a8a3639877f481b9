//! `dicom-file`: a DICOM Part 10 file, as dicom-object reads it from memory, then as volume
//! assembly reads it from disk (the slice header, then the volume with three valid slices of the
//! same series, pixel data decoded), as a job does with the files in the spool.

use super::fixture::{self, Series};
use super::Target;
use crate::fuzz::scratch;
use crate::volume::{assemble_slices, read_slice_header, SliceHeader};
use dicom_object::OpenFileOptions;
use std::path::Path;

pub const TARGET: Target = Target::against_series(
    "dicom-file",
    "DICOM Part 10 file: dicom-object, SliceHeader, assemble_slices with valid slices",
    run,
    super::tokens::dicom,
);

fn run(bytes: &[u8]) {
    let Ok(series) = fixture::series() else { return };
    // As our readers do: element lengths checked before dicom-object sees the bytes.
    if crate::element_lengths::check_part10(bytes).is_ok() {
        if let Ok(obj) = OpenFileOptions::new().from_reader(bytes) {
            let _ = SliceHeader::from_object(Path::new("input.dcm"), &obj);
        }
    }
    if let Some(path) = scratch::write("input.dcm", bytes) {
        assemble_with_series(&path, series);
    }
}

/// Reads the slice header of the file at `path` and assembles it with the series' other slices.
pub(super) fn assemble_with_series(path: &Path, series: &Series) {
    if let Ok(header) = read_slice_header(path) {
        let mut headers = Vec::with_capacity(series.companions.len() + 1);
        headers.push(header);
        headers.extend(series.companions.iter().cloned());
        let _ = assemble_slices(headers, &series.limits);
    }
}
