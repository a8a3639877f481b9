//! A `[k, j, i]` grid with a one-voxel border, indexed flat, so that a voxel's 26 neighbours
//! are fixed offsets and need no bounds checks. The thinning and the branch refinement both
//! walk neighbourhoods this way.

/// The 27 steps `(dk, dj, di)` of the 3x3x3 neighbourhood, the centre included, at index
/// `9 (dk + 1) + 3 (dj + 1) + (di + 1)`.
pub fn deltas27() -> [[isize; 3]; 27] {
    std::array::from_fn(|n| [n as isize / 9 - 1, (n as isize / 3) % 3 - 1, n as isize % 3 - 1])
}

/// The padded grid of a `(k, j, i)` shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaddedGrid {
    /// Padded sides, each the shape's plus 2.
    pub dims: [usize; 3],
}

impl PaddedGrid {
    pub fn new((k, j, i): (usize, usize, usize)) -> Self {
        PaddedGrid { dims: [k + 2, j + 2, i + 2] }
    }

    /// Voxels of the padded grid.
    pub fn len(&self) -> usize {
        self.dims.iter().product()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The flat index of unpadded voxel `(k, j, i)`.
    pub fn index(&self, k: usize, j: usize, i: usize) -> usize {
        ((k + 1) * self.dims[1] + j + 1) * self.dims[2] + i + 1
    }

    /// Offset of the neighbour `(dk, dj, di)`, each in -1..=1.
    pub fn offset(&self, d: [isize; 3]) -> isize {
        (d[0] * self.dims[1] as isize + d[1]) * self.dims[2] as isize + d[2]
    }

    /// The 27 offsets of the 3x3x3 neighbourhood, the centre included, at index
    /// `9 (dk + 1) + 3 (dj + 1) + (di + 1)`.
    pub fn offsets27(&self) -> [isize; 27] {
        deltas27().map(|d| self.offset(d))
    }

    /// The 26 neighbours' offsets, in the same order without the centre.
    pub fn offsets26(&self) -> [isize; 26] {
        let all = self.offsets27();
        std::array::from_fn(|n| all[if n < 13 { n } else { n + 1 }])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_reach_the_neighbours_index() {
        let g = PaddedGrid::new((3, 4, 5));
        assert_eq!(g.len(), 5 * 6 * 7);
        let centre = g.index(1, 2, 3);
        assert_eq!((centre as isize + g.offset([1, -1, 1])) as usize, g.index(2, 1, 4));
        let o = g.offsets27();
        assert_eq!(o[13], 0);
        assert_eq!((centre as isize + o[0]) as usize, g.index(0, 1, 2));
        let n = g.offsets26();
        assert!(!n.contains(&0));
        assert_eq!(n[13], o[14]);
    }
}
