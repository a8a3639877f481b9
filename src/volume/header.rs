//! The per-plane attributes that volume assembly needs, read without the pixel data: one
//! header per single-frame image, or one per frame of a multi-frame image.

use super::assemble::AssembleError;
use super::frames;
use dicom_core::Tag;
use dicom_dictionary_std::tags;
use dicom_object::{DefaultDicomObject, InMemDicomObject};
use std::path::{Path, PathBuf};

/// Geometry and identity of one image plane: a single-frame image, or one frame of a
/// multi-frame image (Enhanced CT), whose geometry comes from its functional groups.
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
    /// Frames in the instance (NumberOfFrames, 1 when absent).
    pub number_of_frames: u32,
    /// 1-based frame number of this plane in a multi-frame instance; `None` for a single-frame
    /// image.
    pub frame_number: Option<u32>,
    /// RescaleSlope and RescaleIntercept of a frame, from its Pixel Value Transformation
    /// functional group; `None` for a single-frame image, whose decoder reads its own.
    pub rescale: Option<[f64; 2]>,
}

/// Reads the header of one single-frame file (stops before the pixel data), after checking
/// that no element claims more bytes than the file holds.
pub fn read_slice_header(path: &Path) -> Result<SliceHeader, AssembleError> {
    SliceHeader::from_object(path, &open_header(path)?)
}

/// Reads the plane headers of one file: one for a single-frame image, one per frame for a
/// multi-frame image.
pub fn read_frame_headers(path: &Path) -> Result<Vec<SliceHeader>, AssembleError> {
    SliceHeader::planes_of(path, &open_header(path)?)
}

fn open_header(path: &Path) -> Result<DefaultDicomObject, AssembleError> {
    crate::element_lengths::open_file(path, Some(tags::PIXEL_DATA))
        .map_err(|e| AssembleError::ReadHeader { path: path.to_path_buf(), reason: e.to_string() })
}

/// `PixelSpacing (0028,0030)`: the keyword and tag, as messages name an attribute.
pub(crate) fn tag_name(tag: Tag) -> String {
    use dicom_core::dictionary::DataDictionary;
    let name = dicom_dictionary_std::StandardDataDictionary
        .by_tag(tag)
        .map(|e| e.alias.to_string())
        .unwrap_or_else(|| "unknown".into());
    format!("{name} {tag}")
}

impl SliceHeader {
    /// The header of a single-frame image: geometry from the top level of its data set.
    pub fn from_object(path: &Path, obj: &DefaultDicomObject) -> Result<Self, AssembleError> {
        let mut h = Self::identity(path, obj)?;
        let at = Located { path, obj, context: format!("SOP Instance {}", h.sop_instance_uid) };
        (h.pixel_spacing, h.orientation, h.position) = (at.spacing()?, at.orientation()?, at.position()?);
        Ok(h)
    }

    /// The plane headers of an image: one per frame when it is a multi-frame image with
    /// functional groups, else its single header.
    pub fn planes_of(path: &Path, obj: &DefaultDicomObject) -> Result<Vec<Self>, AssembleError> {
        if frames::is_multi_frame(obj) {
            frames::frame_headers(path, obj, Self::identity(path, obj)?)
        } else {
            Ok(vec![Self::from_object(path, obj)?])
        }
    }

    /// How messages name this plane: its SOP Instance UID, and its frame in a multi-frame image.
    pub fn label(&self) -> String {
        match self.frame_number {
            Some(f) => format!("{} frame {f}", self.sop_instance_uid),
            None => self.sop_instance_uid.clone(),
        }
    }

    /// The instance-level attributes, with the geometry still zero.
    fn identity(path: &Path, obj: &DefaultDicomObject) -> Result<Self, AssembleError> {
        let sop_instance_uid = text(obj, tags::SOP_INSTANCE_UID).ok_or_else(|| AssembleError::MissingAttribute {
            file: path.to_path_buf(),
            attribute: tag_name(tags::SOP_INSTANCE_UID),
        })?;
        let missing = |tag: Tag| AssembleError::MissingAttribute {
            file: path.to_path_buf(),
            attribute: format!("{} (SOP Instance {sop_instance_uid})", tag_name(tag)),
        };
        let req_text = |tag: Tag| text(obj, tag).ok_or_else(|| missing(tag));
        let req_uint = |tag: Tag| -> Result<u32, AssembleError> {
            obj.element(tag).ok().and_then(|e| e.to_int::<u32>().ok()).ok_or_else(|| missing(tag))
        };
        Ok(SliceHeader {
            path: path.to_path_buf(),
            sop_class_uid: req_text(tags::SOP_CLASS_UID)?,
            study_instance_uid: req_text(tags::STUDY_INSTANCE_UID)?,
            series_instance_uid: req_text(tags::SERIES_INSTANCE_UID)?,
            frame_of_reference_uid: req_text(tags::FRAME_OF_REFERENCE_UID)?,
            modality: req_text(tags::MODALITY)?,
            rows: req_uint(tags::ROWS)? as usize,
            columns: req_uint(tags::COLUMNS)? as usize,
            pixel_spacing: [0.0; 2],
            orientation: [0.0; 6],
            position: [0.0; 3],
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
            frame_number: None,
            rescale: None,
            sop_instance_uid,
        })
    }
}

/// A data set (a file's top level, or a functional group item) in which geometry attributes
/// are read; `context` says where, for messages ("SOP Instance 1.2.3", "frame 7 of ...").
pub(super) struct Located<'a> {
    pub path: &'a Path,
    pub obj: &'a InMemDicomObject,
    pub context: String,
}

impl Located<'_> {
    fn missing(&self, tag: Tag) -> AssembleError {
        AssembleError::MissingAttribute { file: self.path.to_path_buf(), attribute: format!("{} ({})", tag_name(tag), self.context) }
    }

    fn bad(&self, tag: Tag, reason: String) -> AssembleError {
        AssembleError::BadAttribute { file: self.path.to_path_buf(), attribute: format!("{} ({})", tag_name(tag), self.context), reason }
    }

    /// `n` finite numbers.
    pub fn floats<const N: usize>(&self, tag: Tag) -> Result<[f64; N], AssembleError> {
        let v = self.obj.get(tag).and_then(|e| e.to_multi_float64().ok()).ok_or_else(|| self.missing(tag))?;
        if v.len() != N || v.iter().any(|x| !x.is_finite()) {
            return Err(self.bad(tag, format!("expected {N} finite numbers, found {v:?}")));
        }
        Ok(v.try_into().unwrap_or([0.0; N]))
    }

    pub fn spacing(&self) -> Result<[f64; 2], AssembleError> {
        let spacing = self.floats::<2>(tags::PIXEL_SPACING)?;
        if spacing.iter().any(|&s| s <= 0.0) {
            return Err(self.bad(tags::PIXEL_SPACING, format!("spacing must be positive, found {spacing:?}")));
        }
        Ok(spacing)
    }

    pub fn orientation(&self) -> Result<[f64; 6], AssembleError> {
        self.floats::<6>(tags::IMAGE_ORIENTATION_PATIENT)
    }

    pub fn position(&self) -> Result<[f64; 3], AssembleError> {
        self.floats::<3>(tags::IMAGE_POSITION_PATIENT)
    }

    /// RescaleSlope and RescaleIntercept; the slope must not be zero.
    pub fn rescale(&self) -> Result<[f64; 2], AssembleError> {
        let [slope] = self.floats::<1>(tags::RESCALE_SLOPE)?;
        let [intercept] = self.floats::<1>(tags::RESCALE_INTERCEPT)?;
        if slope == 0.0 {
            return Err(self.bad(tags::RESCALE_SLOPE, "a slope of 0 maps every pixel to one value".into()));
        }
        Ok([slope, intercept])
    }
}

/// A string attribute, trimmed of DICOM padding; `None` when absent or empty.
pub(crate) fn text(obj: &InMemDicomObject, tag: Tag) -> Option<String> {
    let s = obj.get(tag)?.to_str().ok()?;
    let s = s.trim_matches(|c: char| c == '\0' || c.is_whitespace());
    (!s.is_empty()).then(|| s.to_string())
}
