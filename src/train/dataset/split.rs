//! Reproducible train/validation/test split.

use super::{Case, DatasetError};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    Train,
    Val,
    Test,
}

impl std::str::FromStr for Split {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "train" => Ok(Split::Train),
            "val" => Ok(Split::Val),
            "test" => Ok(Split::Test),
            other => Err(format!("split `{other}` is not one of train, val, test")),
        }
    }
}

/// Relative sizes of train, val and test (7:1:2 by default).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SplitRatios(pub [f64; 3]);

impl Default for SplitRatios {
    fn default() -> Self {
        SplitRatios([7.0, 1.0, 2.0])
    }
}

/// The split of every case, in the order given. Cases with an explicit split keep it; the
/// others are sorted by id, shuffled with `seed` and cut by the ratios (rounded, test and val
/// first, each at least one case when its ratio is positive and enough cases remain), so the
/// split depends only on the ids, the seed and the ratios, not on the listing order.
pub fn split_cases(cases: &[Case], seed: u64, ratios: SplitRatios) -> Result<Vec<Split>, DatasetError> {
    let r = ratios.0;
    if r.iter().any(|v| !(v.is_finite() && *v >= 0.0)) || r.iter().sum::<f64>() <= 0.0 {
        return Err(DatasetError::CheckRatios(r));
    }
    let mut free: Vec<usize> = (0..cases.len()).filter(|&n| cases[n].split.is_none()).collect();
    free.sort_by(|&a, &b| cases[a].id.cmp(&cases[b].id));
    free.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let n = free.len();
    let total: f64 = r.iter().sum();
    let count = |ratio: f64, left: usize| -> usize {
        if ratio <= 0.0 || left == 0 {
            return 0;
        }
        ((ratio / total * n as f64).round() as usize).clamp(1, left)
    };
    let n_test = count(r[2], n.saturating_sub(1));
    let n_val = count(r[1], n.saturating_sub(1 + n_test));
    let mut out: Vec<Split> = cases.iter().map(|c| c.split.unwrap_or(Split::Train)).collect();
    for (rank, &idx) in free.iter().enumerate() {
        out[idx] = if rank < n_test {
            Split::Test
        } else if rank < n_test + n_val {
            Split::Val
        } else {
            Split::Train
        };
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::dataset::{ImageSource, LabeledSide};

    fn cases(n: usize) -> Vec<Case> {
        (0..n)
            .map(|i| Case {
                id: format!("case{i:03}"),
                image: ImageSource::Nifti(format!("{i}.nii.gz").into()),
                labels: format!("{i}_labels.nii.gz").into(),
                labeled_side: LabeledSide::Both,
                side_mask: None,
                split: None,
                segment_names: Default::default(),
            })
            .collect()
    }

    #[test]
    fn seven_one_two_reproducible_and_order_free() {
        let c = cases(20);
        let a = split_cases(&c, 3, SplitRatios::default()).unwrap();
        let count = |s: &[Split], x: Split| s.iter().filter(|&&v| v == x).count();
        assert_eq!((count(&a, Split::Train), count(&a, Split::Val), count(&a, Split::Test)), (14, 2, 4));
        assert_eq!(a, split_cases(&c, 3, SplitRatios::default()).unwrap());
        assert_ne!(a, split_cases(&c, 4, SplitRatios::default()).unwrap());
        let mut reversed = c.clone();
        reversed.reverse();
        let mut b = split_cases(&reversed, 3, SplitRatios::default()).unwrap();
        b.reverse();
        assert_eq!(a, b);
        let mut fixed = c.clone();
        fixed[0].split = Some(Split::Test);
        assert_eq!(split_cases(&fixed, 3, SplitRatios::default()).unwrap()[0], Split::Test);
        assert!(split_cases(&c, 3, SplitRatios([0.0, 0.0, 0.0])).is_err());
    }
}
