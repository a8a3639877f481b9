//! `pavseg export-nnunet`: a dataset in nnU-Net v2's raw layout (the comparison arm of
//! `scripts/nnunet-compare.sh`).

use crate::train::dataset::{Dataset, SplitRatios};
use crate::train::nnunet_export::export;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Dataset: manifest (.toml) or folder with dataset.json.
    #[arg(long)]
    pub dataset: PathBuf,
    /// nnU-Net raw dataset folder to write, named as nnU-Net wants it: `$nnUNet_raw/DatasetNNN_Name`.
    #[arg(long)]
    pub out: PathBuf,
    /// Seed and ratios of the split (as in training) for cases without an explicit split.
    #[arg(long, default_value_t = 7)]
    pub split_seed: u64,
    #[arg(long, num_args = 3, default_values_t = [7.0, 1.0, 2.0])]
    pub split_ratios: Vec<f64>,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let dataset = Dataset::open(&a.dataset)?;
    let ratios = SplitRatios([a.split_ratios[0], a.split_ratios[1], a.split_ratios[2]]);
    let s = export(&dataset, &a.out, a.split_seed, ratios, &|id| println!("case {id} written"))?;
    println!(
        "RESULT export-nnunet train={} val={} test={} half_labelled={} out={}",
        s.train,
        s.val,
        s.test,
        s.half_labelled,
        a.out.display()
    );
    Ok(())
}
