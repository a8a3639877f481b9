//! Series → Volume: order the planes (single-frame images, or frames of multi-frame images)
//! along the slice normal, check that they form one regular grid, and decode them into
//! Hounsfield units.

use super::header::{read_frame_headers, SliceHeader};
use super::{SeriesRef, SourceImage, Volume};
use crate::geometry::{cross, dot, norm, normalize, sub, Geometry};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use ndarray::Array3;
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// Why a set of instances does not make one volume. Each message names the instance, the
/// attribute or the positions at fault, so that it can go into a rejection reason file.
#[derive(Debug, thiserror::Error)]
pub enum AssembleError {
    #[error("no image instances to assemble")]
    NoSlices,
    #[error("cannot read DICOM header of {path}: {reason}")]
    ReadHeader { path: PathBuf, reason: String },
    #[error("{file}: missing required attribute {attribute}")]
    MissingAttribute { file: PathBuf, attribute: String },
    #[error("{file}: bad {attribute}: {reason}")]
    BadAttribute { file: PathBuf, attribute: String, reason: String },
    #[error("images disagree on {attribute}: {first} (SOP Instance {first_sop}) vs {other} (SOP Instance {other_sop})")]
    Inconsistent { attribute: &'static str, first: String, first_sop: String, other: String, other_sop: String },
    #[error("unsupported image: {0}")]
    Unsupported(String),
    #[error("slices {a} and {b} share the position {position_mm:.3} mm along the slice normal (duplicate slice)")]
    DuplicatePosition { a: String, b: String, position_mm: f64 },
    #[error("missing slice(s): gap of {gap_mm:.3} mm between {a} and {b}, expected spacing {spacing_mm:.3} mm")]
    MissingSlice { a: String, b: String, gap_mm: f64, spacing_mm: f64 },
    #[error("non-uniform slice spacing: {gap_mm:.3} mm between {a} and {b}, expected {spacing_mm:.3} mm")]
    NonUniformSpacing { a: String, b: String, gap_mm: f64, spacing_mm: f64 },
    #[error("slice {sop} is offset {offset_mm:.3} mm from the stack's axis (gantry tilt or mixed stacks are not supported)")]
    OffAxis { sop: String, offset_mm: f64 },
    #[error("volume of {voxels} voxels exceeds the limit of {limit} voxels per series")]
    TooLarge { voxels: usize, limit: usize },
    #[error("cannot decode pixel data of {path}: {reason}")]
    DecodePixels { path: PathBuf, reason: String },
}

/// Bounds and tolerances of assembly.
#[derive(Debug, Clone)]
pub struct AssemblyLimits {
    /// Largest volume accepted, in voxels (memory per series is 4 bytes a voxel).
    pub max_voxels: usize,
    /// Allowed deviation of one slice gap from the median gap, relative to the median.
    pub spacing_tolerance: f64,
    /// Allowed difference between direction cosines of two slices.
    pub orientation_tolerance: f64,
}

impl Default for AssemblyLimits {
    fn default() -> Self {
        AssemblyLimits { max_voxels: 1024 * 1024 * 1024, spacing_tolerance: 0.05, orientation_tolerance: 1e-4 }
    }
}

/// Reads, checks and decodes the given files into one volume.
pub fn assemble_files(paths: &[PathBuf], limits: &AssemblyLimits) -> Result<Volume, AssembleError> {
    assemble_slices(read_planes(paths)?, limits)
}

/// The plane headers of all files: one per single-frame image, one per frame of a multi-frame
/// image.
fn read_planes(paths: &[PathBuf]) -> Result<Vec<SliceHeader>, AssembleError> {
    let per_file: Vec<Vec<SliceHeader>> = paths.par_iter().map(|p| read_frame_headers(p)).collect::<Result<_, _>>()?;
    Ok(per_file.into_iter().flatten().collect())
}

/// Checks the headers, then decodes the pixel data of each file into its planes.
pub fn assemble_slices(mut headers: Vec<SliceHeader>, limits: &AssemblyLimits) -> Result<Volume, AssembleError> {
    let geometry = plan(&mut headers, limits)?;
    let [nk, nj, ni] = geometry.shape;
    let voxels = nk * nj * ni;
    if voxels > limits.max_voxels {
        return Err(AssembleError::TooLarge { voxels, limit: limits.max_voxels });
    }
    let mut hu = Array3::<f32>::zeros((nk, nj, ni));
    super::decode::decode_planes(&headers, &mut hu)?;
    let source = series_ref(&headers)?;
    Ok(Volume { hu, geometry, source })
}

/// The grid and source references of a series without decoding its pixel data: what a
/// derived object (a DICOM-SEG) needs when the label map comes from elsewhere.
pub fn assemble_headers(paths: &[PathBuf], limits: &AssemblyLimits) -> Result<(Geometry, SeriesRef), AssembleError> {
    let mut headers = read_planes(paths)?;
    let geometry = plan(&mut headers, limits)?;
    Ok((geometry, series_ref(&headers)?))
}

/// The references to the sorted `headers`, with the first slice's header attributes.
fn series_ref(headers: &[SliceHeader]) -> Result<SeriesRef, AssembleError> {
    let first = headers.first().ok_or(AssembleError::NoSlices)?;
    let header = read_header_object(&first.path)?;
    Ok(SeriesRef {
        study_instance_uid: first.study_instance_uid.clone(),
        series_instance_uid: first.series_instance_uid.clone(),
        frame_of_reference_uid: first.frame_of_reference_uid.clone(),
        modality: first.modality.clone(),
        images: headers
            .iter()
            .map(|h| SourceImage {
                sop_class_uid: h.sop_class_uid.clone(),
                sop_instance_uid: h.sop_instance_uid.clone(),
                frame_number: h.frame_number,
            })
            .collect(),
        header,
    })
}

/// Sorts `headers` along the slice normal and derives the grid, or says why they do not form one.
fn plan(headers: &mut [SliceHeader], limits: &AssemblyLimits) -> Result<Geometry, AssembleError> {
    let first = headers.first().ok_or(AssembleError::NoSlices)?.clone();
    for h in headers.iter() {
        if h.samples_per_pixel != 1 {
            return Err(AssembleError::Unsupported(format!(
                "SOP Instance {} has {} samples per pixel; only grayscale images make a CT volume",
                h.sop_instance_uid, h.samples_per_pixel
            )));
        }
        if h.frame_number.is_none() && h.number_of_frames != 1 {
            return Err(AssembleError::Unsupported(format!(
                "SOP Instance {} has {} frames but no functional groups; only multi-frame images with per-frame geometry (Enhanced CT) are assembled",
                h.sop_instance_uid, h.number_of_frames
            )));
        }
        let differ = |attribute: &'static str, a: String, b: String| AssembleError::Inconsistent {
            attribute,
            first: a,
            first_sop: first.label(),
            other: b,
            other_sop: h.label(),
        };
        if h.series_instance_uid != first.series_instance_uid {
            return Err(differ("SeriesInstanceUID", first.series_instance_uid.clone(), h.series_instance_uid.clone()));
        }
        if h.frame_of_reference_uid != first.frame_of_reference_uid {
            return Err(differ("FrameOfReferenceUID", first.frame_of_reference_uid.clone(), h.frame_of_reference_uid.clone()));
        }
        if (h.rows, h.columns) != (first.rows, first.columns) {
            return Err(differ(
                "Rows/Columns",
                format!("{}x{}", first.rows, first.columns),
                format!("{}x{}", h.rows, h.columns),
            ));
        }
        let close = |a: &[f64], b: &[f64], tol: f64| a.iter().zip(b).all(|(x, y)| (x - y).abs() <= tol);
        if !close(&h.pixel_spacing, &first.pixel_spacing, 1e-4 * first.pixel_spacing[0].max(1.0)) {
            return Err(differ("PixelSpacing", format!("{:?}", first.pixel_spacing), format!("{:?}", h.pixel_spacing)));
        }
        if !close(&h.orientation, &first.orientation, limits.orientation_tolerance) {
            return Err(differ(
                "ImageOrientationPatient",
                format!("{:?}", first.orientation),
                format!("{:?}", h.orientation),
            ));
        }
    }
    let o = first.orientation;
    let (row, col) = ([o[0], o[1], o[2]], [o[3], o[4], o[5]]);
    if (norm(row) - 1.0).abs() > 1e-3 || (norm(col) - 1.0).abs() > 1e-3 || dot(row, col).abs() > 1e-3 {
        return Err(AssembleError::BadAttribute {
            file: first.path.clone(),
            attribute: "ImageOrientationPatient".into(),
            reason: format!("direction cosines {o:?} are not orthonormal"),
        });
    }
    let normal = normalize(cross(row, col));
    headers.sort_by(|a, b| dot(a.position, normal).total_cmp(&dot(b.position, normal)));
    let positions: Vec<f64> = headers.iter().map(|h| dot(h.position, normal)).collect();
    let spacing_k = if headers.len() > 1 {
        let mut gaps: Vec<f64> = positions.windows(2).map(|w| w[1] - w[0]).collect();
        for (n, &g) in gaps.iter().enumerate() {
            if g.abs() < 1e-3 {
                return Err(AssembleError::DuplicatePosition {
                    a: headers[n].label(),
                    b: headers[n + 1].label(),
                    position_mm: positions[n],
                });
            }
        }
        gaps.sort_by(f64::total_cmp);
        let median = gaps[gaps.len() / 2];
        for (n, w) in positions.windows(2).enumerate() {
            let g = w[1] - w[0];
            if (g - median).abs() > limits.spacing_tolerance * median {
                let (a, b) = (headers[n].label(), headers[n + 1].label());
                return Err(if g > 1.5 * median {
                    AssembleError::MissingSlice { a, b, gap_mm: g, spacing_mm: median }
                } else {
                    AssembleError::NonUniformSpacing { a, b, gap_mm: g, spacing_mm: median }
                });
            }
        }
        (positions[positions.len() - 1] - positions[0]) / (positions.len() - 1) as f64
    } else {
        return Err(AssembleError::Unsupported("a single slice does not make a volume".into()));
    };
    let origin = headers[0].position;
    for h in headers.iter() {
        let d = sub(h.position, origin);
        let along = dot(d, normal);
        let off = norm(sub(d, [normal[0] * along, normal[1] * along, normal[2] * along]));
        if off > 0.01 * first.pixel_spacing[0].min(first.pixel_spacing[1]).max(0.01) + 1e-3 {
            return Err(AssembleError::OffAxis { sop: h.label(), offset_mm: off });
        }
    }
    Ok(Geometry::new(
        [headers.len(), first.rows, first.columns],
        origin,
        row,
        col,
        [spacing_k, first.pixel_spacing[0], first.pixel_spacing[1]],
    ))
}

/// The first slice's data set without its pixel data.
fn read_header_object(path: &Path) -> Result<InMemDicomObject, AssembleError> {
    let obj = crate::element_lengths::open_file(path, Some(tags::PIXEL_DATA))
        .map_err(|e| AssembleError::ReadHeader { path: path.to_path_buf(), reason: e.to_string() })?;
    Ok(obj.into_inner())
}
