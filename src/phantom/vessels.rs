//! Grows both lungs' bronchoarterial bundles and veins together, thick before thin: in each
//! stage every bundle grows its branches down to the stage's radius, then every venous tree
//! does. So the large veins find their way between the large bundles before the small branches
//! fill the gaps, and arteries and veins end up with similar sizes and extents.
//!
//! Every accepted segment goes into spatial indexes that later segments must keep clear of:
//! bronchi and arteries keep clear of each other and of the veins (by each vein's gap), veins
//! of the bundles (by their gap) and of each other. A new segment joins its parent and, near
//! their common start, overlaps its siblings of the same kind, so it is not checked against
//! those; but the end of every segment is kept as a ball of room for its children, which
//! siblings must leave free. Each tree's stem (and the hand-placed vessel leading into it) is
//! laid down unchecked; the veins' roots are placed where their stems have room.

use super::family::Family;
use super::bundle::{self, airway_radius};
use super::mediastinum::{index, Hilum, Mediastinum, VeinPlan, MAIN_PA_RADIUS};
use super::obstacles::{Obstacles, Tag};
use super::shapes::Tube;
use super::torso::{Side, Torso};
use super::tree::{Candidate, Growth, Tree};
use super::veins::{self, vein_gap};
use crate::geometry::Vec3;
use rand_chacha::ChaCha8Rng;
use std::cell::RefCell;

/// Radii (mm) at which growth passes from the bundles to the veins and back.
const STAGES: [f64; 6] = [5.0, 3.5, 2.5, 1.8, 1.3, 0.0];

/// The bundles grow down to this radius before any vein grows: the hilum is crowded, and the
/// lobar bronchi and arteries take their places first.
const BUNDLE_HEAD_START: f64 = 3.5;

/// Clearances are looked up to this distance (more than any gap asked for), mm.
const OBSTACLE_REACH: f64 = 12.0;

/// Least gap between a bronchus and an artery that it does not accompany, mm.
const BUNDLE_GAP: f64 = 0.5;

/// The vessels and airways of one lung.
#[derive(Debug, Clone)]
pub(crate) struct LungVessels {
    /// Intrapulmonary bronchi (outer surface).
    pub airways: Vec<Tube>,
    /// The left or right pulmonary artery from the trunk bifurcation to the hilum, then the
    /// intrapulmonary arteries.
    pub arteries: Vec<Tube>,
    /// Superior and inferior vein, roots where they found room.
    #[cfg_attr(not(test), allow(dead_code))]
    pub vein_plans: [VeinPlan; 2],
    #[cfg_attr(not(test), allow(dead_code))]
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

/// Everything grown so far.
struct Indexes {
    airways: Obstacles,
    arteries: Obstacles,
    veins: Obstacles,
    /// Veins with their radius grown by their gap: what bundles must keep clear of.
    padded_veins: Obstacles,
}

impl Indexes {
    fn add_bundle(&mut self, tissue: bundle::Tissue, t: Tube, tag: Tag) {
        match tissue {
            bundle::Tissue::Airway => self.airways.insert(t, tag),
            bundle::Tissue::Artery => self.arteries.insert(t, tag),
        }
    }

    fn add_vein(&mut self, t: Tube, tag: Tag) {
        self.veins.insert(t, tag);
        self.padded_veins.insert(Tube::tapered(t.a, t.b, t.ra + vein_gap(t.ra), t.rb + vein_gap(t.rb)), tag);
    }
}

/// Tree numbers in the indexes: the bundles, then the superior and inferior veins, left first.
fn bundle_tree(side: Side) -> u32 {
    index(side) as u32
}

fn vein_tree(side: Side, k: usize) -> u32 {
    2 + 2 * index(side) as u32 + k as u32
}

/// Tag of a candidate segment of tree `tree`.
fn tag_of(tree: u32, c: &Candidate) -> Tag {
    Tag { tree, start: c.from as u32, end: c.node as u32 }
}

/// Marks a ball at a segment's end, kept free for its children: siblings, which may overlap
/// each other where they start, must still keep clear of each other's ends.
const ROOM: u32 = u32::MAX - 1;

/// Tag for hand-placed tubes that lead into a tree's root: treated as part of its stem.
fn lead_in(tree: u32) -> Tag {
    Tag { tree, start: u32::MAX, end: 1 }
}

/// Whether the end of a bundle segment, where its children will start, is clear of every
/// bronchus and artery grown so far (its parent and siblings included).
fn room_at_end(ix: &Indexes, tubes: &[(bundle::Tissue, Tube)]) -> bool {
    let last = |tissue| tubes.iter().rev().find(|(k, _)| *k == tissue).map(|(_, t)| *t);
    let ok = |index: &Obstacles, t: Option<Tube>| t.is_none_or(|t| index.clearance(t.b) >= t.max_radius());
    ok(&ix.airways, last(bundle::Tissue::Airway)) && ok(&ix.arteries, last(bundle::Tissue::Artery))
}

/// Whether a bundle segment stays in its lung and keeps clear of everything grown so far
/// (except its own parent and siblings of the same kind); records it if so.
fn bundle_accept(torso: &Torso, side: Side, ix: &RefCell<Indexes>, c: &Candidate) -> bool {
    if !bundle::in_lung(torso, side, c) {
        return false;
    }
    let tree = bundle_tree(side);
    let kin = |t: &Tag| t.touches(tree, c.from as u32);
    let mut tubes = Vec::with_capacity(5);
    bundle::segment_tubes(c, |tissue, t| tubes.push((tissue, t)));
    let clear = {
        let ix = ix.borrow();
        tubes.iter().all(|&(tissue, t)| {
            let r = t.max_radius();
            let (same, other) = match tissue {
                bundle::Tissue::Airway => (&ix.airways, &ix.arteries),
                bundle::Tissue::Artery => (&ix.arteries, &ix.airways),
            };
            same.segment_clearance_except(t.a, t.b, kin) >= r
                && other.segment_clearance(t.a, t.b) >= r + BUNDLE_GAP
                && ix.padded_veins.segment_clearance(t.a, t.b) >= r
        }) && room_at_end(&ix, &tubes)
    };
    if clear {
        let mut ix = ix.borrow_mut();
        for &(tissue, t) in &tubes {
            ix.add_bundle(tissue, t, tag_of(tree, c));
        }
        // Room for its children, which its siblings must leave too.
        let room = Tag { tree, start: ROOM, end: c.node as u32 };
        let airway_end = Tube::new(c.end, c.end, airway_radius(c.radius));
        let artery_end = tubes.iter().rev().find(|(k, _)| *k == bundle::Tissue::Artery).map(|(_, t)| Tube::new(t.b, t.b, c.radius));
        ix.airways.insert(airway_end, room);
        if let Some(t) = artery_end {
            ix.arteries.insert(t, room);
        }
    }
    clear
}

/// Whether a vein segment stays in its lung, keeps its gap from the bundles and clear of the
/// other veins (except its own parent and siblings, though its end must leave room for its
/// children even from those); records it if so.
fn vein_accept(torso: &Torso, side: Side, k: usize, ix: &RefCell<Indexes>, c: &Candidate) -> bool {
    if !bundle::in_lung(torso, side, c) {
        return false;
    }
    let tree = vein_tree(side, k);
    let need = c.radius + vein_gap(c.radius);
    let clear = {
        let ix = ix.borrow();
        ix.airways.segment_clearance(c.start, c.end) >= need
            && ix.arteries.segment_clearance(c.start, c.end) >= need
            && ix.veins.segment_clearance_except(c.start, c.end, |t| t.touches(tree, c.from as u32)) >= c.radius
            && ix.veins.clearance(c.end) >= c.radius
    };
    if clear {
        let mut ix = ix.borrow_mut();
        ix.add_vein(Tube::new(c.start, c.end, c.radius), tag_of(tree, c));
        ix.veins.insert(Tube::new(c.end, c.end, c.radius), Tag { tree, start: ROOM, end: c.node as u32 });
    }
    clear
}

/// Grows the vessels of both lungs (left, right); `streams(purpose)` gives independent random
/// streams.
pub(crate) fn grow(
    torso: &Torso,
    m: &Mediastinum,
    family: &Family,
    streams: impl Fn(u64) -> ChaCha8Rng,
) -> [LungVessels; 2] {
    let rules = bundle::rules(family);
    let (lo_l, hi_l) = torso.lung_bounds(Side::Left);
    let (lo_r, hi_r) = torso.lung_bounds(Side::Right);
    let lo = [0, 1, 2].map(|c| lo_l[c].min(lo_r[c]) - 30.0);
    let hi = [0, 1, 2].map(|c| hi_l[c].max(hi_r[c]) + 30.0);
    let empty = || Obstacles::empty(lo, hi, OBSTACLE_REACH);
    let ix = RefCell::new(Indexes { airways: empty(), arteries: empty(), veins: empty(), padded_veins: empty() });
    {
        let mut ix = ix.borrow_mut();
        ix.airways.insert(m.trachea, Tag::NONE);
        for side in Side::BOTH {
            let i = index(side);
            ix.airways.insert(m.main_bronchi[i], lead_in(bundle_tree(side)));
            for t in main_artery(m, &m.hila[i]) {
                ix.arteries.insert(t, lead_in(bundle_tree(side)));
            }
        }
    }
    let mut bundle_rngs = [streams(10), streams(11)];
    let mut vein_rngs = [streams(20), streams(21)];
    let territories = Side::BOTH.map(|side| bundle::territory(torso, side, &mut bundle_rngs[index(side)]));
    let mut bundles: [Growth; 2] =
        Side::BOTH.map(|side| Growth::new(&bundle::sprout(&m.hila[index(side)]), &territories[index(side)], rules.clone()));
    for (side, g) in Side::BOTH.into_iter().zip(&bundles) {
        // The stems, grown unchecked.
        let (airways, arteries) = bundle::tubes(g.tree());
        let stem = Tag { tree: bundle_tree(side), start: 0, end: 1 };
        let mut ix = ix.borrow_mut();
        airways.into_iter().for_each(|t| ix.airways.insert(t, stem));
        arteries.into_iter().for_each(|t| ix.arteries.insert(t, stem));
    }

    // The bundles' thick branches first, then the veins find room for their roots beside them.
    for side in Side::BOTH {
        let i = index(side);
        bundles[i].grow(BUNDLE_HEAD_START, &mut bundle_rngs[i], &|c| bundle_accept(torso, side, &ix, c));
    }
    let vein_territories =
        Side::BOTH.map(|side| veins::territories(torso, side, m.veins[index(side)][0].share, &mut vein_rngs[index(side)]));
    let vein_plans = Side::BOTH.map(|side| {
        let i = index(side);
        let ixb = ix.borrow();
        let clearance = |a: Vec3, b: Vec3| ixb.airways.segment_clearance(a, b).min(ixb.arteries.segment_clearance(a, b));
        [0, 1].map(|k| {
            let centre = veins::centre(&vein_territories[i][k]);
            veins::place_root(torso, side, &m.veins[i][k], centre, &clearance, &mut vein_rngs[i])
        })
    });
    let mut vein_growths: [[Growth; 2]; 2] = [0, 1].map(|i| {
        [0, 1].map(|k| Growth::new(&veins::sprout(&vein_plans[i][k], &vein_territories[i][k]), &vein_territories[i][k], rules.clone()))
    });
    {
        let mut ix = ix.borrow_mut();
        for side in Side::BOTH {
            for k in 0..2 {
                let i = index(side);
                let tree = vein_tree(side, k);
                ix.add_vein(veins::hilar_tube(&vein_plans[i][k]), lead_in(tree));
                let stem = Tag { tree, start: 0, end: 1 };
                veins::tubes(vein_growths[i][k].tree()).for_each(|t| ix.add_vein(t, stem));
            }
        }
    }

    for (n, &stage) in STAGES.iter().enumerate() {
        if n > 0 {
            for side in Side::BOTH {
                let i = index(side);
                bundles[i].grow(stage, &mut bundle_rngs[i], &|c| bundle_accept(torso, side, &ix, c));
            }
        }
        for side in Side::BOTH {
            let i = index(side);
            for (k, g) in vein_growths[i].iter_mut().enumerate() {
                g.grow(stage, &mut vein_rngs[i], &|c| vein_accept(torso, side, k, &ix, c));
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
    LungVessels { airways, arteries, vein_plans, vein_trees, veins: vein_tubes }
}
