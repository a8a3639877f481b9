//! Volume overlap: voxel counts, Dice and Jaccard.

use ndarray::{ArrayView3, Zip};

/// Voxel counts of two masks and of their intersection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overlap {
    pub pred: u64,
    pub truth: u64,
    pub both: u64,
}

impl Overlap {
    /// 2|P∩T| / (|P| + |T|); 1 when both are empty.
    pub fn dsc(&self) -> f64 {
        let sum = self.pred + self.truth;
        if sum == 0 {
            1.0
        } else {
            2.0 * self.both as f64 / sum as f64
        }
    }

    /// |P∩T| / |P∪T|; 1 when both are empty.
    pub fn jaccard(&self) -> f64 {
        let union = self.pred + self.truth - self.both;
        if union == 0 {
            1.0
        } else {
            self.both as f64 / union as f64
        }
    }
}

pub fn overlap(pred: ArrayView3<'_, bool>, truth: ArrayView3<'_, bool>) -> Overlap {
    let zero = || Overlap { pred: 0, truth: 0, both: 0 };
    Zip::from(pred).and(truth).par_fold(
        zero,
        |mut acc, &p, &t| {
            acc.pred += p as u64;
            acc.truth += t as u64;
            acc.both += (p && t) as u64;
            acc
        },
        |a, b| Overlap { pred: a.pred + b.pred, truth: a.truth + b.truth, both: a.both + b.both },
    )
}
