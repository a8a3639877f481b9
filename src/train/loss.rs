//! The training loss: 1/2 (soft Dice + binary cross-entropy) per class channel on sigmoid
//! outputs, averaged over the supervised (case, class) pairs only. A channel that a
//! half-labelled case does not annotate contributes nothing, so its gradient is exactly zero:
//! it is neither foreground nor background.

use tch::{Kind, Reduction, TchError, Tensor};

/// Smoothing of the soft Dice (as the PyTorch reference, lacaf_torch.py).
pub const DICE_SMOOTH: f64 = 1.0;

/// Per-pair terms of the loss, `[B, K]` each.
pub struct LossTerms {
    pub dice: Tensor,
    pub bce: Tensor,
}

/// Soft Dice loss and mean BCE of each `(batch item, class)` channel.
/// `logits`, `target`: `[B, K, D, H, W]` (target 0/1, float).
pub fn terms(logits: &Tensor, target: &Tensor) -> Result<LossTerms, TchError> {
    let dims = [2i64, 3, 4];
    let prob = logits.f_sigmoid()?;
    let inter = prob.f_mul(target)?.f_sum_dim_intlist(dims.as_slice(), false, Kind::Float)?;
    let denom = prob
        .f_sum_dim_intlist(dims.as_slice(), false, Kind::Float)?
        .f_add(&target.f_sum_dim_intlist(dims.as_slice(), false, Kind::Float)?)?
        .f_add_scalar(DICE_SMOOTH)?;
    let dice = inter.f_mul_scalar(2.0)?.f_add_scalar(DICE_SMOOTH)?.f_div(&denom)?.f_neg()?.f_add_scalar(1.0)?;
    let bce = logits
        .f_binary_cross_entropy_with_logits(target, None::<&Tensor>, None::<&Tensor>, Reduction::None)?
        .f_mean_dim(dims.as_slice(), false, Kind::Float)?;
    Ok(LossTerms { dice, bce })
}

/// `sum over supervised pairs of (dice + bce) / 2`, divided by the number of supervised pairs
/// (at least 1). `supervised`: `[B, K]`, 1 where the pair is annotated, 0 where not.
pub fn masked_dice_bce(logits: &Tensor, target: &Tensor, supervised: &Tensor) -> Result<Tensor, TchError> {
    let t = terms(logits, target)?;
    let per_pair = t.dice.f_add(&t.bce)?.f_mul_scalar(0.5)?;
    // `where` rather than a product: an unsupervised pair's value (even a NaN) cannot leak.
    let zero = Tensor::f_zeros_like(&per_pair)?;
    let kept = per_pair.f_where_self(&supervised.f_gt(0.5)?, &zero)?;
    let count = supervised.f_sum(Kind::Float)?.f_clamp_min(1.0)?;
    kept.f_sum(Kind::Float)?.f_div(&count)
}
