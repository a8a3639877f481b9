//! `nrrd`: a NRRD file (`.nrrd`, `.seg.nrrd`, attached data, raw, gzip or text) through the
//! reader that training uses for 3D Slicer label files (`io::nrrd::read_labels`), and, where it
//! reads, through the segment-to-class mapping on its own grid (`read_training_labels`). A
//! `data file` field may name another file of the scratch folder.

use super::Target;
use crate::fuzz::scratch;
use crate::train::dataset::label_files::read_training_labels;
use crate::train::dataset::SegmentNames;

pub const TARGET: Target = Target {
    name: "nrrd",
    about: "NRRD (.nrrd, .seg.nrrd): io::nrrd::read_labels and the segment mapping of training labels",
    prepare: super::nothing_to_prepare,
    run,
    dictionary: super::tokens::nrrd,
    builtin_seeds: &[],
    hidden: false,
};

fn run(bytes: &[u8]) {
    let Some(path) = scratch::write("input.seg.nrrd", bytes) else {
        return;
    };
    if let Ok((labels, _)) = crate::io::nrrd::read_labels(&path) {
        let _ = read_training_labels(&path, &labels.geometry, &SegmentNames::default());
    }
}
