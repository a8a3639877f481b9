//! The attributes of a SEG outside the functional groups: patient and study copied from the
//! source series, the new series, equipment, the Segmentation Image module with its segment
//! descriptions, and the reference back to the source series.

use super::config::{SegConfig, SegmentationType};
use super::label_map;
use super::elements::{code_item, put_empty, put_is, put_seq, put_str, put_us, Obj};
use super::SegIdentity;
use crate::volume::SeriesRef;
use dicom_core::{Tag, VR};
use dicom_dictionary_std::tags;

/// Patient, clinical trial and study attributes copied from the source when present.
const COPIED: &[Tag] = &[
    // Patient
    tags::ISSUER_OF_PATIENT_ID,
    tags::ISSUER_OF_PATIENT_ID_QUALIFIERS_SEQUENCE,
    tags::OTHER_PATIENT_I_DS_SEQUENCE,
    tags::PATIENT_BIRTH_TIME,
    tags::PATIENT_COMMENTS,
    tags::PATIENT_IDENTITY_REMOVED,
    tags::DEIDENTIFICATION_METHOD,
    tags::DEIDENTIFICATION_METHOD_CODE_SEQUENCE,
    tags::QUALITY_CONTROL_SUBJECT,
    tags::PATIENT_SPECIES_DESCRIPTION,
    tags::PATIENT_SPECIES_CODE_SEQUENCE,
    tags::RESPONSIBLE_PERSON,
    tags::RESPONSIBLE_ORGANIZATION,
    // Clinical Trial Subject
    tags::CLINICAL_TRIAL_SPONSOR_NAME,
    tags::CLINICAL_TRIAL_PROTOCOL_ID,
    tags::CLINICAL_TRIAL_PROTOCOL_NAME,
    tags::CLINICAL_TRIAL_SITE_ID,
    tags::CLINICAL_TRIAL_SITE_NAME,
    tags::CLINICAL_TRIAL_SUBJECT_ID,
    tags::CLINICAL_TRIAL_SUBJECT_READING_ID,
    // General Study
    tags::STUDY_DESCRIPTION,
    tags::ISSUER_OF_ACCESSION_NUMBER_SEQUENCE,
    tags::REFERRING_PHYSICIAN_IDENTIFICATION_SEQUENCE,
    tags::PROCEDURE_CODE_SEQUENCE,
    // Patient Study
    tags::PATIENT_AGE,
    tags::PATIENT_SIZE,
    tags::PATIENT_WEIGHT,
    // Clinical Trial Study
    tags::CLINICAL_TRIAL_TIME_POINT_ID,
    tags::CLINICAL_TRIAL_TIME_POINT_DESCRIPTION,
    // General Series
    tags::BODY_PART_EXAMINED,
];

/// Type 2 attributes: copied from the source, or written empty when the source lacks them.
const COPIED_OR_EMPTY: &[(Tag, VR)] = &[
    (tags::PATIENT_NAME, VR::PN),
    (tags::PATIENT_ID, VR::LO),
    (tags::PATIENT_BIRTH_DATE, VR::DA),
    (tags::PATIENT_SEX, VR::CS),
    (tags::STUDY_DATE, VR::DA),
    (tags::STUDY_TIME, VR::TM),
    (tags::REFERRING_PHYSICIAN_NAME, VR::PN),
    (tags::STUDY_ID, VR::SH),
    (tags::ACCESSION_NUMBER, VR::SH),
    (tags::POSITION_REFERENCE_INDICATOR, VR::LO),
];

fn copy_from_source(obj: &mut Obj, source: &SeriesRef) {
    if let Some(e) = source.header.get(tags::SPECIFIC_CHARACTER_SET) {
        obj.put(e.clone());
    }
    for &tag in COPIED {
        if let Some(e) = source.header.get(tag) {
            obj.put(e.clone());
        }
    }
    for &(tag, vr) in COPIED_OR_EMPTY {
        match source.header.get(tag) {
            Some(e) => {
                obj.put(e.clone());
            }
            None => put_empty(obj, tag, vr),
        }
    }
}

/// SOP Common, Patient, Study, Series, Frame of Reference, Equipment, General Image, Image
/// Pixel (without the pixel data), Segmentation Image and Common Instance Reference.
pub(crate) fn top_level(source: &SeriesRef, config: &SegConfig, id: &SegIdentity) -> Obj {
    let mut o = Obj::new_empty();
    copy_from_source(&mut o, source);
    let (date, time) = id.date_time();
    // SOP Common
    let kind = config.segmentation_type;
    put_str(&mut o, tags::SOP_CLASS_UID, VR::UI, kind.sop_class_uid());
    put_str(&mut o, tags::SOP_INSTANCE_UID, VR::UI, id.sop_instance_uid.as_str());
    put_str(&mut o, tags::INSTANCE_CREATION_DATE, VR::DA, date.as_str());
    put_str(&mut o, tags::INSTANCE_CREATION_TIME, VR::TM, time.as_str());
    // General Study
    put_str(&mut o, tags::STUDY_INSTANCE_UID, VR::UI, source.study_instance_uid.as_str());
    // General Series + Segmentation Series
    put_str(&mut o, tags::MODALITY, VR::CS, "SEG");
    put_str(&mut o, tags::SERIES_INSTANCE_UID, VR::UI, id.series_instance_uid.as_str());
    put_is(&mut o, tags::SERIES_NUMBER, config.series_number as i64);
    put_str(&mut o, tags::SERIES_DATE, VR::DA, date.as_str());
    put_str(&mut o, tags::SERIES_TIME, VR::TM, time.as_str());
    put_str(&mut o, tags::SERIES_DESCRIPTION, VR::LO, config.series_description.as_str());
    // Frame of Reference
    put_str(&mut o, tags::FRAME_OF_REFERENCE_UID, VR::UI, source.frame_of_reference_uid.as_str());
    // General Equipment + Enhanced General Equipment
    put_str(&mut o, tags::MANUFACTURER, VR::LO, config.manufacturer.as_str());
    put_str(&mut o, tags::MANUFACTURER_MODEL_NAME, VR::LO, config.manufacturer_model_name.as_str());
    put_str(&mut o, tags::DEVICE_SERIAL_NUMBER, VR::LO, config.device_serial_number.as_str());
    // Not configurable: the build that wrote the SEG (version and git commit), as `pavseg --version`.
    put_str(&mut o, tags::SOFTWARE_VERSIONS, VR::LO, crate::VERSION);
    // General Image + Multi-frame Functional Groups
    put_is(&mut o, tags::INSTANCE_NUMBER, config.instance_number as i64);
    put_str(&mut o, tags::CONTENT_DATE, VR::DA, date.as_str());
    put_str(&mut o, tags::CONTENT_TIME, VR::TM, time.as_str());
    put_str(&mut o, tags::LOSSY_IMAGE_COMPRESSION, VR::CS, "00");
    // Image Pixel, as the Segmentation Image module constrains it for the SEG's type
    match kind {
        SegmentationType::Binary => {
            put_us(&mut o, tags::SAMPLES_PER_PIXEL, &[1]);
            put_str(&mut o, tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "MONOCHROME2");
            put_us(&mut o, tags::BITS_ALLOCATED, &[1]);
            put_us(&mut o, tags::BITS_STORED, &[1]);
            put_us(&mut o, tags::HIGH_BIT, &[0]);
            put_us(&mut o, tags::PIXEL_REPRESENTATION, &[0]);
        }
        SegmentationType::Labelmap => label_map::put_pixel_module(&mut o, config),
    }
    // Segmentation Image
    put_str(&mut o, tags::IMAGE_TYPE, VR::CS, "DERIVED\\PRIMARY");
    put_str(&mut o, tags::CONTENT_LABEL, VR::CS, config.content_label.as_str());
    put_str(&mut o, tags::CONTENT_DESCRIPTION, VR::LO, config.content_description.as_str());
    put_str(&mut o, tags::CONTENT_CREATOR_NAME, VR::PN, config.content_creator_name.as_str());
    put_str(&mut o, tags::SEGMENTATION_TYPE, VR::CS, kind.code_string());
    put_str(&mut o, tags::SEGMENTS_OVERLAP, VR::CS, "NO");
    put_seq(&mut o, tags::SEGMENT_SEQUENCE, segment_items(config, &id.tracking_uids));
    // Common Instance Reference
    put_seq(&mut o, tags::REFERENCED_SERIES_SEQUENCE, vec![referenced_series(source)]);
    o
}

/// One Segment Sequence item per configured segment, numbered from 1.
fn segment_items(config: &SegConfig, tracking_uids: &[String]) -> Vec<Obj> {
    let alg = &config.algorithm;
    let mut alg_item = Obj::new_empty();
    put_seq(&mut alg_item, tags::ALGORITHM_FAMILY_CODE_SEQUENCE, vec![code_item(&alg.family)]);
    put_str(&mut alg_item, tags::ALGORITHM_NAME, VR::LO, alg.name.as_str());
    put_str(&mut alg_item, tags::ALGORITHM_VERSION, VR::LO, alg.version.as_str());
    let colors = config.cielab_colors();
    config
        .segments
        .iter()
        .enumerate()
        .map(|(n, s)| {
            let mut item = Obj::new_empty();
            put_us(&mut item, tags::SEGMENT_NUMBER, &[(n + 1) as u16]);
            put_str(&mut item, tags::SEGMENT_LABEL, VR::LO, s.label.as_str());
            if let Some(d) = &s.description {
                put_str(&mut item, tags::SEGMENT_DESCRIPTION, VR::ST, d.as_str());
            }
            put_str(&mut item, tags::SEGMENT_ALGORITHM_TYPE, VR::CS, "AUTOMATIC");
            put_str(&mut item, tags::SEGMENT_ALGORITHM_NAME, VR::LO, alg.name.as_str());
            put_seq(&mut item, tags::SEGMENTATION_ALGORITHM_IDENTIFICATION_SEQUENCE, vec![alg_item.clone()]);
            put_seq(&mut item, tags::SEGMENTED_PROPERTY_CATEGORY_CODE_SEQUENCE, vec![code_item(&s.category)]);
            let mut property_type = code_item(&s.property_type);
            if let Some(m) = &s.property_type_modifier {
                put_seq(&mut property_type, tags::SEGMENTED_PROPERTY_TYPE_MODIFIER_CODE_SEQUENCE, vec![code_item(m)]);
            }
            put_seq(&mut item, tags::SEGMENTED_PROPERTY_TYPE_CODE_SEQUENCE, vec![property_type]);
            put_us(&mut item, tags::RECOMMENDED_DISPLAY_CIE_LAB_VALUE, &colors[n]);
            put_str(&mut item, tags::TRACKING_ID, VR::UT, s.tracking_id.as_str());
            put_str(&mut item, tags::TRACKING_UID, VR::UI, tracking_uids[n].as_str());
            item
        })
        .collect()
}

/// The Referenced Series Sequence item listing every source instance once (a multi-frame
/// instance is one item, however many of its frames the grid holds).
fn referenced_series(source: &SeriesRef) -> Obj {
    let mut item = Obj::new_empty();
    put_str(&mut item, tags::SERIES_INSTANCE_UID, VR::UI, source.series_instance_uid.as_str());
    let mut seen = std::collections::HashSet::new();
    let instances = source
        .images
        .iter()
        .filter(|im| seen.insert(im.sop_instance_uid.as_str()))
        .map(|im| {
            let mut r = Obj::new_empty();
            put_str(&mut r, tags::REFERENCED_SOP_CLASS_UID, VR::UI, im.sop_class_uid.as_str());
            put_str(&mut r, tags::REFERENCED_SOP_INSTANCE_UID, VR::UI, im.sop_instance_uid.as_str());
            r
        })
        .collect();
    put_seq(&mut item, tags::REFERENCED_INSTANCE_SEQUENCE, instances);
    item
}
