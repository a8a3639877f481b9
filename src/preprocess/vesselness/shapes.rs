//! Analytic bright shapes rendered with soft edges: images with known answers for the
//! vesselness tests, and a vessel-like load for the benchmark.
//!
//! Positions are in *grid millimetres*: voxel `[k, j, i]` sits at `(k·sk, j·sj, i·si)` for the
//! spacing `[sk, sj, si]`, so one shape can be rendered on grids of different voxel size.

use crate::geometry::{add, dot, norm, normalize, scale, sub, Vec3};
use ndarray::{Array3, Axis};
use rand::{Rng, SeedableRng};
use rayon::prelude::*;

/// A shape in grid millimetres (`[k, j, i]` order).
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// A cylinder of `radius` around the infinite line through `point` along `dir`.
    Line { point: Vec3, dir: Vec3, radius: f64 },
    /// A cylinder of `radius` around the segment `a`–`b`, with round ends.
    Segment { a: Vec3, b: Vec3, radius: f64 },
    /// A slab of thickness `2·half_thickness` through `point` with normal `normal`, cut to a
    /// disc of `extent` around `point`.
    Plate { point: Vec3, normal: Vec3, half_thickness: f64, extent: f64 },
    /// A ball.
    Ball { centre: Vec3, radius: f64 },
}

impl Shape {
    /// Occupancy at `p` in `[0, 1]`: 1 inside, 0 outside, a tanh edge of width `edge` mm.
    pub fn occupancy(&self, p: Vec3, edge: f64) -> f64 {
        let soft = |d: f64, r: f64| 0.5 * (1.0 - ((d - r) / edge).tanh());
        match self {
            Shape::Line { point, dir, radius } => {
                let u = normalize(*dir);
                let v = sub(p, *point);
                let t = dot(v, u);
                soft((dot(v, v) - t * t).max(0.0).sqrt(), *radius)
            }
            Shape::Segment { a, b, radius } => {
                let ab = sub(*b, *a);
                let len2 = dot(ab, ab);
                let t = if len2 > 0.0 { (dot(sub(p, *a), ab) / len2).clamp(0.0, 1.0) } else { 0.0 };
                soft(norm(sub(p, add(*a, scale(ab, t)))), *radius)
            }
            Shape::Plate { point, normal, half_thickness, extent } => {
                let n = normalize(*normal);
                let v = sub(p, *point);
                let h = dot(v, n);
                soft(h.abs(), *half_thickness) * soft((dot(v, v) - h * h).max(0.0).sqrt(), *extent)
            }
            Shape::Ball { centre, radius } => soft(norm(sub(p, *centre)), *radius),
        }
    }

    /// Grid-millimetre box outside which the occupancy is below 1e-4 (`None`: unbounded).
    fn bounds(&self, edge: f64) -> Option<(Vec3, Vec3)> {
        let m = 5.0 * edge;
        let boxed = |lo: Vec3, hi: Vec3, r: f64| Some((sub(lo, [r + m; 3]), add(hi, [r + m; 3])));
        match self {
            Shape::Line { .. } => None,
            Shape::Segment { a, b, radius } => {
                boxed(std::array::from_fn(|x| a[x].min(b[x])), std::array::from_fn(|x| a[x].max(b[x])), *radius)
            }
            Shape::Plate { point, half_thickness, extent, .. } => boxed(*point, *point, extent + half_thickness),
            Shape::Ball { centre, radius } => boxed(*centre, *centre, *radius),
        }
    }
}

/// Renders the union (maximum occupancy) of `shapes` on a `[k, j, i]` grid.
pub fn render(shapes: &[Shape], shape: [usize; 3], spacing_mm: [f64; 3], edge_mm: f64) -> Array3<f32> {
    let mut out = Array3::<f32>::zeros(shape);
    let ranges: Vec<[(usize, usize); 3]> = shapes
        .iter()
        .map(|s| match s.bounds(edge_mm) {
            None => [(0, shape[0]), (0, shape[1]), (0, shape[2])],
            Some((lo, hi)) => std::array::from_fn(|a| {
                let first = (lo[a] / spacing_mm[a]).floor().max(0.0) as usize;
                let last = ((hi[a] / spacing_mm[a]).ceil().max(-1.0) + 1.0) as usize;
                (first.min(shape[a]), last.min(shape[a]))
            }),
        })
        .collect();
    out.axis_iter_mut(Axis(0)).into_par_iter().enumerate().for_each(|(k, mut plane)| {
        for (s, r) in shapes.iter().zip(&ranges) {
            if k < r[0].0 || k >= r[0].1 {
                continue;
            }
            for j in r[1].0..r[1].1 {
                for i in r[2].0..r[2].1 {
                    let p = [k as f64 * spacing_mm[0], j as f64 * spacing_mm[1], i as f64 * spacing_mm[2]];
                    let v = s.occupancy(p, edge_mm) as f32;
                    let o = &mut plane[[j, i]];
                    *o = o.max(v);
                }
            }
        }
    });
    out
}

/// `count` random vessel-like segments (radius 0.5 to 6 mm, log-uniform; length 20 to 120 mm)
/// inside a grid of `extent_mm`, reproducible from `seed`.
pub fn random_vessels(count: usize, extent_mm: [f64; 3], seed: u64) -> Vec<Shape> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    (0..count)
        .map(|_| {
            let centre: Vec3 = std::array::from_fn(|a| rng.random_range(0.0..extent_mm[a]));
            let dir = normalize(std::array::from_fn(|_| rng.random_range(-1.0..1.0)));
            let half = rng.random_range(10.0..60.0);
            let radius = (rng.random_range(0.5f64.ln()..6.0f64.ln())).exp();
            Shape::Segment { a: sub(centre, scale(dir, half)), b: add(centre, scale(dir, half)), radius }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn occupancy_is_one_inside_and_zero_far_outside() {
        let s = Shape::Segment { a: [5.0, 5.0, 2.0], b: [5.0, 5.0, 20.0], radius: 2.0 };
        let img = render(std::slice::from_ref(&s), [11, 11, 25], [1.0; 3], 0.3);
        assert!(img[[5, 5, 10]] > 0.999 && img[[5, 9, 10]] < 1e-3 && img[[5, 5, 24]] < 1e-3);
        // Rendering only inside the bounds equals evaluating everywhere.
        let full =
            Array3::from_shape_fn((11, 11, 25), |(k, j, i)| s.occupancy([k as f64, j as f64, i as f64], 0.3) as f32);
        assert!(img.iter().zip(full.iter()).all(|(a, b)| (a - b).abs() < 2e-4));
    }
}
