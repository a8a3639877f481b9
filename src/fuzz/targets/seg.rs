//! `seg`: a DICOM-SEG read back onto the grid of its source series (`seg::read_segmentation`,
//! as `pavseg eval` reads a SEG) and mapped to the configured label values.

use super::fixture;
use super::Target;
use crate::fuzz::scratch;
use crate::seg::read_segmentation;

pub const TARGET: Target = Target::against_series(
    "seg",
    "DICOM-SEG: seg::read_segmentation onto the phantom's grid, to_label_values",
    run,
    super::tokens::dicom,
);

fn run(bytes: &[u8]) {
    let Ok(series) = fixture::series() else { return };
    let Some(path) = scratch::write("seg.dcm", bytes) else {
        return;
    };
    if let Ok(seg) = read_segmentation(&path, &series.geometry) {
        let _ = seg.to_label_values(&series.seg_config);
    }
}
