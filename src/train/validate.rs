//! Validation: sliding-window inference on each validation case's model-grid input and the DSC
//! of each class that the case supervises (threshold 0.5); the mean over the supervised
//! (case, class) pairs, or the artery and vein DSC of the two-label output that inference
//! makes of the four classes (see `ValSelect`), selects the best checkpoint.

use super::mapped::MappedCase;
use super::dataset::LabeledSide;
use super::sides::{supervised, CLASSES, LEFT_ARTERY, RIGHT_ARTERY};
use super::TrainError;
use crate::infer::SlidingWindow;
use crate::model::Lacaf;
use tch::{Kind, Tensor};

pub struct Validation {
    pub mean_dsc: f64,
    /// Mean per class over the cases that supervise it (NaN where none does).
    pub per_class: Vec<f64>,
    /// Artery and vein DSC of the two-label output, mean over the fully labelled cases (None
    /// where there is none).
    pub labels: Option<[f64; 2]>,
}

/// DSC of two boolean masks (1 when both are empty).
fn dsc(pred: &Tensor, truth: &Tensor) -> Result<f64, tch::TchError> {
    let inter = pred.f_logical_and(truth)?.f_sum(Kind::Float)?.f_double_value(&[])?;
    let total = pred.f_sum(Kind::Float)?.f_double_value(&[])? + truth.f_sum(Kind::Float)?.f_double_value(&[])?;
    Ok(if total == 0.0 { 1.0 } else { 2.0 * inter / total })
}

/// Artery and vein DSC after merging the four classes as inference does (`infer::label_map`):
/// a voxel takes its most probable class at or above 0.5; both arteries are label 1, both veins
/// label 2. `labels` holds the four-class truth (0 background, channel + 1).
fn two_label_dsc(probs: &Tensor, labels: &Tensor) -> Result<[f64; 2], tch::TchError> {
    let (best, channel) = probs.f_max_dim(0, false)?;
    let fg = best.f_ge(0.5)?;
    let is_artery = |c: &Tensor| -> Result<Tensor, tch::TchError> { c.f_eq(LEFT_ARTERY as i64)?.f_logical_or(&c.f_eq(RIGHT_ARTERY as i64)?) };
    let artery = is_artery(&channel)?;
    let pred_artery = fg.f_logical_and(&artery)?;
    let pred_vein = fg.f_logical_and(&artery.f_logical_not()?)?;
    let truth_fg = labels.f_gt(0)?;
    let truth_is_artery = is_artery(&labels.f_sub_scalar(1)?)?;
    let truth_artery = truth_fg.f_logical_and(&truth_is_artery)?;
    let truth_vein = truth_fg.f_logical_and(&truth_is_artery.f_logical_not()?)?;
    Ok([dsc(&pred_artery, &truth_artery)?, dsc(&pred_vein, &truth_vein)?])
}

pub fn validate(net: &Lacaf, cases: &[MappedCase], window: usize, overlap: f64) -> Result<Validation, TrainError> {
    let sliding = SlidingWindow::cube(window, overlap, 1, false);
    let mut sums = vec![0.0; CLASSES];
    let mut counts = vec![0usize; CLASSES];
    let mut label_sums = [0.0; 2];
    let mut label_cases = 0usize;
    let terr = |action| move |source| TrainError::Tensor { action, source };
    for c in cases {
        // One case at a time is copied out of its mapped file.
        let s = c.input_shape;
        let view = c.input();
        let input = Tensor::f_from_slice(view.as_slice().unwrap_or(&[]))
            .and_then(|t| t.f_reshape([s[0] as i64, s[1] as i64, s[2] as i64, s[3] as i64]))
            .map_err(terr("copying a validation case"))?;
        let probs = sliding.run(net, &input).map_err(|e| TrainError::Validate { case: c.id.clone(), reason: e.to_string() })?;
        let labels = c.labels();
        let labels = Tensor::f_from_slice(labels.as_slice().unwrap_or(&[])).and_then(|t| t.f_reshape([s[1] as i64, s[2] as i64, s[3] as i64])).map_err(terr("copying labels"))?;
        let labels = labels.f_to_device(probs.device()).map_err(terr("copying labels"))?;
        for (k, &sup) in supervised(c.labeled_side).iter().enumerate() {
            if !sup {
                continue;
            }
            let run = || -> Result<f64, tch::TchError> { dsc(&probs.f_get(k as i64)?.f_ge(0.5)?, &labels.f_eq(k as i64 + 1)?) };
            sums[k] += run().map_err(terr("measuring validation DSC"))?;
            counts[k] += 1;
        }
        if c.labeled_side == LabeledSide::Both {
            let d = two_label_dsc(&probs, &labels).map_err(terr("measuring the two-label validation DSC"))?;
            label_sums[0] += d[0];
            label_sums[1] += d[1];
            label_cases += 1;
        }
    }
    let pairs: usize = counts.iter().sum();
    let mean_dsc = if pairs == 0 { f64::NAN } else { sums.iter().sum::<f64>() / pairs as f64 };
    let per_class = sums.iter().zip(&counts).map(|(s, &n)| if n == 0 { f64::NAN } else { s / n as f64 }).collect();
    let labels = (label_cases > 0).then(|| label_sums.map(|s| s / label_cases as f64));
    Ok(Validation { mean_dsc, per_class, labels })
}
