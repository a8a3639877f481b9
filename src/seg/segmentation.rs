//! The typed result of the SEG stage: a DICOM Segmentation ready to be written or sent, and
//! what it holds.
//!
//! The bit-packed pixel data is kept beside the data set rather than inside it and written
//! after it as the last element (PixelData has the highest tag of a SEG), so that writing
//! neither copies nor re-encodes it; the data set goes through [`Encoder`].

use super::encode::Encoder;
use super::frames::FrameRef;
use dicom_core::value::PrimitiveValue;
use dicom_core::{DataElement, VR};
use dicom_dictionary_std::tags;
use dicom_object::{FileDicomObject, FileMetaTable, InMemDicomObject};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Why a SEG could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("cannot write DICOM-SEG file {path}: {reason}")]
    WriteFile { path: PathBuf, reason: String },
    #[error("cannot encode DICOM-SEG {sop_instance_uid}: {reason}")]
    Encode { sop_instance_uid: String, reason: String },
}

/// A DICOM Segmentation (BINARY), explicit VR little endian, with its file meta.
#[derive(Debug, Clone)]
pub struct Segmentation {
    /// Everything but the pixel data.
    pub(crate) object: FileDicomObject<InMemDicomObject>,
    /// PixelData value: the frames bit-packed back to back, padded to even length.
    pub(crate) pixel_data: Vec<u8>,
    pub(crate) frames: Vec<FrameRef>,
    pub(crate) series_instance_uid: String,
    pub(crate) sop_instance_uid: String,
}

impl Segmentation {
    /// The file meta and every attribute except PixelData.
    pub fn header(&self) -> &FileDicomObject<InMemDicomObject> {
        &self.object
    }

    pub fn meta(&self) -> &FileMetaTable {
        self.object.meta()
    }

    /// The PixelData value (bit-packed frames).
    pub fn pixel_data(&self) -> &[u8] {
        &self.pixel_data
    }

    /// The complete DICOM object, PixelData included.
    pub fn into_object(self) -> FileDicomObject<InMemDicomObject> {
        let mut object = self.object;
        object.put(DataElement::new(tags::PIXEL_DATA, VR::OB, PrimitiveValue::from(self.pixel_data)));
        object
    }

    /// The frames in the order they are stored: segment by segment, along the slice normal.
    pub fn frames(&self) -> &[FrameRef] {
        &self.frames
    }

    pub fn series_instance_uid(&self) -> &str {
        &self.series_instance_uid
    }

    pub fn sop_instance_uid(&self) -> &str {
        &self.sop_instance_uid
    }

    /// Writes a DICOM file (preamble, file meta, data set).
    pub fn write_to_file(&self, path: &Path) -> Result<(), WriteError> {
        let fail = |reason: String| WriteError::WriteFile { path: path.to_path_buf(), reason };
        let head = self.encode(true)?;
        let mut file = std::fs::File::create(path).map_err(|e| fail(e.to_string()))?;
        self.write_parts(&head, &mut file).map_err(|e| fail(e.to_string()))
    }

    /// Encodes the whole file (preamble, file meta and data set) into `to`.
    pub fn write_to(&self, mut to: impl Write) -> Result<(), WriteError> {
        let head = self.encode(true)?;
        self.write_parts(&head, &mut to).map_err(|e| self.encode_error(e.to_string()))
    }

    /// Encodes the data set alone (explicit VR little endian), as a C-STORE sends it.
    pub fn write_dataset(&self, mut to: impl Write) -> Result<(), WriteError> {
        let head = self.encode(false)?;
        self.write_parts(&head, &mut to).map_err(|e| self.encode_error(e.to_string()))
    }

    /// Everything before the pixel data: (preamble, magic and file meta if `file`,) the data set
    /// and the PixelData element header.
    fn encode(&self, file: bool) -> Result<Vec<u8>, WriteError> {
        let mut out = Vec::with_capacity(64 * 1024 + self.frames.len() * 600);
        if file {
            out.extend_from_slice(&[0u8; 128]);
            out.extend_from_slice(b"DICM");
            self.object.meta().write(&mut out).map_err(|e| self.encode_error(e.to_string()))?;
        }
        Encoder::for_object(&self.object)
            .dataset(&self.object, &mut out)
            .map_err(|e| self.encode_error(e.to_string()))?;
        // PixelData in explicit VR little endian: tag, `OB`, two reserved bytes, 32-bit length.
        let len = u32::try_from(self.pixel_data.len())
            .map_err(|_| self.encode_error("pixel data longer than 4 GiB cannot be encoded".into()))?;
        out.extend_from_slice(&tags::PIXEL_DATA.group().to_le_bytes());
        out.extend_from_slice(&tags::PIXEL_DATA.element().to_le_bytes());
        out.extend_from_slice(b"OB\0\0");
        out.extend_from_slice(&len.to_le_bytes());
        Ok(out)
    }

    fn write_parts(&self, head: &[u8], to: &mut impl Write) -> std::io::Result<()> {
        to.write_all(head)?;
        to.write_all(&self.pixel_data)?;
        to.flush()
    }

    fn encode_error(&self, reason: String) -> WriteError {
        WriteError::Encode { sop_instance_uid: self.sop_instance_uid.clone(), reason }
    }
}

#[cfg(test)]
mod tests {
    use crate::geometry::Geometry;
    use crate::seg::{build, SegConfig, SegIdentity};
    use crate::volume::{SeriesRef, SourceImage};
    use dicom_core::value::PrimitiveValue;
    use dicom_core::{DataElement, VR};
    use dicom_dictionary_std::{tags, uids};
    use dicom_object::InMemDicomObject;
    use ndarray::Array3;

    fn source(nk: usize, charset: &str, name: &str) -> SeriesRef {
        let mut header = InMemDicomObject::new_empty();
        header.put(DataElement::new(tags::SPECIFIC_CHARACTER_SET, VR::CS, PrimitiveValue::from(charset)));
        header.put(DataElement::new(tags::PATIENT_NAME, VR::PN, PrimitiveValue::from(name)));
        header.put(DataElement::new(tags::PATIENT_WEIGHT, VR::DS, PrimitiveValue::from(71.25f64)));
        header.put(DataElement::new(tags::STUDY_DATE, VR::DA, PrimitiveValue::from("20240229")));
        SeriesRef {
            study_instance_uid: "1.2.3.4".into(),
            series_instance_uid: "1.2.3.4.5".into(),
            frame_of_reference_uid: "1.2.3.4.6".into(),
            modality: "CT".into(),
            images: (0..nk)
                .map(|k| SourceImage {
                    sop_class_uid: uids::CT_IMAGE_STORAGE.into(),
                    sop_instance_uid: format!("1.2.3.4.5.{k}"),
                    frame_number: None,
                })
                .collect(),
            header,
        }
    }

    /// The direct encoder writes exactly what dicom-object writes for the same object,
    /// non-ASCII names in the source's character set included.
    #[test]
    fn encoder_matches_dicom_object_byte_for_byte() {
        let g = Geometry::new([4, 6, 5], [-3.0, 2.5, 7.0], [0.0, 1.0, 0.0], [0.0, 0.0, -1.0], [1.5, 0.5, 0.75]);
        let labels = Array3::from_shape_fn((4, 6, 5), |(k, j, i)| ((k + j * i) % 3) as u8);
        for (charset, name) in [("ISO_IR 100", "Müller^Jürgen"), ("ISO_IR 192", "Ærøskøbing^Zoë"), ("", "PLAIN^NAME")]
        {
            let config = SegConfig::default();
            let seg = build(labels.view(), &g, &source(4, charset, name), &config, &SegIdentity::new(&config)).unwrap();
            let mut ours = Vec::new();
            seg.write_to(&mut ours).unwrap();
            let mut theirs = Vec::new();
            seg.clone().into_object().write_all(&mut theirs).unwrap();
            assert_eq!(ours.len(), theirs.len(), "{charset}");
            assert!(ours == theirs, "{charset}: encoded bytes differ from dicom-object's");
            let mut dataset = Vec::new();
            seg.write_dataset(&mut dataset).unwrap();
            assert!(ours.ends_with(&dataset));
        }
    }
}
