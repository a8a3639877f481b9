//! Which frames a SEG holds: one per (segment, source slice), empty ones left out unless asked
//! for, always on a source slice.

use super::config::SegConfig;

/// One frame of a SEG: segment `segment_number` (1-based) on source slice `slice` (`k`). In a
/// LABELMAP SEG a frame holds every segment of its slice and `segment_number` is 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FrameRef {
    pub segment_number: u16,
    pub slice: usize,
}

/// A label map value that no configured segment describes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("label value {value} on slice k={slice} has no segment description (configured label values: {configured:?})")]
pub struct UnknownLabel {
    pub value: u8,
    pub slice: usize,
    pub configured: Vec<u8>,
}

/// Refuses a label map with a value that no configured segment describes.
pub(crate) fn check_known_labels(present: &[[bool; 256]], config: &SegConfig) -> Result<(), UnknownLabel> {
    let segment_of = config.segment_of_label();
    for (k, p) in present.iter().enumerate() {
        if let Some(v) = (1..256).find(|&v| p[v] && segment_of[v] == 0) {
            return Err(UnknownLabel {
                value: v as u8,
                slice: k,
                configured: config.segments.iter().map(|s| s.label_value).collect(),
            });
        }
    }
    Ok(())
}

/// The frames to write, segment by segment and along the slice normal within a segment
/// (the order highdicom and dcmqi use too).
///
/// `present[k][v]` says whether label value `v` occurs on slice `k`. Without
/// `keep_empty_frames`, only non-empty frames are kept; a segment with no voxels at all then has
/// no frames (its description stays), and a SEG with no segmented voxel at all keeps one empty
/// frame of segment 1 on slice 0, because a SEG needs at least one frame.
pub fn plan_frames(present: &[[bool; 256]], config: &SegConfig) -> Result<Vec<FrameRef>, UnknownLabel> {
    check_known_labels(present, config)?;
    let mut frames = Vec::new();
    for (n, s) in config.segments.iter().enumerate() {
        for (k, p) in present.iter().enumerate() {
            if config.keep_empty_frames || p[s.label_value as usize] {
                frames.push(FrameRef { segment_number: (n + 1) as u16, slice: k });
            }
        }
    }
    if frames.is_empty() && !present.is_empty() {
        frames.push(FrameRef { segment_number: 1, slice: 0 });
    }
    Ok(frames)
}

/// The presence table of planes holding the given label values (for the planners' tests).
#[cfg(test)]
pub(crate) fn presence(slices: &[&[u8]]) -> Vec<[bool; 256]> {
    slices
        .iter()
        .map(|vals| {
            let mut p = [false; 256];
            for &v in *vals {
                p[v as usize] = true;
            }
            p
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn omits_empty_frames_and_keeps_them_on_their_slices() {
        let config = SegConfig::default();
        let p = presence(&[&[], &[1], &[1, 2], &[], &[2]]);
        let f = plan_frames(&p, &config).unwrap();
        let pairs: Vec<(u16, usize)> = f.iter().map(|f| (f.segment_number, f.slice)).collect();
        assert_eq!(pairs, vec![(1, 1), (1, 2), (2, 2), (2, 4)]);
    }

    #[test]
    fn keeps_every_frame_when_asked() {
        let config = SegConfig { keep_empty_frames: true, ..SegConfig::default() };
        let p = presence(&[&[], &[1], &[]]);
        let f = plan_frames(&p, &config).unwrap();
        assert_eq!(f.len(), 6);
        assert_eq!(f[3], FrameRef { segment_number: 2, slice: 0 });
    }

    #[test]
    fn an_all_empty_mask_still_has_one_frame() {
        let f = plan_frames(&presence(&[&[], &[]]), &SegConfig::default()).unwrap();
        assert_eq!(f, vec![FrameRef { segment_number: 1, slice: 0 }]);
    }

    #[test]
    fn unknown_label_values_are_refused_with_their_slice() {
        let e = plan_frames(&presence(&[&[1], &[3]]), &SegConfig::default()).unwrap_err();
        assert_eq!((e.value, e.slice), (3, 1));
        assert!(e.to_string().contains("label value 3 on slice k=1"));
    }
}
