//! The three maximum-intensity projections of a CT and its label map, in display orientation:
//! axial (patient right on the left, anterior up), coronal (right on the left, head up) and
//! sagittal (anterior on the left, head up), whatever the acquisition's orientation.

use crate::geometry::Geometry;
use ndarray::{ArrayView3, Axis};
use rayon::prelude::*;

/// One projection: per pixel the largest HU along the ray and how many voxels of each segment
/// the ray crossed. Pixel size is `spacing_mm` (width, height).
#[derive(Debug, Clone)]
pub struct Projection {
    pub width: usize,
    pub height: usize,
    pub spacing_mm: [f64; 2],
    pub max_hu: Vec<f32>,
    /// `counts[pixel * segments + s]`: voxels of segment `s` (0-based) along the ray.
    pub counts: Vec<u32>,
    pub segments: usize,
}

impl Projection {
    fn new(width: usize, height: usize, spacing_mm: [f64; 2], segments: usize) -> Self {
        Projection {
            width,
            height,
            spacing_mm,
            max_hu: vec![f32::NEG_INFINITY; width * height],
            counts: vec![0; width * height * segments],
            segments,
        }
    }

    fn add(&mut self, x: usize, y: usize, hu: f32, segment: u8) {
        let px = y * self.width + x;
        if hu > self.max_hu[px] {
            self.max_hu[px] = hu;
        }
        if segment != 0 {
            self.counts[px * self.segments + segment as usize - 1] += 1;
        }
    }

    fn merge(mut self, other: Projection) -> Projection {
        for (a, b) in self.max_hu.iter_mut().zip(other.max_hu) {
            *a = a.max(b);
        }
        for (a, b) in self.counts.iter_mut().zip(other.counts) {
            *a += b;
        }
        self
    }

    /// Voxel counts of every segment along the ray through pixel `(x, y)`.
    pub fn counts_at(&self, x: usize, y: usize) -> &[u32] {
        let px = y * self.width + x;
        &self.counts[px * self.segments..(px + 1) * self.segments]
    }
}

/// Axial, coronal and sagittal projections, and each segment's voxel count in the volume.
#[derive(Debug, Clone)]
pub struct Projections {
    pub axial: Projection,
    pub coronal: Projection,
    pub sagittal: Projection,
    pub voxels_per_segment: Vec<u64>,
}

/// Which array axis (0 = k, 1 = j, 2 = i) runs along patient x (towards L), y (towards P) and
/// z (towards H), and whether its index grows that way. Grids too oblique to say fall back to
/// the nearest axis each.
pub fn display_axes(g: &Geometry) -> [(usize, bool); 3] {
    let dirs = [g.slice_dir, g.col_dir, g.row_dir];
    let mut used = [false; 3];
    let mut out = [(2, true), (1, true), (0, true)];
    for (patient_axis, slot) in out.iter_mut().enumerate() {
        let best = (0..3)
            .filter(|&a| !used[a])
            .max_by(|&a, &b| dirs[a][patient_axis].abs().total_cmp(&dirs[b][patient_axis].abs()));
        if let Some(a) = best {
            used[a] = true;
            *slot = (a, dirs[a][patient_axis] >= 0.0);
        }
    }
    out
}

/// Projects `hu` and `labels` (same `[k, j, i]` grid) along the three patient axes; `segment_of`
/// maps a label value to its 1-based segment number (0: none). Parallel over slices.
pub fn project(
    hu: ArrayView3<'_, f32>,
    labels: ArrayView3<'_, u8>,
    geometry: &Geometry,
    segment_of: &[u8; 256],
    segments: usize,
) -> Projections {
    let n = [hu.shape()[0], hu.shape()[1], hu.shape()[2]];
    let axes = display_axes(geometry);
    let [(ax, _), (ay, _), (az, _)] = axes;
    let (nx, ny, nz) = (n[ax], n[ay], n[az]);
    let sp = geometry.spacing;
    let empty = || {
        (
            Projection::new(nx, ny, [sp[ax], sp[ay]], segments),
            Projection::new(nx, nz, [sp[ax], sp[az]], segments),
            Projection::new(ny, nz, [sp[ay], sp[az]], segments),
            vec![0u64; segments],
        )
    };
    // Display coordinates: x grows towards patient left, y towards posterior, and the row of
    // the coronal and sagittal views grows towards the feet.
    let along = |index: [usize; 3], (axis, positive): (usize, bool)| {
        if positive {
            index[axis]
        } else {
            n[axis] - 1 - index[axis]
        }
    };
    let (axial, coronal, sagittal, voxels) = hu
        .axis_iter(Axis(0))
        .into_par_iter()
        .zip(labels.axis_iter(Axis(0)).into_par_iter())
        .enumerate()
        .with_min_len(8)
        .fold(empty, |(mut a, mut c, mut s, mut v), (k, (hu_k, lab_k))| {
            for (((j, i), &value), &label) in hu_k.indexed_iter().zip(lab_k.iter()) {
                let seg = segment_of[label as usize];
                let index = [k, j, i];
                let (x, y) = (along(index, axes[0]), along(index, axes[1]));
                let row = nz - 1 - along(index, axes[2]);
                a.add(x, y, value, seg);
                c.add(x, row, value, seg);
                s.add(y, row, value, seg);
                if seg != 0 {
                    v[seg as usize - 1] += 1;
                }
            }
            (a, c, s, v)
        })
        .reduce(empty, |(a1, c1, s1, v1), (a2, c2, s2, v2)| {
            (
                a1.merge(a2),
                c1.merge(c2),
                s1.merge(s2),
                v1.iter().zip(&v2).map(|(x, y)| x + y).collect(),
            )
        });
    Projections {
        axial,
        coronal,
        sagittal,
        voxels_per_segment: voxels,
    }
}
