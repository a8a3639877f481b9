//! NIfTI-1 volumes on a [`Geometry`]: the format for label maps, phantoms and inspection.
//!
//! Arrays are `[k, j, i]` in memory; NIfTI stores `i` fastest with a RAS affine, so the
//! array is written through its reversed-axes view and the LPS geometry is flipped to RAS.

use crate::geometry::Geometry;
use nalgebra::Matrix4;
use ndarray::{Array3, ArrayView3, Ix3};
use nifti::writer::WriterOptions;
use flate2::read::MultiGzDecoder;
use nifti::{DataElement, InMemNiftiVolume, IntoNdArray, NiftiHeader, NiftiType, XForm};
use std::io::{BufReader, Read};
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
/// its qform, as the nifti crate resolves them). The nifti crate panics on a qform with negative
/// spacings (refused here), an invalid qfac (read as 1, as nibabel does) and quaternion
/// parameters b, c, d of norm above 1 (scaled to norm 1, as nifti1_io does); an affine that is
/// not finite or has a zero-length axis is refused.
pub fn header_geometry(header: &NiftiHeader, shape_ijk: [usize; 3]) -> Result<Geometry, String> {
    let mut header = header.clone();
    if !(1..=7).contains(&header.dim[0]) {
        return Err(format!("dim[0] = {} is not 1 to 7", header.dim[0]));
    }
    if header.sform_code == 0 && header.qform_code != 0 {
        if header.pixdim[1..4].iter().any(|&d| d < 0.0) {
            return Err(format!("negative voxel size in pixdim {:?}", &header.pixdim[1..4]));
        }
        header.fix();
        let (b, c, d) = (f64::from(header.quatern_b), f64::from(header.quatern_c), f64::from(header.quatern_d));
        let norm2 = b * b + c * c + d * d;
        if norm2 > 1.0 {
            // Slightly under 1, so that f32 rounding cannot push it back over.
            let scale = (1.0 - 1e-6) / norm2.sqrt();
            header.quatern_b = (b * scale) as f32;
            header.quatern_c = (c * scale) as f32;
            header.quatern_d = (d * scale) as f32;
        }
    }
    let m: Matrix4<f64> = header.affine();
    let mut a = [[0.0; 4]; 4];
    for (r, row) in a.iter_mut().enumerate() {
        for (c, v) in row.iter_mut().enumerate() {
            *v = m[(r, c)];
        }
    }
    if a.iter().flatten().any(|v| !v.is_finite()) {
        return Err(format!("the affine {a:?} is not finite"));
    }
    let g = Geometry::from_affine_ras(shape_ijk, a);
    if g.spacing.iter().any(|&s| s.is_nan() || s <= 0.0) {
        return Err(format!("the affine {a:?} has a zero-length axis"));
    }
    Ok(g)
}

/// Upper bound of what `compressed` bytes of gzip can inflate to (deflate's limit is 1032:1).
fn gzip_bound(compressed: u64) -> u64 {
    compressed.saturating_mul(1032).saturating_add(1 << 16)
}

fn is_gz(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "gz")
}

/// A file opened for reading (gunzipped where its name ends in `.gz`) and the most bytes it
/// can yield.
fn open_maybe_gz(path: &Path) -> std::io::Result<(Box<dyn Read>, u64)> {
    let file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    Ok(if is_gz(path) {
        (Box::new(MultiGzDecoder::new(BufReader::new(file))), gzip_bound(len))
    } else {
        (Box::new(BufReader::new(file)), len)
    })
}

/// The `.img` (or `.img.gz`) beside the header of a NIfTI-1 pair.
fn image_of_pair(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?.to_str()?;
    let stem = [".hdr.gz", ".hdr", ".nii.gz", ".nii"].iter().find_map(|ext| name.strip_suffix(ext)).unwrap_or(name);
    [format!("{stem}.img"), format!("{stem}.img.gz")].into_iter().map(|n| path.with_file_name(n)).find(|p| p.is_file())
}

/// A NIfTI-1 header and its voxel bytes, read only once the header has been checked against
/// the file: a consistent data type and bit depth, dimensions whose product does not overflow,
/// and voxel bytes that the file can actually hold, so that a header claiming gigabytes of a
/// small file is an error, not an allocation.
#[derive(Debug, Clone)]
pub struct RawNifti {
    pub header: NiftiHeader,
    pub datatype: NiftiType,
    /// The dimensions, `dim[1..=dim[0]]`.
    pub dims: Vec<usize>,
    /// The voxel bytes, `i` fastest, in the file's byte order.
    pub voxels: Vec<u8>,
}

/// Reads the header and voxel bytes of a NIfTI-1 file (`.nii`, `.nii.gz`, or a `.hdr`/`.nii`
/// header whose voxels are in a `.img` beside it). Extensions are skipped.
pub fn read_raw(path: &Path) -> Result<RawNifti, NiftiError> {
    let fail = |reason: String| NiftiError::Read { path: path.to_path_buf(), reason };
    let (mut input, bound) = open_maybe_gz(path).map_err(|e| fail(e.to_string()))?;
    let header = NiftiHeader::from_reader(&mut input).map_err(|e| fail(e.to_string()))?;
    let datatype = header.data_type().map_err(|e| fail(e.to_string()))?;
    let dims: Vec<usize> = header.dim().map_err(|e| fail(e.to_string()))?.iter().map(|&d| usize::from(d)).collect();
    if i32::from(header.bitpix) != (datatype.size_of() * 8) as i32 {
        return Err(fail(format!("bitpix {} does not match data type {datatype:?}", header.bitpix)));
    }
    let nbytes = dims
        .iter()
        .try_fold(datatype.size_of(), |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| fail(format!("dimensions {dims:?} overflow")))?;
    if !header.vox_offset.is_finite() || header.vox_offset < 0.0 {
        return Err(fail(format!("bad vox_offset {}", header.vox_offset)));
    }
    let vox_offset = header.vox_offset as u64;
    let (mut input, bound, offset, consumed) = if header.magic == *b"ni1\0" {
        let img = image_of_pair(path).ok_or_else(|| fail("header of a NIfTI pair without its .img file".into()))?;
        let (img_input, img_bound) = open_maybe_gz(&img).map_err(|e| fail(format!("{}: {e}", img.display())))?;
        (img_input, img_bound, vox_offset, 0)
    } else {
        // Single file: the voxels start at vox_offset, after the header and any extensions.
        (input, bound, vox_offset.max(NIFTI1_HEADER_END), NIFTI1_HEADER_LEN)
    };
    if offset.saturating_add(nbytes as u64) > bound {
        return Err(fail(format!(
            "the header claims {nbytes} voxel bytes at offset {offset}, more than the file can hold ({bound} bytes)"
        )));
    }
    std::io::copy(&mut (&mut input).take(offset - consumed), &mut std::io::sink()).map_err(|e| fail(e.to_string()))?;
    let mut voxels = Vec::new();
    voxels.try_reserve_exact(nbytes).map_err(|e| fail(format!("{nbytes} voxel bytes: {e}")))?;
    input.take(nbytes as u64).read_to_end(&mut voxels).map_err(|e| fail(format!("voxel data: {e}")))?;
    if voxels.len() != nbytes {
        return Err(fail(format!("the file ends after {} of {nbytes} voxel bytes", voxels.len())));
    }
    Ok(RawNifti { header, datatype, dims, voxels })
}

/// Bytes of a NIfTI-1 header, and where its extensions end at the earliest.
const NIFTI1_HEADER_LEN: u64 = 348;
const NIFTI1_HEADER_END: u64 = 352;

impl RawNifti {
    /// The voxels as a `[k, j, i]` array of `T` (scaled by scl_slope/scl_inter as the nifti
    /// crate does) with its grid; `path` is for messages.
    pub fn into_array<T: DataElement>(self, path: &Path) -> Result<(Array3<T>, Geometry), NiftiError> {
        let fail = |reason: String| NiftiError::Read { path: path.to_path_buf(), reason };
        let h = &self.header;
        let volume = InMemNiftiVolume::from_raw_fields(h.dim, self.datatype, h.scl_slope, h.scl_inter, self.voxels, h.endianness)
            .map_err(|e| fail(e.to_string()))?;
        let data = volume.into_ndarray::<T>().map_err(|e| fail(e.to_string()))?;
        let dims = data.ndim();
        let data = data.into_dimensionality::<Ix3>().map_err(|_| NiftiError::NotThreeD { path: path.to_path_buf(), dims })?;
        let shape_ijk = [data.shape()[0], data.shape()[1], data.shape()[2]];
        let geometry = header_geometry(&self.header, shape_ijk).map_err(fail)?;
        let kji = data.reversed_axes().as_standard_layout().into_owned();
        Ok((kji, geometry))
    }
}

/// Reads a NIfTI volume as `[k, j, i]` values of type `T` with its geometry.
pub fn read<T>(path: &Path) -> Result<(Array3<T>, Geometry), NiftiError>
where
    T: DataElement,
{
    read_raw(path)?.into_array(path)
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
