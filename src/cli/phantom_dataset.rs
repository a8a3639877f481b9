//! `pavseg phantom-dataset`: a reproducible training dataset of phantoms (fully and
//! half-labelled) with its manifest.

use crate::phantom::PhantomParams;
use crate::train::dataset::{LabeledSide, Split};
use crate::train::phantoms::{make_phantom_dataset, PhantomCase};
use anyhow::Context;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output folder: one folder per phantom and manifest.toml.
    #[arg(long)]
    pub out: PathBuf,
    /// Training seeds, e.g. `1-16` or `1,2,5`.
    #[arg(long, default_value = "1-16")]
    pub train_seeds: String,
    #[arg(long, default_value = "17-18")]
    pub val_seeds: String,
    /// Held-out test seeds.
    #[arg(long, default_value = "101-105")]
    pub test_seeds: String,
    /// Training seeds whose right side is erased (only the left lung labelled).
    #[arg(long, default_value = "")]
    pub half_left: String,
    /// Training seeds whose left side is erased.
    #[arg(long, default_value = "")]
    pub half_right: String,
    #[arg(long, default_value_t = 64)]
    pub slices: usize,
    #[arg(long, default_value_t = 96)]
    pub rows: usize,
    #[arg(long, default_value_t = 96)]
    pub cols: usize,
    #[arg(long, default_value_t = 3.5)]
    pub pixel_spacing: f64,
    #[arg(long, default_value_t = 3.0)]
    pub slice_spacing: f64,
}

/// `a-b` ranges and single numbers separated by commas.
fn seeds(s: &str) -> anyhow::Result<Vec<u64>> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (u64, u64) = (a.trim().parse().context(part.to_owned())?, b.trim().parse().context(part.to_owned())?);
                anyhow::ensure!(a <= b, "seed range {part} is descending");
                out.extend(a..=b);
            }
            None => out.push(part.parse().with_context(|| format!("seed `{part}`"))?),
        }
    }
    Ok(out)
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let (train, val, test) = (seeds(&a.train_seeds)?, seeds(&a.val_seeds)?, seeds(&a.test_seeds)?);
    let (left, right) = (seeds(&a.half_left)?, seeds(&a.half_right)?);
    let mut all: Vec<u64> = train.iter().chain(&val).chain(&test).copied().collect();
    all.sort_unstable();
    anyhow::ensure!(all.windows(2).all(|w| w[0] != w[1]), "a seed is listed in two splits");
    for s in left.iter().chain(&right) {
        anyhow::ensure!(train.contains(s), "half-labelled seed {s} is not a training seed");
    }
    let side = |s: u64| if left.contains(&s) { LabeledSide::Left } else if right.contains(&s) { LabeledSide::Right } else { LabeledSide::Both };
    let mut cases = Vec::new();
    cases.extend(train.iter().map(|&seed| PhantomCase { seed, split: Split::Train, labeled_side: side(seed) }));
    cases.extend(val.iter().map(|&seed| PhantomCase { seed, split: Split::Val, labeled_side: LabeledSide::Both }));
    cases.extend(test.iter().map(|&seed| PhantomCase { seed, split: Split::Test, labeled_side: LabeledSide::Both }));
    let template = PhantomParams { seed: 0, slices: a.slices, rows: a.rows, cols: a.cols, pixel_spacing: a.pixel_spacing, slice_spacing: a.slice_spacing, feet_first: false };
    let t = std::time::Instant::now();
    make_phantom_dataset(&a.out, &cases, &template)?;
    println!("{} phantoms ({} train, {} val, {} test) written to {} in {:.1} s", cases.len(), train.len(), val.len(), test.len(), a.out.display(), t.elapsed().as_secs_f64());
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn seed_lists() {
        assert_eq!(super::seeds("1-3, 7,9-9").unwrap(), vec![1, 2, 3, 7, 9]);
        assert!(super::seeds("3-1").is_err());
        assert!(super::seeds("").unwrap().is_empty());
    }
}
