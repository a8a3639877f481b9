//! What a segmentation says about itself: the segment descriptions and series attributes that
//! a plugin configures (its `output` section), with defaults for pulmonary arteries and veins.

use super::color;
use dicom_dictionary_std::uids;
use serde::{Deserialize, Serialize};

/// A coded concept (Code Sequence item): value, coding scheme and meaning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Code {
    /// CodeValue (or LongCodeValue / URNCodeValue when longer than 16 characters).
    pub value: String,
    /// CodingSchemeDesignator, e.g. `SCT` or `DCM`.
    pub scheme: String,
    /// CodeMeaning.
    pub meaning: String,
    /// CodingSchemeVersion, when the scheme needs one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme_version: Option<String>,
}

impl Code {
    pub fn new(value: &str, scheme: &str, meaning: &str) -> Self {
        Code { value: value.into(), scheme: scheme.into(), meaning: meaning.into(), scheme_version: None }
    }

    /// Whether two codes name the same concept (meanings may differ in wording).
    pub fn same_concept(&self, other: &Code) -> bool {
        self.value == other.value && self.scheme == other.scheme
    }
}

/// SNOMED CT "Anatomical structure", the category of both default segments.
pub fn anatomical_structure() -> Code {
    Code::new("91723000", "SCT", "Anatomical Structure")
}

/// One segment: which label value of the label map it holds and how it is described.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentConfig {
    /// The value of this segment's voxels in the label map (1..=255).
    pub label_value: u8,
    /// SegmentLabel (at most 64 characters).
    pub label: String,
    /// SegmentDescription (optional free text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// SegmentedPropertyCategoryCodeSequence.
    #[serde(default = "anatomical_structure")]
    pub category: Code,
    /// SegmentedPropertyTypeCodeSequence.
    pub property_type: Code,
    /// SegmentedPropertyTypeModifierCodeSequence, e.g. laterality (SCT 7771000 Left,
    /// 24028007 Right) for left and right vessels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub property_type_modifier: Option<Code>,
    /// Recommended display colour as sRGB; written as RecommendedDisplayCIELabValue and used
    /// by the PNG preview.
    pub color_rgb: [u8; 3],
    /// TrackingID: a human-readable name of the tracked structure.
    pub tracking_id: String,
    /// TrackingUID; a new one is generated for every SEG when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_uid: Option<String>,
}

/// The algorithm that produced the segments (SegmentAlgorithmName and the Segmentation
/// Algorithm Identification Sequence).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlgorithmConfig {
    pub name: String,
    pub version: String,
    /// AlgorithmFamilyCodeSequence (CID 7162).
    #[serde(default = "artificial_intelligence")]
    pub family: Code,
}

/// DCM 123110 "Artificial Intelligence" (CID 7162).
pub fn artificial_intelligence() -> Code {
    Code::new("123110", "DCM", "Artificial Intelligence")
}

impl Default for AlgorithmConfig {
    fn default() -> Self {
        AlgorithmConfig {
            name: "pavseg".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            family: artificial_intelligence(),
        }
    }
}

/// How the SEG encodes its segments (`[output.seg] type`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SegmentationType {
    /// Segmentation Storage, SegmentationType BINARY: one bit-packed frame per (segment,
    /// slice). Every SEG reader knows it.
    #[default]
    Binary,
    /// Label Map Segmentation Storage (DICOM Supplement 243): one 8-bit frame per slice whose
    /// pixels are segment numbers (0 background, the PixelPaddingValue), MONOCHROME2 or, with
    /// `palette`, PALETTE COLOR. Smaller and faster to display; newer readers only.
    Labelmap,
}

impl SegmentationType {
    pub fn sop_class_uid(self) -> &'static str {
        match self {
            SegmentationType::Binary => uids::SEGMENTATION_STORAGE,
            SegmentationType::Labelmap => uids::LABEL_MAP_SEGMENTATION_STORAGE,
        }
    }

    /// The value of SegmentationType (0062,0001).
    pub fn code_string(self) -> &'static str {
        match self {
            SegmentationType::Binary => "BINARY",
            SegmentationType::Labelmap => "LABELMAP",
        }
    }
}

/// Everything configurable about the DICOM-SEG that pavseg sends back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SegConfig {
    /// `type = "binary" | "labelmap"`: the SOP class and encoding of the SEG.
    #[serde(rename = "type")]
    pub segmentation_type: SegmentationType,
    /// LABELMAP only: PALETTE COLOR with a palette in the segment colours instead of
    /// MONOCHROME2 (OHIF 3.13 draws only MONOCHROME2 label maps; highdicom reads both).
    pub palette: bool,
    /// Root of the new Series, SOP Instance, Dimension Organization and Tracking UIDs
    /// (`2.25` gives UUID-derived UIDs).
    pub uid_root: String,
    pub series_number: i32,
    pub series_description: String,
    pub instance_number: i32,
    /// ContentLabel (a code string: upper case letters, digits, space and `_`, at most 16).
    pub content_label: String,
    pub content_description: String,
    /// ContentCreatorName (a person name; `^` separates its components).
    pub content_creator_name: String,
    pub manufacturer: String,
    pub manufacturer_model_name: String,
    pub device_serial_number: String,
    /// Write a frame for every (segment, source slice), also the empty ones. By default empty
    /// frames are left out; the frames written still sit on the source slices.
    pub keep_empty_frames: bool,
    pub algorithm: AlgorithmConfig,
    /// Segments in segment-number order: the first is segment 1.
    pub segments: Vec<SegmentConfig>,
}

impl Default for SegConfig {
    fn default() -> Self {
        SegConfig {
            segmentation_type: SegmentationType::Binary,
            palette: false,
            uid_root: "2.25".into(),
            series_number: 9001,
            series_description: "Pulmonary arteries and veins (pavseg)".into(),
            instance_number: 1,
            content_label: "PULMONARY_AV".into(),
            content_description: "Pulmonary arteries and veins, automatic segmentation".into(),
            content_creator_name: "PAVSEG^".into(),
            manufacturer: "pavseg".into(),
            manufacturer_model_name: "pavseg".into(),
            device_serial_number: "0".into(),
            keep_empty_frames: false,
            algorithm: AlgorithmConfig::default(),
            segments: vec![
                SegmentConfig {
                    label_value: 1,
                    label: "Pulmonary artery".into(),
                    description: Some("Pulmonary arterial tree".into()),
                    category: anatomical_structure(),
                    property_type: Code::new("81040000", "SCT", "Pulmonary artery"),
                    property_type_modifier: None,
                    color_rgb: [220, 40, 40],
                    tracking_id: "Pulmonary arteries".into(),
                    tracking_uid: None,
                },
                SegmentConfig {
                    label_value: 2,
                    label: "Pulmonary vein".into(),
                    description: Some("Pulmonary venous tree".into()),
                    category: anatomical_structure(),
                    property_type: Code::new("122972007", "SCT", "Pulmonary vein"),
                    property_type_modifier: None,
                    color_rgb: [40, 90, 230],
                    tracking_id: "Pulmonary veins".into(),
                    tracking_uid: None,
                },
            ],
        }
    }
}

/// A configuration that would make an invalid SEG.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("seg config: no segments configured")]
    NoSegments,
    #[error("seg config: {0} segments configured; a label map holds at most 255")]
    TooManySegments(usize),
    #[error("seg config: segment {number} ({label:?}) has label_value 0, which is the background")]
    BackgroundLabel { number: usize, label: String },
    #[error("seg config: segments {first} and {second} both use label_value {value}")]
    DuplicateLabel { first: usize, second: usize, value: u8 },
    #[error("seg config: {field} {value:?} is invalid: {reason}")]
    BadField { field: String, value: String, reason: &'static str },
}

fn check_len(field: &str, value: &str, max: usize, required: bool) -> Result<(), ConfigError> {
    let bad = |reason| Err(ConfigError::BadField { field: field.into(), value: value.into(), reason });
    if required && value.trim().is_empty() {
        return bad("must not be empty");
    }
    if value.chars().count() > max {
        return bad(match max {
            16 => "longer than 16 characters",
            64 => "longer than 64 characters",
            _ => "too long",
        });
    }
    if value.contains('\\') || value.chars().any(|c| c.is_control()) {
        return bad("contains a backslash or control character");
    }
    Ok(())
}

fn check_code(field: &str, code: &Code) -> Result<(), ConfigError> {
    check_len(&format!("{field}.value"), &code.value, 64, true)?;
    check_len(&format!("{field}.scheme"), &code.scheme, 16, true)?;
    check_len(&format!("{field}.meaning"), &code.meaning, 64, true)
}

fn check_uid(field: &str, uid: &str) -> Result<(), ConfigError> {
    crate::uid::validate(uid).map(|_| ()).map_err(|_| ConfigError::BadField {
        field: field.into(),
        value: uid.into(),
        reason: "not a valid UID",
    })
}

impl SegConfig {
    /// Checks everything that would otherwise only show up as a non-conformant SEG.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.palette && self.segmentation_type != SegmentationType::Labelmap {
            return Err(ConfigError::BadField {
                field: "palette".into(),
                value: "true".into(),
                reason: "a palette needs type = \"labelmap\" (a BINARY SEG is MONOCHROME2)",
            });
        }
        check_uid("uid_root", &self.uid_root)?;
        if self.uid_root.len() > 40 {
            return Err(ConfigError::BadField {
                field: "uid_root".into(),
                value: self.uid_root.clone(),
                reason: "longer than 40 characters leaves too little room for unique suffixes",
            });
        }
        check_len("series_description", &self.series_description, 64, false)?;
        check_len("content_description", &self.content_description, 64, false)?;
        check_len("content_creator_name", &self.content_creator_name, 64, false)?;
        check_len("manufacturer", &self.manufacturer, 64, true)?;
        check_len("manufacturer_model_name", &self.manufacturer_model_name, 64, true)?;
        check_len("device_serial_number", &self.device_serial_number, 64, true)?;
        check_len("content_label", &self.content_label, 16, true)?;
        if !self.content_label.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b' ' || b == b'_') {
            return Err(ConfigError::BadField {
                field: "content_label".into(),
                value: self.content_label.clone(),
                reason: "a code string holds only upper case letters, digits, space and underscore",
            });
        }
        check_len("algorithm.name", &self.algorithm.name, 64, true)?;
        check_len("algorithm.version", &self.algorithm.version, 64, true)?;
        check_code("algorithm.family", &self.algorithm.family)?;
        if self.segments.is_empty() {
            return Err(ConfigError::NoSegments);
        }
        if self.segments.len() > 255 {
            return Err(ConfigError::TooManySegments(self.segments.len()));
        }
        for (n, s) in self.segments.iter().enumerate() {
            let number = n + 1;
            if s.label_value == 0 {
                return Err(ConfigError::BackgroundLabel { number, label: s.label.clone() });
            }
            if let Some(first) = self.segments[..n].iter().position(|o| o.label_value == s.label_value) {
                return Err(ConfigError::DuplicateLabel { first: first + 1, second: number, value: s.label_value });
            }
            let field = |f: &str| format!("segments[{n}].{f}");
            check_len(&field("label"), &s.label, 64, true)?;
            check_len(&field("tracking_id"), &s.tracking_id, 64, true)?;
            if let Some(d) = &s.description {
                check_len(&field("description"), d, 1024, false)?;
            }
            check_code(&field("category"), &s.category)?;
            check_code(&field("property_type"), &s.property_type)?;
            if let Some(m) = &s.property_type_modifier {
                check_code(&field("property_type_modifier"), m)?;
            }
            if let Some(uid) = &s.tracking_uid {
                check_uid(&field("tracking_uid"), uid)?;
            }
        }
        Ok(())
    }

    /// Segment number (1-based) of each label value; 0 where no segment holds that value.
    pub fn segment_of_label(&self) -> [u8; 256] {
        let mut map = [0u8; 256];
        for (n, s) in self.segments.iter().enumerate() {
            map[s.label_value as usize] = (n + 1) as u8;
        }
        map
    }

    /// RecommendedDisplayCIELabValue of each segment, in segment order.
    pub fn cielab_colors(&self) -> Vec<[u16; 3]> {
        self.segments.iter().map(|s| color::srgb_to_dicom_lab(s.color_rgb)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_carry_the_snomed_codes() {
        let c = SegConfig::default();
        c.validate().unwrap();
        assert_eq!(c.segments[0].property_type.value, "81040000");
        assert_eq!(c.segments[1].property_type.value, "122972007");
        assert!(c.segments.iter().all(|s| s.category.value == "91723000" && s.category.scheme == "SCT"));
        let map = c.segment_of_label();
        assert_eq!((map[0], map[1], map[2], map[3]), (0, 1, 2, 0));
    }

    #[test]
    fn round_trips_through_toml_with_defaults_filled_in() {
        let text = r#"
            series_number = 77
            keep_empty_frames = true
            [[segments]]
            label_value = 5
            label = "Aorta"
            property_type = { value = "15825003", scheme = "SCT", meaning = "Aorta" }
            color_rgb = [255, 0, 0]
            tracking_id = "aorta"
        "#;
        use figment::providers::Format;
        let c: SegConfig = figment::Figment::from(figment::providers::Toml::string(text)).extract().unwrap();
        c.validate().unwrap();
        assert_eq!(c.series_number, 77);
        assert!(c.keep_empty_frames);
        assert_eq!(c.segments.len(), 1);
        assert_eq!(c.segments[0].category, anatomical_structure());
        assert_eq!(c.content_label, SegConfig::default().content_label);
    }

    #[test]
    fn rejects_what_would_make_a_bad_seg() {
        let mut c = SegConfig::default();
        c.segments[1].label_value = 1;
        assert!(matches!(c.validate(), Err(ConfigError::DuplicateLabel { first: 1, second: 2, value: 1 })));
        let mut c = SegConfig::default();
        c.content_label = "lower case".into();
        assert!(c.validate().is_err());
        let mut c = SegConfig::default();
        c.segments[0].label_value = 0;
        assert!(matches!(c.validate(), Err(ConfigError::BackgroundLabel { number: 1, .. })));
        let mut c = SegConfig::default();
        c.uid_root = "1.2.x".into();
        assert!(c.validate().is_err());
        let mut c = SegConfig::default();
        c.segments.clear();
        assert_eq!(c.validate(), Err(ConfigError::NoSegments));
    }
}
