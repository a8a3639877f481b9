//! Centreline Dice (clDice, Shit et al., CVPR 2021): how much of each mask's centreline lies
//! inside the other mask. Dice counts voxels, so a missed thin branch or a gap that cuts a
//! vessel in two barely moves it; clDice counts centreline, where such errors weigh as much
//! as their length.
//!
//! - topology precision = |skel(P) ∩ T| / |skel(P)|, topology sensitivity = |skel(T) ∩ P| / |skel(T)|;
//! - clDice = their harmonic mean; 1 when both masks are empty, 0 when exactly one is (as DSC).
//!
//! The centreline is [`super::skeleton::skeletonize`] (scikit-image's 3-D thinning), voxel
//! counts, so the value does not depend on the spacing. That thinning deletes some objects
//! whole (a box of even thickness, a 2x2x2 cube); a 26-connected component of the mask left
//! without any centreline voxel is its own centreline, so no vessel drops out of the score.

use super::components::for_each_component;
use super::skeleton::skeletonize;
use ndarray::{Array3, ArrayView3, Zip};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CenterlineDice {
    pub cldice: f64,
    /// Share of the prediction's centreline inside the reference.
    pub topology_precision: f64,
    /// Share of the reference's centreline inside the prediction.
    pub topology_sensitivity: f64,
    pub pred_centreline_voxels: u64,
    pub truth_centreline_voxels: u64,
}

/// The skeleton, plus every 26-connected component of `mask` that the thinning deleted whole.
pub fn centreline(mask: ArrayView3<'_, bool>) -> Array3<bool> {
    let mut line = skeletonize(mask);
    let flat: Vec<u8> = mask.iter().map(|&m| m as u8).collect();
    let Some(out) = line.as_slice_mut() else { return line };
    let mut bare = Vec::new();
    for_each_component(&flat, mask.dim(), |_, component| {
        if !component.iter().any(|&v| out[v]) {
            bare.extend_from_slice(component);
        }
    });
    for v in bare {
        out[v] = true;
    }
    line
}

/// Voxels of `skeleton` and how many of them lie in `mask`.
fn inside(skeleton: ArrayView3<'_, bool>, mask: ArrayView3<'_, bool>) -> (u64, u64) {
    Zip::from(skeleton).and(mask).fold((0, 0), |(n, hit), &s, &m| (n + s as u64, hit + (s && m) as u64))
}

/// clDice of `pred` against `truth`, both `[k, j, i]` on one grid (the caller checks the shapes).
pub fn centerline_dice(pred: ArrayView3<'_, bool>, truth: ArrayView3<'_, bool>) -> CenterlineDice {
    let (sp, st) = rayon::join(|| centreline(pred), || centreline(truth));
    let (np, hp) = inside(sp.view(), truth);
    let (nt, ht) = inside(st.view(), pred);
    let ratio = |hit: u64, n: u64| if n == 0 { f64::NAN } else { hit as f64 / n as f64 };
    let (tprec, tsens) = (ratio(hp, np), ratio(ht, nt));
    let cldice = match (np, nt) {
        (0, 0) => 1.0,
        (0, _) | (_, 0) => 0.0,
        _ if tprec + tsens == 0.0 => 0.0,
        _ => 2.0 * tprec * tsens / (tprec + tsens),
    };
    CenterlineDice { cldice, topology_precision: tprec, topology_sensitivity: tsens, pred_centreline_voxels: np, truth_centreline_voxels: nt }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::s;

    #[test]
    fn a_missing_thin_branch_costs_cldice_more_than_dice() {
        let mut truth = Array3::from_elem((12, 12, 40), false);
        truth.slice_mut(s![3..8, 3..8, 2..38]).fill(true); // trunk
        truth.slice_mut(s![5..6, 9..12, 10..30]).fill(true); // a thin branch beside it
        let mut pred = truth.clone();
        pred.slice_mut(s![5..6, 9..12, 10..30]).fill(false);
        let c = centerline_dice(pred.view(), truth.view());
        let o = super::super::overlap(pred.view(), truth.view());
        assert_eq!(c.topology_precision, 1.0);
        assert!(c.topology_sensitivity < 0.9, "{c:?}");
        assert!(c.cldice < o.dsc(), "clDice {} DSC {}", c.cldice, o.dsc());
        let same = centerline_dice(truth.view(), truth.view());
        assert_eq!(same.cldice, 1.0);
        // scikit-image's thinning deletes a box of even thickness; it is its own centreline.
        let mut even = Array3::from_elem((8, 8, 8), false);
        even.slice_mut(s![2..6, 2..6, 2..6]).fill(true);
        assert!(!skeletonize(even.view()).iter().any(|&v| v));
        assert_eq!(centreline(even.view()), even);
        let empty = Array3::from_elem(truth.raw_dim(), false);
        assert_eq!(centerline_dice(empty.view(), empty.view()).cldice, 1.0);
        assert_eq!(centerline_dice(empty.view(), truth.view()).cldice, 0.0);
    }
}
