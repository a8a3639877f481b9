//! `pavseg evaluate`: run a trained model on a dataset split through the node's segmentation
//! path and print the paper's Table IV layout (per-case rows in the JSON).

use crate::eval::{evaluate_labels, segment, CaseReport, EvaluationReport, LabelScores};
use crate::infer::{DeviceChoice, Predictor};
use crate::plugin::Plugin;
use crate::plugin::PostprocessSection;
use crate::train::dataset::{Case, Dataset, LabeledSide, LoadedCase, Split, SplitRatios};
use crate::train::sides::{split_sides, Midline};
use anyhow::Context;
use ndarray::Array3;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A plugin folder or plugin.toml: a training checkpoint (runs/x/best) or plugins/pulmonary-av.
    #[arg(long)]
    pub model: PathBuf,
    /// Dataset: manifest (.toml) or folder with dataset.json.
    #[arg(long)]
    pub dataset: PathBuf,
    #[arg(long, value_enum, default_value = "test")]
    pub split: Split,
    /// Seed and ratios of the split (as in training) for cases without an explicit split.
    #[arg(long, default_value_t = 7)]
    pub split_seed: u64,
    #[arg(long, num_args = 3, default_values_t = [7.0, 1.0, 2.0])]
    pub split_ratios: Vec<f64>,
    /// NSD tolerance in mm.
    #[arg(long, default_value_t = 1.0)]
    pub tolerance: f64,
    /// Overrides the plugin's device.
    #[arg(long)]
    pub device: Option<DeviceChoice>,
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// Write the report (summary and per-case rows) as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Write each case's predicted label map (NIfTI) into this folder.
    #[arg(long)]
    pub save_predictions: Option<PathBuf>,
    /// Branch refinement: as the plugin says, `on`, `off`, or `both` (one network pass per
    /// case, scored without and then with the refinement; two tables, and with --json a second
    /// file named *-refined.json).
    #[arg(long, value_enum, default_value = "plugin")]
    pub refine_branches: Refinement,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Refinement {
    Plugin,
    On,
    Off,
    Both,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    tch::set_num_threads(a.threads as i32);
    let plugin_path = if a.model.is_dir() { a.model.join("plugin.toml") } else { a.model.clone() };
    let mut plugin = Plugin::load(&plugin_path)?;
    if let Some(d) = a.device {
        plugin.file.model.device = d;
    }
    let predictor = Predictor::from_plugin(&plugin).with_context(|| format!("loading the model of {}", plugin_path.display()))?;
    let dataset = Dataset::open(&a.dataset)?;
    let ratios = SplitRatios([a.split_ratios[0], a.split_ratios[1], a.split_ratios[2]]);
    let cases = dataset.split(a.split, a.split_seed, ratios)?;
    anyhow::ensure!(!cases.is_empty(), "split {:?} of {} holds no case", a.split, a.dataset.display());
    if let Some(dir) = &a.save_predictions {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let post = |refine_branches| PostprocessSection { refine_branches, ..plugin.file.postprocess.clone() };
    let variants = match a.refine_branches {
        Refinement::Plugin => vec![plugin.file.postprocess.clone()],
        Refinement::On => vec![post(true)],
        Refinement::Off => vec![post(false)],
        Refinement::Both => vec![post(false), post(true)],
    };
    let mut reports = vec![Vec::new(); variants.len()];
    for case in &cases {
        let loaded = case.load()?;
        let seg = segment(&predictor, &plugin, loaded.hu.view(), &loaded.geometry, &variants).with_context(|| format!("segmenting case {}", case.id))?;
        for (n, (pred, post)) in seg.labels.into_iter().zip(&variants).enumerate() {
            let scores = score(&a, case, &loaded, pred, if variants.len() > 1 { n } else { 0 })?;
            eprintln!(
                "{}{}: artery DSC {:.4}, vein DSC {:.4}, clDice {:.4} / {:.4}",
                case.id,
                if post.refine_branches { " (branches refined)" } else { "" },
                scores.artery.dsc,
                scores.vein.dsc,
                scores.artery.cldice,
                scores.vein.cldice
            );
            let inference_s = seg.inference.as_secs_f64() + seg.postprocess[n].as_secs_f64();
            reports[n].push(CaseReport { id: case.id.clone(), scores, preprocess_s: seg.preprocess.as_secs_f64(), inference_s });
        }
    }
    for (reports, post) in reports.into_iter().zip(&variants) {
        let refined = variants.len() > 1 && post.refine_branches;
        let name = format!("{}{}", plugin_path.display(), if refined { " +branches" } else { "" });
        let report = EvaluationReport::new(name, a.dataset.display().to_string(), format!("{:?}", a.split).to_lowercase(), a.tolerance, reports);
        print!("{}", report.table());
        let json = serde_json::to_string_pretty(&report)?;
        match &a.json {
            Some(p) => {
                let p = if refined { p.with_file_name(format!("{}-refined.json", p.file_stem().unwrap_or_default().to_string_lossy())) } else { p.clone() };
                std::fs::write(&p, json + "\n").with_context(|| format!("writing {}", p.display()))?;
                println!("JSON report: {}", p.display());
            }
            None => println!("{json}"),
        }
    }
    Ok(())
}

/// One case's label map scored against its truth (a half-labelled case on its labelled side
/// only); saved first when asked, variant `n` with a suffix.
fn score(a: &Args, case: &Case, loaded: &LoadedCase, mut pred: Array3<u8>, n: usize) -> anyhow::Result<LabelScores> {
    let mut truth = loaded.labels.clone();
    if case.labeled_side != LabeledSide::Both {
        // Score a half-labelled case on its labelled side only.
        let midline = Midline::from_lungs(loaded.hu.view(), &loaded.geometry);
        let side_of = |l: &Array3<u8>| split_sides(l.view(), &loaded.geometry, &midline, None);
        let keep = |four: Array3<u8>| crate::train::sides::keep_side(four.view(), case.labeled_side);
        pred = keep(side_of(&pred));
        truth = keep(side_of(&truth));
    }
    if let Some(dir) = &a.save_predictions {
        let suffix = if n > 0 { "-refined" } else { "" };
        crate::seg::write_label_nifti(&dir.join(format!("{}{suffix}.nii.gz", case.id)), pred.view(), &loaded.geometry)?;
    }
    Ok(evaluate_labels(pred.view(), truth.view(), loaded.geometry.spacing, a.tolerance)?)
}
