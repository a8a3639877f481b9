//! `pavseg phantom-dataset`: a reproducible training dataset of phantoms (fully and
//! half-labelled) with its manifest.

use crate::phantom::{Family, PhantomParams};
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
    /// Phantom family (standard, contrast, no-airways, low-dose; see `pavseg::phantom::Family`)
    /// or a family .toml file with the same keys. It sets the look, the vessel growth and the
    /// grid; the grid flags below override the family's grid.
    #[arg(long, default_value = "standard")]
    pub family: String,
    /// Slices (the family's grid if not given).
    #[arg(long)]
    pub slices: Option<usize>,
    #[arg(long)]
    pub rows: Option<usize>,
    #[arg(long)]
    pub cols: Option<usize>,
    /// In-plane pixel spacing, mm.
    #[arg(long)]
    pub pixel_spacing: Option<f64>,
    /// Slice spacing, mm.
    #[arg(long)]
    pub slice_spacing: Option<f64>,
    /// Head-first or feet-first supine (`head` or `feet`).
    #[arg(long)]
    pub orientation: Option<Orientation>,
}

#[derive(Debug, Clone, Copy, PartialEq, clap::ValueEnum)]
pub enum Orientation {
    Head,
    Feet,
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
    let mut template = PhantomParams::of_family(0, Family::resolve(&a.family)?);
    template.slices = a.slices.unwrap_or(template.slices);
    template.rows = a.rows.unwrap_or(template.rows);
    template.cols = a.cols.unwrap_or(template.cols);
    template.pixel_spacing = a.pixel_spacing.unwrap_or(template.pixel_spacing);
    template.slice_spacing = a.slice_spacing.unwrap_or(template.slice_spacing);
    template.feet_first = a.orientation.map_or(template.feet_first, |o| o == Orientation::Feet);
    let t = std::time::Instant::now();
    make_phantom_dataset(&a.out, &cases, &template)?;
    println!("{} phantoms of family {} ({} train, {} val, {} test) written to {} in {:.1} s", cases.len(), template.family.name, train.len(), val.len(), test.len(), a.out.display(), t.elapsed().as_secs_f64());
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
