//! Scores of label maps per case and their summary in the paper's Table IV layout: artery and
//! vein DSC, Jaccard, NSD and HD95, and the mean DSC of the two; clDice beside them.

use super::EvalError;
use crate::metrics::{finite_mean, label_metrics, BinaryMetrics};
use ndarray::ArrayView3;
use serde::{Deserialize, Serialize};

/// The labels scored: artery (1) and vein (2).
pub const SCORED: [(u8, &str); 2] = [(1, "artery"), (2, "vein")];

/// One label map against its reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelScores {
    pub artery: BinaryMetrics,
    pub vein: BinaryMetrics,
    /// Mean of the artery and vein DSC.
    pub mean_dsc: f64,
}

pub fn evaluate_labels(pred: ArrayView3<'_, u8>, truth: ArrayView3<'_, u8>, spacing: [f64; 3], tolerance_mm: f64) -> Result<LabelScores, EvalError> {
    let m = |label: u8, what: &str| {
        label_metrics(pred, truth, label, spacing, tolerance_mm).map_err(|source| EvalError::Measure { what: what.to_owned(), source })
    };
    let artery = m(SCORED[0].0, SCORED[0].1)?;
    let vein = m(SCORED[1].0, SCORED[1].1)?;
    Ok(LabelScores { mean_dsc: (artery.dsc + vein.dsc) / 2.0, artery, vein })
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseReport {
    pub id: String,
    #[serde(flatten)]
    pub scores: LabelScores,
    pub preprocess_s: f64,
    pub inference_s: f64,
}

/// Mean and standard deviation of one metric over cases (finite values only).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Stat {
    pub mean: f64,
    pub sd: f64,
    /// Cases left out because the value was infinite (HD95 with an empty mask).
    pub left_out: usize,
}

fn stat(values: &[f64]) -> Stat {
    let (mean, left_out) = finite_mean(values.iter().copied());
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let sd = if finite.len() > 1 {
        (finite.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (finite.len() - 1) as f64).sqrt()
    } else {
        0.0
    };
    Stat { mean, sd, left_out }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ClassSummary {
    pub dsc: Stat,
    pub jaccard: Stat,
    pub nsd: Stat,
    pub hd95_mm: Stat,
    pub cldice: Stat,
}

fn class_summary(m: &[&BinaryMetrics]) -> ClassSummary {
    let col = |f: fn(&BinaryMetrics) -> f64| stat(&m.iter().map(|x| f(x)).collect::<Vec<_>>());
    ClassSummary { dsc: col(|x| x.dsc), jaccard: col(|x| x.jaccard), nsd: col(|x| x.nsd), hd95_mm: col(|x| x.hd95()), cldice: col(|x| x.cldice) }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub artery: ClassSummary,
    pub vein: ClassSummary,
    pub mean_dsc: Stat,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvaluationReport {
    pub model: String,
    pub dataset: String,
    pub split: String,
    pub tolerance_mm: f64,
    pub summary: Summary,
    pub cases: Vec<CaseReport>,
}

impl EvaluationReport {
    pub fn new(model: String, dataset: String, split: String, tolerance_mm: f64, cases: Vec<CaseReport>) -> Self {
        let a: Vec<&BinaryMetrics> = cases.iter().map(|c| &c.scores.artery).collect();
        let v: Vec<&BinaryMetrics> = cases.iter().map(|c| &c.scores.vein).collect();
        let summary = Summary {
            artery: class_summary(&a),
            vein: class_summary(&v),
            mean_dsc: stat(&cases.iter().map(|c| c.scores.mean_dsc).collect::<Vec<_>>()),
        };
        EvaluationReport { model, dataset, split, tolerance_mm, summary, cases }
    }

    /// Table IV: one row per method (here: one model), artery and vein columns, mean DSC.
    pub fn table(&self) -> String {
        let s = &self.summary;
        let cell = |x: &Stat, pct: bool| {
            let f = if pct { 100.0 } else { 1.0 };
            let extra = if x.left_out > 0 { format!(" ({} inf)", x.left_out) } else { String::new() };
            format!("{:.2}±{:.2}{extra}", x.mean * f, x.sd * f)
        };
        let mut out = String::new();
        out.push_str(&format!("{} cases of split `{}` of {}; DSC, Jaccard and NSD (tolerance {} mm) in %, HD95 in mm; mean ± sd\n", self.cases.len(), self.split, self.dataset, self.tolerance_mm));
        out.push_str(&format!("{:<28}| {:^70} | {:^70} | {:^13}\n", "", "Artery", "Vein", ""));
        let head = format!("{:<13} {:<13} {:<13} {:<14} {:<13}", "DSC", "Jaccard", "NSD", "HD95", "clDice");
        out.push_str(&format!("{:<28}| {head} | {head} | {:<13}\n", "Method", "Mean DSC"));
        let row = |c: &ClassSummary| {
            format!("{:<13} {:<13} {:<13} {:<14} {:<13}", cell(&c.dsc, true), cell(&c.jaccard, true), cell(&c.nsd, true), cell(&c.hd95_mm, false), cell(&c.cldice, true))
        };
        let name: String = self.model.chars().rev().take(27).collect::<Vec<_>>().into_iter().rev().collect();
        out.push_str(&format!("{:<28}| {} | {} | {:<13}\n", name, row(&s.artery), row(&s.vein), cell(&s.mean_dsc, true)));
        out.push_str("\nper case: id  artery DSC  vein DSC  artery HD95  vein HD95  artery clDice  vein clDice\n");
        for c in &self.cases {
            out.push_str(&format!(
                "  {:<16} {:.4}  {:.4}  {:>8.2}  {:>8.2}  {:.4}  {:.4}\n",
                c.id,
                c.scores.artery.dsc,
                c.scores.vein.dsc,
                c.scores.artery.hd95(),
                c.scores.vein.hd95(),
                c.scores.artery.cldice,
                c.scores.vein.cldice
            ));
        }
        out
    }
}
