//! Label augmentation on hand-made volumes: the midline between two lungs, the left/right split
//! of artery and vein, which classes a half-labelled case supervises, and a left-right flip that
//! swaps the left and right classes.

use ndarray::Array3;
use pavseg::geometry::Geometry;
use pavseg::train::dataset::LabeledSide;
use pavseg::train::sampler::flip_left_right;
use pavseg::train::sides::{keep_side, mirrored, split_sides, supervised, Midline, LEFT_ARTERY, LEFT_VEIN, RIGHT_ARTERY, RIGHT_VEIN};
use tch::{Device, Kind, Tensor};

/// 10 slices of 20 x 40 voxels of 2 mm; i runs toward the patient's left (LPS x), origin at
/// x = -39 mm so that the grid's centre is at x = 0. Two "lungs" (-850 HU) in soft tissue: the
/// right one (low x) spans i = 4..16, the left one i = 22..36, so the gap between them is
/// i = 16..22 and its centre lies at i = 18.5 (x = -2 mm), not at the grid's centre.
fn chest() -> (Array3<f32>, Geometry) {
    let g = Geometry::new([10, 20, 40], [-39.0, -19.0, -9.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [2.0, 2.0, 2.0]);
    let hu = Array3::from_shape_fn((10, 20, 40), |(_, j, i)| {
        if (3..17).contains(&j) && ((4..16).contains(&i) || (22..36).contains(&i)) {
            -850.0
        } else if j < 1 || j > 18 {
            -1000.0
        } else {
            40.0
        }
    });
    (hu, g)
}

#[test]
fn midline_lies_in_the_gap_between_the_lungs() {
    let (hu, g) = chest();
    let m = Midline::from_lungs(hu.view(), &g);
    assert_eq!(m.normal, [1.0, 0.0, 0.0]);
    // The gap spans x = -7 .. +3 mm (voxel centres of i = 16..21); its centre is -2 mm.
    assert!((m.point[0] - -2.0).abs() <= 2.0, "midline at x = {}", m.point[0]);
    assert!(m.is_left(g.index_to_lps(0.0, 10.0, 22.0)) && !m.is_left(g.index_to_lps(0.0, 10.0, 15.0)));
}

#[test]
fn artery_and_vein_split_into_left_and_right_classes() {
    let (hu, g) = chest();
    let m = Midline::from_lungs(hu.view(), &g);
    let mut labels = Array3::<u8>::zeros((10, 20, 40));
    labels[[5, 10, 8]] = 1; // right artery
    labels[[5, 10, 9]] = 2; // right vein
    labels[[5, 10, 30]] = 1; // left artery
    labels[[5, 10, 31]] = 2; // left vein
    let four = split_sides(labels.view(), &g, &m, None);
    assert_eq!(four[[5, 10, 8]] as usize, RIGHT_ARTERY + 1);
    assert_eq!(four[[5, 10, 9]] as usize, RIGHT_VEIN + 1);
    assert_eq!(four[[5, 10, 30]] as usize, LEFT_ARTERY + 1);
    assert_eq!(four[[5, 10, 31]] as usize, LEFT_VEIN + 1);
    assert_eq!(four.iter().filter(|&&v| v > 0).count(), 4);
    // A side mask overrides the plane where it says 1 (left) or 2 (right).
    let mut mask = Array3::<u8>::zeros((10, 20, 40));
    mask[[5, 10, 8]] = 1;
    mask[[5, 10, 30]] = 2;
    let four = split_sides(labels.view(), &g, &m, Some(mask.view()));
    assert_eq!(four[[5, 10, 8]] as usize, LEFT_ARTERY + 1);
    assert_eq!(four[[5, 10, 30]] as usize, RIGHT_ARTERY + 1);
    assert_eq!(four[[5, 10, 9]] as usize, RIGHT_VEIN + 1);
    // A feet-first grid of the same patient (i toward the patient's right) gives the same sides.
    let ff = Geometry::new([10, 20, 40], [39.0, -19.0, 9.0], [-1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [2.0, 2.0, 2.0]);
    let mirror = |a: &Array3<u8>| {
        let mut v = a.view();
        v.invert_axis(ndarray::Axis(2));
        v.to_owned()
    };
    let hu_ff = {
        let mut v = hu.view();
        v.invert_axis(ndarray::Axis(2));
        v.to_owned()
    };
    let m_ff = Midline::from_lungs(hu_ff.view(), &ff);
    let four_ff = split_sides(mirror(&labels).view(), &ff, &m_ff, None);
    assert_eq!(mirror(&four_ff), split_sides(labels.view(), &g, &m, None));
}

#[test]
fn half_labelled_cases_supervise_their_side_only() {
    assert_eq!(supervised(LabeledSide::Both), [true; 4]);
    assert_eq!(supervised(LabeledSide::Left), [true, true, false, false]);
    assert_eq!(supervised(LabeledSide::Right), [false, false, true, true]);
    let four = Array3::from_shape_vec((1, 1, 5), vec![0u8, 1, 2, 3, 4]).unwrap();
    assert_eq!(keep_side(four.view(), LabeledSide::Left).into_raw_vec_and_offset().0, vec![0, 1, 2, 0, 0]);
    assert_eq!(keep_side(four.view(), LabeledSide::Right).into_raw_vec_and_offset().0, vec![0, 0, 0, 1, 2]);
}

#[test]
fn left_right_flip_mirrors_the_patch_and_swaps_the_classes() {
    // One input channel holding its i index; the target marks left artery at i = 5 and right
    // vein at i = 1 (in an 8-wide patch).
    let (d, h, w) = (2i64, 3i64, 8i64);
    let x = Tensor::arange(w, (Kind::Float, Device::Cpu)).view([1, 1, 1, 1, w]).expand([1, 1, d, h, w], false).contiguous();
    let y = Tensor::zeros([1, 4, d, h, w], (Kind::Float, Device::Cpu));
    let _ = y.get(0).get(LEFT_ARTERY as i64).narrow(2, 5, 1).fill_(1.0);
    let _ = y.get(0).get(RIGHT_VEIN as i64).narrow(2, 1, 1).fill_(1.0);
    let (fx, fy) = flip_left_right(&x, &y).unwrap();
    assert_eq!(fx.double_value(&[0, 0, 0, 0, 0]), 7.0);
    assert_eq!(fx.double_value(&[0, 0, 1, 2, 7]), 0.0);
    // Left artery at i = 5 becomes right artery at i = 2; right vein at 1 becomes left vein at 6.
    assert_eq!(fy.double_value(&[0, RIGHT_ARTERY as i64, 0, 0, 2]), 1.0);
    assert_eq!(fy.double_value(&[0, LEFT_VEIN as i64, 1, 2, 6]), 1.0);
    assert_eq!(fy.sum(Kind::Float).double_value(&[]), y.sum(Kind::Float).double_value(&[]));
    assert_eq!(fy.get(0).get(LEFT_ARTERY as i64).sum(Kind::Float).double_value(&[]), 0.0);
    assert_eq!(fy.get(0).get(RIGHT_VEIN as i64).sum(Kind::Float).double_value(&[]), 0.0);
    // Flipping twice restores the patch.
    let (bx, by) = flip_left_right(&fx, &fy).unwrap();
    assert!(bx.equal(&x) && by.equal(&y));
    for c in 0..4 {
        assert_eq!(mirrored(c) % 2, c % 2, "artery stays artery, vein stays vein");
    }
}
