//! Branch refinement: one label per vessel branch. Arteries and veins are two trees that touch
//! and cross but never join, while a voxel-wise network flips labels along a vessel. So on the
//! model grid, before the labels are drawn on the source grid:
//! 1. the vessel mask (any output at or above the threshold) is thinned to its centreline
//!    ([`crate::metrics::skeletonize`]) and the centreline cut into branches and junctions
//!    ([`graph`]);
//! 2. every vessel voxel belongs to the centreline part nearest to it inside the vessel
//!    (breadth-first from the centreline, 26-connected);
//! 3. a branch takes the output whose probabilities, summed over its voxels, are largest
//!    ([`decide`]; a branch between two junctions may instead change output once, where it
//!    bridges two trees that touch), and in each of its voxels that output's channel trades
//!    values with the voxel's own best, so the vessel's extent does not change, only its label;
//! 4. a junction, with the stretch of each branch within its radius, takes the output its
//!    branches agree on (a bifurcation inside one tree); where they do not (crossings, touching
//!    points, the cores between them) it keeps the network's labels: there a voxel's own
//!    probabilities are the best evidence, and two trees that touch stay two.
//!
//! The labels on the source grid are then drawn from these probabilities as before.

mod decide;
mod graph;

use crate::metrics::{skeletonize, squared_distance_transform, PaddedGrid};
use ndarray::{Array3, Array4, ArrayView4};
use std::collections::VecDeque;

/// What the refinement did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BranchRefinement {
    pub branches: usize,
    pub junctions: usize,
    /// Model voxels whose label changed.
    pub relabelled: usize,
}

const UNOWNED: u32 = u32::MAX;

/// The centreline's voxels (padded flat indices) and, over the padded grid, each voxel's
/// index among them, so that the graph walks neighbours by index.
pub(super) struct Centreline<'a> {
    voxels: &'a [usize],
    index_of: &'a [u32],
    offsets: &'a [isize; 26],
}

impl Centreline<'_> {
    pub(super) fn len(&self) -> usize {
        self.voxels.len()
    }

    /// The centreline voxels 26-adjacent to centreline voxel `s`.
    pub(super) fn neighbours(&self, s: usize) -> impl Iterator<Item = usize> + '_ {
        let at = self.voxels[s] as isize;
        self.offsets.iter().filter_map(move |o| match self.index_of[(at + o) as usize] {
            UNOWNED => None,
            t => Some(t as usize),
        })
    }
}

/// Largest share of the model grid the vessel mask may fill for the refinement to run.
pub const MAX_VESSEL_SHARE: f64 = 0.25;

/// `probs` is `[C, k, j, i]`, one channel per output label; a voxel's label is its most probable
/// channel at or above `threshold` (ties to the first). Returns the refined probabilities.
pub fn refine_branches(probs: ArrayView4<'_, f32>, threshold: f32) -> (Array4<f32>, BranchRefinement) {
    let mut out = probs.to_owned();
    let (channels, nk, nj, ni) = probs.dim();
    if channels < 2 {
        return (out, BranchRefinement::default());
    }
    let best = |c_of: &dyn Fn(usize) -> f32| (0..channels).fold((0usize, f32::MIN), |(bc, bp), c| if c_of(c) > bp { (c, c_of(c)) } else { (bc, bp) });
    let vessel = Array3::from_shape_fn((nk, nj, ni), |(k, j, i)| best(&|c| probs[[c, k, j, i]]).1 >= threshold);
    // Vessels fill a few per cent of a chest CT. A mask that fills a large part of the grid
    // (an untrained or failing network) is no tree, and thinning it costs seconds for nothing.
    let share = vessel.iter().filter(|&&v| v).count() as f64 / vessel.len().max(1) as f64;
    if share > MAX_VESSEL_SHARE {
        tracing::warn!(share, "the vessel mask fills {:.0} % of the model grid: no vessel tree, branches left as the network labelled them", share * 100.0);
        return (out, BranchRefinement::default());
    }
    let skeleton = skeletonize(vessel.view());
    let background = vessel.mapv(|v| !v);
    let depth = squared_distance_transform(background.view(), [1.0; 3]);

    // Padded flat indexing, so that neighbours need no bounds checks.
    let grid = PaddedGrid::new((nk, nj, ni));
    let padded = |k: usize, j: usize, i: usize| grid.index(k, j, i);
    let offsets = grid.offsets26();
    let mut in_vessel = vec![false; grid.len()];
    let mut index_of = vec![UNOWNED; grid.len()];
    let (mut skeleton_voxels, mut radius) = (Vec::new(), Vec::new());
    for ((k, j, i), &v) in vessel.indexed_iter() {
        let p = padded(k, j, i);
        in_vessel[p] = v;
        if skeleton[[k, j, i]] {
            index_of[p] = skeleton_voxels.len() as u32;
            skeleton_voxels.push(p);
            radius.push(depth[[k, j, i]].sqrt() as f32);
        }
    }
    let line = Centreline { voxels: &skeleton_voxels, index_of: &index_of, offsets: &offsets };
    let groups = graph::groups(&line, &|s| radius[s] as f64);

    // Each vessel voxel to its nearest centreline voxel, breadth-first inside the vessel.
    let mut owner = vec![UNOWNED; grid.len()];
    let mut queue = VecDeque::with_capacity(skeleton_voxels.len());
    for (n, &v) in skeleton_voxels.iter().enumerate() {
        owner[v] = n as u32;
        queue.push_back(v);
    }
    while let Some(v) = queue.pop_front() {
        for o in &offsets {
            let w = (v as isize + o) as usize;
            if in_vessel[w] && owner[w] == UNOWNED {
                owner[w] = owner[v];
                queue.push_back(w);
            }
        }
    }
    // The probability mass of each channel over the voxels each centreline voxel owns.
    let mut mass = vec![0f64; skeleton_voxels.len() * channels];
    for ((k, j, i), &v) in vessel.indexed_iter() {
        let s = owner[padded(k, j, i)];
        if v && s != UNOWNED {
            for c in 0..channels {
                mass[s as usize * channels + c] += probs[[c, k, j, i]] as f64;
            }
        }
    }
    let decided = decide::outputs(&line, &groups, &|s| radius[s] as f64, &mass, channels);
    let mut relabelled = 0;
    for ((k, j, i), &v) in vessel.indexed_iter() {
        let s = owner[padded(k, j, i)];
        let Some(want) = (if v && s != UNOWNED { decided[s as usize] } else { None }) else {
            continue;
        };
        let (own, _) = best(&|c| probs[[c, k, j, i]]);
        if own != want {
            let (a, b) = (out[[own, k, j, i]], out[[want, k, j, i]]);
            out[[own, k, j, i]] = b;
            out[[want, k, j, i]] = a;
            relabelled += 1;
        }
    }
    let junctions = groups.junction.iter().filter(|&&j| j).count();
    let stats = BranchRefinement { branches: groups.junction.len() - junctions, junctions, relabelled };
    (out, stats)
}
