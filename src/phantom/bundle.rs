//! A lung's bronchoarterial bundle: one tree grown from the hilum into the whole lung gives the
//! airway centre lines; the artery runs beside each bronchus on the side of the branching-plane
//! normal (branches leave close to that plane), so it never crosses a sibling bronchus.

use super::family::Family;
use super::mediastinum::Hilum;
use super::shapes::Tube;
use super::torso::{Side, Torso};
use super::directions::{perpendicular, slerp};
use super::territory::sample_region;
use super::tree::{Candidate, Rules, Sprout, Tree};
use crate::geometry::{add, dot, normalize, scale, sub, Vec3};
use rand::Rng;

/// Radius of the artery where the intrapulmonary bundle leaves the hilum, mm.
pub(crate) const ROOT_RADIUS: f64 = 7.0;
/// Sample points per lung: the territory the bundle (and, separately, the veins) divide up.
pub(crate) const TERRITORY_POINTS: usize = 4000;
/// Length of the bundle's stem from the hilum before its first (upper/lower lobe) split, mm.
const STEM: f64 = 12.0;

/// Outer radius of the bronchus that accompanies an artery of radius `r` (bronchoarterial
/// ratio about 0.9).
pub(crate) fn airway_radius(r: f64) -> f64 {
    0.9 * r + 0.2
}

/// Airway wall thickness for outer radius `outer`: 18 % of the radius, at least 0.7 mm.
pub(crate) fn airway_wall(outer: f64) -> f64 {
    (0.18 * outer).max(0.7)
}

/// Distance from a bronchus's axis to its artery's axis.
pub(crate) fn artery_offset(r: f64) -> f64 {
    airway_radius(r) + r + 1.0 + 0.15 * r
}

/// How bundles (and venous trees) grow: the family's radii, taper and branch statistics, and
/// branches stay within 30 degrees of their parent's branching plane.
pub(crate) fn rules(family: &Family) -> Rules {
    let [lo, hi] = family.split_quantile;
    Rules {
        min_radius: family.min_radius_mm,
        length_per_radius: family.branch_length,
        split_quantile: (lo, hi),
        taper_exponent: family.taper_exponent,
        max_plane_tilt: Some(30f64.to_radians()),
        ..Rules::default()
    }
}

/// The territory of the `side` lung: points spread uniformly through it.
pub(crate) fn territory(torso: &Torso, side: Side, rng: &mut impl Rng) -> Vec<Vec3> {
    let (lo, hi) = torso.lung_bounds(side);
    sample_region(lo, hi, TERRITORY_POINTS, rng, |p| torso.lung_sd(side, p) < -2.0)
}

/// The start of the bundle at the hilum: first split into upper and lower lobe.
pub(crate) fn sprout(hilum: &Hilum) -> Sprout {
    Sprout {
        root: hilum.airway,
        dir: hilum.dir,
        radius: ROOT_RADIUS,
        stem: STEM,
        normal: hilum.artery_side,
        first_split: Some(([0.0, 0.0, 1.0], 1.0 - hilum.upper_share)),
    }
}

/// Where the intrapulmonary artery starts: beside the bronchus at the hilum.
pub(crate) fn artery_root(hilum: &Hilum) -> Vec3 {
    let n = perpendicular(normalize(hilum.dir), hilum.artery_side);
    add(hilum.airway, scale(n, artery_offset(ROOT_RADIUS)))
}

/// Whether a bundle segment stays in its lung.
pub(crate) fn in_lung(torso: &Torso, side: Side, c: &Candidate) -> bool {
    let mid = scale(add(c.start, c.end), 0.5);
    torso.lung_sd(side, c.end) < -0.5 * c.radius && torso.lung_sd(side, mid) < 0.0
}

/// The bronchus (outer surface) and the artery tubes of one bundle segment.
pub(crate) fn segment_tubes(c: &Candidate, mut emit: impl FnMut(Tissue, Tube)) {
    emit(Tissue::Airway, Tube::new(c.start, c.end, airway_radius(c.radius)));
    let d = normalize(sub(c.end, c.start));
    let (u0, u1) = (perpendicular(d, c.start_normal), perpendicular(d, c.end_normal));
    let (s0, s1) = (artery_offset(c.parent_radius), artery_offset(c.radius));
    // Twist round the bronchus from the start's side to the end's side.
    let pieces = if dot(u0, u1) < 25f64.to_radians().cos() { 4 } else { 1 };
    let mut prev = add(c.start, scale(c.start_normal, s0));
    for k in 1..=pieces {
        let t = k as f64 / pieces as f64;
        let next = if k == pieces {
            add(c.end, scale(c.end_normal, s1))
        } else {
            let u = slerp(u0, u1, t);
            add(add(c.start, scale(sub(c.end, c.start), t)), scale(u, s0 + t * (s1 - s0)))
        };
        emit(Tissue::Artery, Tube::new(prev, next, c.radius));
        prev = next;
    }
}

/// Which tube of a bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tissue {
    Airway,
    Artery,
}

/// Airway tubes (outer radius) and artery tubes of a grown bundle tree.
pub(crate) fn tubes(tree: &Tree) -> (Vec<Tube>, Vec<Tube>) {
    let mut airways = Vec::with_capacity(tree.nodes.len());
    let mut arteries = Vec::with_capacity(2 * tree.nodes.len());
    for (i, node) in tree.nodes.iter().enumerate() {
        let Some(p) = node.parent else { continue };
        let parent = &tree.nodes[p];
        let c = Candidate {
            from: p,
            node: i,
            start: parent.pos,
            end: node.pos,
            radius: node.radius,
            parent_radius: parent.radius,
            start_normal: parent.normal,
            end_normal: node.normal,
        };
        segment_tubes(&c, |tissue, t| match tissue {
            Tissue::Airway => airways.push(t),
            Tissue::Artery => arteries.push(t),
        });
    }
    (airways, arteries)
}
