//! The patient model: the chest's static tissues plus every tube and blood body, in patient
//! millimetres and independent of any grid.

use super::bundle::airway_wall;
use super::family::Family;
use super::fit::Fit;
use super::mediastinum::Mediastinum;
use super::noise::Noise;
use super::shapes::{Ellipsoid, Tube};
use super::torso::{Keepout, Side, Torso};
use super::vessels::{self, LungVessels};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// What a part is made of, and so how it is drawn and labelled.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Tissue {
    Artery(Side),
    Vein(Side),
    /// A bronchus: the tube is its outer surface, the lumen is `wall` mm narrower.
    Airway { wall: f64 },
    /// Blood that is not labelled: the pulmonary trunk (`arterial`), the left atrium and the
    /// aorta (drawn at the veins' CT number: they fill after the lungs).
    Blood { arterial: bool },
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Shape {
    Tube(Tube),
    Ellipsoid(Ellipsoid),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Part {
    pub shape: Shape,
    pub tissue: Tissue,
}

/// A whole synthetic patient.
#[derive(Debug, Clone)]
pub(crate) struct Anatomy {
    pub torso: Torso,
    /// Kept for inspection (tests check the vessels against the atrium and the trunk).
    #[cfg_attr(not(test), allow(dead_code))]
    pub mediastinum: Mediastinum,
    pub parts: Vec<Part>,
    /// The vessels and airways of the left and the right lung, as grown (kept for inspection).
    #[cfg_attr(not(test), allow(dead_code))]
    pub lungs: [LungVessels; 2],
    pub noise: Noise,
    pub family: Family,
}

/// An independent random stream of the seed for one purpose, so that changing how one part
/// grows leaves the others as they were.
fn stream(seed: u64, purpose: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(purpose);
    rng
}

fn airway(t: Tube) -> Part {
    Part { shape: Shape::Tube(t), tissue: Tissue::Airway { wall: airway_wall(t.max_radius()) } }
}

impl Anatomy {
    /// Grows the patient of `seed`, fitted into a field of view by `fit`.
    pub fn grow(seed: u64, fit: Fit, family: &Family) -> Self {
        let mediastinum = Mediastinum::place(fit, &mut stream(seed, 1));
        let m = &mediastinum;
        let mut torso = Torso::new(fit, &mut stream(seed, 0));
        for t in m.aorta.iter().chain([&m.trunk]) {
            torso.keep_out(Keepout::Tube(*t));
        }
        torso.keep_out(Keepout::Ellipsoid(m.left_atrium));

        let mut parts = vec![airway(m.trachea)];
        parts.extend(m.main_bronchi.iter().map(|t| airway(*t)));
        parts.push(Part { shape: Shape::Tube(m.trunk), tissue: Tissue::Blood { arterial: true } });
        parts.push(Part { shape: Shape::Ellipsoid(m.left_atrium), tissue: Tissue::Blood { arterial: false } });
        parts.extend(m.aorta.iter().map(|t| Part { shape: Shape::Tube(*t), tissue: Tissue::Blood { arterial: false } }));

        // Bronchoarterial bundles with the pulmonary arteries, and the veins between them.
        let lungs = vessels::grow(&torso, m, family, |purpose| stream(seed, purpose));
        for (side, lung) in Side::BOTH.into_iter().zip(&lungs) {
            let tube = |tissue: Tissue| move |t: &Tube| Part { shape: Shape::Tube(*t), tissue };
            parts.extend(lung.arteries.iter().map(tube(Tissue::Artery(side))));
            parts.extend(lung.veins.iter().map(tube(Tissue::Vein(side))));
            parts.extend(lung.airways.iter().map(|t| airway(*t)));
        }
        let noise = Noise::textured(stream(seed, 30).random(), family.noise_sd, family.noise_correlated, family.noise_grain_mm);
        Anatomy { torso, mediastinum, parts, lungs, noise, family: family.clone() }
    }
}
