//! Validation: sliding-window inference on each validation case's model-grid input and the DSC
//! of each class that the case supervises (threshold 0.5); the mean over the supervised
//! (case, class) pairs selects the best checkpoint.

use super::mapped::MappedCase;
use super::sides::{supervised, CLASSES};
use super::TrainError;
use crate::infer::SlidingWindow;
use crate::model::Lacaf;
use tch::{Kind, Tensor};

pub struct Validation {
    pub mean_dsc: f64,
    /// Mean per class over the cases that supervise it (NaN where none does).
    pub per_class: Vec<f64>,
}

pub fn validate(net: &Lacaf, cases: &[MappedCase], window: usize, overlap: f64) -> Result<Validation, TrainError> {
    let sliding = SlidingWindow::cube(window, overlap, 1, false);
    let mut sums = vec![0.0; CLASSES];
    let mut counts = vec![0usize; CLASSES];
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
            let run = || -> Result<f64, tch::TchError> {
                let pred = probs.f_get(k as i64)?.f_ge(0.5)?;
                let truth = labels.f_eq(k as i64 + 1)?;
                let inter = pred.f_logical_and(&truth)?.f_sum(Kind::Float)?.f_double_value(&[])?;
                let total = pred.f_sum(Kind::Float)?.f_double_value(&[])? + truth.f_sum(Kind::Float)?.f_double_value(&[])?;
                Ok(if total == 0.0 { 1.0 } else { 2.0 * inter / total })
            };
            sums[k] += run().map_err(terr("measuring validation DSC"))?;
            counts[k] += 1;
        }
    }
    let pairs: usize = counts.iter().sum();
    let mean_dsc = if pairs == 0 { f64::NAN } else { sums.iter().sum::<f64>() / pairs as f64 };
    let per_class = sums.iter().zip(&counts).map(|(s, &n)| if n == 0 { f64::NAN } else { s / n as f64 }).collect();
    Ok(Validation { mean_dsc, per_class })
}
