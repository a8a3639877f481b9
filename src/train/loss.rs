//! The training loss: 1/2 (soft Dice + binary cross-entropy) per class channel on sigmoid
//! outputs, averaged over the supervised (case, class) pairs only. A channel that a
//! half-labelled case does not annotate contributes nothing, so its gradient is exactly zero:
//! it is neither foreground nor background. [`recipe_loss`] is the same loss with the recipe's
//! weights and, optionally, the Dice pooled over the batch per class and a skeleton recall term.

use super::config::LossConfig;
use tch::{Kind, Reduction, TchError, Tensor};

/// Smoothing of the soft Dice (as the PyTorch reference, lacaf_torch.py).
pub const DICE_SMOOTH: f64 = 1.0;

/// Per-pair terms of the loss, `[B, K]` each.
pub struct LossTerms {
    pub dice: Tensor,
    pub bce: Tensor,
}

/// Per-pair sums of the soft Dice, `[B, K]` each: the intersection and the two volumes; and
/// the sigmoid they were summed from, for the skeleton recall.
struct DiceSums {
    inter: Tensor,
    denom: Tensor,
    prob: Tensor,
}

/// The supervised `(item, class)` pairs of a batch, and the masking of per-pair values to them.
struct Supervised {
    mask: Tensor,
    zero: Tensor,
}

impl Supervised {
    fn new(supervised: &Tensor) -> Result<Self, TchError> {
        Ok(Supervised { mask: supervised.f_gt(0.5)?, zero: Tensor::f_zeros(supervised.size(), (Kind::Float, supervised.device()))? })
    }

    /// `[B, K]` values with every unsupervised pair's set to 0: `where` rather than a
    /// product, so that an unsupervised pair's value (even a NaN) cannot leak.
    fn kept(&self, per_pair: &Tensor) -> Result<Tensor, TchError> {
        per_pair.f_where_self(&self.mask, &self.zero)
    }

    /// The kept values summed over the batch, `[K]`.
    fn over_batch(&self, per_pair: &Tensor) -> Result<Tensor, TchError> {
        self.kept(per_pair)?.f_sum_dim_intlist([0i64].as_slice(), false, Kind::Float)
    }
}

/// The Dice sums and the mean BCE of each `(batch item, class)` channel, computed once.
fn pair_sums(logits: &Tensor, target: &Tensor) -> Result<(DiceSums, Tensor), TchError> {
    let dims = [2i64, 3, 4];
    let prob = logits.f_sigmoid()?;
    let inter = prob.f_mul(target)?.f_sum_dim_intlist(dims.as_slice(), false, Kind::Float)?;
    let denom = prob
        .f_sum_dim_intlist(dims.as_slice(), false, Kind::Float)?
        .f_add(&target.f_sum_dim_intlist(dims.as_slice(), false, Kind::Float)?)?;
    let bce = logits
        .f_binary_cross_entropy_with_logits(target, None::<&Tensor>, None::<&Tensor>, Reduction::None)?
        .f_mean_dim(dims.as_slice(), false, Kind::Float)?;
    Ok((DiceSums { inter, denom, prob }, bce))
}

/// `1 - (2 inter + s) / (denom + s)`.
fn soft_dice_loss(inter: &Tensor, denom: &Tensor) -> Result<Tensor, TchError> {
    inter.f_mul_scalar(2.0)?.f_add_scalar(DICE_SMOOTH)?.f_div(&denom.f_add_scalar(DICE_SMOOTH)?)?.f_neg()?.f_add_scalar(1.0)
}

/// Soft Dice loss and mean BCE of each `(batch item, class)` channel.
/// `logits`, `target`: `[B, K, D, H, W]` (target 0/1, float).
pub fn terms(logits: &Tensor, target: &Tensor) -> Result<LossTerms, TchError> {
    let (sums, bce) = pair_sums(logits, target)?;
    Ok(LossTerms { dice: soft_dice_loss(&sums.inter, &sums.denom)?, bce })
}

/// `sum over supervised pairs of (dice + bce) / 2`, divided by the number of supervised pairs
/// (at least 1). `supervised`: `[B, K]`, 1 where the pair is annotated, 0 where not.
pub fn masked_dice_bce(logits: &Tensor, target: &Tensor, supervised: &Tensor) -> Result<Tensor, TchError> {
    let t = terms(logits, target)?;
    let per_pair = t.dice.f_add(&t.bce)?.f_mul_scalar(0.5)?;
    let kept = Supervised::new(supervised)?.kept(&per_pair)?;
    let count = supervised.f_sum(Kind::Float)?.f_clamp_min(1.0)?;
    kept.f_sum(Kind::Float)?.f_div(&count)
}

/// Skeleton recall (Kirchhoff et al. 2024): per class, `1 - (sum p s + 1) / (sum s + 1)` with
/// the sums pooled over the supervised items of the batch (`s` the tubed skeleton, `p` the
/// sigmoid), averaged over the classes whose skeleton is not empty; 0 when none is.
pub fn skeleton_recall(logits: &Tensor, skeleton: &Tensor, supervised: &Tensor) -> Result<Tensor, TchError> {
    recall_of(&logits.f_sigmoid()?, skeleton, &Supervised::new(supervised)?)
}

/// [`skeleton_recall`] of sigmoid probabilities.
fn recall_of(prob: &Tensor, skeleton: &Tensor, supervised: &Supervised) -> Result<Tensor, TchError> {
    let dims = [2i64, 3, 4];
    let covered = supervised.over_batch(&prob.f_mul(skeleton)?.f_sum_dim_intlist(dims.as_slice(), false, Kind::Float)?)?;
    let length = supervised.over_batch(&skeleton.f_sum_dim_intlist(dims.as_slice(), false, Kind::Float)?)?;
    let per_class = covered.f_add_scalar(1.0)?.f_div(&length.f_add_scalar(1.0)?)?.f_neg()?.f_add_scalar(1.0)?;
    let present = length.f_gt(0.0)?;
    let per_class = per_class.f_where_self(&present, &Tensor::f_zeros_like(&per_class)?)?;
    per_class.f_sum(Kind::Float)?.f_div(&present.f_sum(Kind::Float)?.f_clamp_min(1.0)?)
}

/// The recipe's loss: `dice_weight` x Dice + `bce_weight` x BCE (+ `skeleton_recall_weight`
/// x [`skeleton_recall`] when the batch carries skeletons). The BCE is the mean over the
/// supervised (item, class) pairs. The Dice is that mean too, or with `batch_dice` one soft
/// Dice per class over the supervised items of the batch together (intersection and sums
/// pooled), averaged over the classes that any item supervises. With the default weights
/// and without `batch_dice` this equals [`masked_dice_bce`].
pub fn recipe_loss(logits: &Tensor, target: &Tensor, supervised: &Tensor, skeleton: Option<&Tensor>, cfg: &LossConfig) -> Result<Tensor, TchError> {
    let sup = Supervised::new(supervised)?;
    let pairs = supervised.f_sum(Kind::Float)?.f_clamp_min(1.0)?;
    let (sums, bce) = pair_sums(logits, target)?;
    let bce = sup.kept(&bce)?.f_sum(Kind::Float)?.f_div(&pairs)?;
    let dice = if cfg.batch_dice {
        let per_class = soft_dice_loss(&sup.over_batch(&sums.inter)?, &sup.over_batch(&sums.denom)?)?;
        let class_has = supervised.f_sum_dim_intlist([0i64].as_slice(), false, Kind::Float)?.f_gt(0.5)?;
        let per_class = per_class.f_where_self(&class_has, &Tensor::f_zeros_like(&per_class)?)?;
        per_class.f_sum(Kind::Float)?.f_div(&class_has.f_sum(Kind::Float)?.f_clamp_min(1.0)?)?
    } else {
        sup.kept(&soft_dice_loss(&sums.inter, &sums.denom)?)?.f_sum(Kind::Float)?.f_div(&pairs)?
    };
    let loss = dice.f_mul_scalar(cfg.dice_weight)?.f_add(&bce.f_mul_scalar(cfg.bce_weight)?)?;
    match skeleton {
        Some(s) if cfg.skeleton_recall_weight > 0.0 => loss.f_add(&recall_of(&sums.prob, s, &sup)?.f_mul_scalar(cfg.skeleton_recall_weight)?),
        _ => Ok(loss),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    fn example() -> (Tensor, Tensor, Tensor) {
        tch::manual_seed(3);
        let logits = Tensor::randn([2, 3, 4, 4, 4], (Kind::Float, Device::Cpu));
        let target = Tensor::rand([2, 3, 4, 4, 4], (Kind::Float, Device::Cpu)).gt(0.7).to_kind(Kind::Float);
        // Class 1 holds no foreground in item 1; item 1 does not supervise class 2.
        let mut target = target;
        let target = target.index_put_(&[Some(Tensor::from(1i64)), Some(Tensor::from(1i64))], &Tensor::from(0.0f32), false);
        let sup = Tensor::from_slice(&[1.0f32, 1.0, 1.0, 1.0, 1.0, 0.0]).reshape([2, 3]);
        (logits, target, sup)
    }

    #[test]
    fn default_recipe_loss_is_the_masked_dice_bce() {
        let (logits, target, sup) = example();
        let a = recipe_loss(&logits, &target, &sup, None, &LossConfig::default()).unwrap().double_value(&[]);
        let b = masked_dice_bce(&logits, &target, &sup).unwrap().double_value(&[]);
        assert!((a - b).abs() < 1e-6, "{a} vs {b}");
    }

    #[test]
    fn batch_dice_pools_each_class_over_its_supervised_items() {
        let (logits, target, sup) = example();
        let cfg = LossConfig { batch_dice: true, dice_weight: 1.0, bce_weight: 0.0, skeleton_recall_weight: 0.0 };
        let ours = recipe_loss(&logits, &target, &sup, None, &cfg).unwrap().double_value(&[]);
        let p = logits.sigmoid();
        let mut expected = 0.0;
        for k in 0..3i64 {
            let items: Vec<i64> = if k == 2 { vec![0] } else { vec![0, 1] };
            let (mut inter, mut denom) = (0.0, 0.0);
            for &b in &items {
                let (pb, tb) = (p.get(b).get(k), target.get(b).get(k));
                inter += (&pb * &tb).sum(Kind::Float).double_value(&[]);
                denom += pb.sum(Kind::Float).double_value(&[]) + tb.sum(Kind::Float).double_value(&[]);
            }
            expected += 1.0 - (2.0 * inter + DICE_SMOOTH) / (denom + DICE_SMOOTH);
        }
        expected /= 3.0;
        assert!((ours - expected).abs() < 1e-5, "{ours} vs {expected}");
        // It differs from the per-patch Dice, which scores item 1's empty class 1 on its own.
        let per_patch = recipe_loss(&logits, &target, &sup, None, &LossConfig { batch_dice: false, ..cfg }).unwrap().double_value(&[]);
        assert!((ours - per_patch).abs() > 1e-3);
        // An unsupervised pair's logits do not reach the loss.
        let changed = logits.copy();
        let _ = changed.get(1).get(2).fill_(50.0);
        let moved = recipe_loss(&changed, &target, &sup, None, &cfg).unwrap().double_value(&[]);
        assert!((moved - ours).abs() < 1e-6);
    }

    #[test]
    fn skeleton_recall_is_the_uncovered_share_of_each_supervised_class_centreline() {
        let (logits, target, sup) = example();
        // A skeleton inside the target: every second foreground voxel.
        let skeleton = &target * Tensor::arange(target.numel() as i64, (Kind::Float, Device::Cpu)).reshape(target.size()).remainder(2.0);
        let ours = skeleton_recall(&logits, &skeleton, &sup).unwrap().double_value(&[]);
        let p = logits.sigmoid();
        let mut expected = 0.0;
        let mut classes = 0.0;
        for k in 0..3i64 {
            let items: Vec<i64> = if k == 2 { vec![0] } else { vec![0, 1] };
            let (mut covered, mut length) = (0.0, 0.0);
            for &b in &items {
                let sb = skeleton.get(b).get(k);
                covered += (&p.get(b).get(k) * &sb).sum(Kind::Float).double_value(&[]);
                length += sb.sum(Kind::Float).double_value(&[]);
            }
            if length > 0.0 {
                expected += 1.0 - (covered + 1.0) / (length + 1.0);
                classes += 1.0;
            }
        }
        expected /= classes;
        assert!((ours - expected).abs() < 1e-5, "{ours} vs {expected}");
        // Logits that cover the skeleton drive it towards 0; an unsupervised pair does not count.
        let sure = Tensor::full(logits.size(), 30.0, (Kind::Float, Device::Cpu));
        assert!(skeleton_recall(&sure, &skeleton, &sup).unwrap().double_value(&[]) < 0.01);
        let changed = logits.copy();
        let _ = changed.get(1).get(2).fill_(50.0);
        assert!((skeleton_recall(&changed, &skeleton, &sup).unwrap().double_value(&[]) - ours).abs() < 1e-6);
        // In the recipe's loss it adds with its weight, and only when the batch has skeletons.
        let cfg = LossConfig { skeleton_recall_weight: 0.25, ..LossConfig::default() };
        let with = recipe_loss(&logits, &target, &sup, Some(&skeleton), &cfg).unwrap().double_value(&[]);
        let without = recipe_loss(&logits, &target, &sup, None, &cfg).unwrap().double_value(&[]);
        assert!((with - without - 0.25 * ours).abs() < 1e-5);
    }
}
