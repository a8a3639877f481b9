//! A lung's pulmonary veins: trees grown by the same rules as the bundle, from the superior and
//! inferior pulmonary veins that run to the left atrium, but keeping clear of every artery and
//! bronchus, so they end up in the space between the bronchoarterial bundles.

use super::directions::random_unit;
use super::mediastinum::{VeinPlan, PV_OSTIUM_RADIUS};
use super::shapes::Tube;
use super::torso::{Side, Torso};
use super::tree::{Sprout, Tree};
use crate::geometry::{add, norm, normalize, scale, sub, Vec3};
use rand::Rng;

/// Least gap between a vein's surface and any artery or bronchus surface, for radius `r`.
pub(crate) fn vein_gap(r: f64) -> f64 {
    1.5 + 0.2 * r
}

/// Length of a venous tree's stem, grown from the root before any clearance check.
const STEM: f64 = 8.0;

/// How far from its planned place a vein's root may move to find room beside the bundles, mm.
const ROOT_SEARCH_RADIUS: f64 = 40.0;

/// Direction of a venous tree's stem: half way from the vein's course towards the centre of
/// its territory.
fn stem_dir(plan: &VeinPlan, centre: Vec3) -> Vec3 {
    normalize(add(normalize(sub(plan.root, plan.ostium)), normalize(sub(centre, plan.root))))
}

/// Centre of a territory.
pub(crate) fn centre(territory: &[Vec3]) -> Vec3 {
    let n = territory.len().max(1) as f64;
    territory.iter().fold([0.0; 3], |acc, p| add(acc, scale(*p, 1.0 / n)))
}

/// The vein's course from the atrium to its tree's root.
pub(crate) fn hilar_tube(plan: &VeinPlan) -> Tube {
    Tube::tapered(plan.ostium, plan.root, PV_OSTIUM_RADIUS, plan.radius)
}

/// The start of a venous tree at its (placed) root.
pub(crate) fn sprout(plan: &VeinPlan, territory: &[Vec3]) -> Sprout {
    let dir = stem_dir(plan, centre(territory));
    Sprout { root: plan.root, dir, radius: plan.radius, stem: STEM, normal: [0.0, 0.0, 1.0], first_split: None }
}

/// The lung's venous territory split between the superior vein (the upper part of the lung)
/// and the inferior vein (the rest).
pub(crate) fn territories(torso: &Torso, side: Side, superior_share: f64, rng: &mut impl Rng) -> [Vec<Vec3>; 2] {
    let mut points = super::bundle::territory(torso, side, rng);
    points.sort_by(|a, b| b[2].total_cmp(&a[2]));
    let cut = ((points.len() as f64 * superior_share).round() as usize).min(points.len());
    let lower = points.split_off(cut);
    [points, lower]
}

/// Moves a vein's root to the nearest place (to the plan) where the vein, from the atrial
/// ostium through its stem, keeps its gap from every bundle (`clearance(a, b)`: distance from
/// segment `a`-`b` to the nearest bundle surface); the plan itself if it already does, the
/// roomiest candidate if none does.
pub(crate) fn place_root(
    torso: &Torso,
    side: Side,
    plan: &VeinPlan,
    territory_centre: Vec3,
    clearance: &dyn Fn(Vec3, Vec3) -> f64,
    rng: &mut impl Rng,
) -> VeinPlan {
    let room = |root: Vec3| {
        let p = VeinPlan { root, ..*plan };
        let stem_end = add(root, scale(stem_dir(&p, territory_centre), STEM));
        let hilar = clearance(plan.ostium, root) - PV_OSTIUM_RADIUS - vein_gap(PV_OSTIUM_RADIUS);
        let stem = clearance(root, stem_end) - plan.radius - vein_gap(plan.radius);
        let inside = torso.lung_sd(side, root).max(torso.lung_sd(side, stem_end)) < -plan.radius;
        (hilar.min(stem), inside)
    };
    let (gap, inside) = room(plan.root);
    if gap >= 0.0 && inside {
        return *plan;
    }
    let mut best_valid: Option<(f64, Vec3)> = None;
    let mut roomiest = (f64::NEG_INFINITY, plan.root);
    for _ in 0..600 {
        let offset = scale(random_unit(rng), ROOT_SEARCH_RADIUS * rng.random::<f64>().cbrt());
        let root = add(plan.root, offset);
        let (gap, inside) = room(root);
        if !inside {
            continue;
        }
        let moved = norm(offset);
        if gap >= 0.0 && best_valid.is_none_or(|(d, _)| moved < d) {
            best_valid = Some((moved, root));
        }
        if gap > roomiest.0 {
            roomiest = (gap, root);
        }
    }
    let root = best_valid.map_or(roomiest.1, |(_, r)| r);
    VeinPlan { root, ..*plan }
}

/// Tubes of a grown venous tree.
pub(crate) fn tubes(tree: &Tree) -> impl Iterator<Item = Tube> + '_ {
    tree.nodes.iter().filter_map(|n| n.parent.map(|p| Tube::new(tree.nodes[p].pos, n.pos, n.radius)))
}
