//! The centreline as a graph of branches and junctions, and which parts of it are decided
//! together.
//!
//! A skeleton voxel with three or more skeleton neighbours is a junction voxel; touching
//! junction voxels form a cluster, and the other skeleton voxels form branches (26-connected
//! runs between clusters or ends). Then, so that the branches are the vessel's and not the
//! thinning's:
//! - a spur (a branch with a free end, no longer than about the vessel's radius at its
//!   cluster) is part of its cluster;
//! - a cluster left with at most two branches is not a junction: it joins its branches into
//!   one;
//! - a cluster with three or more branches is a junction, and a short branch between two
//!   junctions (the core of a crossing, or the bridge where two vessels touch) belongs to them.
//!
//! The result is a group per skeleton voxel: a branch group gets one label, a junction group
//! keeps the network's labels.

use super::Centreline;
use std::collections::{BTreeSet, HashMap};

/// The skeleton's parts.
pub(super) struct Groups {
    /// Per centreline voxel (index into `Centreline::voxels`): its group.
    pub group_of: Vec<u32>,
    /// Per group: whether it is a junction (left as the network labelled it).
    pub junction: Vec<bool>,
}

struct UnionFind(Vec<u32>);

impl UnionFind {
    fn find(&mut self, mut a: u32) -> u32 {
        while self.0[a as usize] != a {
            let up = self.0[self.0[a as usize] as usize];
            self.0[a as usize] = up;
            a = up;
        }
        a
    }
    fn union(&mut self, a: u32, b: u32) {
        let (a, b) = (self.find(a), self.find(b));
        if a != b {
            self.0[a.max(b) as usize] = a.min(b);
        }
    }
}

const UNSET: u32 = u32::MAX;

/// Runs of 26-connected centreline voxels that satisfy `keep`, numbered from `first` into `seg`.
fn runs(line: &Centreline<'_>, keep: &dyn Fn(usize) -> bool, first: u32, seg: &mut [u32]) -> u32 {
    let mut next = first;
    let mut stack = Vec::new();
    for s in 0..line.len() {
        if !keep(s) || seg[s] != UNSET {
            continue;
        }
        seg[s] = next;
        stack.push(s);
        while let Some(u) = stack.pop() {
            for t in line.neighbours(u) {
                if keep(t) && seg[t] == UNSET {
                    seg[t] = next;
                    stack.push(t);
                }
            }
        }
        next += 1;
    }
    next
}

/// Groups of the centreline; `radius(s)` is the vessel's radius in voxels at centreline voxel `s`.
pub(super) fn groups(line: &Centreline<'_>, radius: &dyn Fn(usize) -> f64) -> Groups {
    let degree: Vec<usize> = (0..line.len()).map(|s| line.neighbours(s).count()).collect();
    let is_junction = |s: usize| degree[s] >= 3;
    let mut seg = vec![UNSET; line.len()];
    let branches = runs(line, &|s| !is_junction(s), 0, &mut seg);
    let total = runs(line, &is_junction, branches, &mut seg);
    let n = total as usize;
    // Per segment: voxel count, a free end, the largest radius; clusters adjacent to each branch.
    let (mut len, mut free_end, mut r) = (vec![0usize; n], vec![false; n], vec![0f64; n]);
    let mut touches: Vec<BTreeSet<u32>> = vec![BTreeSet::new(); branches as usize];
    for v in 0..line.len() {
        let s = seg[v] as usize;
        len[s] += 1;
        free_end[s] |= degree[v] <= 1;
        r[s] = r[s].max(radius(v));
        if s < branches as usize {
            for w in line.neighbours(v) {
                let t = seg[w];
                if t >= branches {
                    touches[s].insert(t);
                }
            }
        }
    }
    let mut uf = UnionFind((0..total).collect());
    let mut spur = vec![false; branches as usize];
    for b in 0..branches as usize {
        if let (1, true) = (touches[b].len(), free_end[b]) {
            let c = *touches[b].iter().next().expect("one cluster") as usize;
            if len[b] as f64 <= (1.5 * r[c] + 1.0).max(2.0) {
                spur[b] = true;
                uf.union(b as u32, c as u32);
            }
        }
    }
    let mut arms: Vec<Vec<u32>> = vec![Vec::new(); n];
    for b in 0..branches as usize {
        if !spur[b] {
            for &c in &touches[b] {
                arms[c as usize].push(b as u32);
            }
        }
    }
    let mut is_junction_cluster = vec![false; n];
    for c in branches as usize..n {
        if arms[c].len() >= 3 {
            is_junction_cluster[c] = true;
        } else {
            for &b in &arms[c] {
                uf.union(b, c as u32);
            }
        }
    }
    for b in 0..branches as usize {
        let ends: Vec<u32> = touches[b].iter().copied().filter(|&c| is_junction_cluster[c as usize]).collect();
        let widest = ends.iter().map(|&c| r[c as usize]).fold(0.0, f64::max);
        if !spur[b] && ends.len() >= 2 && len[b] as f64 <= widest + 1.0 {
            for &c in &ends {
                uf.union(b as u32, c);
            }
        }
    }
    let mut id_of_root = HashMap::new();
    let mut junction = Vec::new();
    let mut group_of_seg = vec![0u32; n];
    for s in 0..n {
        let root = uf.find(s as u32);
        let id = *id_of_root.entry(root).or_insert_with(|| {
            junction.push(false);
            junction.len() as u32 - 1
        });
        group_of_seg[s] = id;
        junction[id as usize] |= is_junction_cluster[s];
    }
    let group_of = seg.iter().map(|&s| group_of_seg[s as usize]).collect();
    Groups { group_of, junction }
}
