//! `nifti`: a NIfTI-1 file through both of our readers, the general one (`io::nifti::read`, as
//! `pavseg preprocess` and training read CTs) and the label-map one (`read_label_nifti`, as
//! `pavseg seg-from-labels` and `eval` read label maps), plain and gzip-compressed: an input
//! that is gzip already is read as `.nii.gz`; any other is read as `.nii` and, gzipped, as
//! `.nii.gz`. The readers take paths, so each input is written to the scratch folder.

use super::Target;
use crate::fuzz::scratch;
use flate2::write::GzEncoder;
use flate2::Compression;
use std::io::Write;

pub const TARGET: Target = Target {
    name: "nifti",
    about: "NIfTI-1 (.nii and .nii.gz): io::nifti::read and seg::read_label_nifti",
    prepare: super::nothing_to_prepare,
    run,
    dictionary: super::tokens::nifti,
    builtin_seeds: &[],
    hidden: false,
};

const GZIP_MAGIC: [u8; 2] = [0x1F, 0x8B];

fn run(bytes: &[u8]) {
    if bytes.starts_with(&GZIP_MAGIC) {
        read_both("input.nii.gz", bytes);
        return;
    }
    read_both("input.nii", bytes);
    let mut gz = GzEncoder::new(Vec::with_capacity(bytes.len() / 2 + 64), Compression::fast());
    if gz.write_all(bytes).is_ok() {
        if let Ok(z) = gz.finish() {
            read_both("input.nii.gz", &z);
        }
    }
}

fn read_both(name: &str, bytes: &[u8]) {
    let Some(path) = scratch::write(name, bytes) else {
        return;
    };
    let _ = crate::io::nifti::read::<f32>(&path);
    let _ = crate::seg::read_label_nifti(&path);
}
