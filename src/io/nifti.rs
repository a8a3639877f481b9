//! NIfTI-1 volumes on a [`Geometry`]: the format for label maps, phantoms and inspection.
//!
//! Arrays are `[k, j, i]` in memory; NIfTI stores `i` fastest with a RAS affine, so the
//! array is written through its reversed-axes view and the LPS geometry is flipped to RAS.

use crate::geometry::Geometry;
use nalgebra::Matrix4;
use ndarray::{Array3, ArrayView3, Ix3};
use nifti::writer::WriterOptions;
use nifti::{DataElement, IntoNdArray, NiftiHeader, NiftiObject, ReaderOptions, XForm};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum NiftiError {
    #[error("cannot write NIfTI file {path}: {reason}")]
    Write { path: PathBuf, reason: String },
    #[error("cannot read NIfTI file {path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("NIfTI file {path} has {dims} dimensions; a 3-D volume is expected")]
    NotThreeD { path: PathBuf, dims: usize },
}

fn header_for(geometry: &Geometry) -> NiftiHeader {
    let a = geometry.affine_ras();
    let m = Matrix4::new(
        a[0][0], a[0][1], a[0][2], a[0][3], a[1][0], a[1][1], a[1][2], a[1][3], a[2][0], a[2][1], a[2][2], a[2][3], 0.0,
        0.0, 0.0, 1.0,
    );
    let mut h = NiftiHeader::default();
    h.set_sform(&m, XForm::ScannerAnat);
    h.set_qform(&m, XForm::ScannerAnat);
    h.xyzt_units = 2 | 8; // millimetres, seconds
    h
}

/// Writes a `[k, j, i]` array as NIfTI (`.nii` or `.nii.gz`, by the path's extension).
pub fn write<T>(path: &Path, data: ArrayView3<'_, T>, geometry: &Geometry) -> Result<(), NiftiError>
where
    T: DataElement + bytemuck::Pod,
{
    let header = header_for(geometry);
    let ijk = data.reversed_axes();
    let opts = WriterOptions::new(path).reference_header(&header);
    let opts = if path.extension().is_some_and(|e| e == "gz") { opts.compress(true) } else { opts.compress(false) };
    opts.write_nifti(&ijk).map_err(|e| NiftiError::Write { path: path.to_path_buf(), reason: e.to_string() })
}

/// The grid a NIfTI header describes for an `(i, j, k)` array of `shape_ijk` (its sform, else
/// its qform, as the nifti crate resolves them).
pub fn header_geometry(header: &NiftiHeader, shape_ijk: [usize; 3]) -> Geometry {
    let m: Matrix4<f64> = header.affine();
    let mut a = [[0.0; 4]; 4];
    for (r, row) in a.iter_mut().enumerate() {
        for (c, v) in row.iter_mut().enumerate() {
            *v = m[(r, c)];
        }
    }
    Geometry::from_affine_ras(shape_ijk, a)
}

/// Reads a NIfTI volume as `[k, j, i]` values of type `T` with its geometry.
pub fn read<T>(path: &Path) -> Result<(Array3<T>, Geometry), NiftiError>
where
    T: DataElement,
{
    let fail = |e: nifti::NiftiError| NiftiError::Read { path: path.to_path_buf(), reason: e.to_string() };
    let obj = ReaderOptions::new().read_file(path).map_err(fail)?;
    let header = obj.header().clone();
    let data = obj.into_volume().into_ndarray::<T>().map_err(fail)?;
    let dims = data.ndim();
    let data = data.into_dimensionality::<Ix3>().map_err(|_| NiftiError::NotThreeD { path: path.to_path_buf(), dims })?;
    let shape_ijk = [data.shape()[0], data.shape()[1], data.shape()[2]];
    let geometry = header_geometry(&header, shape_ijk);
    let kji = data.reversed_axes().as_standard_layout().into_owned();
    Ok((kji, geometry))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_values_and_grid() {
        let g = Geometry::new([4, 3, 2], [-10.5, 20.25, 30.0], [0.0, 1.0, 0.0], [0.0, 0.0, -1.0], [2.5, 0.75, 0.5]);
        let data = Array3::from_shape_fn((4, 3, 2), |(k, j, i)| (k * 100 + j * 10 + i) as i16);
        let dir = std::env::temp_dir().join(format!("pavseg-nifti-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for name in ["a.nii", "b.nii.gz"] {
            let p = dir.join(name);
            write(&p, data.view(), &g).unwrap();
            let (back, g2) = read::<i16>(&p).unwrap();
            assert_eq!(back, data);
            assert!(g.same_grid(&g2, 1e-4), "{g:?} vs {g2:?}");
        }
        std::fs::remove_dir_all(&dir).ok();
    }
}
