//! `pavseg seg-from-labels`: the SEG stage on its own, from a CT series and a NIfTI label map
//! on that series' grid (the offline pipeline without preprocessing and the network).

use crate::seg::{self, SegConfig, SegIdentity};
use crate::volume::{assemble_files, AssemblyLimits};
use anyhow::Context;
use figment::providers::Format;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Folder of the CT series (one DICOM file per slice).
    #[arg(long)]
    pub dicom: PathBuf,
    /// Label map on the CT's grid (NIfTI, 0 background, values as configured: 1 artery, 2 vein).
    #[arg(long)]
    pub labels: PathBuf,
    /// Output folder (created): seg.dcm, labels.nii.gz, preview.png.
    #[arg(long)]
    pub out: PathBuf,
    /// Write a frame for every segment and slice, also the empty ones.
    #[arg(long)]
    pub keep_empty_frames: bool,
    /// SEG configuration (TOML: series attributes and segment descriptions); defaults to the
    /// pulmonary artery/vein segments.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// UID root of the new Series and SOP Instance UIDs (overrides the configuration).
    #[arg(long)]
    pub uid_root: Option<String>,
}

/// The DICOM files of a series folder: every regular file except hidden ones and DICOMDIR.
pub(crate) fn series_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading folder {}", dir.display()))? {
        let path = entry.with_context(|| format!("reading folder {}", dir.display()))?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if path.is_file() && !name.starts_with('.') && !name.eq_ignore_ascii_case("DICOMDIR") {
            files.push(path);
        }
    }
    files.sort();
    anyhow::ensure!(!files.is_empty(), "no files in {}", dir.display());
    Ok(files)
}

/// Loads the SEG configuration from a TOML file, or the defaults.
pub(crate) fn load_config(path: Option<&Path>, uid_root: Option<&str>) -> anyhow::Result<SegConfig> {
    let mut config = match path {
        Some(p) => figment::Figment::from(figment::providers::Toml::string(
            &std::fs::read_to_string(p).with_context(|| format!("reading SEG configuration {}", p.display()))?,
        ))
        .extract::<SegConfig>()
        .with_context(|| format!("reading SEG configuration {}", p.display()))?,
        None => SegConfig::default(),
    };
    if let Some(root) = uid_root {
        config.uid_root = root.to_string();
    }
    config.validate()?;
    Ok(config)
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let mut config = load_config(a.config.as_deref(), a.uid_root.as_deref())?;
    config.keep_empty_frames |= a.keep_empty_frames;
    let t = std::time::Instant::now();
    let files = series_files(&a.dicom)?;
    let volume = assemble_files(&files, &AssemblyLimits::default())
        .with_context(|| format!("assembling the CT series in {}", a.dicom.display()))?;
    let (labels, label_grid) =
        seg::read_label_nifti(&a.labels).with_context(|| format!("reading label map {}", a.labels.display()))?;
    seg::check_same_grid(&label_grid, &volume.geometry).with_context(|| {
        format!("{} is not on the grid of the CT series in {}", a.labels.display(), a.dicom.display())
    })?;
    let t_read = t.elapsed().as_secs_f64();

    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let t = std::time::Instant::now();
    let identity = SegIdentity::new(&config);
    let segmentation = seg::build(labels.view(), &volume.geometry, &volume.source, &config, &identity)?;
    let seg_path = a.out.join("seg.dcm");
    segmentation.write_to_file(&seg_path)?;
    let t_seg = t.elapsed().as_secs_f64();
    seg::write_label_nifti(&a.out.join("labels.nii.gz"), labels.view(), &volume.geometry)?;
    seg::write_preview(&a.out.join("preview.png"), volume.hu.view(), labels.view(), &volume.geometry, &config)?;
    println!(
        "SEG {} with {} frames ({} segments) written to {} in {:.3} s (inputs read in {:.2} s); labels.nii.gz and preview.png beside it",
        segmentation.sop_instance_uid(),
        segmentation.frames().len(),
        config.segments.len(),
        seg_path.display(),
        t_seg,
        t_read
    );
    Ok(())
}
