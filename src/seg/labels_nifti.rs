//! Label maps as NIfTI: written for research tools that do not read DICOM-SEG, and read from
//! tools that produce them (`pavseg seg-from-labels`).

use crate::geometry::Geometry;
use crate::io::nifti::{self, NiftiError};
use ::nifti::NiftiType;
use ndarray::{Array3, ArrayView3};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum LabelNiftiError {
    #[error("label map of shape {labels:?} is not on the grid of shape {grid:?} ([k, j, i]); not writing {path}")]
    ShapeMismatch { path: PathBuf, labels: [usize; 3], grid: [usize; 3] },
    #[error("cannot read label map {path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error(transparent)]
    Nifti(#[from] NiftiError),
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

/// Reads a label map (`.nii` or `.nii.gz`) as `[k, j, i]` values with its grid.
///
/// A uint8 volume without scaling (what pavseg, SimpleITK and nibabel write for label maps)
/// keeps the voxel bytes as its array: NIfTI stores `i` fastest, which is the `[k, j, i]`
/// standard layout, so it needs no conversion and no second copy. Other files go through the
/// general conversion. Either way the header is checked against the file before any voxel is
/// read ([`nifti::read_raw`]).
pub fn read_label_nifti(path: &Path) -> Result<(Array3<u8>, Geometry), LabelNiftiError> {
    let fail = |reason: String| LabelNiftiError::Read { path: path.to_path_buf(), reason };
    let raw = nifti::read_raw(path)?;
    let header = &raw.header;
    let unscaled = header.scl_slope == 0.0 || (header.scl_slope == 1.0 && header.scl_inter == 0.0);
    let three_d = raw.dims.len() >= 3 && raw.dims[3..].iter().all(|&d| d == 1);
    if raw.datatype != NiftiType::Uint8 || !unscaled || !three_d {
        return Ok(raw.into_array::<u8>(path)?);
    }
    let [ni, nj, nk] = [raw.dims[0], raw.dims[1], raw.dims[2]];
    let geometry = nifti::header_geometry(header, [ni, nj, nk]).map_err(fail)?;
    let labels = Array3::from_shape_vec((nk, nj, ni), raw.voxels).map_err(|e| fail(e.to_string()))?;
    Ok((labels, geometry))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::nifti::NiftiHeader;

    #[test]
    fn reads_back_what_the_general_writer_wrote() {
        let g = Geometry::new([5, 4, 3], [1.5, -2.0, 30.0], [-1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [2.5, 0.75, 0.5]);
        let labels = Array3::from_shape_fn((5, 4, 3), |(k, j, i)| ((k * 7 + j * 3 + i) % 3) as u8);
        let dir = std::env::temp_dir().join(format!("pavseg-labels-nifti-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for name in ["a.nii", "b.nii.gz"] {
            let p = dir.join(name);
            write_label_nifti(&p, labels.view(), &g).unwrap();
            // The fast path applies to what we write.
            let h = NiftiHeader::from_file(&p).unwrap();
            assert_eq!((h.magic, h.data_type().unwrap()), (*b"n+1\0", NiftiType::Uint8), "{name}");
            let (back, g2) = read_label_nifti(&p).unwrap();
            assert_eq!(back, labels, "{name}");
            assert!(g.same_grid(&g2, 1e-4), "{name}: {g2:?}");
            let (general, g3) = nifti::read::<u8>(&p).unwrap();
            assert_eq!(general, back);
            assert_eq!(g3, g2);
        }
        // A uint16 label map takes the general path.
        let p = dir.join("c.nii.gz");
        nifti::write(&p, labels.mapv(u16::from).view(), &g).unwrap();
        assert_eq!(read_label_nifti(&p).unwrap().0, labels);
        assert!(write_label_nifti(&p, labels.view(), &Geometry { shape: [1, 1, 1], ..g.clone() }).is_err());
        std::fs::remove_dir_all(&dir).ok();
    }
}
