//! The static tissues of the chest: body wall, ribs, spine, mediastinal fat, heart, abdomen below
//! the diaphragm and the two lungs, as signed-distance regions in nominal millimetres (see
//! [`super::fit`]), and the CT background they make before vessels and airways are drawn.

use super::fit::Fit;
use super::shapes::{ellipse_sd, ellipsoid_sd, Ellipsoid, Tube};
use crate::geometry::Vec3;
use rand::Rng;

/// Patient side; left is +x in LPS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Left,
    Right,
}

impl Side {
    pub const BOTH: [Side; 2] = [Side::Left, Side::Right];

    /// +1 for left, -1 for right: the sign of x on this side.
    pub fn sign(self) -> f64 {
        match self {
            Side::Left => 1.0,
            Side::Right => -1.0,
        }
    }
}

/// CT numbers of the tissues (HU).
pub(crate) mod hu {
    pub const AIR: f32 = -1000.0;
    pub const FAT: f32 = -90.0;
    pub const SOFT_TISSUE: f32 = 40.0;
    pub const LIVER: f32 = 55.0;
    pub const BONE: f32 = 350.0;
    pub const CSF: f32 = 15.0;
    pub const LUNG: f32 = -850.0;
    pub const AIRWAY_WALL: f32 = 80.0;
}

/// One diaphragm dome: `z = top - depth * ((x - cx)^2 / rx^2 + (y - cy)^2 / ry^2)`.
#[derive(Debug, Clone, Copy)]
struct Dome {
    top: f64,
    cx: f64,
    cy: f64,
    rx: f64,
    ry: f64,
    depth: f64,
}

impl Dome {
    /// Signed vertical-ish distance: positive below the dome surface.
    fn below(&self, q: Vec3) -> f64 {
        let (ux, uy) = ((q[0] - self.cx) / self.rx, (q[1] - self.cy) / self.ry);
        let z = self.top - self.depth * (ux * ux + uy * uy);
        if z < -NOMINAL_LUNG_BOTTOM {
            return -NOMINAL_LUNG_BOTTOM - q[2];
        }
        let (gx, gy) = (2.0 * self.depth * ux / self.rx, 2.0 * self.depth * uy / self.ry);
        (z - q[2]) / (1.0 + gx * gx + gy * gy).sqrt()
    }
}

/// A structure the lungs keep clear of, in patient millimetres.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Keepout {
    Tube(Tube),
    Ellipsoid(Ellipsoid),
}

impl Keepout {
    fn signed_distance(&self, p: Vec3) -> f64 {
        match self {
            Keepout::Tube(t) => t.signed_distance(p),
            Keepout::Ellipsoid(e) => e.signed_distance(p),
        }
    }

    fn bounds(&self, margin: f64) -> (Vec3, Vec3) {
        match self {
            Keepout::Tube(t) => t.bounds(margin),
            Keepout::Ellipsoid(e) => e.bounds(margin),
        }
    }
}

/// Gap between the lungs and the mediastinal structures they wrap (pleura, fat), mm.
const KEEPOUT_MARGIN: f64 = 4.0;

/// The chest without its pulmonary vessels and airways.
#[derive(Debug, Clone)]
pub(crate) struct Torso {
    pub fit: Fit,
    /// Body (skin) ellipse semi-axes, centred on the origin.
    body: [f64; 2],
    /// Thoracic cavity ellipse: centre y, semi-axes.
    cavity: [f64; 3],
    /// Lung apex ellipsoid (per side mirrored): centre |x|, y, z of its equator, semi-axes.
    apex: [f64; 6],
    /// Half-width of the mediastinum anteriorly (y <= -40) and posteriorly (y >= 40).
    medial: [f64; 2],
    domes: [Dome; 2],
    heart: Ellipsoid,
    /// Vertebral body centre y and radius; spinal canal centre y and radius; arch radius.
    spine: [f64; 5],
    sternum: [f64; 3],
    rib_period: f64,
    keepouts: Vec<(Keepout, (Vec3, Vec3))>,
}

fn side_index(side: Side) -> usize {
    match side {
        Side::Left => 0,
        Side::Right => 1,
    }
}

impl Torso {
    /// A chest with small seed-dependent variations of size and diaphragm height.
    pub fn new(fit: Fit, rng: &mut impl Rng) -> Self {
        let mut jitter = |x: f64, by: f64| x + rng.random_range(-by..=by);
        let body = [jitter(154.0, 4.0), jitter(110.0, 4.0)];
        let right_top = jitter(-55.0, 8.0);
        let left_top = jitter(-68.0, 8.0);
        let domes = [
            Dome { top: left_top, cx: 65.0, cy: 5.0, rx: 75.0, ry: 85.0, depth: 100.0 },
            Dome { top: right_top, cx: -65.0, cy: 5.0, rx: 75.0, ry: 85.0, depth: 100.0 },
        ];
        Torso {
            fit,
            body,
            cavity: [2.0, body[0] - 20.0, body[1] - 21.0],
            apex: [72.0, 10.0, 60.0, 63.0, 80.0, 75.0],
            medial: [8.0, 24.0],
            domes,
            heart: Ellipsoid { centre: [18.0, -22.0, -75.0], semi: [58.0, 48.0, 45.0] },
            spine: [72.0, 17.0, 100.0, 8.0, 14.0],
            sternum: [-96.0, 16.0, 7.0],
            rib_period: 26.0,
            keepouts: Vec::new(),
        }
    }

    /// Adds mediastinal structures (patient mm) the lungs must keep clear of.
    pub fn keep_out(&mut self, k: Keepout) {
        let b = k.bounds(KEEPOUT_MARGIN + 1.0);
        self.keepouts.push((k, b));
    }

    /// Signed distance (mm, negative inside) of patient point `p` from the skin.
    #[cfg(test)]
    pub fn body_sd(&self, p: Vec3) -> f64 {
        let q = self.fit.nominal(p);
        ellipse_sd(q[0], q[1], self.body[0], self.body[1]) * self.fit.axial
    }

    fn dome_below(&self, side: Side, q: Vec3) -> f64 {
        self.domes[side_index(side)].below(q)
    }

    /// Signed distance below the diaphragm (blending the two domes across the midline).
    fn below_diaphragm(&self, q: Vec3) -> f64 {
        let w = ((q[0] + 30.0) / 60.0).clamp(0.0, 1.0);
        let w = w * w * (3.0 - 2.0 * w);
        w * self.dome_below(Side::Left, q) + (1.0 - w) * self.dome_below(Side::Right, q)
    }

    fn cavity_sd(&self, q: Vec3) -> f64 {
        ellipse_sd(q[0], q[1] - self.cavity[0], self.cavity[1], self.cavity[2])
    }

    fn vertebra_sd(&self, q: Vec3) -> f64 {
        (q[0] * q[0] + (q[1] - self.spine[0]).powi(2)).sqrt() - self.spine[1]
    }

    /// Signed distance (mm, negative inside) of patient point `p` from the `side` lung.
    pub fn lung_sd(&self, side: Side, p: Vec3) -> f64 {
        self.lung_sd_nominal(side, self.fit.nominal(p), p)
    }

    fn lung_sd_nominal(&self, side: Side, q: Vec3, p: Vec3) -> f64 {
        let s = side.sign();
        let [ax, ay, az, aa, ab, ac] = self.apex;
        let mut d = self.cavity_sd(q);
        d = d.max(ellipsoid_sd([q[0] - s * ax, q[1] - ay, (q[2] - az).max(0.0)], [aa, ab, ac]));
        let t = ((q[1] + 40.0) / 80.0).clamp(0.0, 1.0);
        let medial = self.medial[0] + t * (self.medial[1] - self.medial[0]);
        d = d.max(medial - s * q[0]);
        d = d.max(self.dome_below(side, q));
        d = d.max(KEEPOUT_MARGIN - self.heart.signed_distance(q));
        d = d.max(KEEPOUT_MARGIN - self.vertebra_sd(q));
        for (k, (lo, hi)) in &self.keepouts {
            if (0..3).all(|c| p[c] >= lo[c] && p[c] <= hi[c]) {
                d = d.max(KEEPOUT_MARGIN - k.signed_distance(p));
            }
        }
        d
    }

    /// Axis-aligned box (patient mm) that holds the `side` lung.
    pub fn lung_bounds(&self, side: Side) -> (Vec3, Vec3) {
        let s = side.sign();
        let x = [s * self.medial[0], s * (self.apex[0] + self.apex[3])];
        let q_lo = [x[0].min(x[1]), self.cavity[0] - self.cavity[2], -NOMINAL_LUNG_BOTTOM];
        let q_hi = [x[0].max(x[1]), self.cavity[0] + self.cavity[2], self.apex[2] + self.apex[5]];
        (self.fit.place(q_lo), self.fit.place(q_hi))
    }

    /// The CT number of the chest at patient point `p` without vessels and airways, with
    /// partial-volume blending over voxel width `w` (mm).
    pub fn background_hu(&self, p: Vec3, w: f64) -> f32 {
        let q = self.fit.nominal(p);
        let cov = |sd: f64| (0.5 - sd / w).clamp(0.0, 1.0) as f32;
        let mix = |v: f32, tissue: f32, a: f32| v + a * (tissue - v);
        let sd_body = ellipse_sd(q[0], q[1], self.body[0], self.body[1]);
        if sd_body > w {
            return hu::AIR;
        }
        let mut v = mix(hu::AIR, hu::SOFT_TISSUE, cov(sd_body));
        v = mix(v, hu::FAT, cov(sd_body + 2.5));
        v = mix(v, hu::SOFT_TISSUE, cov(sd_body + 13.0));
        let sd_cav = self.cavity_sd(q);
        if sd_cav > 12.0 + w {
            return v;
        }
        // Ribs: a band just outside the cavity, sloping down anteriorly.
        if sd_cav > 1.5 - w {
            let phase = (q[2] - 0.35 * q[1]) / self.rib_period;
            let pattern = (((std::f64::consts::TAU * phase).cos() - 0.5) / 0.3).clamp(0.0, 1.0) as f32;
            let band = cov(1.5 - sd_cav) * cov(sd_cav - 11.0);
            let extent = cov(q[2] - 125.0) * cov(-130.0 - q[2]);
            let off_sternum = if q[1] < 0.0 { cov(22.0 - q[0].abs()) } else { 1.0 };
            v = mix(v, hu::BONE, band * extent * off_sternum * pattern);
        }
        let [sy, sa, sb] = self.sternum;
        v = mix(v, hu::BONE, cov(ellipse_sd(q[0], q[1] - sy, sa, sb)));
        let [_, _, cy, cr, arch] = self.spine;
        let canal = (q[0] * q[0] + (q[1] - cy).powi(2)).sqrt();
        v = mix(v, hu::BONE, cov(canal - arch));
        v = mix(v, hu::CSF, cov(canal - cr));
        if sd_cav > w {
            return v;
        }
        v = mix(v, hu::FAT, cov(sd_cav));
        v = mix(v, hu::LIVER, cov(sd_cav.max(-self.below_diaphragm(q))));
        v = mix(v, hu::BONE, cov(self.vertebra_sd(q)));
        v = mix(v, hu::SOFT_TISSUE, cov(self.heart.signed_distance(q)));
        for side in Side::BOTH {
            if side.sign() * q[0] > 0.0 {
                v = mix(v, hu::LUNG, cov(self.lung_sd_nominal(side, q, p)));
            }
        }
        v
    }
}

/// Lowest point of the costophrenic recesses, nominal mm below the origin.
const NOMINAL_LUNG_BOTTOM: f64 = 140.0;

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn nominal_lungs_span_the_nominal_height() {
        let t = Torso::new(Fit::identity(), &mut rand_chacha::ChaCha8Rng::seed_from_u64(3));
        for side in Side::BOTH {
            let s = side.sign();
            let (mut top, mut bottom) = (f64::NEG_INFINITY, f64::INFINITY);
            for x in (0..30).map(|i| s * (5.0 + 5.0 * i as f64)) {
                for y in (0..40).map(|i| -100.0 + 5.0 * i as f64) {
                    for z in (0..150).map(|i| -150.0 + 2.0 * i as f64) {
                        if t.lung_sd(side, [x, y, z]) < 0.0 {
                            top = top.max(z);
                            bottom = bottom.min(z);
                        }
                    }
                }
            }
            assert!((120.0..140.0).contains(&top), "{side:?} apex at {top}");
            assert!((-NOMINAL_LUNG_BOTTOM..-115.0).contains(&bottom), "{side:?} base at {bottom}");
            assert!(top - bottom <= super::super::fit::NOMINAL_HEIGHT);
            // The lung lies on its own side only.
            assert!(t.lung_sd(side, [-s * 80.0, 20.0, 0.0]) > 0.0);
            assert!(t.lung_sd(side, [s * 80.0, 20.0, 0.0]) < -20.0);
        }
    }
}
