//! One case: its files, and loading them with the checks that training relies on.

use super::label_files::{read_training_labels, read_value_map, LabelFileProblem, SegmentNames};
use super::DatasetError;
use crate::geometry::Geometry;
use ndarray::Array3;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Which side of the patient the annotator labelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LabeledSide {
    /// Fully labelled: every artery and vein in both lungs.
    #[default]
    Both,
    /// Only the vessels of the patient's left lung are labelled; the right side is unknown.
    Left,
    /// Only the right lung's vessels are labelled.
    Right,
}

impl std::str::FromStr for LabeledSide {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "both" => Ok(LabeledSide::Both),
            "left" => Ok(LabeledSide::Left),
            "right" => Ok(LabeledSide::Right),
            other => Err(format!("labeled_side `{other}` is not one of both, left, right")),
        }
    }
}

/// Where a case's CT comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageSource {
    /// A NIfTI volume in HU.
    Nifti(PathBuf),
    /// A folder with one DICOM CT series.
    Dicom(PathBuf),
}

impl ImageSource {
    /// A folder is a DICOM series, a file a NIfTI volume.
    pub fn from_path(path: PathBuf) -> Self {
        if path.is_dir() {
            ImageSource::Dicom(path)
        } else {
            ImageSource::Nifti(path)
        }
    }

    pub fn path(&self) -> &Path {
        match self {
            ImageSource::Nifti(p) | ImageSource::Dicom(p) => p,
        }
    }
}

/// A case as listed.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub id: String,
    pub image: ImageSource,
    pub labels: PathBuf,
    pub labeled_side: LabeledSide,
    /// Optional side mask on the image's grid: 1 left, 2 right, 0 decided by the midline plane.
    pub side_mask: Option<PathBuf>,
    /// Explicit split, if the list gives one.
    pub split: Option<super::Split>,
    /// How the segments of a `.seg.nrrd` or DICOM-SEG label file map to artery and vein (the
    /// dataset's `segment_labels`).
    pub segment_names: SegmentNames,
}

/// A case's data in memory, on the image's grid.
#[derive(Debug, Clone)]
pub struct LoadedCase {
    pub hu: Array3<f32>,
    pub geometry: Geometry,
    /// 0 background, 1 artery, 2 vein.
    pub labels: Array3<u8>,
    pub side_mask: Option<Array3<u8>>,
}

impl Case {
    /// Checks that every file exists (before any long work starts).
    pub fn check_files(&self) -> Result<(), DatasetError> {
        let missing = |what, path: &Path| DatasetError::MissingFile { case: self.id.clone(), what, path: path.to_owned() };
        if !self.image.path().exists() {
            return Err(missing("image", self.image.path()));
        }
        if !self.labels.exists() {
            return Err(missing("label map", &self.labels));
        }
        if let Some(m) = &self.side_mask {
            if !m.exists() {
                return Err(missing("side mask", m));
            }
        }
        Ok(())
    }

    /// Reads the image, the label map and the side mask, checking grids and label values.
    pub fn load(&self) -> Result<LoadedCase, DatasetError> {
        self.check_files()?;
        let (hu, geometry) = load_image(&self.id, &self.image)?;
        let labels = load_labels(&self.id, &self.labels, &geometry, Some(&self.segment_names))?;
        if let Some(((k, j, i), &value)) = labels.indexed_iter().find(|(_, &v)| v > 2) {
            return Err(DatasetError::UnknownLabel { case: self.id.clone(), path: self.labels.clone(), value, voxel: [k, j, i] });
        }
        let side_mask = match &self.side_mask {
            Some(p) => {
                let m = load_labels(&self.id, p, &geometry, None)?;
                if let Some(&value) = m.iter().find(|&&v| v > 2) {
                    return Err(DatasetError::UnknownSide { case: self.id.clone(), path: p.clone(), value });
                }
                Some(m)
            }
            None => None,
        };
        Ok(LoadedCase { hu, geometry, labels, side_mask })
    }
}

/// Reads a CT in HU from a NIfTI file or a DICOM series folder.
pub fn load_image(case: &str, source: &ImageSource) -> Result<(Array3<f32>, Geometry), DatasetError> {
    let fail = |reason: String| DatasetError::ReadImage { case: case.to_owned(), path: source.path().to_owned(), reason };
    match source {
        ImageSource::Nifti(p) => crate::io::nifti::read::<f32>(p).map_err(|e| fail(e.to_string())),
        ImageSource::Dicom(dir) => {
            let mut files = Vec::new();
            for entry in std::fs::read_dir(dir).map_err(|e| fail(e.to_string()))? {
                let path = entry.map_err(|e| fail(e.to_string()))?.path();
                if path.is_file() {
                    files.push(path);
                }
            }
            files.sort();
            let v = crate::volume::assemble_files(&files, &crate::volume::AssemblyLimits::default()).map_err(|e| fail(e.to_string()))?;
            Ok((v.hu, v.geometry))
        }
    }
}

/// Reads a label map (with `names`: NIfTI, NRRD, `.seg.nrrd` or DICOM-SEG, see
/// [`super::label_files`]) or a side mask (without: NIfTI or NRRD, values as they are) and
/// checks that it lies on `grid`.
pub fn load_labels(case: &str, path: &Path, grid: &Geometry, names: Option<&SegmentNames>) -> Result<Array3<u8>, DatasetError> {
    let (what, read) = match names {
        Some(names) => ("label map", read_training_labels(path, grid, names)),
        None => ("side mask", read_value_map(path, grid)),
    };
    read.map_err(|problem| match problem {
        LabelFileProblem::Read(reason) => DatasetError::ReadLabels { case: case.to_owned(), what, path: path.to_owned(), reason },
        LabelFileProblem::Grid(reason) => DatasetError::GridMismatch { case: case.to_owned(), what, path: path.to_owned(), reason },
    })
}
