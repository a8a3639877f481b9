//! The hand-placed central structures: trachea and main bronchi, pulmonary trunk, left atrium
//! with its four pulmonary-vein ostia, and aorta. Positions are designed in nominal millimetres
//! and placed into the patient through the [`Fit`]; radii stay in true millimetres.

use super::fit::Fit;
use super::shapes::{Ellipsoid, Tube};
use super::torso::Side;
use crate::geometry::{add, norm, normalize, scale, Vec3};
use rand::Rng;

/// Where a lung's bronchoarterial bundle enters it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Hilum {
    /// End of the main bronchus: root of the intrapulmonary airway tree.
    pub airway: Vec3,
    /// Initial direction of the intrapulmonary bundle.
    pub dir: Vec3,
    /// Unit direction, from the bronchus, on which the artery runs at the hilum: anterior, which
    /// is normal to the plane of the first (upper/lower lobe) split.
    pub artery_side: Vec3,
    /// Fraction of the lung supplied by the upper-lobe bundle.
    pub upper_share: f64,
    /// A point the main pulmonary artery passes on its way from the trunk bifurcation.
    pub artery_via: Vec3,
}

/// One pulmonary vein's course from its left-atrial ostium to where its tree begins in the lung.
#[derive(Debug, Clone, Copy)]
pub(crate) struct VeinPlan {
    pub ostium: Vec3,
    pub root: Vec3,
    pub radius: f64,
    /// Fraction of the lung's venous territory (counted from the apex down) that this vein drains.
    pub share: f64,
}

/// Central structures in patient millimetres; arrays indexed left (0), right (1).
#[derive(Debug, Clone)]
pub(crate) struct Mediastinum {
    pub trachea: Tube,
    pub main_bronchi: [Tube; 2],
    pub hila: [Hilum; 2],
    pub trunk: Tube,
    pub bifurcation: Vec3,
    pub left_atrium: Ellipsoid,
    /// Superior and inferior vein of each side.
    pub veins: [[VeinPlan; 2]; 2],
    pub aorta: Vec<Tube>,
}

/// Radius of the pulmonary trunk, of the left/right pulmonary arteries at their origin, and of
/// the pulmonary veins at the atrium, mm.
pub(crate) const TRUNK_RADIUS: f64 = 13.0;
pub(crate) const MAIN_PA_RADIUS: f64 = 9.5;
pub(crate) const PV_OSTIUM_RADIUS: f64 = 7.0;
pub(crate) const PV_ROOT_RADIUS: f64 = 6.0;

pub(crate) fn index(side: Side) -> usize {
    match side {
        Side::Left => 0,
        Side::Right => 1,
    }
}

/// The point where the ray from the ellipsoid's centre along `dir` leaves it.
fn on_surface(e: &Ellipsoid, dir: Vec3) -> Vec3 {
    let d = normalize(dir);
    let k = norm([d[0] / e.semi[0], d[1] / e.semi[1], d[2] / e.semi[2]]);
    add(e.centre, scale(d, 1.0 / k))
}

impl Mediastinum {
    /// The central anatomy, with a few millimetres of seed-dependent variation.
    pub fn place(fit: Fit, rng: &mut impl Rng) -> Self {
        let mut j = |x: f64| x + rng.random_range(-4.0..=4.0);
        let at = |q: Vec3| fit.place(q);
        let carina = at([0.0, 18.0, j(25.0)]);
        let trachea = Tube::new(at([0.0, 18.0, 240.0]), carina, 10.0);
        let hilum_airway = [at([j(48.0), 26.0, j(-6.0)]), at([j(-50.0), 22.0, j(2.0)])];
        let main_bronchi = [Tube::tapered(carina, hilum_airway[0], 7.5, 7.0), Tube::tapered(carina, hilum_airway[1], 8.0, 7.0)];
        let bifurcation = at([j(8.0), -8.0, j(14.0)]);
        let hila = [
            Hilum {
                airway: hilum_airway[0],
                dir: normalize([1.0, 0.1, -0.4]),
                artery_side: normalize([0.0, -1.0, 0.15]),
                upper_share: 0.45,
                artery_via: at([28.0, 2.0, 24.0]),
            },
            Hilum {
                airway: hilum_airway[1],
                dir: normalize([-1.0, 0.1, -0.3]),
                artery_side: normalize([0.0, -1.0, 0.15]),
                upper_share: 0.35,
                artery_via: at([-20.0, 0.0, 14.0]),
            },
        ];
        let trunk = Tube::new(at([20.0, -48.0, -40.0]), bifurcation, TRUNK_RADIUS);
        let left_atrium = Ellipsoid { centre: at([0.0, 32.0, j(-36.0)]), semi: [34.0 * fit.axial, 16.0 * fit.axial, 20.0 * fit.z] };
        let vein = |side: Side, superior: bool, root: Vec3, share: f64| {
            let s = side.sign();
            let dir = if superior { [s, -0.45, 0.3] } else { [s, 0.25, -0.6] };
            // Directions in nominal space, so the ostia stay on the atrium's surface after fitting.
            let dir = [dir[0] * fit.axial, dir[1] * fit.axial, dir[2] * fit.z];
            VeinPlan { ostium: on_surface(&left_atrium, dir), root: fit.place(root), radius: PV_ROOT_RADIUS, share }
        };
        let veins = [
            [vein(Side::Left, true, [55.0, -12.0, j(-30.0)], 0.5), vein(Side::Left, false, [45.0, 55.0, j(-70.0)], 0.5)],
            [vein(Side::Right, true, [-55.0, -14.0, j(-26.0)], 0.55), vein(Side::Right, false, [-48.0, 54.0, j(-66.0)], 0.45)],
        ];
        let aorta_path = [
            ([-22.0, -35.0, -45.0], 14.0),
            ([-25.0, -30.0, 45.0], 14.0),
            ([5.0, -5.0, 70.0], 13.0),
            ([25.0, 30.0, 60.0], 12.0),
            ([24.0, 55.0, 30.0], 11.5),
            ([24.0, 58.0, -170.0], 11.0),
        ];
        let aorta = aorta_path.windows(2).map(|w| Tube::tapered(at(w[0].0), at(w[1].0), w[0].1, w[1].1)).collect();
        Mediastinum { trachea, main_bronchi, hila, trunk, bifurcation, left_atrium, veins, aorta }
    }
}
