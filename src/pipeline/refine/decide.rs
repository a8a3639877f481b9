//! The output each centreline voxel gives the vessel voxels it owns.
//!
//! A branch takes the output with the largest probability mass over its voxels. A branch
//! between two junctions may be the bridge where an artery touches a vein, so it may change
//! output once, at the point along it that best separates two parts that are each clearly one
//! output (at least [`PURE`] of their mass); a stretch of the other output inside a branch is
//! not such a split, and is relabelled. A junction, with the stretch of each branch within the
//! junction's radius of it (where the branches' voxels mix), takes the output of its branches
//! where they agree, and is left as the network said where they do not.

use super::graph::Groups;
use super::Centreline;
use std::collections::VecDeque;

/// Share of a part's probability mass its output must hold for a branch to be split there.
pub(super) const PURE: f64 = 0.75;

fn argmax(m: &[f64]) -> usize {
    (0..m.len()).fold(0, |b, c| if m[c] > m[b] { c } else { b })
}

fn purity(m: &[f64]) -> f64 {
    let total: f64 = m.iter().sum();
    if total > 0.0 {
        m[argmax(m)] / total
    } else {
        0.0
    }
}

/// `mass[s * channels + c]`: channel `c`'s probability mass owned by centreline voxel `s`;
/// `radius(s)` the vessel's radius there. Returns the output per centreline voxel (None: as
/// the network said).
pub(super) fn outputs(line: &Centreline<'_>, groups: &Groups, radius: &dyn Fn(usize) -> f64, mass: &[f64], channels: usize) -> Vec<Option<usize>> {
    let n_groups = groups.junction.len();
    let group = |s: usize| groups.group_of[s] as usize;
    let neighbours = |s: usize| line.neighbours(s);
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); n_groups];
    for s in 0..line.len() {
        members[group(s)].push(s);
    }
    let mut decided = vec![None; line.len()];
    let mut seen = vec![false; line.len()];
    for (g, part) in members.iter().enumerate() {
        if groups.junction[g] || part.is_empty() {
            continue;
        }
        let mut total = vec![0f64; channels];
        for &s in part {
            for c in 0..channels {
                total[c] += mass[s * channels + c];
            }
        }
        let whole = argmax(&total);
        for &s in part {
            decided[s] = Some(whole);
        }
        // Between two junctions: order the branch from the first junction (breadth-first
        // inside the branch) and look for the one split.
        let mut ends: Vec<usize> = part.iter().flat_map(|&s| neighbours(s)).map(group).filter(|&h| groups.junction[h]).collect();
        ends.sort_unstable();
        ends.dedup();
        if ends.len() < 2 {
            continue;
        }
        let mut order = Vec::with_capacity(part.len());
        let mut queue: VecDeque<usize> = part.iter().copied().filter(|&s| neighbours(s).any(|t| group(t) == ends[0])).collect();
        for &s in &queue {
            seen[s] = true;
        }
        while let Some(s) = queue.pop_front() {
            order.push(s);
            for t in neighbours(s) {
                if group(t) == g && !seen[t] {
                    seen[t] = true;
                    queue.push_back(t);
                }
            }
        }
        if order.len() < 2 {
            continue;
        }
        let mut left = vec![0f64; channels];
        let mut best: Option<(f64, usize, usize, usize)> = None;
        for (cut, &s) in order.iter().enumerate().take(order.len() - 1) {
            for c in 0..channels {
                left[c] += mass[s * channels + c];
            }
            let right: Vec<f64> = (0..channels).map(|c| total[c] - left[c]).collect();
            let (l, r) = (argmax(&left), argmax(&right));
            if l == r || purity(&left) < PURE || purity(&right) < PURE {
                continue;
            }
            let agree = left[l] + right[r];
            if agree > total[whole] && best.is_none_or(|b| agree > b.0) {
                best = Some((agree, cut, l, r));
            }
        }
        if let Some((_, cut, l, r)) = best {
            for (n, &s) in order.iter().enumerate() {
                decided[s] = Some(if n <= cut { l } else { r });
            }
        }
    }
    // Junctions, with the branch stretches within their radius (plus one voxel; a stretch
    // between two junctions goes to the nearer), take the output of those stretches where
    // they agree.
    // Per centreline voxel: the junction zone it lies in and its distance from the junction.
    let mut zone_of: Vec<Option<(usize, usize)>> = vec![None; line.len()];
    let mut queue = VecDeque::new();
    let mut reach = vec![0usize; n_groups];
    for (g, part) in members.iter().enumerate().filter(|(g, _)| groups.junction[*g]) {
        reach[g] = part.iter().map(|&s| radius(s)).fold(0.0, f64::max).ceil() as usize + 1;
        for &s in part {
            zone_of[s] = Some((g, 0));
            queue.push_back(s);
        }
    }
    while let Some(s) = queue.pop_front() {
        let Some((g, d)) = zone_of[s] else { continue };
        if d == reach[g] {
            continue;
        }
        for t in neighbours(s) {
            if !groups.junction[group(t)] && zone_of[t].is_none() {
                zone_of[t] = Some((g, d + 1));
                queue.push_back(t);
            }
        }
    }
    let mut arms: Vec<Vec<usize>> = vec![Vec::new(); n_groups];
    for (t, zone) in zone_of.iter().enumerate() {
        if let Some((g, _)) = zone {
            arms[*g].extend(decided[t]);
        }
    }
    for (t, zone) in zone_of.iter().enumerate() {
        if let Some((g, _)) = zone {
            decided[t] = arms[*g].first().copied().filter(|&first| arms[*g].iter().all(|&d| d == first));
        }
    }
    decided
}
