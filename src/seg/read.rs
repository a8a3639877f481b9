//! DICOM-SEG → label map on the source grid: for tests and evaluation of our own SEGs (and
//! other BINARY or 8-bit LABELMAP SEGs whose frames lie on the grid's slices).

use super::config::{Code, SegConfig};
use super::pack::unpack_frame;
use crate::geometry::{dot, Geometry};
use dicom_core::Tag;
use dicom_dictionary_std::{tags, uids};
use dicom_object::InMemDicomObject;
use ndarray::Array3;
use std::path::{Path, PathBuf};

/// Why a SEG could not be brought back onto a grid.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read DICOM-SEG {path}: {reason}")]
    Open { path: PathBuf, reason: String },
    #[error("{path} is not a Segmentation (SOP Class {sop_class_uid})")]
    NotSegmentation { path: PathBuf, sop_class_uid: String },
    #[error("{path}: SegmentationType {found} is not supported (only BINARY with 1 bit per pixel or LABELMAP with 8)")]
    NotBinary { path: PathBuf, found: String },
    #[error("{path}: missing {attribute}")]
    Missing { path: PathBuf, attribute: &'static str },
    #[error("{path}: bad {attribute}: {reason}")]
    BadAttribute { path: PathBuf, attribute: &'static str, reason: String },
    #[error("{path}: not on the given grid: {reason}")]
    GridMismatch { path: PathBuf, reason: String },
    #[error("{path}: frame {frame} lies off the grid's slices: {reason}")]
    FrameOffGrid { path: PathBuf, frame: usize, reason: String },
    #[error("{path}: frame {frame} (segment {segment}) overlaps segment {other} on slice k={slice}; a label map cannot hold overlapping segments")]
    Overlap { path: PathBuf, frame: usize, segment: u16, other: u8, slice: usize },
    #[error("{path}: segment {number} ({label:?}, {code}) matches no configured segment")]
    UnknownSegment { path: PathBuf, number: u16, label: String, code: String },
}

/// A segment description as read from a SEG.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadSegment {
    pub number: u16,
    pub label: String,
    pub algorithm_type: String,
    pub category: Option<Code>,
    pub property_type: Option<Code>,
    pub property_type_modifier: Option<Code>,
    pub cielab: Option<[u16; 3]>,
}

/// A SEG on a grid: voxel values are segment numbers (0 background).
#[derive(Debug, Clone)]
pub struct ReadSegmentation {
    pub path: PathBuf,
    pub labels: Array3<u8>,
    pub segments: Vec<ReadSegment>,
    pub frames: usize,
    pub series_instance_uid: String,
    pub sop_instance_uid: String,
    pub frame_of_reference_uid: String,
}

impl ReadSegmentation {
    /// The label map in `config`'s label values: each segment is matched to the configured
    /// segment with the same property type and property type modifier codes.
    pub fn to_label_values(&self, config: &SegConfig) -> Result<Array3<u8>, ReadError> {
        let mut map = [0u8; 256];
        // Segment 0 can only be a LABELMAP's background description (highdicom writes one).
        for s in self.segments.iter().filter(|s| s.number != 0) {
            let same_modifier = |c: &Option<Code>| match (c, &s.property_type_modifier) {
                (None, None) => true,
                (Some(a), Some(b)) => a.same_concept(b),
                _ => false,
            };
            let found = s.property_type.as_ref().and_then(|code| {
                config
                    .segments
                    .iter()
                    .find(|c| c.property_type.same_concept(code) && same_modifier(&c.property_type_modifier))
                    .map(|c| c.label_value)
            });
            let value = found.ok_or_else(|| ReadError::UnknownSegment {
                path: self.path.clone(),
                number: s.number,
                label: s.label.clone(),
                code: s.property_type.as_ref().map(|c| format!("{} {}", c.scheme, c.value)).unwrap_or_default(),
            })?;
            if let Ok(n) = u8::try_from(s.number) {
                map[n as usize] = value;
            }
        }
        Ok(self.labels.mapv(|v| map[v as usize]))
    }
}

type Obj = InMemDicomObject;

fn first_item(obj: &Obj, tag: Tag) -> Option<&Obj> {
    obj.get(tag)?.items()?.first()
}

fn text(obj: &Obj, tag: Tag) -> Option<String> {
    let s = obj.get(tag)?.to_str().ok()?;
    Some(s.trim_matches(|c: char| c == '\0' || c.is_whitespace()).to_string())
}

fn code(obj: &Obj, tag: Tag) -> Option<Code> {
    let item = first_item(obj, tag)?;
    let value = text(item, tags::CODE_VALUE)
        .or_else(|| text(item, tags::LONG_CODE_VALUE))
        .or_else(|| text(item, tags::URN_CODE_VALUE))?;
    Some(Code {
        value,
        scheme: text(item, tags::CODING_SCHEME_DESIGNATOR).unwrap_or_default(),
        meaning: text(item, tags::CODE_MEANING).unwrap_or_default(),
        scheme_version: text(item, tags::CODING_SCHEME_VERSION),
    })
}

/// A functional group macro item: from the frame's own groups, else from the shared groups.
fn group<'a>(frame: &'a Obj, shared: Option<&'a Obj>, tag: Tag) -> Option<&'a Obj> {
    first_item(frame, tag).or_else(|| shared.and_then(|s| first_item(s, tag)))
}

/// Reads the BINARY or LABELMAP SEG at `path` onto `geometry`, the grid of its source series.
pub fn read_segmentation(path: &Path, geometry: &Geometry) -> Result<ReadSegmentation, ReadError> {
    let p = || path.to_path_buf();
    let file =
        crate::element_lengths::open_file(path, None).map_err(|e| ReadError::Open { path: p(), reason: e.to_string() })?;
    let obj: &Obj = &file;
    let sop_class_uid = text(obj, tags::SOP_CLASS_UID).unwrap_or_default();
    if sop_class_uid != uids::SEGMENTATION_STORAGE && sop_class_uid != uids::LABEL_MAP_SEGMENTATION_STORAGE {
        return Err(ReadError::NotSegmentation { path: p(), sop_class_uid });
    }
    let seg_type = text(obj, tags::SEGMENTATION_TYPE).unwrap_or_default();
    let bits = obj.get(tags::BITS_ALLOCATED).and_then(|e| e.to_int::<u16>().ok()).unwrap_or(0);
    let label_map = match (seg_type.as_str(), bits) {
        ("BINARY", 1) => false,
        ("LABELMAP", 8) => true,
        _ => return Err(ReadError::NotBinary { path: p(), found: format!("{seg_type} with BitsAllocated {bits}") }),
    };
    let uint = |tag: Tag, attribute: &'static str| -> Result<usize, ReadError> {
        obj.get(tag)
            .ok_or(ReadError::Missing { path: p(), attribute })?
            .to_int::<u32>()
            .map(|v| v as usize)
            .map_err(|e| ReadError::BadAttribute { path: p(), attribute, reason: e.to_string() })
    };
    let rows = uint(tags::ROWS, "Rows")?;
    let columns = uint(tags::COLUMNS, "Columns")?;
    let n_frames = uint(tags::NUMBER_OF_FRAMES, "NumberOfFrames")?;
    let [nk, nj, ni] = geometry.shape;
    if (rows, columns) != (nj, ni) {
        return Err(ReadError::GridMismatch {
            path: p(),
            reason: format!("frames are {rows} x {columns} pixels, the grid's slices {nj} x {ni}"),
        });
    }
    let segments = read_segments(obj);
    let shared = first_item(obj, tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE);
    let per_frame = obj
        .get(tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE)
        .and_then(|e| e.items())
        .ok_or(ReadError::Missing { path: p(), attribute: "PerFrameFunctionalGroupsSequence" })?;
    if per_frame.len() != n_frames {
        return Err(ReadError::BadAttribute {
            path: p(),
            attribute: "PerFrameFunctionalGroupsSequence",
            reason: format!("{} items for {n_frames} frames", per_frame.len()),
        });
    }
    let pixels = obj
        .get(tags::PIXEL_DATA)
        .ok_or(ReadError::Missing { path: p(), attribute: "PixelData" })?
        .to_bytes()
        .map_err(|e| ReadError::BadAttribute { path: p(), attribute: "PixelData", reason: e.to_string() })?;
    let per_plane = rows * columns;
    let needed = if label_map { n_frames * per_plane } else { (n_frames * per_plane).div_ceil(8) };
    if needed > pixels.len() {
        return Err(ReadError::BadAttribute {
            path: p(),
            attribute: "PixelData",
            reason: format!(
                "{} bytes cannot hold {n_frames} frames of {rows} x {columns} {}",
                pixels.len(),
                if label_map { "bytes" } else { "bits" }
            ),
        });
    }

    let mut labels = Array3::<u8>::zeros((nk, nj, ni));
    let flat = labels.as_slice_mut().unwrap_or_default();
    let mut bits = vec![0u8; per_plane];
    for (f, item) in per_frame.iter().enumerate() {
        check_orientation(path, f, group(item, shared, tags::PLANE_ORIENTATION_SEQUENCE), geometry)?;
        if label_map {
            // Each pixel is a segment number; a slice has at most one frame.
            let k = slice_of(path, f, group(item, shared, tags::PLANE_POSITION_SEQUENCE), geometry)?;
            let plane = &mut flat[k * per_plane..(k + 1) * per_plane];
            plane.copy_from_slice(&pixels[f * per_plane..(f + 1) * per_plane]);
            continue;
        }
        let segment = group(item, shared, tags::SEGMENT_IDENTIFICATION_SEQUENCE)
            .and_then(|g| g.get(tags::REFERENCED_SEGMENT_NUMBER))
            .and_then(|e| e.to_int::<u16>().ok())
            .ok_or(ReadError::Missing { path: p(), attribute: "ReferencedSegmentNumber" })?;
        let value = u8::try_from(segment).map_err(|_| ReadError::BadAttribute {
            path: p(),
            attribute: "ReferencedSegmentNumber",
            reason: format!("segment {segment} does not fit a uint8 label map"),
        })?;
        let k = slice_of(path, f, group(item, shared, tags::PLANE_POSITION_SEQUENCE), geometry)?;
        if !unpack_frame(&pixels, f, per_plane, &mut bits) {
            return Err(ReadError::BadAttribute {
                path: p(),
                attribute: "PixelData",
                reason: format!("frame {} lies past the end of the pixel data", f + 1),
            });
        }
        let plane = &mut flat[k * per_plane..(k + 1) * per_plane];
        for (out, &bit) in plane.iter_mut().zip(&bits) {
            if bit == 1 {
                if *out != 0 && *out != value {
                    return Err(ReadError::Overlap { path: p(), frame: f + 1, segment, other: *out, slice: k });
                }
                *out = value;
            }
        }
    }
    Ok(ReadSegmentation {
        path: p(),
        labels,
        segments,
        frames: n_frames,
        series_instance_uid: text(obj, tags::SERIES_INSTANCE_UID).unwrap_or_default(),
        sop_instance_uid: text(obj, tags::SOP_INSTANCE_UID).unwrap_or_default(),
        frame_of_reference_uid: text(obj, tags::FRAME_OF_REFERENCE_UID).unwrap_or_default(),
    })
}

fn read_segments(obj: &Obj) -> Vec<ReadSegment> {
    let items = obj.get(tags::SEGMENT_SEQUENCE).and_then(|e| e.items()).unwrap_or(&[]);
    items
        .iter()
        .map(|s| ReadSegment {
            number: s.get(tags::SEGMENT_NUMBER).and_then(|e| e.to_int::<u16>().ok()).unwrap_or(0),
            label: text(s, tags::SEGMENT_LABEL).unwrap_or_default(),
            algorithm_type: text(s, tags::SEGMENT_ALGORITHM_TYPE).unwrap_or_default(),
            category: code(s, tags::SEGMENTED_PROPERTY_CATEGORY_CODE_SEQUENCE),
            property_type: code(s, tags::SEGMENTED_PROPERTY_TYPE_CODE_SEQUENCE),
            property_type_modifier: first_item(s, tags::SEGMENTED_PROPERTY_TYPE_CODE_SEQUENCE)
                .and_then(|t| code(t, tags::SEGMENTED_PROPERTY_TYPE_MODIFIER_CODE_SEQUENCE)),
            cielab: s
                .get(tags::RECOMMENDED_DISPLAY_CIE_LAB_VALUE)
                .and_then(|e| e.to_multi_int::<u16>().ok())
                .and_then(|v| <[u16; 3]>::try_from(v).ok()),
        })
        .collect()
}

fn check_orientation(path: &Path, frame: usize, item: Option<&Obj>, g: &Geometry) -> Result<(), ReadError> {
    let off = |reason: String| ReadError::FrameOffGrid { path: path.to_path_buf(), frame: frame + 1, reason };
    let iop = item
        .and_then(|o| o.get(tags::IMAGE_ORIENTATION_PATIENT))
        .and_then(|e| e.to_multi_float64().ok())
        .filter(|v| v.len() == 6)
        .ok_or_else(|| off("no ImageOrientationPatient".into()))?;
    let (r, c) = ([iop[0], iop[1], iop[2]], [iop[3], iop[4], iop[5]]);
    if dot(r, g.row_dir) < 1.0 - 1e-4 || dot(c, g.col_dir) < 1.0 - 1e-4 {
        return Err(off(format!("orientation {iop:?} differs from the grid's {:?} / {:?}", g.row_dir, g.col_dir)));
    }
    Ok(())
}

/// The slice `k` a frame lies on; its first pixel must be the grid's first pixel of that slice.
fn slice_of(path: &Path, frame: usize, item: Option<&Obj>, g: &Geometry) -> Result<usize, ReadError> {
    let off = |reason: String| ReadError::FrameOffGrid { path: path.to_path_buf(), frame: frame + 1, reason };
    let pos = item
        .and_then(|o| o.get(tags::IMAGE_POSITION_PATIENT))
        .and_then(|e| e.to_multi_float64().ok())
        .filter(|v| v.len() == 3)
        .ok_or_else(|| off("no ImagePositionPatient".into()))?;
    let [k, j, i] = g.lps_to_index([pos[0], pos[1], pos[2]]);
    let kr = k.round();
    let tol = 0.05;
    if (k - kr).abs() > tol || j.abs() > tol || i.abs() > tol || kr < 0.0 || kr >= g.shape[0] as f64 {
        return Err(off(format!("position {pos:?} is at grid index [{k:.3}, {j:.3}, {i:.3}]")));
    }
    Ok(kr as usize)
}
