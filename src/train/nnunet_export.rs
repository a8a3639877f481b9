//! A pavseg dataset in nnU-Net v2's raw layout, so that nnU-Net trains on exactly the cases
//! pavseg trains on and its predictions are scored by `pavseg eval` on the same test cases.
//!
//! - `imagesTr/<id>_0000.nii.gz` and `labelsTr/<id>.nii.gz`: the training and validation cases
//!   (channel 0 "CT", so nnU-Net applies its CT normalisation); labels 0 background, 1 artery,
//!   2 vein, 3 `ignore`;
//! - `imagesTs/<id>_0000.nii.gz` and `labelsTs/<id>.nii.gz`: the test cases and their truth;
//! - `dataset.json`, and `splits_final.json` with one fold whose validation cases are the
//!   dataset's validation split (copy it into the preprocessed dataset folder after planning).
//!
//! A half-labelled case is the paper's setting in nnU-Net's terms: the background of the
//! unannotated side (by the case's side mask, else the same midline plane pavseg's training
//! splits sides with) is `ignore`, so it is neither vessel nor background to the loss, as the
//! unannotated side's classes are masked out of pavseg's loss. Annotated voxels stay as they are.

use super::dataset::{Case, Dataset, DatasetError, LabeledSide, LoadedCase, Split, SplitRatios};
use super::sides::{is_left_voxel, Midline};
use crate::io::nifti;
use ndarray::{Array3, Zip};
use serde_json::json;
use std::path::{Path, PathBuf};

/// nnU-Net's label value for voxels the loss ignores (it must be the largest label).
pub const IGNORE: u8 = 3;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    ReadDataset(#[from] DatasetError),
    #[error("writing {}: {source}", path.display())]
    WriteFile { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    WriteNifti(#[from] nifti::NiftiError),
    #[error("the dataset has no {0} case: nnU-Net needs training and validation cases, and the comparison test cases")]
    CheckSplit(&'static str),
}

/// What was written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportSummary {
    pub train: usize,
    pub val: usize,
    pub test: usize,
    /// Half-labelled training and validation cases, whose unannotated side is `ignore`.
    pub half_labelled: usize,
}

/// The nnU-Net label map of a loaded case: its labels, and where it is half-labelled the
/// background of the other side as [`IGNORE`].
pub fn nnunet_labels(case: &Case, loaded: &LoadedCase) -> Array3<u8> {
    let keep_left = match case.labeled_side {
        LabeledSide::Both => return loaded.labels.clone(),
        LabeledSide::Left => true,
        LabeledSide::Right => false,
    };
    let midline = Midline::from_lungs(loaded.hu.view(), &loaded.geometry);
    let geometry = &loaded.geometry;
    let side_mask = loaded.side_mask.as_ref().map(|m| m.view());
    let mut out = loaded.labels.clone();
    Zip::indexed(&mut out).par_for_each(|(k, j, i), v| {
        if *v != 0 {
            return;
        }
        if is_left_voxel(side_mask, geometry, &midline, [k, j, i]) != keep_left {
            *v = IGNORE;
        }
    });
    out
}

fn write_json(path: &Path, value: &serde_json::Value) -> Result<(), ExportError> {
    let text = serde_json::to_string_pretty(value).unwrap_or_default() + "\n";
    std::fs::write(path, text).map_err(|source| ExportError::WriteFile { path: path.to_owned(), source })
}

fn create_dir(path: &Path) -> Result<(), ExportError> {
    std::fs::create_dir_all(path).map_err(|source| ExportError::WriteFile { path: path.to_owned(), source })
}

/// Writes `dataset` (splits by its explicit entries, else by `seed` and `ratios`) into `out`,
/// an nnU-Net raw dataset folder (`.../nnUNet_raw/DatasetNNN_Name`).
pub fn export(dataset: &Dataset, out: &Path, seed: u64, ratios: SplitRatios, progress: &dyn Fn(&str)) -> Result<ExportSummary, ExportError> {
    let train = dataset.split(Split::Train, seed, ratios)?;
    let val = dataset.split(Split::Val, seed, ratios)?;
    let test = dataset.split(Split::Test, seed, ratios)?;
    for (cases, name) in [(&train, "training"), (&val, "validation"), (&test, "test")] {
        if cases.is_empty() {
            return Err(ExportError::CheckSplit(name));
        }
    }
    for sub in ["imagesTr", "labelsTr", "imagesTs", "labelsTs"] {
        create_dir(&out.join(sub))?;
    }
    let mut summary = ExportSummary { train: train.len(), val: val.len(), test: test.len(), half_labelled: 0 };
    for case in train.iter().chain(&val) {
        let loaded = case.load()?;
        summary.half_labelled += (case.labeled_side != LabeledSide::Both) as usize;
        nifti::write(&out.join(format!("imagesTr/{}_0000.nii.gz", case.id)), loaded.hu.view(), &loaded.geometry)?;
        nifti::write(&out.join(format!("labelsTr/{}.nii.gz", case.id)), nnunet_labels(case, &loaded).view(), &loaded.geometry)?;
        progress(&case.id);
    }
    for case in &test {
        let loaded = case.load()?;
        nifti::write(&out.join(format!("imagesTs/{}_0000.nii.gz", case.id)), loaded.hu.view(), &loaded.geometry)?;
        nifti::write(&out.join(format!("labelsTs/{}.nii.gz", case.id)), loaded.labels.view(), &loaded.geometry)?;
        progress(&case.id);
    }
    write_json(
        &out.join("dataset.json"),
        &json!({
            "channel_names": { "0": "CT" },
            "labels": { "background": 0, "artery": 1, "vein": 2, "ignore": IGNORE },
            "numTraining": train.len() + val.len(),
            "file_ending": ".nii.gz",
            "description": format!("exported by pavseg export-nnunet from {}", dataset.source.display()),
        }),
    )?;
    let ids = |cases: &[Case]| cases.iter().map(|c| c.id.clone()).collect::<Vec<_>>();
    write_json(&out.join("splits_final.json"), &json!([{ "train": ids(&train), "val": ids(&val) }]))?;
    Ok(summary)
}
