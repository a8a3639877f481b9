//! Fast clearance queries against many tubes (the bronchoarterial bundles that veins must keep
//! away from), through a uniform grid of cells.

use super::shapes::{point_segment, segment_segment, Tube};
use crate::geometry::Vec3;

const CELL_MM: f64 = 10.0;

/// Which tree segment a tube belongs to, so a query can pass over a segment's own neighbours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tag {
    pub tree: u32,
    /// Start and end node of the segment.
    pub start: u32,
    pub end: u32,
}

impl Tag {
    /// A tube of no tree (a hand-placed structure).
    pub const NONE: Tag = Tag { tree: u32::MAX, start: u32::MAX, end: u32::MAX };

    /// Whether this tube shares node `node` of tree `tree` (as the parent segment ending there
    /// or as a sibling starting there).
    pub fn touches(&self, tree: u32, node: u32) -> bool {
        self.tree == tree && (self.end == node || self.start == node)
    }
}

/// Tubes binned into cubic cells; each tube is listed in every cell within `reach` of it.
#[derive(Debug, Clone)]
pub(crate) struct Obstacles {
    tubes: Vec<Tube>,
    tags: Vec<Tag>,
    reach: f64,
    lo: Vec3,
    dims: [usize; 3],
    cells: Vec<Vec<u32>>,
}

impl Obstacles {
    /// An index of `tubes` sized to hold them. Queries see every tube whose surface is within
    /// `reach` mm; beyond that they report `reach`.
    #[cfg(test)]
    pub fn new(tubes: Vec<Tube>, reach: f64) -> Self {
        let mut lo = [f64::INFINITY; 3];
        let mut hi = [f64::NEG_INFINITY; 3];
        for t in &tubes {
            let (a, b) = t.bounds(reach);
            for c in 0..3 {
                lo[c] = lo[c].min(a[c]);
                hi[c] = hi[c].max(b[c]);
            }
        }
        if tubes.is_empty() {
            lo = [0.0; 3];
            hi = [0.0; 3];
        }
        let mut o = Obstacles::empty(lo, hi, reach);
        for t in tubes {
            o.insert(t, Tag::NONE);
        }
        o
    }

    /// An empty index for tubes within the box `lo`-`hi` (tubes outside it are not found).
    pub fn empty(lo: Vec3, hi: Vec3, reach: f64) -> Self {
        let dims = [0, 1, 2].map(|c| ((((hi[c] - lo[c]) / CELL_MM).floor().max(0.0)) as usize + 1).min(4096));
        Obstacles { tubes: Vec::new(), tags: Vec::new(), reach, lo, dims, cells: vec![Vec::new(); dims[0] * dims[1] * dims[2]] }
    }

    pub fn insert(&mut self, t: Tube, tag: Tag) {
        let n = self.tubes.len() as u32;
        let (a, b) = t.bounds(self.reach);
        let (ca, cb) = (self.cell_of(a), self.cell_of(b));
        for x in ca[0]..=cb[0] {
            for y in ca[1]..=cb[1] {
                for z in ca[2]..=cb[2] {
                    let c = self.flat([x, y, z]);
                    self.cells[c].push(n);
                }
            }
        }
        self.tubes.push(t);
        self.tags.push(tag);
    }

    fn cell_of(&self, p: Vec3) -> [usize; 3] {
        [0, 1, 2].map(|c| (((p[c] - self.lo[c]) / CELL_MM).floor().max(0.0) as usize).min(self.dims[c] - 1))
    }

    fn flat(&self, c: [usize; 3]) -> usize {
        (c[0] * self.dims[1] + c[1]) * self.dims[2] + c[2]
    }

    fn inside_grid(&self, p: Vec3) -> bool {
        (0..3).all(|c| p[c] >= self.lo[c] && p[c] < self.lo[c] + self.dims[c] as f64 * CELL_MM)
    }

    /// Distance from `p` to the nearest tube surface (negative inside a tube), at most `reach`.
    pub fn clearance(&self, p: Vec3) -> f64 {
        if !self.inside_grid(p) {
            return self.reach;
        }
        let mut best = self.reach;
        for &n in &self.cells[self.flat(self.cell_of(p))] {
            let t = &self.tubes[n as usize];
            let (d, tt) = point_segment(p, t.a, t.b);
            best = best.min(d - (t.ra + tt * (t.rb - t.ra)));
        }
        best
    }

    /// Distance from segment `a`-`b` to the nearest tube surface (using each tube's larger
    /// radius), at most `reach`.
    pub fn segment_clearance(&self, a: Vec3, b: Vec3) -> f64 {
        self.segment_clearance_except(a, b, |_| false)
    }

    /// As [`Self::segment_clearance`], passing over tubes whose tag `skip` selects.
    pub fn segment_clearance_except(&self, a: Vec3, b: Vec3, skip: impl Fn(&Tag) -> bool) -> f64 {
        let mut lo = [0.0; 3];
        let mut hi = [0.0; 3];
        for c in 0..3 {
            lo[c] = a[c].min(b[c]);
            hi[c] = a[c].max(b[c]);
        }
        let outside = (0..3).any(|c| hi[c] < self.lo[c] || lo[c] >= self.lo[c] + self.dims[c] as f64 * CELL_MM);
        if outside {
            return self.reach;
        }
        let (ca, cb) = (self.cell_of(lo), self.cell_of(hi));
        let mut best = self.reach;
        for x in ca[0]..=cb[0] {
            for y in ca[1]..=cb[1] {
                for z in ca[2]..=cb[2] {
                    for &n in &self.cells[self.flat([x, y, z])] {
                        if skip(&self.tags[n as usize]) {
                            continue;
                        }
                        let t = &self.tubes[n as usize];
                        best = best.min(segment_segment(a, b, t.a, t.b) - t.max_radius());
                    }
                }
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clearance_matches_brute_force() {
        let tubes: Vec<Tube> = (0..40)
            .map(|n| {
                let f = n as f64;
                Tube::new([f * 3.0, (f * 1.7).sin() * 30.0, 5.0], [f * 3.0 + 10.0, (f * 0.9).cos() * 30.0, 25.0], 1.0 + (n % 4) as f64)
            })
            .collect();
        let o = Obstacles::new(tubes.clone(), 15.0);
        for k in 0..500 {
            let f = k as f64;
            let p = [(f * 0.37) % 140.0 - 10.0, (f * 1.3).sin() * 45.0, (f * 0.11) % 40.0];
            let brute = tubes.iter().map(|t| t.signed_distance(p)).fold(15.0f64, f64::min);
            assert!((o.clearance(p) - brute).abs() < 1e-9, "at {p:?}");
            let q = [p[0] + 7.0, p[1] - 3.0, p[2] + 2.0];
            let brute = tubes.iter().map(|t| segment_segment(p, q, t.a, t.b) - t.max_radius()).fold(15.0f64, f64::min);
            assert!((o.segment_clearance(p, q) - brute).abs() < 1e-9);
        }
    }
}
