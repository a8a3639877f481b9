//! Writes a phantom as a CT Image Storage series plus NIfTI ground truth.
//!
//! Layout of the output folder:
//! - `dicom/` one CT image per slice (`slice_NNNN.dcm`), explicit VR little endian, int16
//!   stored values with RescaleIntercept -1024 and RescaleSlope 1;
//! - `ct.nii.gz` the same CT in HU;
//! - `labels.nii.gz` 0 background, 1 artery, 2 vein;
//! - `labels_lr.nii.gz` 1 left artery, 2 left vein, 3 right artery, 4 right vein;
//! - `phantom.json` the parameters and the UIDs.

use super::{Phantom, PhantomParams};
use crate::io::nifti;
use dicom_core::value::PrimitiveValue;
use dicom_core::{DataElement, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
use rayon::prelude::*;
use serde::Serialize;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum PhantomWriteError {
    #[error("cannot create folder {path}: {source}")]
    CreateDir { path: PathBuf, source: std::io::Error },
    #[error("cannot write DICOM file {path}: {reason}")]
    WriteDicom { path: PathBuf, reason: String },
    #[error(transparent)]
    WriteNifti(#[from] nifti::NiftiError),
    #[error("cannot write {path}: {source}")]
    WriteJson { path: PathBuf, source: std::io::Error },
}

/// The UIDs and paths of a written phantom.
#[derive(Debug, Clone, Serialize)]
pub struct PhantomFiles {
    pub params: PhantomParams,
    pub study_instance_uid: String,
    pub series_instance_uid: String,
    pub frame_of_reference_uid: String,
    pub patient_id: String,
    pub dicom_dir: PathBuf,
    pub ct: PathBuf,
    pub labels: PathBuf,
    pub labels_lr: PathBuf,
}

/// A deterministic `2.25.` UID for this parameter set and purpose: the same phantom always
/// carries the same UIDs, different phantoms never share them.
fn phantom_uid(params: &PhantomParams, purpose: &str) -> String {
    let json = serde_json::to_string(params).unwrap_or_default();
    let mut h1 = std::collections::hash_map::DefaultHasher::new();
    (json.as_str(), purpose, 1u8).hash(&mut h1);
    let mut h2 = std::collections::hash_map::DefaultHasher::new();
    (json.as_str(), purpose, 2u8).hash(&mut h2);
    let v = ((h1.finish() as u128) << 64 | h2.finish() as u128) & ((1u128 << 122) - 1);
    format!("2.25.{v}")
}

fn put_str(obj: &mut InMemDicomObject, tag: dicom_core::Tag, vr: VR, value: impl Into<String>) {
    obj.put(DataElement::new(tag, vr, PrimitiveValue::from(value.into())));
}

fn put_ds(obj: &mut InMemDicomObject, tag: dicom_core::Tag, values: &[f64]) {
    let s: Vec<String> = values.iter().map(|v| format_ds(*v)).collect();
    obj.put(DataElement::new(tag, VR::DS, PrimitiveValue::Strs(s.into_iter().collect())));
}

fn put_us(obj: &mut InMemDicomObject, tag: dicom_core::Tag, v: u16) {
    obj.put(DataElement::new(tag, VR::US, PrimitiveValue::from(v)));
}

/// A decimal string of at most 16 characters that round-trips the value closely.
pub(crate) fn format_ds(v: f64) -> String {
    let v = if v == 0.0 { 0.0 } else { v }; // no "-0"
    for precision in (0..=10).rev() {
        let s = format!("{v:.precision$}");
        let s = if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s };
        if s.len() <= 16 {
            return s;
        }
    }
    format!("{v:.0}")
}

/// Writes `phantom` into `out` (created if needed).
pub fn write_phantom(phantom: &Phantom, out: &Path) -> Result<PhantomFiles, PhantomWriteError> {
    let p = &phantom.params;
    let dicom_dir = out.join("dicom");
    std::fs::create_dir_all(&dicom_dir).map_err(|source| PhantomWriteError::CreateDir { path: dicom_dir.clone(), source })?;
    let files = PhantomFiles {
        params: p.clone(),
        study_instance_uid: phantom_uid(p, "study"),
        series_instance_uid: phantom_uid(p, "series"),
        frame_of_reference_uid: phantom_uid(p, "frame-of-reference"),
        patient_id: format!("PAVSEG-PHANTOM-{}", p.seed),
        dicom_dir: dicom_dir.clone(),
        ct: out.join("ct.nii.gz"),
        labels: out.join("labels.nii.gz"),
        labels_lr: out.join("labels_lr.nii.gz"),
    };
    let base = base_dataset(&files, phantom);
    let [nk, nj, ni] = phantom.geometry.shape;
    (0..nk).into_par_iter().try_for_each(|k| {
        let mut obj = base.clone();
        let sop = phantom_uid(p, &format!("instance-{k}"));
        put_str(&mut obj, tags::SOP_INSTANCE_UID, VR::UI, sop.clone());
        put_str(&mut obj, tags::INSTANCE_NUMBER, VR::IS, (k + 1).to_string());
        let pos = phantom.geometry.slice_position(k);
        put_ds(&mut obj, tags::IMAGE_POSITION_PATIENT, &pos);
        put_ds(&mut obj, tags::SLICE_LOCATION, &[pos[2]]);
        let plane = phantom.hu.index_axis(ndarray::Axis(0), k);
        let mut bytes = Vec::with_capacity(nj * ni * 2);
        for &hu in plane.iter() {
            bytes.extend_from_slice(&(hu.saturating_add(1024)).to_le_bytes());
        }
        obj.put(DataElement::new(tags::PIXEL_DATA, VR::OW, PrimitiveValue::from(bytes)));
        let path = dicom_dir.join(format!("slice_{:04}.dcm", k + 1));
        let meta = FileMetaTableBuilder::new()
            .media_storage_sop_class_uid(uids::CT_IMAGE_STORAGE)
            .media_storage_sop_instance_uid(sop)
            .transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN)
            .implementation_class_uid(crate::IMPLEMENTATION_CLASS_UID)
            .implementation_version_name(crate::IMPLEMENTATION_VERSION_NAME);
        let fail = |reason: String| PhantomWriteError::WriteDicom { path: path.clone(), reason };
        let file = obj.with_meta(meta).map_err(|e| fail(e.to_string()))?;
        file.write_to_file(&path).map_err(|e| fail(e.to_string()))
    })?;
    nifti::write(&files.ct, phantom.hu.view(), &phantom.geometry)?;
    nifti::write(&files.labels, phantom.labels.view(), &phantom.geometry)?;
    nifti::write(&files.labels_lr, phantom.labels_lr.view(), &phantom.geometry)?;
    let json_path = out.join("phantom.json");
    let json = serde_json::to_vec_pretty(&files).unwrap_or_default();
    std::fs::write(&json_path, json).map_err(|source| PhantomWriteError::WriteJson { path: json_path, source })?;
    Ok(files)
}

/// Attributes shared by every slice of the series.
fn base_dataset(files: &PhantomFiles, phantom: &Phantom) -> InMemDicomObject {
    let p = &phantom.params;
    let g = &phantom.geometry;
    let mut o = InMemDicomObject::new_empty();
    put_str(&mut o, tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 100");
    put_str(&mut o, tags::IMAGE_TYPE, VR::CS, "ORIGINAL\\PRIMARY\\AXIAL");
    put_str(&mut o, tags::SOP_CLASS_UID, VR::UI, uids::CT_IMAGE_STORAGE);
    for (tag, v) in [
        (tags::STUDY_DATE, "20260101"),
        (tags::SERIES_DATE, "20260101"),
        (tags::ACQUISITION_DATE, "20260101"),
        (tags::CONTENT_DATE, "20260101"),
    ] {
        put_str(&mut o, tag, VR::DA, v);
    }
    for (tag, v) in [
        (tags::STUDY_TIME, "120000"),
        (tags::SERIES_TIME, "120000"),
        (tags::ACQUISITION_TIME, "120000"),
        (tags::CONTENT_TIME, "120000"),
    ] {
        put_str(&mut o, tag, VR::TM, v);
    }
    put_str(&mut o, tags::ACCESSION_NUMBER, VR::SH, format!("PH{}", p.seed));
    put_str(&mut o, tags::MODALITY, VR::CS, "CT");
    put_str(&mut o, tags::MANUFACTURER, VR::LO, "pavseg phantom");
    put_str(&mut o, tags::REFERRING_PHYSICIAN_NAME, VR::PN, "");
    put_str(&mut o, tags::STUDY_DESCRIPTION, VR::LO, "Synthetic chest CT");
    put_str(&mut o, tags::SERIES_DESCRIPTION, VR::LO, format!("pavseg phantom seed {}", p.seed));
    put_str(&mut o, tags::PATIENT_NAME, VR::PN, format!("PHANTOM^SEED{}", p.seed));
    put_str(&mut o, tags::PATIENT_ID, VR::LO, files.patient_id.clone());
    put_str(&mut o, tags::PATIENT_BIRTH_DATE, VR::DA, "19700101");
    put_str(&mut o, tags::PATIENT_SEX, VR::CS, "O");
    put_str(&mut o, tags::BODY_PART_EXAMINED, VR::CS, "CHEST");
    put_ds(&mut o, tags::SLICE_THICKNESS, &[p.slice_spacing]);
    put_ds(&mut o, tags::KVP, &[120.0]);
    put_str(&mut o, tags::PATIENT_POSITION, VR::CS, if p.feet_first { "FFS" } else { "HFS" });
    put_str(&mut o, tags::STUDY_INSTANCE_UID, VR::UI, files.study_instance_uid.clone());
    put_str(&mut o, tags::SERIES_INSTANCE_UID, VR::UI, files.series_instance_uid.clone());
    put_str(&mut o, tags::STUDY_ID, VR::SH, format!("{}", p.seed));
    put_str(&mut o, tags::SERIES_NUMBER, VR::IS, "1");
    put_str(&mut o, tags::ACQUISITION_NUMBER, VR::IS, "1");
    put_ds(
        &mut o,
        tags::IMAGE_ORIENTATION_PATIENT,
        &[g.row_dir[0], g.row_dir[1], g.row_dir[2], g.col_dir[0], g.col_dir[1], g.col_dir[2]],
    );
    put_str(&mut o, tags::FRAME_OF_REFERENCE_UID, VR::UI, files.frame_of_reference_uid.clone());
    put_str(&mut o, tags::POSITION_REFERENCE_INDICATOR, VR::LO, "");
    put_us(&mut o, tags::SAMPLES_PER_PIXEL, 1);
    put_str(&mut o, tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "MONOCHROME2");
    put_us(&mut o, tags::ROWS, g.shape[1] as u16);
    put_us(&mut o, tags::COLUMNS, g.shape[2] as u16);
    put_ds(&mut o, tags::PIXEL_SPACING, &[g.spacing[1], g.spacing[2]]);
    put_us(&mut o, tags::BITS_ALLOCATED, 16);
    put_us(&mut o, tags::BITS_STORED, 16);
    put_us(&mut o, tags::HIGH_BIT, 15);
    put_us(&mut o, tags::PIXEL_REPRESENTATION, 1);
    put_ds(&mut o, tags::WINDOW_CENTER, &[-600.0]);
    put_ds(&mut o, tags::WINDOW_WIDTH, &[1500.0]);
    put_ds(&mut o, tags::RESCALE_INTERCEPT, &[-1024.0]);
    put_ds(&mut o, tags::RESCALE_SLOPE, &[1.0]);
    put_str(&mut o, tags::RESCALE_TYPE, VR::LO, "HU");
    o
}

#[cfg(test)]
mod tests {
    use super::format_ds;

    #[test]
    fn decimal_strings_fit_sixteen_characters() {
        assert_eq!(format_ds(-171.45), "-171.45");
        assert_eq!(format_ds(0.0), "0");
        assert_eq!(format_ds(-0.0), "0");
        assert!(format_ds(-123456.123456789).len() <= 16);
        assert_eq!(format_ds(2.7), "2.7");
    }
}
