//! A training dataset of phantoms (`pavseg phantom-dataset`): one folder per seed as written
//! by `pavseg phantom`, and `manifest.toml` listing them with their split and labelled side.
//! A half-labelled case keeps the fully labelled `labels.nii.gz` of the phantom for reference
//! but lists `labels_<side>.nii.gz`, which holds only the vessels on its labelled side of the
//! midline plane ([`super::sides`]), the same split that training applies.

use super::dataset::{LabeledSide, Split};
use super::sides::{keep_side, split_sides, Midline};
use super::TrainError;
use crate::phantom::{generate, write_phantom, PhantomParams};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::Path;

/// One case to make.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PhantomCase {
    pub seed: u64,
    pub split: Split,
    pub labeled_side: LabeledSide,
}

/// Generates every case under `out` and writes `out/manifest.toml`. Training and validation
/// cases list their NIfTI CT; test cases list their DICOM series (as the node receives it).
pub fn make_phantom_dataset(out: &Path, cases: &[PhantomCase], template: &PhantomParams) -> Result<(), TrainError> {
    std::fs::create_dir_all(out).map_err(|source| TrainError::WriteFile { path: out.to_owned(), source })?;
    let mut manifest = String::from("# Phantom dataset written by pavseg phantom-dataset.\n");
    let _ = writeln!(
        manifest,
        "# Phantom family {}; grid {} x {} x {} at {} mm in-plane, {} mm slices, {}.\n",
        template.family.name,
        template.cols,
        template.rows,
        template.slices,
        template.pixel_spacing,
        template.slice_spacing,
        if template.feet_first { "feet-first" } else { "head-first" }
    );
    for c in cases {
        let id = format!("phantom{:04}", c.seed);
        let dir = out.join(&id);
        let fail = |reason: String| TrainError::Phantom { case: id.clone(), reason };
        let params = PhantomParams { seed: c.seed, ..template.clone() };
        let p = generate(&params);
        write_phantom(&p, &dir).map_err(|e| fail(e.to_string()))?;
        let labels = match c.labeled_side {
            LabeledSide::Both => "labels.nii.gz".to_owned(),
            side => {
                let hu = p.hu.mapv(f32::from);
                let midline = Midline::from_lungs(hu.view(), &p.geometry);
                let four = split_sides(p.labels.view(), &p.geometry, &midline, None);
                let half = keep_side(four.view(), side);
                let name = format!("labels_{}.nii.gz", if side == LabeledSide::Left { "left" } else { "right" });
                crate::seg::write_label_nifti(&dir.join(&name), half.view(), &p.geometry).map_err(|e| fail(e.to_string()))?;
                name
            }
        };
        let image = if c.split == Split::Test { "dicom" } else { "ct.nii.gz" };
        let side = serde_json::to_string(&c.labeled_side).unwrap_or_default();
        let split = serde_json::to_string(&c.split).unwrap_or_default();
        let _ = writeln!(
            manifest,
            "[[case]]\nid = \"{id}\"\nimage = \"{id}/{image}\"\nlabels = \"{id}/{labels}\"\nlabeled_side = {side}\nsplit = {split}\n"
        );
        tracing::info!(case = %id, split = ?c.split, side = ?c.labeled_side, "phantom written");
    }
    let path = out.join("manifest.toml");
    std::fs::write(&path, manifest).map_err(|source| TrainError::WriteFile { path, source })
}
