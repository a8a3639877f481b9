//! Tests of the whole phantom: the anatomy's rules and the rendered images, on the default
//! 128 x 128 x 64 grid (2.7 mm pixels, 3 mm slices).

use super::anatomy::{Anatomy, Shape, Tissue};
use super::bundle::artery_offset;
use super::fit::Fit;
use super::obstacles::Obstacles;
use super::render::{artery_vein_label, render};
use super::shapes::Tube;
use super::torso::Side;
use super::veins::vein_gap;
use super::{generate, Phantom, PhantomParams, LABEL_ARTERY, LABEL_LEFT_ARTERY, LABEL_LEFT_VEIN, LABEL_VEIN};
use crate::geometry::{norm, sub, Geometry, Vec3};
use std::sync::OnceLock;

/// A rendered default phantom with the anatomy it was drawn from.
struct Case {
    anatomy: Anatomy,
    phantom: Phantom,
}

fn build(seed: u64) -> Case {
    let params = PhantomParams { seed, ..PhantomParams::default() };
    let geometry = params.geometry();
    let anatomy = Anatomy::grow(seed, Fit::for_grid(&geometry), &super::Family::standard());
    let (hu, labels, labels_lr) = render(&anatomy, &geometry);
    Case { anatomy, phantom: Phantom { params, geometry, hu, labels, labels_lr } }
}

fn case(seed: u64) -> &'static Case {
    static ONE: OnceLock<Case> = OnceLock::new();
    static TWO: OnceLock<Case> = OnceLock::new();
    match seed {
        1 => ONE.get_or_init(|| build(1)),
        2 => TWO.get_or_init(|| build(2)),
        _ => unreachable!("cached seeds are 1 and 2"),
    }
}

/// Voxel width used for partial volume on a grid.
fn voxel_width(g: &Geometry) -> f64 {
    (g.spacing[0] * g.spacing[1] * g.spacing[2]).cbrt()
}

/// Every voxel as (index, centre, HU, label, left/right label).
fn voxels(p: &Phantom) -> impl Iterator<Item = ([usize; 3], Vec3, f64, u8, u8)> + '_ {
    p.hu.indexed_iter().map(move |((k, j, i), &h)| {
        let c = p.geometry.index_to_lps(k as f64, j as f64, i as f64);
        ([k, j, i], c, h as f64, p.labels[[k, j, i]], p.labels_lr[[k, j, i]])
    })
}

fn mean_sd(x: &[f64]) -> (f64, f64) {
    let n = x.len().max(1) as f64;
    let m = x.iter().sum::<f64>() / n;
    (m, (x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / n).sqrt())
}

fn tubes_of(a: &Anatomy, pick: impl Fn(Tissue) -> bool) -> Vec<Tube> {
    a.parts
        .iter()
        .filter_map(|p| match p.shape {
            Shape::Tube(t) if pick(p.tissue) => Some(t),
            _ => None,
        })
        .collect()
}

fn is_vessel(t: Tissue) -> bool {
    matches!(t, Tissue::Artery(_) | Tissue::Vein(_))
}

fn is_airway(t: Tissue) -> bool {
    matches!(t, Tissue::Airway { .. })
}

#[test]
fn same_seed_gives_the_same_phantom() {
    let again = generate(&PhantomParams { seed: 1, ..PhantomParams::default() });
    let first = &case(1).phantom;
    assert_eq!(again.geometry, first.geometry);
    assert!(again.hu == first.hu, "HU differ between two runs of seed 1");
    assert!(again.labels == first.labels && again.labels_lr == first.labels_lr);
}

#[test]
fn different_seeds_grow_different_trees() {
    let (a, b) = (&case(1).phantom, &case(2).phantom);
    let (mut both, mut na, mut nb) = (0usize, 0usize, 0usize);
    for (x, y) in a.labels.iter().zip(b.labels.iter()) {
        na += usize::from(*x > 0);
        nb += usize::from(*y > 0);
        both += usize::from(*x > 0 && *x == *y);
    }
    let dice = 2.0 * both as f64 / (na + nb) as f64;
    assert!(dice < 0.5, "seeds 1 and 2 share too much of their vessels: Dice {dice:.2}");
    // ... yet the same amount of vessel, give or take.
    let ratio = na as f64 / nb as f64;
    assert!((0.8..1.25).contains(&ratio), "labelled voxels {na} vs {nb}");
}

#[test]
fn hu_is_plausible_by_region() {
    let Case { anatomy, phantom } = case(1);
    let w = voxel_width(&phantom.geometry);
    let everything = Obstacles::new(tubes_of(anatomy, |_| true), 12.0);
    let vessels = Obstacles::new(tubes_of(anatomy, is_vessel), 12.0);
    let (mut air, mut lung, mut blood) = (Vec::new(), Vec::new(), Vec::new());
    for (_, c, h, _, _) in voxels(phantom) {
        if anatomy.torso.body_sd(c) > 2.0 * w {
            air.push(h);
        } else if Side::BOTH.iter().any(|&s| anatomy.torso.lung_sd(s, c) < -w) && everything.clearance(c) > 2.0 * w {
            lung.push(h);
        } else if vessels.clearance(c) < -w {
            blood.push(h);
        }
    }
    let checks = [("outside air", &air, -1005.0, -990.0), ("lung", &lung, -860.0, -840.0), ("vessel blood", &blood, 32.0, 48.0)];
    for (name, x, lo, hi) in checks {
        let (m, sd) = mean_sd(x);
        assert!(x.len() > 200, "{name}: only {} voxels", x.len());
        assert!(m > lo && m < hi, "{name}: mean {m:.1} HU not in {lo}..{hi}");
        // Air is clipped at -1024 HU, like a scanner's, which narrows its spread a little.
        assert!(sd > 14.0 && sd < 24.0, "{name}: noise sd {sd:.1} HU");
    }
}

#[test]
fn arteries_and_veins_share_one_intensity_distribution() {
    let mut all = [Vec::new(), Vec::new()];
    let mut inner = [Vec::new(), Vec::new()];
    for seed in [1, 2] {
        let Case { anatomy, phantom } = case(seed);
        let w = voxel_width(&phantom.geometry);
        let vessels = Obstacles::new(tubes_of(anatomy, is_vessel), 12.0);
        for (_, c, h, l, _) in voxels(phantom) {
            if l == LABEL_ARTERY || l == LABEL_VEIN {
                let n = usize::from(l == LABEL_VEIN);
                all[n].push(h);
                if vessels.clearance(c) < -w {
                    inner[n].push(h);
                }
            }
        }
    }
    // Inside the vessels: one blood value and one noise level.
    let ((ma, sa), (mv, sv)) = (mean_sd(&inner[0]), mean_sd(&inner[1]));
    assert!((ma - mv).abs() < 3.0, "interior means: artery {ma:.1}, vein {mv:.1} HU");
    assert!((sa / sv - 1.0).abs() < 0.1, "interior sd: artery {sa:.1}, vein {sv:.1} HU");
    // All labelled voxels: partial volume depends on the mix of vessel sizes (the main
    // pulmonary arteries are wider than the pulmonary veins), so the means differ by 10-25 HU,
    // but the spreads match and the distributions overlap almost entirely.
    let ((ma, sa), (mv, sv)) = (mean_sd(&all[0]), mean_sd(&all[1]));
    assert!((ma - mv).abs() < 30.0, "means: artery {ma:.1}, vein {mv:.1} HU");
    assert!((sa / sv - 1.0).abs() < 0.1, "sd: artery {sa:.1}, vein {sv:.1} HU");
    let hist = |x: &[f64]| {
        let mut h = [0.0; 24];
        for v in x {
            h[(((v + 1100.0) / 50.0).floor().max(0.0) as usize).min(23)] += 1.0 / x.len() as f64;
        }
        h
    };
    let (ha, hv) = (hist(&all[0]), hist(&all[1]));
    let overlap: f64 = ha.iter().zip(&hv).map(|(a, v)| a.min(*v)).sum();
    assert!(overlap > 0.9, "artery and vein HU histograms overlap only {overlap:.2}");
}

/// For centre-line points every millimetre: the fraction with a bronchus surface within the
/// point's vessel radius plus `margin` mm.
fn fraction_beside_airways(tubes: &[Tube], airways: &Obstacles, margin: f64) -> f64 {
    let (mut near, mut n) = (0usize, 0usize);
    for t in tubes {
        for (p, r) in t.samples(1.0) {
            n += 1;
            near += usize::from(airways.clearance(p) <= r + margin);
        }
    }
    near as f64 / n.max(1) as f64
}

#[test]
fn airways_run_beside_arteries_not_veins() {
    for seed in [1, 2] {
        let a = &case(seed).anatomy;
        let airways = Obstacles::new(tubes_of(a, is_airway), 12.0);
        for lung in &a.lungs {
            // Intrapulmonary vessels: after the two main pulmonary-artery tubes and the two
            // hilar pulmonary veins.
            let arteries = fraction_beside_airways(&lung.arteries[2..], &airways, 4.0);
            let veins = fraction_beside_airways(&lung.veins[2..], &airways, 4.0);
            assert!(arteries > 0.97, "seed {seed}: only {arteries:.2} of artery centre line beside a bronchus");
            assert!(veins < 0.35, "seed {seed}: {veins:.2} of vein centre line beside a bronchus");
        }
    }
}

#[test]
fn veins_keep_clear_of_arteries_and_airways() {
    for seed in [1, 2] {
        let a = &case(seed).anatomy;
        let bundles = Obstacles::new(tubes_of(a, |t| matches!(t, Tissue::Artery(_) | Tissue::Airway { .. })), 12.0);
        let (mut short, mut touching, mut n) = (0usize, 0usize, 0usize);
        for lung in &a.lungs {
            for t in &lung.veins {
                n += 1;
                let gap = bundles.segment_clearance(t.a, t.b) - t.max_radius();
                short += usize::from(gap < vein_gap(t.max_radius()) - 1e-9);
                touching += usize::from(gap <= 0.0);
            }
        }
        assert!(touching == 0, "seed {seed}: {touching} vein segments touch an artery or bronchus");
        assert!(short == 0, "seed {seed}: {short} of {n} vein segments closer than their gap");
    }
}

#[test]
fn bronchi_and_their_arteries_do_not_touch() {
    let a = &case(1).anatomy;
    let airways = Obstacles::new(tubes_of(a, is_airway), 12.0);
    for lung in &a.lungs {
        for t in &lung.arteries[2..] {
            let gap = airways.segment_clearance(t.a, t.b) - t.max_radius();
            assert!(gap > 0.0, "artery segment {t:?} touches a bronchus (gap {gap:.2} mm)");
        }
    }
    // The offset rule leaves a millimetre or more between the two surfaces.
    assert!(artery_offset(1.0) - 1.0 - super::bundle::airway_radius(1.0) >= 1.0);
}

#[test]
fn veins_drain_to_the_left_atrium_and_arteries_start_at_the_trunk() {
    let Case { anatomy, phantom } = case(1);
    let m = &anatomy.mediastinum;
    let w = voxel_width(&phantom.geometry);
    // The model: every pulmonary vein starts on the atrium and feeds its tree's root.
    for lung in &anatomy.lungs {
        for (plan, tree) in lung.vein_plans.iter().zip(&lung.vein_trees) {
            assert!(m.left_atrium.signed_distance(plan.ostium).abs() < 1.0, "ostium off the atrium");
            assert!(tree.nodes.len() > 50 && tree.nodes[0].pos == plan.root);
        }
    }
    // The atrium is posterior to the trunk and below its bifurcation.
    assert!(m.left_atrium.centre[1] > m.trunk.b[1] + 20.0 && m.left_atrium.centre[2] < m.bifurcation[2]);
    // The image: each side's veins reach the atrium, its arteries the trunk, not the other way.
    let mut nearest = [[f64::INFINITY; 2]; 4]; // per labels_lr value - 1: [to atrium, to trunk]
    for (_, c, _, _, lr) in voxels(phantom) {
        if lr > 0 {
            let n = &mut nearest[lr as usize - 1];
            n[0] = n[0].min(m.left_atrium.signed_distance(c));
            n[1] = n[1].min(m.trunk.signed_distance(c));
        }
    }
    for (lr, [atrium, trunk]) in nearest.iter().enumerate() {
        let vein = artery_vein_label(lr as u8 + 1) == LABEL_VEIN;
        if vein {
            assert!(*atrium < w && *trunk > 1.0, "label {}: atrium {atrium:.1} mm, trunk {trunk:.1} mm", lr + 1);
        } else {
            assert!(*trunk < w && *atrium > 1.0, "label {}: atrium {atrium:.1} mm, trunk {trunk:.1} mm", lr + 1);
        }
    }
}

#[test]
fn head_first_and_feet_first_show_the_same_patient() {
    let hf = &case(1).phantom;
    let ff = generate(&PhantomParams { seed: 1, feet_first: true, ..PhantomParams::default() });
    let [nk, _, ni] = hf.geometry.shape;
    let mut differ = 0usize;
    for ((k, j, i), &h) in hf.hu.indexed_iter() {
        let (kf, jf, i_f) = (nk - 1 - k, j, ni - 1 - i);
        let p = hf.geometry.index_to_lps(k as f64, j as f64, i as f64);
        let q = ff.geometry.index_to_lps(kf as f64, jf as f64, i_f as f64);
        assert!(norm(sub(p, q)) < 1e-6, "voxel grids do not match");
        assert_eq!(hf.labels_lr[[k, j, i]], ff.labels_lr[[kf, jf, i_f]], "labels differ at {p:?}");
        let d = (h - ff.hu[[kf, jf, i_f]]).abs();
        assert!(d <= 1, "HU differ by {d} at {p:?}");
        differ += usize::from(d > 0);
    }
    assert!(differ * 1000 < hf.hu.len(), "{differ} voxels differ by rounding");
}

#[test]
fn left_right_labels_agree_with_labels_and_sides() {
    for seed in [1, 2] {
        let p = &case(seed).phantom;
        let (mut right, mut right_on_left) = (0usize, 0usize);
        for (_, c, _, l, lr) in voxels(p) {
            assert_eq!(l, artery_vein_label(lr));
            if lr == LABEL_LEFT_ARTERY || lr == LABEL_LEFT_VEIN {
                assert!(c[0] > 0.0, "left label {lr} at x = {:.1} mm", c[0]);
            } else if lr > 0 {
                right += 1;
                right_on_left += usize::from(c[0] > 0.0);
            }
        }
        // Only the start of the right pulmonary artery lies left of the midline.
        assert!(right_on_left * 20 < right, "{right_on_left} of {right} right-labelled voxels at x > 0");
    }
}

#[test]
fn thick_vessels_hold_most_of_the_labelled_volume() {
    for seed in [1, 2] {
        let a = &case(seed).anatomy;
        for (name, pick) in [("arteries", Tissue::Artery as fn(Side) -> Tissue), ("veins", Tissue::Vein)] {
            let (mut thick, mut total) = (0.0, 0.0);
            for side in Side::BOTH {
                for t in tubes_of(a, |x| x == pick(side)) {
                    let v = t.max_radius().powi(2) * t.length();
                    total += v;
                    if t.max_radius() >= 1.5 {
                        thick += v;
                    }
                }
            }
            let f = thick / total;
            assert!(f > 0.65, "seed {seed}: {name} of radius >= 1.5 mm hold only {f:.2} of the volume");
        }
        // The main branches tile the lungs at 2.7 mm: several hundred labelled voxels each.
        let p = &case(seed).phantom;
        let counts = p.labels_lr.iter().fold([0usize; 5], |mut c, &v| {
            c[v as usize] += 1;
            c
        });
        assert!(counts[1..].iter().all(|&c| c > 1500), "labelled voxels per class: {counts:?}");
    }
}

#[test]
fn the_chest_fills_the_field_of_view() {
    let Case { anatomy, phantom } = case(1);
    let g = &phantom.geometry;
    let (mut zlo, mut zhi) = (f64::INFINITY, f64::NEG_INFINITY);
    for (_, c, h, _, _) in voxels(phantom) {
        if Side::BOTH.iter().any(|&s| anatomy.torso.lung_sd(s, c) < 0.0) {
            zlo = zlo.min(c[2]);
            zhi = zhi.max(c[2]);
        }
        let [k, j, i] = g.lps_to_index(c).map(|x| x.round() as usize);
        if j == 0 || i == 0 || j + 1 == g.shape[1] || i + 1 == g.shape[2] {
            assert!(h < -900.0, "body reaches the edge of the field of view at {k}, {j}, {i}");
        }
    }
    let span = zhi - zlo + g.spacing[0];
    let extent = g.extent_mm()[0];
    assert!(span > 0.85 * extent && span < 0.95 * extent, "lungs span {span:.0} of {extent:.0} mm");
}


