//! Growing a vessel tree into a territory by recursive bisection.
//!
//! A branch owns a set of sample points (its territory). It grows from its parent's end towards
//! the centroid of its territory, then the territory is split in two across its principal
//! axis (at a random quantile) and each half feeds one child. Radii follow Murray's law through
//! the territory sizes (`r_child = r * (n_child / n)^(1/3)`), so the tree tapers from its root
//! radius to `min_radius` where the territory runs out. Sibling subtrees own disjoint halves of
//! space and so rarely cross; the random quantiles, axis jitter and lengths make every seed's
//! tree different while keeping the same rules.

use super::directions::{deviate, limit_tilt, limit_turn, perpendicular, plane_normal_of, random_unit, spread};
use super::territory::{centroid, principal_axis};
use crate::geometry::{add, dot, norm, normalize, scale, sub, Vec3};
use rand::Rng;

/// A tree node; every node but the root ends the segment from its parent.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Node {
    pub pos: Vec3,
    pub parent: Option<usize>,
    /// Radius of the segment from the parent to this node (the root: the stem's radius).
    pub radius: f64,
    /// Unit normal of the branching plane at this node (perpendicular to the incoming segment;
    /// at a leaf, the parent's carried over): the side an accompanying vessel runs on.
    pub normal: Vec3,
}

/// Nodes in growth order: a parent always precedes its children.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tree {
    pub nodes: Vec<Node>,
}

impl Tree {
    #[cfg(test)]
    pub fn children(&self) -> Vec<Vec<usize>> {
        let mut ch = vec![Vec::new(); self.nodes.len()];
        for (i, n) in self.nodes.iter().enumerate() {
            if let Some(p) = n.parent {
                ch[p].push(i);
            }
        }
        ch
    }
}

/// How a tree grows.
#[derive(Debug, Clone)]
pub(crate) struct Rules {
    /// Branches thinner than this are not split further (mm).
    pub min_radius: f64,
    /// Segment length per unit radius before it reaches its territory's centre.
    pub length_per_radius: f64,
    /// Relative spread of segment lengths.
    pub length_jitter: f64,
    /// A splitting branch covers at most this fraction of the way to its territory's centre.
    pub max_reach: f64,
    pub min_length: f64,
    /// Range of the quantile at which a territory is split.
    pub split_quantile: (f64, f64),
    /// Random tilt of the splitting axis (length of the random vector added to the unit axis).
    pub axis_jitter: f64,
    /// Largest angle between a branch and its parent (radians).
    pub max_turn: f64,
    /// Least angle between two sibling branches (radians): siblings that would leave closer
    /// together are turned apart, as they would otherwise run side by side.
    pub min_spread: f64,
    /// Alternatives tried when a segment is refused: the first half ever further from the
    /// ideal direction, the second half towards random points of the territory.
    pub tries: usize,
    /// Largest deviation of the last alternative from the ideal direction (radians).
    pub max_deviation: f64,
    /// If set, a branch leaves its parent within this angle (radians) of the parent's
    /// branching plane, so a vessel running beside the tree on the plane's normal is never
    /// crossed.
    pub max_plane_tilt: Option<f64>,
    /// Radius law at a split: a child owning `share` of the territory gets
    /// `r * share^(1 / taper_exponent)`; 3 is Murray's law.
    pub taper_exponent: f64,
}

impl Rules {
    /// `share^(1 / taper_exponent)`, exactly the cube root for Murray's law.
    fn taper(&self, share: f64) -> f64 {
        if self.taper_exponent == 3.0 {
            share.cbrt()
        } else {
            share.powf(1.0 / self.taper_exponent)
        }
    }
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            min_radius: 1.0,
            length_per_radius: 6.0,
            length_jitter: 0.25,
            max_reach: 0.6,
            min_length: 3.0,
            split_quantile: (0.3, 0.7),
            axis_jitter: 0.35,
            max_turn: 70f64.to_radians(),
            min_spread: 50f64.to_radians(),
            tries: 24,
            max_deviation: 70f64.to_radians(),
            max_plane_tilt: None,
            taper_exponent: 3.0,
        }
    }
}

/// The start of a tree: a stem from `root` along `dir`, then the first split.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sprout {
    pub root: Vec3,
    pub dir: Vec3,
    pub radius: f64,
    pub stem: f64,
    /// Initial side of the branching-plane normal (any vector not along `dir`).
    pub normal: Vec3,
    /// Axis and quantile of the first split (e.g. upper versus lower lobe), else random.
    pub first_split: Option<(Vec3, f64)>,
}

/// A proposed segment, for the caller to accept or refuse.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Candidate {
    /// The node the segment starts from, and the index its end node will get.
    pub from: usize,
    pub node: usize,
    pub start: Vec3,
    pub end: Vec3,
    pub radius: f64,
    /// Radius of the segment ending at `start`.
    pub parent_radius: f64,
    /// Branching-plane normals at the start and at the end (see [`Node::normal`]).
    pub start_normal: Vec3,
    pub end_normal: Vec3,
}

/// Decides whether a proposed segment may be built.
pub(crate) type Accept<'a> = &'a dyn Fn(&Candidate) -> bool;

/// Smallest territory (points) a branch may own.
const MIN_POINTS: usize = 3;

/// What a bud will do when it grows.
#[derive(Debug, Clone, Copy)]
enum Step {
    /// Divide the territory at the node between two branches (axis and quantile if fixed).
    Split(Option<(Vec3, f64)>),
    /// Grow a segment from the node towards the territory (along `aim` if set), then split it
    /// if allowed.
    Branch { may_split: bool, aim: Option<Vec3> },
}

/// Pending growth: a step of radius `r` from node `from` serving territory `idx`.
#[derive(Debug, Clone)]
struct Bud {
    from: usize,
    dir: Vec3,
    r: f64,
    idx: Vec<u32>,
    step: Step,
}

/// A tree growing into the territory `points`, in stages from thick to thin so that several
/// trees can take turns (each stage's segments must keep clear of the others' earlier ones).
///
/// `accept` may refuse a segment (outside the lung, too close to something);
/// then alternatives are tried, ever further from the ideal direction and shorter; if all fail,
/// the branch's territory is split between thinner branches from the same point, and a
/// terminal branch that finds no way is given up.
pub(crate) struct Growth<'a> {
    points: &'a [Vec3],
    rules: Rules,
    tree: Tree,
    split_done: Vec<bool>,
    buds: Vec<Bud>,
}

impl<'a> Growth<'a> {
    pub fn new(sprout: &Sprout, points: &'a [Vec3], rules: Rules) -> Self {
        let dir = normalize(sprout.dir);
        let normal = perpendicular(dir, sprout.normal);
        let stem_end = add(sprout.root, scale(dir, sprout.stem));
        // A fixed first split fixes the stem end's branching plane now, before anything is
        // built beside the stem.
        let end_normal = sprout.first_split.map_or(normal, |(axis, _)| plane_normal_of(dir, axis, normal));
        let nodes = vec![
            Node { pos: sprout.root, parent: None, radius: sprout.radius, normal },
            Node { pos: stem_end, parent: Some(0), radius: sprout.radius, normal: end_normal },
        ];
        let bud = Bud {
            from: 1,
            dir,
            r: sprout.radius,
            idx: (0..points.len() as u32).collect(),
            step: Step::Split(sprout.first_split),
        };
        let split_done = vec![false, sprout.first_split.is_some()];
        Growth { points, rules, tree: Tree { nodes }, split_done, buds: vec![bud] }
    }

    pub fn tree(&self) -> &Tree {
        &self.tree
    }

    pub fn into_tree(self) -> Tree {
        self.tree
    }

    /// Grows every bud at least `down_to` mm thick, and those it makes; thinner ones wait for
    /// a later call.
    pub fn grow<R: Rng>(&mut self, down_to: f64, rng: &mut R, accept: Accept) {
        let mut waiting = Vec::new();
        while let Some(bud) = self.buds.pop() {
            if bud.r < down_to {
                waiting.push(bud);
                continue;
            }
            match bud.step {
                Step::Split(axis) => self.split(bud, axis, rng),
                Step::Branch { may_split, aim } => self.branch(bud, may_split, aim, rng, accept),
            }
        }
        // Keep the original order so growth does not depend on how the stages were cut.
        waiting.reverse();
        self.buds = waiting;
    }

    fn can_split(&self, r: f64, n: usize) -> bool {
        n >= 2 * MIN_POINTS && r * self.rules.taper(0.5) >= self.rules.min_radius
    }

    /// A random splitting axis (the territory's principal axis, tilted) and quantile.
    fn choose_split<R: Rng>(&self, idx: &[u32], rng: &mut R) -> (Vec3, f64) {
        let a = principal_axis(self.points, idx);
        let a = normalize(add(a, scale(random_unit(rng), self.rules.axis_jitter)));
        let (lo, hi) = self.rules.split_quantile;
        (a, rng.random_range(lo..=hi))
    }

    /// Divides the bud's territory between two branches (or one terminal branch).
    fn split<R: Rng>(&mut self, bud: Bud, axis: Option<(Vec3, f64)>, rng: &mut R) {
        let Bud { from, dir, r, mut idx, .. } = bud;
        let n = idx.len();
        if !self.can_split(r, n) {
            if n > 0 {
                self.buds.push(Bud { from, dir, r, idx, step: Step::Branch { may_split: false, aim: None } });
            }
            return;
        }
        let (axis, q) = match axis {
            Some(a) => a,
            None => self.choose_split(&idx, rng),
        };
        if !self.split_done[from] {
            self.split_done[from] = true;
            let old = self.tree.nodes[from].normal;
            self.tree.nodes[from].normal = plane_normal_of(dir, axis, old);
        }
        let m = ((n as f64 * q).round() as usize).clamp(MIN_POINTS, n - MIN_POINTS);
        let pts = self.points;
        let key = |i: &u32| dot(pts[*i as usize], axis);
        idx.select_nth_unstable_by(m, |a, b| key(a).total_cmp(&key(b)));
        let hi = idx.split_off(m);
        let at = self.tree.nodes[from].pos;
        let towards = |part: &[u32]| {
            let v = sub(centroid(pts, part), at);
            (norm(v) > 1e-9).then(|| limit_turn(normalize(v), dir, self.rules.max_turn))
        };
        let aims = match (towards(&idx), towards(&hi)) {
            (Some(a), Some(b)) => spread(a, b, self.rules.min_spread),
            _ => [None, None],
        };
        // Pushed so that the lower half grows first.
        for (part, aim) in [(hi, aims[1]), (idx, aims[0])] {
            let rc = (r * self.rules.taper(part.len() as f64 / n as f64)).max(self.rules.min_radius);
            let may_split = self.can_split(rc, part.len());
            self.buds.push(Bud { from, dir, r: rc, idx: part, step: Step::Branch { may_split, aim } });
        }
    }

    /// Grows one segment from the bud's node towards the centre of its territory.
    fn branch<R: Rng>(&mut self, bud: Bud, may_split: bool, aim: Option<Vec3>, rng: &mut R, accept: Accept) {
        let Bud { from, dir, r, idx, .. } = bud;
        let start = self.tree.nodes[from].pos;
        let plane_normal = self.tree.nodes[from].normal;
        let to_c = sub(centroid(self.points, &idx), start);
        let dist = norm(to_c);
        let split_here = |g: &mut Self, idx: Vec<u32>| {
            if may_split {
                g.buds.push(Bud { from, dir, r, idx, step: Step::Split(None) });
            }
        };
        if dist < self.rules.min_length {
            // Already at the territory's centre: divide it here without a segment.
            return split_here(self, idx);
        }
        // (A sibling's aim is already within the turn limit, then spread from its sibling.)
        let mut ideal = aim.unwrap_or_else(|| limit_turn(scale(to_c, 1.0 / dist), dir, self.rules.max_turn));
        if let Some(tilt) = self.rules.max_plane_tilt {
            ideal = limit_tilt(ideal, plane_normal, tilt);
        }
        let length = if may_split {
            let j = 1.0 + rng.random_range(-self.rules.length_jitter..=self.rules.length_jitter);
            (self.rules.length_per_radius * r * j).clamp(self.rules.min_length, (self.rules.max_reach * dist).max(self.rules.min_length))
        } else {
            dist.min(2.0 * self.rules.length_per_radius * r)
        };
        // The end node's split is chosen now, so its branching plane is known to `accept`.
        let planned = if may_split && self.can_split(r, idx.len()) { Some(self.choose_split(&idx, rng)) } else { None };
        let parent_radius = self.tree.nodes[from].radius;
        let mut chosen = None;
        for attempt in 0..=self.rules.tries {
            let half = self.rules.tries / 2;
            let (mut d, l) = if attempt == 0 {
                (ideal, length)
            } else if attempt <= half {
                let f = attempt as f64 / half as f64;
                let angle = f * self.rules.max_deviation * rng.random_range(0.5..=1.0);
                (deviate(ideal, angle, rng), (length * (1.0 - 0.5 * f)).max(self.rules.min_length))
            } else {
                // Towards some part of the territory that may be reachable another way.
                let target = self.points[idx[rng.random_range(0..idx.len())] as usize];
                let to_t = sub(target, start);
                let dt = norm(to_t).max(1e-9);
                (limit_turn(scale(to_t, 1.0 / dt), dir, self.rules.max_turn), length.min(0.8 * dt).max(self.rules.min_length))
            };
            if let Some(tilt) = self.rules.max_plane_tilt {
                d = limit_tilt(d, plane_normal, tilt);
            }
            let end = add(start, scale(d, l));
            let carried = perpendicular(d, plane_normal);
            let end_normal = planned.map_or(carried, |(axis, _)| plane_normal_of(d, axis, carried));
            let node = self.tree.nodes.len();
            let c = Candidate { from, node, start, end, radius: r, parent_radius, start_normal: plane_normal, end_normal };
            if accept(&c) {
                chosen = Some((d, end, end_normal));
                break;
            }
        }
        let Some((d, end, normal)) = chosen else {
            // Blocked: let the halves of the territory find their own ways from here.
            return split_here(self, idx);
        };
        self.tree.nodes.push(Node { pos: end, parent: Some(from), radius: r, normal });
        self.split_done.push(planned.is_some());
        if may_split {
            let node = self.tree.nodes.len() - 1;
            self.buds.push(Bud { from: node, dir: d, r, idx, step: Step::Split(planned) });
        }
    }
}

/// Grows a whole tree in one go.
#[cfg(test)]
pub(crate) fn grow<R: Rng>(
    sprout: &Sprout,
    points: &[Vec3],
    rules: &Rules,
    rng: &mut R,
    accept: Accept,
) -> Tree {
    let mut g = Growth::new(sprout, points, rules.clone());
    g.grow(0.0, rng, accept);
    g.into_tree()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phantom::territory::sample_region;
    use rand::SeedableRng;

    fn cube_tree(seed: u64) -> Tree {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let pts = sample_region([0.0; 3], [100.0; 3], 2000, &mut rng, |_| true);
        let sprout = Sprout { root: [-10.0, 50.0, 50.0], dir: [1.0, 0.0, 0.0], radius: 6.0, stem: 10.0, normal: [0.0, 0.0, 1.0], first_split: None };
        grow(&sprout, &pts, &Rules::default(), &mut rng, &|_| true)
    }

    #[test]
    fn radii_taper_by_murray_and_stop_at_the_minimum() {
        let t = cube_tree(1);
        let ch = t.children();
        for (i, n) in t.nodes.iter().enumerate() {
            assert!(n.radius >= 1.0 && n.radius <= 6.0);
            if ch[i].len() == 2 {
                let sum: f64 = ch[i].iter().map(|&c| t.nodes[c].radius.powi(3)).sum();
                // Children are clamped at the minimum radius, so the sum may exceed the parent.
                assert!(sum <= n.radius.powi(3) * 1.001 + 2.0, "node {i}: {sum} vs {}", n.radius.powi(3));
            }
            // A branch that starts at its territory's centre splits there: up to four children.
            assert!(ch[i].len() <= 4);
        }
        let leaves = ch.iter().filter(|c| c.is_empty()).count();
        assert!(leaves > 60, "{leaves} leaves");
        // Leaves fill the cube: every octant has some.
        let mut octants = [0usize; 8];
        for (i, n) in t.nodes.iter().enumerate() {
            if ch[i].is_empty() {
                let o = (0..3).fold(0, |acc, c| acc * 2 + usize::from(n.pos[c] > 50.0));
                octants[o] += 1;
            }
        }
        assert!(octants.iter().all(|&c| c >= 3), "{octants:?}");
    }

    #[test]
    fn refused_segments_are_avoided() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
        let pts = sample_region([0.0; 3], [100.0; 3], 1000, &mut rng, |_| true);
        let sprout = Sprout { root: [-10.0, 50.0, 50.0], dir: [1.0, 0.0, 0.0], radius: 5.0, stem: 10.0, normal: [0.0, 0.0, 1.0], first_split: None };
        // A ball in the middle of the cube that no segment may enter.
        let centre = [55.0, 50.0, 50.0];
        let t = grow(&sprout, &pts, &Rules::default(), &mut rng, &|c| {
            super::super::shapes::point_segment(centre, c.start, c.end).0 > 15.0 + c.radius
        });
        assert!(t.nodes.len() > 50, "{} nodes", t.nodes.len());
        assert!(t.nodes.iter().skip(2).all(|n| norm(sub(n.pos, centre)) > 15.0));
        // The tree still reaches past the ball.
        let beyond = t.nodes.iter().filter(|n| n.pos[0] > 75.0).count();
        assert!(beyond > 10, "{beyond} nodes beyond the ball");
    }
}
