//! Grows both lungs' bronchoarterial bundles and veins together, thick before thin: in each
//! stage every bundle grows its branches down to the stage's radius (keeping clear of the veins
//! so far), then every venous tree does (keeping clear of the bundles so far). So the large
//! veins find their way between the large bundles before the small branches fill the gaps,
//! and arteries and veins end up with similar sizes and extents.

use super::bundle;
use super::mediastinum::{index, Hilum, Mediastinum, VeinPlan, MAIN_PA_RADIUS};
use super::obstacles::Obstacles;
use super::shapes::Tube;
use super::torso::{Side, Torso};
use super::tree::{Candidate, Growth, Tree};
use super::veins::{self, vein_gap};
use rand_chacha::ChaCha8Rng;

/// Radii (mm) at which growth passes from the bundles to the veins and back.
const STAGES: [f64; 6] = [5.0, 3.5, 2.5, 1.8, 1.3, 0.0];

/// Clearances are looked up to this distance (more than any gap asked for), mm.
const OBSTACLE_REACH: f64 = 12.0;

/// The vessels and airways of one lung.
#[derive(Debug, Clone)]
pub(crate) struct LungVessels {
    pub bundle: Tree,
    /// Intrapulmonary bronchi (outer surface).
    pub airways: Vec<Tube>,
    /// The left or right pulmonary artery from the trunk bifurcation to the hilum, then the
    /// intrapulmonary arteries.
    pub arteries: Vec<Tube>,
    /// Superior and inferior vein, roots where they found room.
    pub vein_plans: [VeinPlan; 2],
    pub vein_trees: [Tree; 2],
    /// The hilar pulmonary veins, then the venous trees.
    pub veins: Vec<Tube>,
}

/// The main pulmonary artery of a side: bifurcation, via point, hilum.
fn main_artery(m: &Mediastinum, hilum: &Hilum) -> [Tube; 2] {
    let mid = 0.5 * (MAIN_PA_RADIUS + bundle::ROOT_RADIUS);
    [
        Tube::tapered(m.bifurcation, hilum.artery_via, MAIN_PA_RADIUS, mid),
        Tube::tapered(hilum.artery_via, bundle::artery_root(hilum), mid, bundle::ROOT_RADIUS),
    ]
}

/// Whether a bundle segment stays in its lung and its bronchus and artery keep clear of the
/// veins.
fn bundle_accept(torso: &Torso, side: Side, veins: &Obstacles, c: &Candidate) -> bool {
    if !bundle::in_lung(torso, side, c) {
        return false;
    }
    let mut clear = true;
    bundle::segment_tubes(c, |_, t| {
        clear = clear && veins.segment_clearance(t.a, t.b) - t.max_radius() >= vein_gap(c.radius);
    });
    clear
}

/// Grows the vessels of both lungs (left, right); `streams(purpose)` gives independent random
/// streams.
pub(crate) fn grow(torso: &Torso, m: &Mediastinum, streams: impl Fn(u64) -> ChaCha8Rng) -> [LungVessels; 2] {
    let mut central = vec![m.trachea, m.main_bronchi[0], m.main_bronchi[1]];
    for side in Side::BOTH {
        central.extend(main_artery(m, &m.hila[index(side)]));
    }
    let mut bundle_rngs = [streams(10), streams(11)];
    let mut vein_rngs = [streams(20), streams(21)];
    let territories = Side::BOTH.map(|side| bundle::territory(torso, side, &mut bundle_rngs[index(side)]));
    let mut bundles: [Growth; 2] =
        Side::BOTH.map(|side| Growth::new(&bundle::sprout(&m.hila[index(side)]), &territories[index(side)], bundle::rules()));
    let bundle_obstacles = |bundles: &[Growth]| {
        let mut tubes = central.clone();
        for g in bundles {
            let (a, b) = bundle::tubes(g.tree());
            tubes.extend(a);
            tubes.extend(b);
        }
        Obstacles::new(tubes, OBSTACLE_REACH)
    };

    // First stage of the bundles, then the veins find room for their roots beside them.
    let no_veins = Obstacles::new(Vec::new(), OBSTACLE_REACH);
    for side in Side::BOTH {
        let i = index(side);
        bundles[i].grow(STAGES[0], &mut bundle_rngs[i], &|c| bundle_accept(torso, side, &no_veins, c));
    }
    let obstacles = bundle_obstacles(&bundles);
    let vein_plans = Side::BOTH.map(|side| {
        let i = index(side);
        m.veins[i].map(|plan| veins::place_root(torso, side, &plan, &obstacles, &mut vein_rngs[i]))
    });
    let vein_territories =
        Side::BOTH.map(|side| veins::territories(torso, side, vein_plans[index(side)][0].share, &mut vein_rngs[index(side)]));
    let mut vein_growths: [[Growth; 2]; 2] = [0, 1].map(|i| {
        [0, 1].map(|k| Growth::new(&veins::sprout(&vein_plans[i][k]), &vein_territories[i][k], bundle::rules()))
    });
    let vein_obstacles = |growths: &[[Growth; 2]; 2]| {
        let mut tubes: Vec<Tube> = vein_plans.iter().flatten().map(veins::hilar_tube).collect();
        for g in growths.iter().flatten() {
            tubes.extend(veins::tubes(g.tree()));
        }
        Obstacles::new(tubes, OBSTACLE_REACH)
    };

    for (n, &stage) in STAGES.iter().enumerate() {
        if n > 0 {
            let vo = vein_obstacles(&vein_growths);
            for side in Side::BOTH {
                let i = index(side);
                bundles[i].grow(stage, &mut bundle_rngs[i], &|c| bundle_accept(torso, side, &vo, c));
            }
        }
        let fresh;
        let bo = if n > 0 {
            fresh = bundle_obstacles(&bundles);
            &fresh
        } else {
            &obstacles
        };
        for side in Side::BOTH {
            let i = index(side);
            for g in vein_growths[i].iter_mut() {
                g.grow(stage, &mut vein_rngs[i], &|c| veins::accept(torso, side, bo, c));
            }
        }
    }

    let [left_bundle, right_bundle] = bundles;
    let [left_veins, right_veins] = vein_growths;
    [
        finish(m, Side::Left, left_bundle, left_veins, vein_plans[0]),
        finish(m, Side::Right, right_bundle, right_veins, vein_plans[1]),
    ]
}

/// The tubes of one lung's grown trees.
fn finish(m: &Mediastinum, side: Side, bundle: Growth, veins: [Growth; 2], vein_plans: [VeinPlan; 2]) -> LungVessels {
    let bundle = bundle.into_tree();
    let (airways, intrapulmonary) = bundle::tubes(&bundle);
    let mut arteries = main_artery(m, &m.hila[index(side)]).to_vec();
    arteries.extend(intrapulmonary);
    let vein_trees = veins.map(Growth::into_tree);
    let mut vein_tubes: Vec<Tube> = vein_plans.iter().map(veins::hilar_tube).collect();
    for t in &vein_trees {
        vein_tubes.extend(veins::tubes(t));
    }
    LungVessels { bundle, airways, arteries, vein_plans, vein_trees, veins: vein_tubes }
}
