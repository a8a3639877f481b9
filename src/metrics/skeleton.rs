//! Centrelines of 3-D masks by Lee, Kashyap and Chu's thinning (CVGIP 56(6), 1994), in the
//! variant scikit-image runs for `skeletonize` of a 3-D image, so that clDice here and in a
//! Python reference see the same centreline (`tests/cldice_reference.rs` checks voxel for voxel).
//!
//! The algorithm peels the mask one border direction at a time (-j, +j, +i, -i, +k, -k, in
//! that order; a one-slice volume skips the last two): it collects the border voxels that are
//! not line ends, whose removal keeps the Euler characteristic and the number of
//! 26-connected components of their 3x3x3 neighbourhood, then removes them one by one in
//! raster order if each is still simple, until six directions in a row remove nothing.
//! Voxels outside the volume count as background.
//!
//! The Euler test is computed, not looked up: a foreground voxel is a closed unit cube
//! (26-connectivity), and removing the centre removes exactly those of its cells (the cube,
//! its 6 faces, 12 edges and 8 corners) that no other foreground cube of the neighbourhood
//! shares.

use super::padded_grid::{deltas27, PaddedGrid};
use ndarray::{Array3, ArrayView3};

const CENTRE: usize = 13;

fn at(d: [isize; 3]) -> usize {
    (9 * (d[0] + 1) + 3 * (d[1] + 1) + (d[2] + 1)) as usize
}

/// The neighbourhood cells of the centre voxel's cube: for each, the other voxels that share it.
struct Cells {
    faces: Vec<[usize; 1]>,
    edges: Vec<[usize; 3]>,
    corners: Vec<[usize; 7]>,
}

impl Cells {
    fn new() -> Self {
        let deltas = deltas27();
        // A cell of the centre cube is named by a direction d with |d| in {1, 2, 3} non-zero
        // components (face, edge, corner); the voxels that share it are the neighbours e != 0
        // with e_a in {0, d_a} on every axis.
        let sharing = |d: [isize; 3]| -> Vec<usize> {
            (0..27)
                .filter(|&n| n != CENTRE)
                .filter(|&n| (0..3).all(|a| deltas[n][a] == 0 || deltas[n][a] == d[a]))
                .collect()
        };
        let (mut faces, mut edges, mut corners) = (Vec::new(), Vec::new(), Vec::new());
        for n in 0..27 {
            let d = deltas[n];
            let shared = sharing(d);
            match d.iter().filter(|&&x| x != 0).count() {
                1 => faces.push([shared[0]]),
                2 => edges.push([shared[0], shared[1], shared[2]]),
                3 => corners.push(<[usize; 7]>::try_from(shared).expect("a corner is shared by 7 voxels")),
                _ => {}
            }
        }
        debug_assert_eq!((faces.len(), edges.len(), corners.len()), (6, 12, 8));
        debug_assert!(at([0, 0, 0]) == CENTRE);
        Cells { faces, edges, corners }
    }

    /// Whether removing the centre leaves the Euler characteristic of the neighbourhood as it is.
    fn euler_invariant(&self, nb: &[u8; 27]) -> bool {
        let alone = |others: &[usize]| others.iter().all(|&n| nb[n] == 0) as i32;
        let faces: i32 = self.faces.iter().map(|c| alone(c)).sum();
        let edges: i32 = self.edges.iter().map(|c| alone(c)).sum();
        let corners: i32 = self.corners.iter().map(|c| alone(c)).sum();
        corners - edges + faces - 1 == 0
    }
}

/// Whether the foreground of the neighbourhood without its centre is at most one
/// 26-connected component.
fn simple(nb: &[u8; 27], deltas: &[[isize; 3]; 27]) -> bool {
    let mut seen = [false; 27];
    seen[CENTRE] = true;
    let mut components = 0;
    let mut stack = Vec::with_capacity(26);
    for start in 0..27 {
        if seen[start] || nb[start] == 0 {
            continue;
        }
        components += 1;
        if components > 1 {
            return false;
        }
        seen[start] = true;
        stack.push(start);
        while let Some(n) = stack.pop() {
            for m in 0..27 {
                if !seen[m] && nb[m] != 0 && (0..3).all(|a| (deltas[n][a] - deltas[m][a]).abs() <= 1) {
                    seen[m] = true;
                    stack.push(m);
                }
            }
        }
    }
    true
}

/// A zero-padded copy of the mask, indexed flat, with the offsets of the 27 neighbours.
struct Padded {
    data: Vec<u8>,
    grid: PaddedGrid,
    offsets: [isize; 27],
}

impl Padded {
    fn new(mask: ArrayView3<'_, bool>) -> Self {
        let grid = PaddedGrid::new(mask.dim());
        let mut data = vec![0u8; grid.len()];
        for ((a, b, c), &v) in mask.indexed_iter() {
            data[grid.index(a, b, c)] = v as u8;
        }
        Padded { data, grid, offsets: grid.offsets27() }
    }

    fn neighbourhood(&self, at: usize) -> [u8; 27] {
        let mut nb = [0u8; 27];
        for (n, o) in self.offsets.iter().enumerate() {
            nb[n] = self.data[(at as isize + o) as usize];
        }
        nb
    }
}

/// The centreline (one voxel wide, same topology) of `mask`, `[k, j, i]`.
pub fn skeletonize(mask: ArrayView3<'_, bool>) -> Array3<bool> {
    let deltas = deltas27();
    let cells = Cells::new();
    let mut img = Padded::new(mask);
    // Border directions in scikit-image's order: -j, +j, +i, -i, +k, -k.
    let borders = [at([0, -1, 0]), at([0, 1, 0]), at([0, 0, 1]), at([0, 0, -1]), at([1, 0, 0]), at([-1, 0, 0])];
    let directions = if img.grid.dims[0] == 3 { 4 } else { 6 };
    // The foreground in raster order; the scan visits only these.
    let mut foreground: Vec<usize> = (0..img.data.len()).filter(|&n| img.data[n] != 0).collect();
    let mut candidates = Vec::new();
    let mut unchanged = 0;
    while unchanged < directions {
        unchanged = 0;
        for &border in &borders[..directions] {
            candidates.clear();
            for &v in &foreground {
                if img.data[(v as isize + img.offsets[border]) as usize] != 0 {
                    continue;
                }
                let nb = img.neighbourhood(v);
                let end = nb.iter().map(|&x| x as u32).sum::<u32>() == 2;
                if !end && cells.euler_invariant(&nb) && simple(&nb, &deltas) {
                    candidates.push(v);
                }
            }
            let mut removed = false;
            for &v in &candidates {
                if simple(&img.neighbourhood(v), &deltas) {
                    img.data[v] = 0;
                    removed = true;
                }
            }
            if removed {
                foreground.retain(|&v| img.data[v] != 0);
            } else {
                unchanged += 1;
            }
        }
    }
    Array3::from_shape_fn(mask.raw_dim(), |(a, b, c)| img.data[img.grid.index(a, b, c)] != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_solid_bar_thins_to_a_line_and_keeps_its_ends() {
        let mut m = Array3::from_elem((5, 5, 20), false);
        m.slice_mut(ndarray::s![1..4, 1..4, 2..18]).fill(true);
        let s = skeletonize(m.view());
        let n = s.iter().filter(|&&v| v).count();
        assert!((10..=16).contains(&n), "{n} voxels");
        // One voxel per column, along the bar's axis.
        for c in 0..20 {
            let col = s.slice(ndarray::s![.., .., c]).iter().filter(|&&v| v).count();
            assert!(col <= 1, "column {c}: {col}");
        }
    }

    #[test]
    fn a_hollow_ring_keeps_its_loop_and_a_voxel_stays() {
        let mut m = Array3::from_elem((3, 9, 9), false);
        m.slice_mut(ndarray::s![1..2, 1..8, 1..8]).fill(true);
        m[[1, 4, 4]] = false;
        let s = skeletonize(m.view());
        assert!(!s[[1, 4, 4]]);
        assert!(s.iter().filter(|&&v| v).count() >= 8, "the loop around the hole stays closed");
        let mut one = Array3::from_elem((3, 3, 3), false);
        one[[1, 1, 1]] = true;
        assert_eq!(skeletonize(one.view()), one);
    }

    #[test]
    fn euler_test_counts_a_lone_voxel_and_a_face_neighbour() {
        let cells = Cells::new();
        let mut nb = [0u8; 27];
        nb[CENTRE] = 1;
        assert!(!cells.euler_invariant(&nb), "removing an isolated voxel removes a component");
        nb[at([0, 0, 1])] = 1;
        assert!(cells.euler_invariant(&nb), "removing the end of a two-voxel bar keeps one component");
    }
}
