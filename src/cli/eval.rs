//! `pavseg eval`: score a label map (NIfTI or DICOM-SEG) against a reference NIfTI.

use crate::eval::evaluate_labels;
use crate::metrics::BinaryMetrics;
use crate::seg::{check_same_grid, read_label_nifti, read_segmentation, SegConfig};
use anyhow::Context;
use ndarray::Array3;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Prediction: a label map (.nii/.nii.gz; 1 artery, 2 vein) or a DICOM-SEG (.dcm), which is
    /// read onto the reference's grid.
    #[arg(long)]
    pub pred: PathBuf,
    /// Reference label map (.nii/.nii.gz; 1 artery, 2 vein).
    #[arg(long)]
    pub truth: PathBuf,
    /// NSD tolerance in mm.
    #[arg(long, default_value_t = 1.0)]
    pub tolerance: f64,
    /// Also write the JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

fn is_nifti(p: &Path) -> bool {
    let name = p.to_string_lossy();
    name.ends_with(".nii") || name.ends_with(".nii.gz")
}

/// A SEG's segments as artery (1) and vein (2) by their property type, whatever their
/// laterality modifier, on `grid`.
fn seg_labels(path: &Path, grid: &crate::geometry::Geometry) -> anyhow::Result<Array3<u8>> {
    let seg = read_segmentation(path, grid)?;
    let config = SegConfig::default();
    let mut map = [0u8; 256];
    for s in &seg.segments {
        let code = s.property_type.as_ref().with_context(|| format!("{}: segment {} has no property type", path.display(), s.number))?;
        let value = config
            .segments
            .iter()
            .find(|c| c.property_type.same_concept(code))
            .map(|c| c.label_value)
            .with_context(|| format!("{}: segment {} ({} {}) is neither pulmonary artery nor vein", path.display(), s.number, code.scheme, code.value))?;
        map[(s.number as usize).min(255)] = value;
    }
    Ok(seg.labels.mapv(|v| map[v as usize]))
}

fn row(name: &str, m: &BinaryMetrics) -> String {
    let hd = m.hd95_mm.map(|v| format!("{v:.3}")).unwrap_or_else(|| "inf".into());
    format!("{name:<8} {:>10} {:>10} {:>8.4} {:>8.4} {:>8.4} {:>9} {:>8.4}", m.pred_voxels, m.truth_voxels, m.dsc, m.jaccard, m.nsd, hd, m.cldice)
}

pub fn run(a: Args) -> anyhow::Result<()> {
    anyhow::ensure!(is_nifti(&a.truth), "--truth {} must be a NIfTI label map", a.truth.display());
    let (truth, grid) = read_label_nifti(&a.truth)?;
    let pred = if is_nifti(&a.pred) {
        let (pred, g) = read_label_nifti(&a.pred)?;
        check_same_grid(&g, &grid).with_context(|| format!("{} against {}", a.pred.display(), a.truth.display()))?;
        pred
    } else {
        seg_labels(&a.pred, &grid)?
    };
    let s = evaluate_labels(pred.view(), truth.view(), grid.spacing, a.tolerance)?;
    println!("voxel spacing {:?} mm, NSD tolerance {} mm", grid.spacing, a.tolerance);
    println!("{:<8} {:>10} {:>10} {:>8} {:>8} {:>8} {:>9} {:>8}", "class", "pred vox", "truth vox", "DSC", "Jaccard", "NSD", "HD95 mm", "clDice");
    println!("{}", row("artery", &s.artery));
    println!("{}", row("vein", &s.vein));
    println!("mean DSC {:.4}", s.mean_dsc);
    let json = serde_json::to_string_pretty(&serde_json::json!({
        "pred": a.pred, "truth": a.truth, "spacing_mm": grid.spacing, "tolerance_mm": a.tolerance, "scores": s
    }))?;
    println!("{json}");
    if let Some(p) = &a.json {
        std::fs::write(p, json + "\n").with_context(|| format!("writing {}", p.display()))?;
    }
    Ok(())
}
