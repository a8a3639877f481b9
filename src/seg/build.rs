//! Label map + source series → [`Segmentation`]: the pure core of the SEG stage.

use super::config::{ConfigError, SegConfig, SegmentationType};
use super::elements::{put_us, Obj};
use super::frames::{plan_frames, UnknownLabel};
use super::segmentation::Segmentation;
use super::{dataset, groups, label_map, pack, SegIdentity};
use crate::geometry::Geometry;
use crate::volume::SeriesRef;
use dicom_dictionary_std::{tags, uids};
use dicom_object::FileMetaTableBuilder;
use ndarray::ArrayView3;

/// Why a label map could not become a SEG.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("label map of shape {labels:?} is not on the source grid of shape {grid:?} ([k, j, i])")]
    ShapeMismatch { labels: [usize; 3], grid: [usize; 3] },
    #[error("source series {series} lists {images} images but the grid has {slices} slices")]
    SourceMismatch { series: String, images: usize, slices: usize },
    #[error("the source grid has no slices")]
    EmptyGrid,
    #[error("frames of {rows} x {columns} pixels do not fit DICOM's 16-bit Rows and Columns")]
    FrameTooLarge { rows: usize, columns: usize },
    #[error("cannot make a SEG: {0}")]
    UnknownLabel(#[from] UnknownLabel),
    #[error("the SEG identity has {tracking_uids} tracking UIDs for {segments} configured segments")]
    IdentityMismatch { tracking_uids: usize, segments: usize },
    #[error("bad SEG identity: {0}")]
    BadUid(String),
    #[error("cannot build the file meta of SEG {sop_instance_uid}: {reason}")]
    FileMeta { sop_instance_uid: String, reason: String },
}

/// Builds a DICOM Segmentation (BINARY, or LABELMAP as `config` says) of `labels` (`[k, j, i]` on `geometry`, the grid of the
/// source series `source`), one segment per configured label value.
///
/// Frames sit on the source slices: frame positions are the grid's slice positions and each
/// frame refers to the source image of its slice, so the result does not depend on the order
/// in which the source instances arrived.
pub fn build(
    labels: ArrayView3<'_, u8>,
    geometry: &Geometry,
    source: &SeriesRef,
    config: &SegConfig,
    identity: &SegIdentity,
) -> Result<Segmentation, BuildError> {
    config.validate()?;
    if identity.tracking_uids.len() != config.segments.len() {
        return Err(BuildError::IdentityMismatch {
            tracking_uids: identity.tracking_uids.len(),
            segments: config.segments.len(),
        });
    }
    for uid in [&identity.series_instance_uid, &identity.sop_instance_uid, &identity.dimension_organization_uid]
        .into_iter()
        .chain(&identity.tracking_uids)
    {
        crate::uid::validate(uid).map_err(|e| BuildError::BadUid(e.to_string()))?;
    }
    let shape = [labels.shape()[0], labels.shape()[1], labels.shape()[2]];
    if shape != geometry.shape {
        return Err(BuildError::ShapeMismatch { labels: shape, grid: geometry.shape });
    }
    let [nk, nj, ni] = shape;
    if nk == 0 {
        return Err(BuildError::EmptyGrid);
    }
    if source.images.len() != nk {
        return Err(BuildError::SourceMismatch {
            series: source.series_instance_uid.clone(),
            images: source.images.len(),
            slices: nk,
        });
    }
    if nj > u16::MAX as usize || ni > u16::MAX as usize || nj == 0 || ni == 0 {
        return Err(BuildError::FrameTooLarge { rows: nj, columns: ni });
    }
    let labels = labels.as_standard_layout();
    let flat = labels.as_slice().unwrap_or_default();
    let planes: Vec<&[u8]> = flat.chunks_exact(nj * ni).collect();

    let kind = config.segmentation_type;
    let summaries = pack::summarize_planes(&planes);
    let present: Vec<[bool; 256]> = summaries.iter().map(|s| s.present).collect();
    let frames = match kind {
        SegmentationType::Binary => plan_frames(&present, config)?,
        SegmentationType::Labelmap => label_map::plan_label_map_frames(&present, config)?,
    };
    let pack = || match kind {
        SegmentationType::Binary => {
            let frame_values: Vec<(usize, u8)> =
                frames.iter().map(|f| (f.slice, config.segments[f.segment_number as usize - 1].label_value)).collect();
            pack::pack_frames(&planes, &summaries, &frame_values, nj * ni)
        }
        SegmentationType::Labelmap => label_map::pack_label_frames(&planes, &frames, config),
    };
    let (pixel_data, per_frame) = rayon::join(pack, || groups::per_frame(&frames, geometry, source, kind));

    let mut obj: Obj = dataset::top_level(source, config, identity);
    groups::dimensions(&mut obj, &identity.dimension_organization_uid, kind);
    groups::put_groups(&mut obj, groups::shared(geometry, source), per_frame);
    put_us(&mut obj, tags::ROWS, &[nj as u16]);
    put_us(&mut obj, tags::COLUMNS, &[ni as u16]);
    // PixelData (the highest tag) stays beside the data set; see `Segmentation`.
    debug_assert!(obj.iter().all(|e| e.header().tag < tags::PIXEL_DATA));

    let meta = FileMetaTableBuilder::new()
        .media_storage_sop_class_uid(kind.sop_class_uid())
        .media_storage_sop_instance_uid(identity.sop_instance_uid.as_str())
        .transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN)
        .implementation_class_uid(crate::IMPLEMENTATION_CLASS_UID)
        .implementation_version_name(crate::IMPLEMENTATION_VERSION_NAME);
    let object = obj.with_meta(meta).map_err(|e| BuildError::FileMeta {
        sop_instance_uid: identity.sop_instance_uid.clone(),
        reason: e.to_string(),
    })?;
    Ok(Segmentation {
        object,
        pixel_data,
        frames,
        series_instance_uid: identity.series_instance_uid.clone(),
        sop_instance_uid: identity.sop_instance_uid.clone(),
    })
}
