//! Label files as sites have them: NIfTI label maps, NRRD (3D Slicer's `.nrrd` and `.seg.nrrd`)
//! and BINARY DICOM-SEG from any writer, all brought to one 0/1/2 (background, artery, vein)
//! map on the image's grid. Segments of a `.seg.nrrd` or SEG become artery or vein by the
//! dataset's `segment_labels` (name → class), else by their SNOMED CT property type (the codes
//! pavseg's own SEG carries), else by a plain name such as "artery" or "pulmonary veins".

use crate::geometry::Geometry;
use crate::io::nrrd;
use crate::seg::{check_same_grid, SegConfig};
use ndarray::Array3;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// What a segment of a label file stands for in training.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(rename_all = "lowercase")]
pub enum LabelClass {
    /// Not a vessel (a lung, an airway, a nodule): its voxels are background unless another
    /// segment says artery or vein.
    Background,
    Artery,
    Vein,
}

impl LabelClass {
    fn value(self) -> u8 {
        match self {
            LabelClass::Background => 0,
            LabelClass::Artery => 1,
            LabelClass::Vein => 2,
        }
    }
}

/// The dataset's segment name → class map (names compared without case and outer spaces).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(transparent)]
pub struct SegmentNames(pub BTreeMap<String, LabelClass>);

/// Names that need no configuration.
const PLAIN_NAMES: &[(&str, LabelClass)] = &[
    ("artery", LabelClass::Artery),
    ("arteries", LabelClass::Artery),
    ("pulmonary artery", LabelClass::Artery),
    ("pulmonary arteries", LabelClass::Artery),
    ("vein", LabelClass::Vein),
    ("veins", LabelClass::Vein),
    ("pulmonary vein", LabelClass::Vein),
    ("pulmonary veins", LabelClass::Vein),
];

impl SegmentNames {
    /// The class of a segment, from its name and its property type (scheme, code value).
    pub fn class_of(&self, name: &str, code: Option<(&str, &str)>) -> Option<LabelClass> {
        let key = name.trim().to_lowercase();
        if let Some((_, c)) = self.0.iter().find(|(n, _)| n.trim().to_lowercase() == key) {
            return Some(*c);
        }
        if let Some((scheme, value)) = code {
            // SRT is the older designator of SNOMED CT (DICOM PS3.16 retired it for SCT).
            fn snomed(s: &str) -> &str {
                if s == "SRT" {
                    "SCT"
                } else {
                    s
                }
            }
            let by_code = SegConfig::default().segments.iter().find_map(|s| {
                (snomed(&s.property_type.scheme) == snomed(scheme) && s.property_type.value == value).then_some(s.label_value)
            });
            match by_code {
                Some(1) => return Some(LabelClass::Artery),
                Some(2) => return Some(LabelClass::Vein),
                _ => {}
            }
        }
        PLAIN_NAMES.iter().find(|(n, _)| *n == key).map(|(_, c)| *c)
    }
}

/// Why a label file could not become a training label map.
#[derive(Debug)]
pub enum LabelFileProblem {
    /// The file could not be read or does not fit (named in the text).
    Read(String),
    /// The file's grid is not the image's.
    Grid(String),
}

type Problem = LabelFileProblem;

fn unknown_segment(what: &str, name: &str, code: Option<(&str, &str)>) -> Problem {
    let code = code.map(|(s, v)| format!(", property type {s} {v}")).unwrap_or_default();
    Problem::Read(format!(
        "{what} {name:?}{code} is neither artery nor vein; name it in the dataset's segment_labels \
         (\"{name}\" = \"artery\", \"vein\" or \"background\")"
    ))
}

/// Reads a training label map (0 background, 1 artery, 2 vein) from any supported file on `grid`.
pub fn read_training_labels(path: &Path, grid: &Geometry, names: &SegmentNames) -> Result<Array3<u8>, Problem> {
    if nrrd::is_nrrd(path) {
        read_nrrd(path, grid, Some(names))
    } else if is_dicom(path) {
        read_dicom_seg(path, grid, names)
    } else {
        read_nifti(path, grid)
    }
}

/// Reads a map whose voxel values are used as they are (a side mask): NIfTI or plain NRRD.
pub fn read_value_map(path: &Path, grid: &Geometry) -> Result<Array3<u8>, Problem> {
    if nrrd::is_nrrd(path) {
        read_nrrd(path, grid, None)
    } else {
        read_nifti(path, grid)
    }
}

fn read_nifti(path: &Path, grid: &Geometry) -> Result<Array3<u8>, Problem> {
    let (labels, g) = crate::seg::read_label_nifti(path).map_err(|e| Problem::Read(e.to_string()))?;
    check_same_grid(&g, grid).map_err(|e| Problem::Grid(e.to_string()))?;
    Ok(labels)
}

/// A plain NRRD (no segments listed) keeps its values; a `.seg.nrrd` is mapped segment by
/// segment, layer by layer, and an artery voxel that another segment calls vein is an error.
fn read_nrrd(path: &Path, grid: &Geometry, names: Option<&SegmentNames>) -> Result<Array3<u8>, Problem> {
    let (file, segments) = nrrd::read_labels(path).map_err(|e| Problem::Read(e.to_string()))?;
    check_same_grid(&file.geometry, grid).map_err(|e| Problem::Grid(e.to_string()))?;
    let (Some(names), false) = (names, segments.is_empty()) else {
        if file.layers.len() != 1 {
            return Err(Problem::Read(format!(
                "{} layers but no Segment<N>_* keys that say what they hold",
                file.layers.len()
            )));
        }
        return Ok(file.layers.into_iter().next().unwrap_or_default());
    };
    // Per layer: label value → (class, segment), so that an overlap names both segments.
    let mut table = vec![[None::<(LabelClass, usize)>; 256]; file.layers.len()];
    for (n, s) in segments.iter().enumerate() {
        let code = s.property_type.as_ref().map(|(scheme, value, _)| (scheme.as_str(), value.as_str()));
        let class = names
            .class_of(&s.name, code)
            .ok_or_else(|| unknown_segment(&format!("segment {} ({})", s.index, s.id), &s.name, code))?;
        table[s.layer][s.label_value as usize] = Some((class, n));
    }
    let mut out = Array3::<u8>::zeros(file.layers[0].raw_dim());
    let mut owner = Array3::<u16>::from_elem(file.layers[0].raw_dim(), u16::MAX);
    for (l, layer) in file.layers.iter().enumerate() {
        for (((idx, &v), o), out) in layer.indexed_iter().zip(owner.iter_mut()).zip(out.iter_mut()) {
            if v == 0 {
                continue;
            }
            let Some((class, n)) = table[l][v as usize] else {
                return Err(Problem::Read(format!(
                    "layer {l} holds value {v} at voxel [k, j, i] = {idx:?}, which no segment lists"
                )));
            };
            let value = class.value();
            if value == 0 {
                continue;
            }
            if *out != 0 && *out != value {
                let other = &segments[*o as usize];
                return Err(Problem::Read(format!(
                    "segments {:?} and {:?} overlap at voxel [k, j, i] = {idx:?} as artery and vein",
                    other.name,
                    segments[n].name
                )));
            }
            *out = value;
            *o = n as u16;
        }
    }
    Ok(out)
}

fn read_dicom_seg(path: &Path, grid: &Geometry, names: &SegmentNames) -> Result<Array3<u8>, Problem> {
    let seg = crate::seg::read_segmentation(path, grid).map_err(|e| match e {
        crate::seg::ReadError::GridMismatch { .. } | crate::seg::ReadError::FrameOffGrid { .. } => Problem::Grid(e.to_string()),
        other => Problem::Read(other.to_string()),
    })?;
    let mut map = [0u8; 256];
    for s in &seg.segments {
        let code = s.property_type.as_ref().map(|c| (c.scheme.as_str(), c.value.as_str()));
        let class =
            names.class_of(&s.label, code).ok_or_else(|| unknown_segment(&format!("segment {}", s.number), &s.label, code))?;
        if let Ok(n) = u8::try_from(s.number) {
            map[n as usize] = class.value();
        }
    }
    Ok(seg.labels.mapv(|v| map[v as usize]))
}

/// Whether a file is DICOM Part 10 (`DICM` after the 128-byte preamble).
fn is_dicom(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 132];
    std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut head)).is_ok() && &head[128..] == b"DICM"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_then_codes_then_plain_names() {
        let names = SegmentNames(BTreeMap::from([("PA".to_owned(), LabelClass::Artery), ("Lungs".to_owned(), LabelClass::Background)]));
        assert_eq!(names.class_of(" pa ", None), Some(LabelClass::Artery));
        assert_eq!(names.class_of("lungs", Some(("SCT", "81040000"))), Some(LabelClass::Background));
        assert_eq!(names.class_of("Segment_1", Some(("SCT", "122972007"))), Some(LabelClass::Vein));
        assert_eq!(names.class_of("Segment_1", Some(("SRT", "81040000"))), Some(LabelClass::Artery));
        assert_eq!(names.class_of("Pulmonary Veins", None), Some(LabelClass::Vein));
        assert_eq!(names.class_of("airway", Some(("SCT", "89187006"))), None);
    }
}
