//! The label map as NIfTI, for research tools that do not read DICOM-SEG.

use crate::geometry::Geometry;
use crate::io::nifti::{self, NiftiError};
use ndarray::ArrayView3;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum LabelNiftiError {
    #[error("label map of shape {labels:?} is not on the grid of shape {grid:?} ([k, j, i]); not writing {path}")]
    ShapeMismatch { path: PathBuf, labels: [usize; 3], grid: [usize; 3] },
    #[error(transparent)]
    Write(#[from] NiftiError),
}

/// Writes a `[k, j, i]` label map on `geometry` as uint8 NIfTI (`.nii` or `.nii.gz`).
pub fn write_label_nifti(path: &Path, labels: ArrayView3<'_, u8>, geometry: &Geometry) -> Result<(), LabelNiftiError> {
    let shape = [labels.shape()[0], labels.shape()[1], labels.shape()[2]];
    if shape != geometry.shape {
        return Err(LabelNiftiError::ShapeMismatch { path: path.to_path_buf(), labels: shape, grid: geometry.shape });
    }
    nifti::write(path, labels, geometry)?;
    Ok(())
}
