//! Label augmentation: artery and vein become left artery, left vein, right artery and right
//! vein (the network's four output channels, in the plugin's class order), split between the
//! patient's left and right at a per-case midline plane; and which of those classes a case
//! supervises.
//!
//! The midline plane is sagittal (normal to the patient's left-right axis, LPS x) at the centre
//! of the gap between the two lungs: lung parenchyma is taken as the voxels between
//! [`LUNG_HU`] (which leaves out air outside the body and in the airways, -1000 HU); their
//! count per 2 mm of LPS x is smoothed over 10 mm, and within the middle half of the lung voxels
//! (25th to 75th percentile of x) the plane lies at the centre of the run of positions whose
//! count is within 10 % (of the band's range) of the band's minimum: the mediastinum. A voxel
//! whose centre lies on the plane or to the patient's left of it is left. A case may instead
//! supply a side mask (1 left, 2 right, 0 decided by the plane), e.g. from a lung-lobe model.

use super::dataset::LabeledSide;
use crate::geometry::{dot, sub, Geometry, Vec3};
use ndarray::{Array3, ArrayView3, Zip};

/// Channel order of the four classes (the pulmonary-av plugin's `[[classes]]`).
pub const LEFT_ARTERY: usize = 0;
pub const LEFT_VEIN: usize = 1;
pub const RIGHT_ARTERY: usize = 2;
pub const RIGHT_VEIN: usize = 3;
pub const CLASSES: usize = 4;

/// HU range of lung parenchyma for finding the midline.
pub const LUNG_HU: [f32; 2] = [-920.0, -500.0];

/// Values of a four-class label map: 0 background, then channel + 1.
pub fn four_class_value(channel: usize) -> u8 {
    channel as u8 + 1
}

/// The channel that a left-right flip maps each channel to.
pub fn mirrored(channel: usize) -> usize {
    match channel {
        LEFT_ARTERY => RIGHT_ARTERY,
        LEFT_VEIN => RIGHT_VEIN,
        RIGHT_ARTERY => LEFT_ARTERY,
        RIGHT_VEIN => LEFT_VEIN,
        other => other,
    }
}

/// The classes a case supervises: all four when fully labelled, only its labelled side's
/// artery and vein when half-labelled.
pub fn supervised(side: LabeledSide) -> [bool; CLASSES] {
    match side {
        LabeledSide::Both => [true; 4],
        LabeledSide::Left => [true, true, false, false],
        LabeledSide::Right => [false, false, true, true],
    }
}

/// A plane splitting the patient into left and right.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Midline {
    /// A point on the plane (LPS, mm).
    pub point: Vec3,
    /// Unit normal pointing to the patient's left.
    pub normal: Vec3,
}

impl Midline {
    /// The sagittal plane at LPS x = `x_mm`.
    pub fn sagittal(x_mm: f64) -> Self {
        Midline { point: [x_mm, 0.0, 0.0], normal: [1.0, 0.0, 0.0] }
    }

    pub fn is_left(&self, p: Vec3) -> bool {
        dot(sub(p, self.point), self.normal) >= 0.0
    }

    /// The plane between the lungs of a CT (see the module documentation); the plane through
    /// the grid's centre when it shows too little lung to tell.
    pub fn from_lungs(hu: ArrayView3<'_, f32>, geometry: &Geometry) -> Self {
        let [nk, nj, ni] = geometry.shape;
        let centre = geometry.index_to_lps((nk as f64 - 1.0) / 2.0, (nj as f64 - 1.0) / 2.0, (ni as f64 - 1.0) / 2.0);
        let mut xs: Vec<f64> = Vec::new();
        for ((k, j, i), &v) in hu.indexed_iter() {
            if v >= LUNG_HU[0] && v <= LUNG_HU[1] {
                xs.push(geometry.index_to_lps(k as f64, j as f64, i as f64)[0]);
            }
        }
        if xs.len() < 100 {
            return Midline::sagittal(centre[0]);
        }
        xs.sort_by(f64::total_cmp);
        let q = |f: f64| xs[((xs.len() - 1) as f64 * f).round() as usize];
        let (lo, hi) = (q(0.25), q(0.75));
        const BIN: f64 = 2.0;
        let first = xs[0];
        let bins = ((xs[xs.len() - 1] - first) / BIN).floor() as usize + 1;
        let mut counts = vec![0f64; bins];
        for &x in &xs {
            counts[((x - first) / BIN).floor() as usize] += 1.0;
        }
        // Smooth over 10 mm (5 bins).
        let smooth: Vec<f64> = (0..bins)
            .map(|b| {
                let (a, z) = (b.saturating_sub(2), (b + 3).min(bins));
                counts[a..z].iter().sum::<f64>() / (z - a) as f64
            })
            .collect();
        let x_of = |b: usize| first + (b as f64 + 0.5) * BIN;
        let band: Vec<usize> = (0..bins).filter(|&b| x_of(b) >= lo && x_of(b) <= hi).collect();
        if band.is_empty() {
            return Midline::sagittal((lo + hi) / 2.0);
        }
        let min = band.iter().map(|&b| smooth[b]).fold(f64::INFINITY, f64::min);
        let max = band.iter().map(|&b| smooth[b]).fold(f64::NEG_INFINITY, f64::max);
        let limit = min + 0.1 * (max - min);
        let Some(&best) = band.iter().find(|&&b| smooth[b] == min) else {
            return Midline::sagittal((lo + hi) / 2.0);
        };
        let (mut a, mut z) = (best, best);
        while a > band[0] && smooth[a - 1] <= limit {
            a -= 1;
        }
        while z < band[band.len() - 1] && smooth[z + 1] <= limit {
            z += 1;
        }
        Midline::sagittal((x_of(a) + x_of(z)) / 2.0)
    }
}

/// Whether voxel `[k, j, i]` is on the patient's left: by `side_mask` where it is 1 (left) or 2
/// (right), else by `midline`.
pub fn is_left_voxel(side_mask: Option<ArrayView3<'_, u8>>, geometry: &Geometry, midline: &Midline, [k, j, i]: [usize; 3]) -> bool {
    match side_mask.map(|m| m[[k, j, i]]) {
        Some(1) => true,
        Some(2) => false,
        _ => midline.is_left(geometry.index_to_lps(k as f64, j as f64, i as f64)),
    }
}

/// The four-class label map (0 background, 1 left artery, 2 left vein, 3 right artery, 4
/// right vein) of `labels` (0, 1 artery, 2 vein) on `geometry`: a voxel's side comes from
/// `side_mask` where it is 1 or 2, else from `midline`.
pub fn split_sides(labels: ArrayView3<'_, u8>, geometry: &Geometry, midline: &Midline, side_mask: Option<ArrayView3<'_, u8>>) -> Array3<u8> {
    let mut out = Array3::<u8>::zeros(labels.raw_dim());
    Zip::indexed(&mut out).and(labels).par_for_each(|(k, j, i), o, &l| {
        if l == 0 || l > 2 {
            return;
        }
        let left = is_left_voxel(side_mask, geometry, midline, [k, j, i]);
        let artery = l == 1;
        let channel = match (left, artery) {
            (true, true) => LEFT_ARTERY,
            (true, false) => LEFT_VEIN,
            (false, true) => RIGHT_ARTERY,
            (false, false) => RIGHT_VEIN,
        };
        *o = four_class_value(channel);
    });
    out
}

/// What a half-labelled case's label map keeps when its other side is erased: the vessels on
/// `side` of the split (used to make half-labelled cases from fully labelled ones).
pub fn keep_side(four_class: ArrayView3<'_, u8>, side: LabeledSide) -> Array3<u8> {
    let keep = supervised(side);
    four_class.mapv(|v| match v {
        0 => 0,
        v if keep[(v - 1) as usize] => if (v - 1) as usize % 2 == 0 { 1 } else { 2 },
        _ => 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirroring_swaps_sides_and_keeps_vessel_type() {
        for c in 0..CLASSES {
            assert_eq!(mirrored(mirrored(c)), c);
            assert_ne!(mirrored(c), c);
            assert_eq!(mirrored(c) % 2, c % 2);
        }
    }
}
