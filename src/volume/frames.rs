//! Multi-frame images (Enhanced CT, Legacy Converted Enhanced CT): one plane header per frame.
//! Such an image has no top-level position, orientation, spacing or rescale; each frame's come
//! from its Per-Frame Functional Groups item, or, for a macro that is the same for all frames,
//! from the Shared Functional Groups (PS3.3 C.7.6.16).

use super::assemble::AssembleError;
use super::header::{tag_name, Located, SliceHeader};
use dicom_core::Tag;
use dicom_dictionary_std::{tags, uids};
use dicom_object::{DefaultDicomObject, InMemDicomObject};
use std::path::Path;

/// Storage SOP classes whose images are multi-frame with functional groups.
const MULTI_FRAME_CLASSES: &[&str] = &[
    uids::ENHANCED_CT_IMAGE_STORAGE,
    uids::LEGACY_CONVERTED_ENHANCED_CT_IMAGE_STORAGE,
    uids::ENHANCED_MR_IMAGE_STORAGE,
    uids::LEGACY_CONVERTED_ENHANCED_MR_IMAGE_STORAGE,
];

/// Whether the image keeps its geometry in functional groups: its SOP class says so, or it
/// carries either functional group sequence.
pub(super) fn is_multi_frame(obj: &DefaultDicomObject) -> bool {
    let class = super::header::text(obj, tags::SOP_CLASS_UID).unwrap_or_default();
    MULTI_FRAME_CLASSES.contains(&class.as_str())
        || obj.get(tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE).is_some()
        || obj.get(tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE).is_some()
}

/// One header per frame, `base` (the instance's identity) completed with each frame's
/// geometry and rescale.
pub(super) fn frame_headers(path: &Path, obj: &DefaultDicomObject, base: SliceHeader) -> Result<Vec<SliceHeader>, AssembleError> {
    let sop = base.sop_instance_uid.clone();
    let bad = |tag: Tag, reason: String| AssembleError::BadAttribute {
        file: path.to_path_buf(),
        attribute: format!("{} (SOP Instance {sop})", tag_name(tag)),
        reason,
    };
    let missing = |tag: Tag| AssembleError::MissingAttribute {
        file: path.to_path_buf(),
        attribute: format!("{} (SOP Instance {sop})", tag_name(tag)),
    };
    if obj.get(tags::NUMBER_OF_FRAMES).is_none() {
        return Err(missing(tags::NUMBER_OF_FRAMES));
    }
    let frames = base.number_of_frames as usize;
    if frames == 0 {
        return Err(bad(tags::NUMBER_OF_FRAMES, "a multi-frame image needs at least one frame".into()));
    }
    let per_frame = obj
        .get(tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE)
        .ok_or_else(|| missing(tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE))?
        .items()
        .ok_or_else(|| bad(tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE, "not a sequence".into()))?;
    if per_frame.len() != frames {
        return Err(bad(
            tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE,
            format!("PerFrameFunctionalGroupsSequence has {} items, NumberOfFrames is {frames}", per_frame.len()),
        ));
    }
    let shared = first_item(obj, tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE);
    let hounsfield = base.modality == "CT";
    per_frame
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let frame = i as u32 + 1;
            let groups = Groups { path, frame, sop: &sop, own: item, shared };
            let mut h = base.clone();
            h.frame_number = Some(frame);
            h.position = groups.macro_item(tags::PLANE_POSITION_SEQUENCE)?.position()?;
            h.orientation = groups.macro_item(tags::PLANE_ORIENTATION_SEQUENCE)?.orientation()?;
            h.pixel_spacing = groups.macro_item(tags::PIXEL_MEASURES_SEQUENCE)?.spacing()?;
            // Stored values of a CT must be mapped to HU; other modalities have no such unit
            // and are kept as stored when they carry no transformation.
            h.rescale = Some(match groups.macro_item(tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE) {
                Ok(m) => m.rescale()?,
                Err(e) if hounsfield => return Err(e),
                Err(_) => [1.0, 0.0],
            });
            Ok(h)
        })
        .collect()
}

/// The functional groups that apply to one frame.
struct Groups<'a> {
    path: &'a Path,
    frame: u32,
    sop: &'a str,
    own: &'a InMemDicomObject,
    shared: Option<&'a InMemDicomObject>,
}

impl<'a> Groups<'a> {
    /// The item of a functional group macro: the frame's own, else the shared one.
    fn macro_item(&self, sequence: Tag) -> Result<Located<'a>, AssembleError> {
        let (obj, place) = match first_item(self.own, sequence) {
            Some(item) => (item, "per-frame"),
            None => match self.shared.and_then(|s| first_item(s, sequence)) {
                Some(item) => (item, "shared"),
                None => {
                    return Err(AssembleError::MissingAttribute {
                        file: self.path.to_path_buf(),
                        attribute: format!(
                            "{} for frame {} (neither in its PerFrameFunctionalGroupsSequence item nor in SharedFunctionalGroupsSequence; SOP Instance {})",
                            tag_name(sequence),
                            self.frame,
                            self.sop
                        ),
                    })
                }
            },
        };
        let context = format!("{place} {} of frame {}, SOP Instance {}", tag_name(sequence), self.frame, self.sop);
        Ok(Located { path: self.path, obj, context })
    }
}

fn first_item(obj: &InMemDicomObject, tag: Tag) -> Option<&InMemDicomObject> {
    obj.get(tag)?.items()?.first()
}
