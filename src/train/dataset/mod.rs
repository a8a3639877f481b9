//! Training data: cases listed by an nnU-Net/MSD-style folder or a TOML manifest, each an image
//! (NIfTI file or DICOM series folder), a label map on the image's grid (NIfTI or NRRD with 0
//! background, 1 artery, 2 vein; or a `.seg.nrrd` or DICOM-SEG whose segments are mapped to
//! artery and vein), and which side of the patient its annotator labelled.

mod case;
mod folder;
pub mod label_files;
mod manifest;
mod split;

pub use case::{load_image, load_labels, Case, ImageSource, LabeledSide, LoadedCase};
pub use folder::read_folder;
pub use label_files::{LabelClass, SegmentNames};
pub use manifest::read_manifest;
pub use split::{split_cases, Split, SplitRatios};

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error("reading dataset file {}: {source}", path.display())]
    ReadList { path: PathBuf, source: std::io::Error },
    #[error("parsing dataset file {}: {reason}", path.display())]
    ParseList { path: PathBuf, reason: String },
    #[error("dataset {}: {reason}", path.display())]
    CheckList { path: PathBuf, reason: String },
    #[error("case {case}: {what} {} does not exist", path.display())]
    MissingFile { case: String, what: &'static str, path: PathBuf },
    #[error("case {case}: reading image {}: {reason}", path.display())]
    ReadImage { case: String, path: PathBuf, reason: String },
    #[error("case {case}: reading {what} {}: {reason}", path.display())]
    ReadLabels { case: String, what: &'static str, path: PathBuf, reason: String },
    #[error("case {case}: label map {} holds value {value} at voxel {voxel:?}; only 0 (background), 1 (artery) and 2 (vein) are allowed", path.display())]
    UnknownLabel { case: String, path: PathBuf, value: u8, voxel: [usize; 3] },
    #[error("case {case}: side mask {} holds value {value}; only 0 (use the midline), 1 (left) and 2 (right) are allowed", path.display())]
    UnknownSide { case: String, path: PathBuf, value: u8 },
    #[error("case {case}: {what} {} is not on the image's grid: {reason}", path.display())]
    GridMismatch { case: String, what: &'static str, path: PathBuf, reason: String },
    #[error("split ratios {0:?} must be three non-negative numbers with a positive sum")]
    CheckRatios([f64; 3]),
}

/// A dataset: where it came from and its cases in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    pub source: PathBuf,
    pub cases: Vec<Case>,
}

impl Dataset {
    /// Reads a manifest (a `.toml` file) or a folder with `dataset.json`.
    pub fn open(path: &Path) -> Result<Self, DatasetError> {
        let cases = if path.is_dir() { read_folder(path)? } else { read_manifest(path)? };
        let mut seen = std::collections::HashSet::new();
        for c in &cases {
            if !seen.insert(c.id.clone()) {
                return Err(DatasetError::CheckList { path: path.to_owned(), reason: format!("case id `{}` appears twice", c.id) });
            }
        }
        if cases.is_empty() {
            return Err(DatasetError::CheckList { path: path.to_owned(), reason: "lists no case".into() });
        }
        Ok(Dataset { source: path.to_owned(), cases })
    }

    /// The cases of one split (explicit `split` entries first, the rest by seed and ratios).
    pub fn split(&self, which: Split, seed: u64, ratios: SplitRatios) -> Result<Vec<Case>, DatasetError> {
        let assigned = split_cases(&self.cases, seed, ratios)?;
        Ok(self.cases.iter().zip(assigned).filter(|(_, s)| *s == which).map(|(c, _)| c.clone()).collect())
    }
}
