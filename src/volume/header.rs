//! The per-slice attributes that volume assembly needs, read without the pixel data.

use super::assemble::AssembleError;
use dicom_core::Tag;
use dicom_dictionary_std::tags;
use dicom_object::DefaultDicomObject;
use std::path::{Path, PathBuf};

/// Geometry and identity of one single-frame image.
#[derive(Debug, Clone)]
pub struct SliceHeader {
    pub path: PathBuf,
    pub sop_class_uid: String,
    pub sop_instance_uid: String,
    pub study_instance_uid: String,
    pub series_instance_uid: String,
    pub frame_of_reference_uid: String,
    pub modality: String,
    pub rows: usize,
    pub columns: usize,
    /// PixelSpacing: row spacing (between rows), column spacing (between columns), in mm.
    pub pixel_spacing: [f64; 2],
    pub orientation: [f64; 6],
    pub position: [f64; 3],
    pub samples_per_pixel: u16,
    pub number_of_frames: u32,
}

/// Reads the header of one file (stops before the pixel data), after checking that no
/// element claims more bytes than the file holds.
pub fn read_slice_header(path: &Path) -> Result<SliceHeader, AssembleError> {
    let obj = crate::element_lengths::open_file(path, Some(tags::PIXEL_DATA))
        .map_err(|e| AssembleError::ReadHeader { path: path.to_path_buf(), reason: e.to_string() })?;
    SliceHeader::from_object(path, &obj)
}

fn tag_name(tag: Tag) -> String {
    use dicom_core::dictionary::DataDictionary;
    let name = dicom_dictionary_std::StandardDataDictionary
        .by_tag(tag)
        .map(|e| e.alias.to_string())
        .unwrap_or_else(|| "unknown".into());
    format!("{name} {tag}")
}

impl SliceHeader {
    pub fn from_object(path: &Path, obj: &DefaultDicomObject) -> Result<Self, AssembleError> {
        let sop_instance_uid = text(obj, tags::SOP_INSTANCE_UID).ok_or_else(|| AssembleError::MissingAttribute {
            file: path.to_path_buf(),
            attribute: tag_name(tags::SOP_INSTANCE_UID),
        })?;
        let missing = |tag: Tag| AssembleError::MissingAttribute {
            file: path.to_path_buf(),
            attribute: format!("{} (SOP Instance {sop_instance_uid})", tag_name(tag)),
        };
        let req_text = |tag: Tag| text(obj, tag).ok_or_else(|| missing(tag));
        let req_floats = |tag: Tag, n: usize| -> Result<Vec<f64>, AssembleError> {
            let v = floats(obj, tag).ok_or_else(|| missing(tag))?;
            if v.len() != n || v.iter().any(|x| !x.is_finite()) {
                return Err(AssembleError::BadAttribute {
                    file: path.to_path_buf(),
                    attribute: tag_name(tag),
                    reason: format!("expected {n} finite numbers, found {v:?}"),
                });
            }
            Ok(v)
        };
        let req_uint = |tag: Tag| -> Result<u32, AssembleError> {
            obj.element(tag).ok().and_then(|e| e.to_int::<u32>().ok()).ok_or_else(|| missing(tag))
        };
        let spacing = req_floats(tags::PIXEL_SPACING, 2)?;
        let orientation = req_floats(tags::IMAGE_ORIENTATION_PATIENT, 6)?;
        let position = req_floats(tags::IMAGE_POSITION_PATIENT, 3)?;
        if spacing.iter().any(|&s| s <= 0.0) {
            return Err(AssembleError::BadAttribute {
                file: path.to_path_buf(),
                attribute: tag_name(tags::PIXEL_SPACING),
                reason: format!("spacing must be positive, found {spacing:?}"),
            });
        }
        Ok(SliceHeader {
            path: path.to_path_buf(),
            sop_class_uid: req_text(tags::SOP_CLASS_UID)?,
            study_instance_uid: req_text(tags::STUDY_INSTANCE_UID)?,
            series_instance_uid: req_text(tags::SERIES_INSTANCE_UID)?,
            frame_of_reference_uid: req_text(tags::FRAME_OF_REFERENCE_UID)?,
            modality: req_text(tags::MODALITY)?,
            rows: req_uint(tags::ROWS)? as usize,
            columns: req_uint(tags::COLUMNS)? as usize,
            pixel_spacing: [spacing[0], spacing[1]],
            orientation: orientation.try_into().unwrap_or([0.0; 6]),
            position: position.try_into().unwrap_or([0.0; 3]),
            samples_per_pixel: obj
                .element(tags::SAMPLES_PER_PIXEL)
                .ok()
                .and_then(|e| e.to_int::<u16>().ok())
                .unwrap_or(1),
            number_of_frames: obj
                .element(tags::NUMBER_OF_FRAMES)
                .ok()
                .and_then(|e| e.to_int::<u32>().ok())
                .unwrap_or(1),
            sop_instance_uid,
        })
    }
}

/// A string attribute, trimmed of DICOM padding; `None` when absent or empty.
pub(crate) fn text(obj: &DefaultDicomObject, tag: Tag) -> Option<String> {
    let s = obj.element(tag).ok()?.to_str().ok()?;
    let s = s.trim_matches(|c: char| c == '\0' || c.is_whitespace());
    (!s.is_empty()).then(|| s.to_string())
}

fn floats(obj: &DefaultDicomObject, tag: Tag) -> Option<Vec<f64>> {
    obj.element(tag).ok()?.to_multi_float64().ok()
}
