//! Multi-frame Functional Groups and Multi-frame Dimension modules: where each frame lies, which
//! source image it was derived from and which segment it holds.

use super::config::{Code, SegmentationType};
use super::elements::{code_item, put_ds, put_is, put_seq, put_str, put_tags, put_ul, put_us, Obj};
use super::frames::FrameRef;
use crate::geometry::Geometry;
use crate::volume::SeriesRef;
use dicom_core::VR;
use dicom_dictionary_std::tags;
use rayon::prelude::*;

/// DCM 113076 "Segmentation" (CID 7203): how each frame was derived from its source image.
fn derivation_code() -> Code {
    Code::new("113076", "DCM", "Segmentation")
}

/// DCM 121322 "Source image for image processing operation" (CID 7202).
fn purpose_of_reference() -> Code {
    Code::new("121322", "DCM", "Source image for image processing operation")
}

/// Shared Functional Groups: Pixel Measures and Plane Orientation, identical for all frames.
pub(crate) fn shared(geometry: &Geometry, source: &SeriesRef) -> Obj {
    let mut measures = Obj::new_empty();
    put_ds(&mut measures, tags::PIXEL_SPACING, &[geometry.spacing[1], geometry.spacing[2]]);
    let thickness = source_slice_thickness(source).unwrap_or(geometry.spacing[0]);
    put_ds(&mut measures, tags::SLICE_THICKNESS, &[thickness]);
    put_ds(&mut measures, tags::SPACING_BETWEEN_SLICES, &[geometry.spacing[0]]);
    let mut orientation = Obj::new_empty();
    let (r, c) = (geometry.row_dir, geometry.col_dir);
    put_ds(&mut orientation, tags::IMAGE_ORIENTATION_PATIENT, &[r[0], r[1], r[2], c[0], c[1], c[2]]);
    let mut item = Obj::new_empty();
    put_seq(&mut item, tags::PIXEL_MEASURES_SEQUENCE, vec![measures]);
    put_seq(&mut item, tags::PLANE_ORIENTATION_SEQUENCE, vec![orientation]);
    item
}

/// The source's SliceThickness: at the top level of a single-frame image, in the Pixel Measures
/// of a multi-frame image's shared groups or else of its first frame.
fn source_slice_thickness(source: &SeriesRef) -> Option<f64> {
    let positive = |obj: &Obj| {
        obj.get(tags::SLICE_THICKNESS).and_then(|e| e.to_float64().ok()).filter(|t| t.is_finite() && *t > 0.0)
    };
    let measures = |group| {
        let item = source.header.get(group)?.items()?.first()?;
        positive(item.get(tags::PIXEL_MEASURES_SEQUENCE)?.items()?.first()?)
    };
    positive(&source.header)
        .or_else(|| measures(tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE))
        .or_else(|| measures(tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE))
}

/// One Per-Frame Functional Groups item per frame.
///
/// The Dimension Index Values are (segment number, slice `k + 1`), or (slice `k + 1`) alone in
/// a LABELMAP SEG, whose frames hold every segment and have no Segment Identification: the
/// position index is the rank of the frame's plane among the source series' planes along the
/// slice normal, the same for a slice whether or not the empty frames are left out.
pub(crate) fn per_frame(frames: &[FrameRef], geometry: &Geometry, source: &SeriesRef, kind: SegmentationType) -> Vec<Obj> {
    let derivation = code_item(&derivation_code());
    let purpose = code_item(&purpose_of_reference());
    frames
        .par_iter()
        .map(|f| {
            let image = &source.images[f.slice];
            let mut src = Obj::new_empty();
            put_str(&mut src, tags::REFERENCED_SOP_CLASS_UID, VR::UI, image.sop_class_uid.as_str());
            put_str(&mut src, tags::REFERENCED_SOP_INSTANCE_UID, VR::UI, image.sop_instance_uid.as_str());
            if let Some(frame) = image.frame_number {
                put_is(&mut src, tags::REFERENCED_FRAME_NUMBER, frame as i64);
            }
            put_seq(&mut src, tags::PURPOSE_OF_REFERENCE_CODE_SEQUENCE, vec![purpose.clone()]);
            // Same pixel grid as the source image: readers may index the SEG by source image.
            put_str(&mut src, tags::SPATIAL_LOCATIONS_PRESERVED, VR::CS, "YES");
            let mut derivation_item = Obj::new_empty();
            put_seq(&mut derivation_item, tags::DERIVATION_CODE_SEQUENCE, vec![derivation.clone()]);
            put_seq(&mut derivation_item, tags::SOURCE_IMAGE_SEQUENCE, vec![src]);

            let mut content = Obj::new_empty();
            let index = match kind {
                SegmentationType::Binary => vec![f.segment_number as u32, f.slice as u32 + 1],
                SegmentationType::Labelmap => vec![f.slice as u32 + 1],
            };
            put_ul(&mut content, tags::DIMENSION_INDEX_VALUES, &index);
            let mut position = Obj::new_empty();
            put_ds(&mut position, tags::IMAGE_POSITION_PATIENT, &geometry.slice_position(f.slice));

            let mut item = Obj::new_empty();
            put_seq(&mut item, tags::DERIVATION_IMAGE_SEQUENCE, vec![derivation_item]);
            put_seq(&mut item, tags::FRAME_CONTENT_SEQUENCE, vec![content]);
            put_seq(&mut item, tags::PLANE_POSITION_SEQUENCE, vec![position]);
            if kind == SegmentationType::Binary {
                let mut segment = Obj::new_empty();
                put_us(&mut segment, tags::REFERENCED_SEGMENT_NUMBER, &[f.segment_number]);
                put_seq(&mut item, tags::SEGMENT_IDENTIFICATION_SEQUENCE, vec![segment]);
            }
            item
        })
        .collect()
}

/// Multi-frame Dimension module: frames are indexed by segment number, then by plane position
/// (by plane position alone in a LABELMAP SEG).
pub(crate) fn dimensions(obj: &mut Obj, dimension_organization_uid: &str, kind: SegmentationType) {
    put_seq(obj, tags::DIMENSION_ORGANIZATION_SEQUENCE, vec![seq_item_uid(dimension_organization_uid)]);
    let index = |pointer, group, label: &str| {
        let mut d = seq_item_uid(dimension_organization_uid);
        put_tags(&mut d, tags::DIMENSION_INDEX_POINTER, &[pointer]);
        put_tags(&mut d, tags::FUNCTIONAL_GROUP_POINTER, &[group]);
        put_str(&mut d, tags::DIMENSION_DESCRIPTION_LABEL, VR::LO, label);
        d
    };
    let position = index(tags::IMAGE_POSITION_PATIENT, tags::PLANE_POSITION_SEQUENCE, "Image Position Patient");
    let indices = match kind {
        SegmentationType::Binary => vec![
            index(tags::REFERENCED_SEGMENT_NUMBER, tags::SEGMENT_IDENTIFICATION_SEQUENCE, "Segment Number"),
            position,
        ],
        SegmentationType::Labelmap => vec![position],
    };
    put_seq(obj, tags::DIMENSION_INDEX_SEQUENCE, indices);
}

fn seq_item_uid(uid: &str) -> Obj {
    let mut o = Obj::new_empty();
    put_str(&mut o, tags::DIMENSION_ORGANIZATION_UID, VR::UI, uid);
    o
}

/// NumberOfFrames and the two functional group sequences.
pub(crate) fn put_groups(obj: &mut Obj, shared_item: Obj, per_frame_items: Vec<Obj>) {
    put_is(obj, tags::NUMBER_OF_FRAMES, per_frame_items.len() as i64);
    put_seq(obj, tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE, vec![shared_item]);
    put_seq(obj, tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE, per_frame_items);
}
