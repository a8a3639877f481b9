//! How the patient model is fitted into a grid's field of view.
//!
//! The model is designed in "nominal" millimetres: an adult chest whose lungs span about
//! 280 mm from the costophrenic recesses to the apices and whose body is at most 320 x 240 mm
//! in the axial plane, centred on the patient-space origin. A grid too short to hold it (the
//! default 64 slices of 2.5 mm cover 160 mm) gets an anatomy squeezed cranio-caudally so the
//! lungs fill 90 % of its z-extent; a grid too narrow gets the axial plane shrunk (both
//! axes alike) so the body fills 95 % of it. Anatomy is never enlarged. Only the positions of
//! structures are scaled: vessel and airway radii, wall thicknesses and clearances stay in
//! true millimetres.

use crate::geometry::{Geometry, Vec3};

/// Cranio-caudal extent of the nominal lungs (mm).
pub(crate) const NOMINAL_HEIGHT: f64 = 280.0;
/// Largest nominal body width (left-right) and depth (antero-posterior), mm.
pub(crate) const NOMINAL_WIDTH: f64 = 320.0;
pub(crate) const NOMINAL_DEPTH: f64 = 240.0;

/// Scale factors from nominal to patient millimetres.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Fit {
    /// Applied to x and y.
    pub axial: f64,
    /// Applied to z.
    pub z: f64,
}

impl Fit {
    /// Nominal anatomy unchanged.
    #[cfg(test)]
    pub fn identity() -> Self {
        Fit { axial: 1.0, z: 1.0 }
    }

    /// The fit for a grid: depends only on its extent along the patient axes, so a head-first
    /// and a feet-first grid of one size get the same patient.
    pub fn for_grid(g: &Geometry) -> Self {
        let mut lo = [f64::INFINITY; 3];
        let mut hi = [f64::NEG_INFINITY; 3];
        for corner in 0..8 {
            let pick = |bit: usize, n: usize| if corner & (1 << bit) != 0 { n as f64 - 0.5 } else { -0.5 };
            let p = g.index_to_lps(pick(0, g.shape[0]), pick(1, g.shape[1]), pick(2, g.shape[2]));
            for c in 0..3 {
                lo[c] = lo[c].min(p[c]);
                hi[c] = hi[c].max(p[c]);
            }
        }
        let ext = [hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]];
        let axial = (0.95 * ext[0] / NOMINAL_WIDTH).min(0.95 * ext[1] / NOMINAL_DEPTH).min(1.0);
        let z = (0.9 * ext[2] / NOMINAL_HEIGHT).min(1.0);
        Fit { axial: axial.max(1e-3), z: z.max(1e-3) }
    }

    /// Nominal position to patient position.
    #[inline]
    pub fn place(&self, q: Vec3) -> Vec3 {
        [q[0] * self.axial, q[1] * self.axial, q[2] * self.z]
    }

    /// Patient position to nominal position.
    #[inline]
    pub fn nominal(&self, p: Vec3) -> Vec3 {
        [p[0] / self.axial, p[1] / self.axial, p[2] / self.z]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phantom::PhantomParams;

    #[test]
    fn default_grid_squeezes_only_z() {
        let d = PhantomParams::default();
        let f = Fit::for_grid(&d.geometry());
        assert_eq!(f.axial, 1.0);
        let height = d.slices as f64 * d.slice_spacing;
        assert!(height < NOMINAL_HEIGHT / 0.9, "the default grid must be too short for the nominal lungs");
        assert!((f.z - 0.9 * height / NOMINAL_HEIGHT).abs() < 1e-9);
        let ff = Fit::for_grid(&PhantomParams { feet_first: true, ..Default::default() }.geometry());
        assert_eq!(f, ff);
    }

    #[test]
    fn tall_grid_keeps_true_size() {
        let p = PhantomParams { slices: 400, slice_spacing: 1.0, rows: 512, cols: 512, pixel_spacing: 0.7, ..Default::default() };
        assert_eq!(Fit::for_grid(&p.geometry()), Fit { axial: 1.0, z: 1.0 });
    }
}
