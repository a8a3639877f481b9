//! The masked Dice + BCE loss: equal to the PyTorch reference's formula when every pair is
//! supervised, and an unannotated (case, class) pair gets exactly zero gradient.

use pavseg::train::loss::{masked_dice_bce, terms};
use tch::{Device, Kind, Reduction, Tensor};

fn data() -> (Tensor, Tensor) {
    tch::manual_seed(3);
    let logits = Tensor::randn([2, 4, 8, 8, 8], (Kind::Float, Device::Cpu)).set_requires_grad(true);
    let target = Tensor::rand([2, 4, 8, 8, 8], (Kind::Float, Device::Cpu)).gt(0.8).to_kind(Kind::Float);
    (logits, target)
}

#[test]
fn fully_supervised_loss_is_the_reference_formula() {
    let (logits, target) = data();
    let all = Tensor::ones([2, 4], (Kind::Float, Device::Cpu));
    let ours = masked_dice_bce(&logits, &target, &all).unwrap().double_value(&[]);
    // lacaf_torch.py: 0.5 * (mean soft Dice loss over (b, k) + BCE over all elements).
    let prob = logits.sigmoid();
    let inter = (&prob * &target).sum_dim_intlist([2i64, 3, 4].as_slice(), false, Kind::Float);
    let denominator = prob.sum_dim_intlist([2i64, 3, 4].as_slice(), false, Kind::Float)
        + target.sum_dim_intlist([2i64, 3, 4].as_slice(), false, Kind::Float)
        + 1.0;
    let dice: Tensor = ((inter * 2.0 + 1.0) / denominator).neg() + 1.0;
    let bce = logits.binary_cross_entropy_with_logits(&target, None::<&Tensor>, None::<&Tensor>, Reduction::Mean);
    let reference = ((dice.mean(Kind::Float) + bce) * 0.5).double_value(&[]);
    assert!((ours - reference).abs() < 1e-6, "{ours} vs {reference}");
}

#[test]
fn unannotated_classes_get_exactly_zero_gradient() {
    let (logits, target) = data();
    // Item 0 is left-labelled (classes 0, 1), item 1 fully labelled.
    let sup = Tensor::from_slice(&[1.0f32, 1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0]).view([2, 4]);
    let loss = masked_dice_bce(&logits, &target, &sup).unwrap();
    loss.backward();
    let grad = logits.grad();
    for (b, k) in [(0i64, 2i64), (0, 3)] {
        let g = grad.get(b).get(k);
        assert_eq!(g.abs().max().double_value(&[]), 0.0, "item {b} class {k} must not be trained");
    }
    for (b, k) in [(0i64, 0i64), (0, 1), (1, 2), (1, 3)] {
        assert!(grad.get(b).get(k).abs().max().double_value(&[]) > 0.0, "item {b} class {k} must be trained");
    }
    // The value is the mean over the six supervised pairs only, and does not move when the
    // unannotated channels' logits or targets change.
    let t = terms(&logits, &target).unwrap();
    let per = (t.dice + t.bce) * 0.5;
    let expected = (per.sum(Kind::Float) - per.get(0).get(2) - per.get(0).get(3)).double_value(&[]) / 6.0;
    assert!((loss.double_value(&[]) - expected).abs() < 1e-6);
    let other_logits = logits.detach().copy();
    let _ = other_logits.get(0).get(2).fill_(25.0);
    let other_target = target.copy();
    let _ = other_target.get(0).get(3).fill_(1.0);
    let moved = masked_dice_bce(&other_logits, &other_target, &sup).unwrap().double_value(&[]);
    assert!((moved - loss.double_value(&[])).abs() < 1e-6);
}
