//! Is a label map on its source series' grid? A SEG is written on the source pixel grid, so a
//! label map from elsewhere (a NIfTI file) must coincide with it voxel for voxel.

use crate::geometry::Geometry;

/// A label map grid that is not the source grid, described so that one can see how it differs.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "label map grid does not match the CT grid (corners differ by {max_offset_mm:.3} mm, tolerance {tolerance_mm:.3} mm): \
     labels {labels} vs CT {ct}; resample or reorient the label map onto the CT's grid"
)]
pub struct GridMismatch {
    pub labels: String,
    pub ct: String,
    pub max_offset_mm: f64,
    pub tolerance_mm: f64,
}

fn describe(g: &Geometry) -> String {
    let [nk, nj, ni] = g.shape;
    let [sk, sj, si] = g.spacing;
    let o = g.origin;
    format!(
        "{ni} x {nj} x {nk} voxels (columns x rows x slices) of {si:.4} x {sj:.4} x {sk:.4} mm, orientation {}, first voxel at ({:.2}, {:.2}, {:.2}) mm LPS",
        g.orientation_code(),
        o[0],
        o[1],
        o[2]
    )
}

/// Largest distance between corresponding corners of two grids of one shape (infinite when the
/// shapes differ).
fn max_corner_offset(a: &Geometry, b: &Geometry) -> f64 {
    if a.shape != b.shape {
        return f64::INFINITY;
    }
    let last = |n: usize| n.saturating_sub(1) as f64;
    let [nk, nj, ni] = a.shape;
    let mut worst: f64 = 0.0;
    for k in [0.0, last(nk)] {
        for j in [0.0, last(nj)] {
            for i in [0.0, last(ni)] {
                let (p, q) = (a.index_to_lps(k, j, i), b.index_to_lps(k, j, i));
                worst = worst.max(crate::geometry::norm(crate::geometry::sub(p, q)));
            }
        }
    }
    worst
}

/// Accepts `labels` when every corner voxel lies within a tenth of the smallest voxel size
/// (NIfTI keeps its affine in single precision) of the CT's.
pub fn check_same_grid(labels: &Geometry, ct: &Geometry) -> Result<(), GridMismatch> {
    let tolerance_mm = 0.1 * ct.spacing.iter().copied().fold(f64::INFINITY, f64::min);
    let max_offset_mm = max_corner_offset(labels, ct);
    if max_offset_mm <= tolerance_mm {
        return Ok(());
    }
    Err(GridMismatch { labels: describe(labels), ct: describe(ct), max_offset_mm, tolerance_mm })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_float_noise_and_names_a_flipped_grid() {
        let ct = Geometry::new([4, 5, 6], [-10.0, 20.0, 30.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [2.0, 0.7, 0.7]);
        let mut close = ct.clone();
        close.origin[0] += 1e-4;
        check_same_grid(&close, &ct).unwrap();
        let flipped = Geometry::new([4, 5, 6], [-6.5, 20.0, 30.0], [-1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [2.0, 0.7, 0.7]);
        let e = check_same_grid(&flipped, &ct).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("orientation RPI") && msg.contains("orientation LPS"), "{msg}");
        let mut other_shape = ct.clone();
        other_shape.shape = [4, 5, 7];
        assert!(check_same_grid(&other_shape, &ct).unwrap_err().max_offset_mm.is_infinite());
    }
}
