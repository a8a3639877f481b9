//! An nnU-Net/MSD-style folder: `dataset.json`, `imagesTr/`, `labelsTr/` (and `imagesTs/`).
//!
//! Cases come from the `training` list of `dataset.json` (Medical Segmentation Decathlon:
//! `{"image": "./imagesTr/x.nii.gz", "label": "./labelsTr/x.nii.gz"}`, to which pavseg adds the
//! optional keys `labeled_side`, `side_mask` and `split`), or, without that list, from the
//! nnU-Net v2 naming: `imagesTr/<id>_0000.nii.gz` with `labelsTr/<id>.nii.gz`, and an optional
//! top-level `"labeled_side": {"<id>": "left", ...}`. Labels may be NIfTI, NRRD, `.seg.nrrd`
//! or DICOM-SEG; a top-level `"segment_labels": {"PA": "artery", ...}` maps segment names.

use super::{Case, DatasetError, ImageSource, LabeledSide, SegmentNames, Split};
use serde::Deserialize;
use std::collections::HashMap;
use std::path::Path;

#[derive(Debug, Deserialize)]
struct DatasetJson {
    #[serde(default)]
    training: Option<Vec<Entry>>,
    #[serde(default)]
    labeled_side: HashMap<String, LabeledSide>,
    #[serde(default)]
    file_ending: Option<String>,
    #[serde(default)]
    segment_labels: SegmentNames,
}

#[derive(Debug, Deserialize)]
struct Entry {
    image: String,
    label: String,
    #[serde(default)]
    labeled_side: LabeledSide,
    side_mask: Option<String>,
    split: Option<Split>,
}

/// The id of a case from its image file name (`x.nii.gz` -> `x`).
fn stem(p: &str) -> String {
    let name = Path::new(p).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    [".seg.nrrd", ".nrrd", ".nhdr", ".nii.gz", ".nii", ".dcm"]
        .iter()
        .find_map(|ext| name.strip_suffix(ext))
        .unwrap_or(&name)
        .to_owned()
}

pub fn read_folder(dir: &Path) -> Result<Vec<Case>, DatasetError> {
    let path = dir.join("dataset.json");
    let text = std::fs::read_to_string(&path).map_err(|source| DatasetError::ReadList { path: path.clone(), source })?;
    let d: DatasetJson = serde_json::from_str(&text).map_err(|e| DatasetError::ParseList { path: path.clone(), reason: e.to_string() })?;
    if let Some(list) = d.training {
        return Ok(list
            .into_iter()
            .map(|e| Case {
                id: stem(&e.label),
                image: ImageSource::from_path(dir.join(&e.image)),
                labels: dir.join(&e.label),
                labeled_side: e.labeled_side,
                side_mask: e.side_mask.map(|p| dir.join(p)),
                split: e.split,
                segment_names: d.segment_labels.clone(),
            })
            .collect());
    }
    let ending = d.file_ending.unwrap_or_else(|| ".nii.gz".into());
    let images = dir.join("imagesTr");
    let read = std::fs::read_dir(&images).map_err(|source| DatasetError::ReadList { path: images.clone(), source })?;
    let mut cases = Vec::new();
    for entry in read {
        let entry = entry.map_err(|source| DatasetError::ReadList { path: images.clone(), source })?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(id) = name.strip_suffix(&format!("_0000{ending}")) else { continue };
        cases.push(Case {
            id: id.to_owned(),
            image: ImageSource::Nifti(entry.path()),
            labels: dir.join("labelsTr").join(format!("{id}{ending}")),
            labeled_side: d.labeled_side.get(id).copied().unwrap_or_default(),
            side_mask: None,
            split: None,
            segment_names: d.segment_labels.clone(),
        });
    }
    cases.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(cases)
}
