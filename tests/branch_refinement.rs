//! Branch refinement (`pipeline::refine_branches`) on synthetic vessels with known labels:
//! crossing tubes keep their labels, a flipped stretch is repaired, a bifurcation stays one
//! label, and two trees that touch at one voxel stay two.

use ndarray::{Array3, Array4};
use pavseg::pipeline::refine_branches;

const ARTERY: usize = 0;
const VEIN: usize = 1;
const THRESHOLD: f32 = 0.5;

/// Voxels within `r` of the segment a-b, [k, j, i].
fn tube(shape: (usize, usize, usize), a: [f64; 3], b: [f64; 3], r: f64) -> Array3<bool> {
    Array3::from_shape_fn(shape, |(k, j, i)| {
        let p = [k as f64, j as f64, i as f64];
        let d: Vec<f64> = (0..3).map(|x| b[x] - a[x]).collect();
        let t = ((0..3).map(|x| (p[x] - a[x]) * d[x]).sum::<f64>() / d.iter().map(|v| v * v).sum::<f64>()).clamp(0.0, 1.0);
        (0..3).map(|x| (p[x] - a[x] - t * d[x]).powi(2)).sum::<f64>() <= r * r
    })
}

/// Probabilities that say `label` with confidence `p` (and 1 - p for the other) on `mask`.
fn paint(probs: &mut Array4<f32>, mask: &Array3<bool>, label: usize, p: f32) {
    for ((k, j, i), &m) in mask.indexed_iter() {
        if m {
            probs[[label, k, j, i]] = p;
            probs[[1 - label, k, j, i]] = 1.0 - p;
        }
    }
}

/// The label map the probabilities give: 0 background, 1 artery, 2 vein.
fn labels(probs: &Array4<f32>) -> Array3<u8> {
    let (_, k, j, i) = probs.dim();
    Array3::from_shape_fn((k, j, i), |(k, j, i)| {
        let (a, v) = (probs[[ARTERY, k, j, i]], probs[[VEIN, k, j, i]]);
        if a.max(v) < THRESHOLD {
            0
        } else if a >= v {
            1
        } else {
            2
        }
    })
}

fn count(labels: &Array3<u8>, mask: &Array3<bool>, value: u8) -> (usize, usize) {
    let n = mask.iter().filter(|&&m| m).count();
    let hit = labels.iter().zip(mask.iter()).filter(|(&l, &m)| m && l == value).count();
    (hit, n)
}

fn assert_all(labels: &Array3<u8>, mask: &Array3<bool>, value: u8, what: &str) {
    let (hit, n) = count(labels, mask, value);
    assert!(n > 0, "{what}: empty mask");
    let wrong: Vec<_> = labels.indexed_iter().filter(|(ix, &l)| mask[*ix] && l != value).map(|(ix, &l)| (ix, l)).take(5).collect();
    assert_eq!(hit, n, "{what}: {hit} of {n} voxels have label {value}; first others: {wrong:?}");
}

fn same_extent(before: &Array3<u8>, after: &Array3<u8>) {
    assert!(before.iter().zip(after.iter()).all(|(&b, &a)| (b > 0) == (a > 0)), "the refinement changed the vessel's extent");
}

#[test]
fn crossing_tubes_of_different_labels_keep_their_labels() {
    let shape = (24, 48, 48);
    let artery = tube(shape, [12.0, 24.0, 2.0], [12.0, 24.0, 45.0], 3.0);
    let vein = tube(shape, [12.0, 2.0, 24.0], [12.0, 45.0, 24.0], 3.0);
    let mut probs = Array4::<f32>::zeros((2, 24, 48, 48));
    paint(&mut probs, &artery, ARTERY, 0.9);
    paint(&mut probs, &vein, VEIN, 0.85);
    let before = labels(&probs);
    let (refined, stats) = refine_branches(probs.view(), THRESHOLD);
    let after = labels(&refined);
    same_extent(&before, &after);
    assert!(stats.junctions >= 1, "{stats:?}");
    // Away from the crossing (beyond the other tube), each tube keeps its own label.
    let far = Array3::from_shape_fn(shape, |(_, j, i)| (j as i32 - 24).abs() > 5 || (i as i32 - 24).abs() > 5);
    let only = |m: &Array3<bool>| Array3::from_shape_fn(shape, |ix| m[ix] && far[ix]);
    assert_all(&after, &only(&artery), 1, "artery arms");
    assert_all(&after, &only(&vein), 2, "vein arms");
    let changed = after.iter().zip(before.iter()).filter(|(a, b)| a != b).count();
    assert_eq!(changed, 0, "nothing to repair, yet {changed} voxels changed ({stats:?})");
}

#[test]
fn a_tube_with_a_flipped_stretch_is_repaired() {
    let shape = (16, 16, 56);
    let vessel = tube(shape, [8.0, 8.0, 2.0], [8.0, 8.0, 53.0], 2.6);
    let stretch = Array3::from_shape_fn(shape, |(k, j, i)| vessel[[k, j, i]] && (20..32).contains(&i));
    let mut probs = Array4::<f32>::zeros((2, 16, 16, 56));
    paint(&mut probs, &vessel, ARTERY, 0.8);
    paint(&mut probs, &stretch, VEIN, 0.7);
    let before = labels(&probs);
    assert!(count(&before, &vessel, 2).0 > 50, "the stretch is vein before");
    let (refined, stats) = refine_branches(probs.view(), THRESHOLD);
    let after = labels(&refined);
    same_extent(&before, &after);
    assert_all(&after, &vessel, 1, "the whole tube");
    assert_eq!(stats.relabelled, count(&before, &vessel, 2).0);
}

#[test]
fn a_junction_of_three_branches_of_one_label_stays_one_label() {
    let shape = (20, 40, 48);
    let trunk = tube(shape, [10.0, 20.0, 2.0], [10.0, 20.0, 22.0], 3.0);
    let upper = tube(shape, [10.0, 20.0, 22.0], [10.0, 4.0, 45.0], 2.2);
    let lower = tube(shape, [10.0, 20.0, 22.0], [10.0, 36.0, 45.0], 2.2);
    let tree = Array3::from_shape_fn(shape, |ix| trunk[ix] || upper[ix] || lower[ix]);
    let mut probs = Array4::<f32>::zeros((2, 20, 40, 48));
    paint(&mut probs, &tree, VEIN, 0.75);
    // The network wavers near the bifurcation and along one branch: every fifth voxel there
    // says artery.
    let mut n = 0;
    for ((k, j, i), &m) in tree.indexed_iter() {
        if m && (16..34).contains(&i) {
            n += 1;
            if n % 5 == 0 {
                probs[[ARTERY, k, j, i]] = 0.6;
                probs[[VEIN, k, j, i]] = 0.4;
            }
        }
    }
    let before = labels(&probs);
    assert!(count(&before, &tree, 1).0 > 10);
    let (refined, stats) = refine_branches(probs.view(), THRESHOLD);
    let after = labels(&refined);
    same_extent(&before, &after);
    assert!(stats.branches >= 1, "{stats:?}");
    assert_all(&after, &tree, 2, "the tree");
}

#[test]
fn a_vessel_touching_the_other_tree_at_one_voxel_is_not_merged() {
    let shape = (24, 32, 48);
    let artery = tube(shape, [12.0, 10.0, 2.0], [12.0, 10.0, 45.0], 3.0);
    let vein = tube(shape, [12.0, 18.0, 2.0], [12.0, 18.0, 45.0], 3.0);
    assert!(!artery.iter().zip(vein.iter()).any(|(&a, &v)| a && v));
    // One voxel between them, which the network is unsure of, joins the two masks.
    let contact = [12, 14, 24];
    assert!(!artery[contact] && !vein[contact]);
    let mut probs = Array4::<f32>::zeros((2, 24, 32, 48));
    paint(&mut probs, &artery, ARTERY, 0.9);
    paint(&mut probs, &vein, VEIN, 0.6);
    probs[[ARTERY, 12, 14, 24]] = 0.55;
    probs[[VEIN, 12, 14, 24]] = 0.5;
    let before = labels(&probs);
    let (refined, _) = refine_branches(probs.view(), THRESHOLD);
    let after = labels(&refined);
    same_extent(&before, &after);
    assert_all(&after, &artery, 1, "artery");
    assert_all(&after, &vein, 2, "vein, next to a more confident artery");
}

#[test]
fn a_mask_that_fills_the_grid_is_no_tree_and_is_left_alone() {
    // An untrained network that calls most of the volume vessel: nothing to refine.
    let mut probs = Array4::<f32>::zeros((2, 21, 21, 21));
    for ((c, k, j, i), p) in probs.indexed_iter_mut() {
        *p = if (k + j + i) % 3 == c { 0.9 } else { 0.2 };
    }
    let (refined, stats) = refine_branches(probs.view(), THRESHOLD);
    assert_eq!(refined, probs);
    assert_eq!((stats.branches, stats.junctions, stats.relabelled), (0, 0, 0));
}
