//! A synthetic chest CT with known pulmonary arteries and veins, so that every test and demo
//! runs without patient data.
//!
//! The anatomy lives in patient space (millimetres, LPS) and is rendered onto whatever grid
//! the parameters ask for, so a head-first and a feet-first phantom of one seed show the same
//! patient (the noise, too, is a function of the physical point).
//!
//! The patient (all randomness from ChaCha streams of the seed):
//! - a body ellipse of soft tissue (+40 HU) with subcutaneous fat, ribs, sternum and spine, in
//!   air (-1000 HU); two lungs (-850 HU) above the diaphragm domes, abdomen (+55 HU) below;
//! - a mediastinum of fat (-90 HU) holding the heart, the aorta, the pulmonary trunk (anterior,
//!   splitting below the carina into the left and right pulmonary arteries) and the left atrium
//!   (posterior, below the bifurcation), the trachea and the main bronchi;
//! - in each lung a bronchoarterial bundle grown from the hilum: bronchi (lumen -1000 HU, wall
//!   +80 HU, 18 % of the radius and at least 0.7 mm thick) with an artery alongside each, radii
//!   tapering by Murray's law from 7 mm to 1 mm;
//! - in each lung a superior and an inferior venous tree grown by the same rules into the space
//!   between the bundles (clear of every artery and bronchus), radii from 6 mm to 1 mm,
//!   draining through the four pulmonary veins (7 mm at the atrium) to the left atrium;
//! - all blood at +40 HU (unenhanced CT), so arteries and veins differ only by anatomy, and
//!   Gaussian noise of 20 HU everywhere; CT numbers are clipped to -1024..3071 HU.
//!
//! Fitting into the field of view is described in `fit.rs`: a short grid squeezes the anatomy
//! cranio-caudally (lungs fill 90 % of the z-extent); radii stay in millimetres.
//!
//! What is labelled: a voxel is artery (vein) when its centre lies inside a pulmonary artery
//! (vein) and not inside the pulmonary trunk, the left atrium or the aorta, none of which is
//! labelled. So the arteries are labelled from the trunk bifurcation outwards (the left and right
//! pulmonary arteries through the hila, then the intrapulmonary trees) and the veins from the
//! atrial ostia outwards (the four hilar pulmonary veins, then their trees). The side in
//! `labels_lr` is the lung a vessel belongs to, along its whole course: the right pulmonary
//! artery is "right" even where it starts just left of the midline.

mod anatomy;
mod bundle;
mod directions;
mod family;
mod fit;
mod mediastinum;
mod noise;
mod obstacles;
mod render;
mod shapes;
mod territory;
mod torso;
mod tree;
mod veins;
mod vessels;
mod write;
#[cfg(test)]
mod family_tests;
#[cfg(test)]
mod tests;

pub use family::{Family, FamilyError, FamilyGrid};
pub use write::{write_phantom, PhantomFiles, PhantomWriteError};

use crate::geometry::Geometry;
use ndarray::Array3;
use serde::{Deserialize, Serialize};

/// Label values of `labels.nii.gz`.
pub const LABEL_ARTERY: u8 = 1;
pub const LABEL_VEIN: u8 = 2;
/// Label values of `labels_lr.nii.gz` (patient left/right).
pub const LABEL_LEFT_ARTERY: u8 = 1;
pub const LABEL_LEFT_VEIN: u8 = 2;
pub const LABEL_RIGHT_ARTERY: u8 = 3;
pub const LABEL_RIGHT_VEIN: u8 = 4;

/// What to generate.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PhantomParams {
    pub seed: u64,
    pub slices: usize,
    pub rows: usize,
    pub cols: usize,
    /// In-plane pixel spacing, mm.
    pub pixel_spacing: f64,
    /// Distance between slice centres, mm.
    pub slice_spacing: f64,
    /// Feet-first supine: the row direction points to the patient's right and slices run
    /// from head to feet.
    pub feet_first: bool,
    /// What the patient looks like (contrast, airways, noise, vessel growth); see `family.rs`.
    /// Params written before families existed read as the standard family.
    #[serde(default)]
    pub family: Family,
}

impl Default for PhantomParams {
    fn default() -> Self {
        PhantomParams {
            seed: 1,
            slices: 64,
            rows: 128,
            cols: 128,
            pixel_spacing: 2.7,
            slice_spacing: 2.5,
            feet_first: false,
            family: Family::standard(),
        }
    }
}

impl PhantomParams {
    /// A phantom of `family` on the family's own grid.
    pub fn of_family(seed: u64, family: Family) -> Self {
        let g = family.grid;
        PhantomParams {
            seed,
            slices: g.slices,
            rows: g.rows,
            cols: g.cols,
            pixel_spacing: g.pixel_spacing,
            slice_spacing: g.slice_spacing,
            feet_first: g.feet_first,
            family,
        }
    }

    /// The grid of the phantom: centred on the patient-space origin, axial slices.
    pub fn geometry(&self) -> Geometry {
        let (row_dir, col_dir) =
            if self.feet_first { ([-1.0, 0.0, 0.0], [0.0, 1.0, 0.0]) } else { ([1.0, 0.0, 0.0], [0.0, 1.0, 0.0]) };
        let spacing = [self.slice_spacing, self.pixel_spacing, self.pixel_spacing];
        let shape = [self.slices, self.rows, self.cols];
        let mut g = Geometry::new(shape, [0.0; 3], row_dir, col_dir, spacing);
        // Put the grid's centre at the origin.
        let centre = g.index_to_lps(
            (self.slices as f64 - 1.0) / 2.0,
            (self.rows as f64 - 1.0) / 2.0,
            (self.cols as f64 - 1.0) / 2.0,
        );
        g.origin = [-centre[0], -centre[1], -centre[2]];
        g
    }
}

/// A rendered phantom: CT in HU and its ground truth, all on one `[k, j, i]` grid.
#[derive(Debug, Clone)]
pub struct Phantom {
    pub params: PhantomParams,
    pub geometry: Geometry,
    /// CT values in Hounsfield units.
    pub hu: Array3<i16>,
    /// 0 background, 1 artery, 2 vein.
    pub labels: Array3<u8>,
    /// 0 background, 1 left artery, 2 left vein, 3 right artery, 4 right vein.
    pub labels_lr: Array3<u8>,
}

/// Generates the phantom for `params`; deterministic for a seed.
pub fn generate(params: &PhantomParams) -> Phantom {
    let geometry = params.geometry();
    let t = std::time::Instant::now();
    let anatomy = anatomy::Anatomy::grow(params.seed, fit::Fit::for_grid(&geometry), &params.family);
    let grown = t.elapsed();
    let (hu, labels, labels_lr) = render::render(&anatomy, &geometry);
    tracing::debug!(parts = anatomy.parts.len(), ?grown, rendered = ?(t.elapsed() - grown), "phantom generated");
    Phantom { params: params.clone(), geometry, hu, labels, labels_lr }
}
