//! The TOML manifest: `[[case]]` tables with paths relative to the manifest.
//!
//! ```toml
//! [[case]]
//! id = "p001"
//! image = "p001/dicom"            # DICOM series folder or NIfTI file, HU
//! labels = "p001/labels.nii.gz"   # 0 background, 1 artery, 2 vein
//! labeled_side = "left"           # both (default) | left | right
//! side_mask = "p001/sides.nii.gz" # optional: 1 left, 2 right, 0 by the midline plane
//! split = "test"                  # optional: train | val | test (else by seed)
//! ```
//!
//! `labels` may also be a NRRD (`.nrrd`, values 0/1/2), a 3D Slicer `.seg.nrrd` or a BINARY
//! DICOM-SEG file; their segments are mapped by a top-level table (before the first
//! `[[case]]`) where the names are not plain "artery"/"vein" or SNOMED-coded:
//!
//! ```toml
//! [segment_labels]
//! "PA" = "artery"
//! "PV" = "vein"
//! "Lungs" = "background"
//! ```

use super::{Case, DatasetError, ImageSource, LabeledSide, SegmentNames, Split};
use serde::Deserialize;
use std::path::Path;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    #[serde(default)]
    segment_labels: SegmentNames,
    case: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    id: String,
    image: String,
    labels: String,
    #[serde(default)]
    labeled_side: LabeledSide,
    side_mask: Option<String>,
    split: Option<Split>,
}

pub fn read_manifest(path: &Path) -> Result<Vec<Case>, DatasetError> {
    let text = std::fs::read_to_string(path).map_err(|source| DatasetError::ReadList { path: path.to_owned(), source })?;
    let m: Manifest = toml::from_str(&text).map_err(|e| DatasetError::ParseList { path: path.to_owned(), reason: e.to_string() })?;
    let base = path.parent().unwrap_or(Path::new("."));
    let names = m.segment_labels;
    Ok(m.case
        .into_iter()
        .map(|e| Case {
            id: e.id,
            image: ImageSource::from_path(base.join(e.image)),
            labels: base.join(e.labels),
            labeled_side: e.labeled_side,
            side_mask: e.side_mask.map(|p| base.join(p)),
            split: e.split,
            segment_names: names.clone(),
        })
        .collect())
}
