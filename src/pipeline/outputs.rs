//! Writing a segmentation run's results into a folder: `seg.dcm` always (atomically: written
//! beside, fsync'd, renamed), `labels.nii.gz` and `preview.png` when asked.

use super::Outcome;
use crate::seg::SegConfig;
use crate::volume::Volume;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("writing {path}: {reason}")]
    Write { path: PathBuf, reason: String },
}

/// Paths of what was written.
#[derive(Debug, Clone)]
pub struct Written {
    pub seg: PathBuf,
    pub nifti: Option<PathBuf>,
    pub png: Option<PathBuf>,
}

pub fn write_outputs(o: &Outcome, volume: &Volume, dir: &Path, nifti: bool, png: bool, seg_cfg: &SegConfig) -> Result<Written, OutputError> {
    let fail = |path: &Path, reason: String| OutputError::Write { path: path.to_path_buf(), reason };
    std::fs::create_dir_all(dir).map_err(|e| fail(dir, e.to_string()))?;
    let seg = dir.join("seg.dcm");
    let mut bytes = Vec::new();
    o.segmentation.write_to(&mut bytes).map_err(|e| fail(&seg, e.to_string()))?;
    crate::spool::write_atomic(dir, &seg, &[&bytes]).map_err(|e| fail(&seg, e.to_string()))?;
    let nifti = if nifti {
        let p = dir.join("labels.nii.gz");
        crate::seg::write_label_nifti(&p, o.labels.labels.view(), &volume.geometry).map_err(|e| fail(&p, e.to_string()))?;
        Some(p)
    } else {
        None
    };
    let png = if png {
        let p = dir.join("preview.png");
        crate::seg::write_preview(&p, volume.hu.view(), o.labels.labels.view(), &volume.geometry, seg_cfg)
            .map_err(|e| fail(&p, e.to_string()))?;
        Some(p)
    } else {
        None
    };
    Ok(Written { seg, nifti, png })
}
