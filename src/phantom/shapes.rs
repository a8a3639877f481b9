//! The solids the patient model is made of (tubes and ellipsoids) and distances to them, all in
//! patient millimetres.

use crate::geometry::{add, dot, norm, scale, sub, Vec3};

/// A tube segment with round ends whose radius runs linearly from `ra` at `a` to `rb` at `b`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Tube {
    pub a: Vec3,
    pub b: Vec3,
    pub ra: f64,
    pub rb: f64,
}

impl Tube {
    pub fn new(a: Vec3, b: Vec3, r: f64) -> Self {
        Tube { a, b, ra: r, rb: r }
    }

    pub fn tapered(a: Vec3, b: Vec3, ra: f64, rb: f64) -> Self {
        Tube { a, b, ra, rb }
    }

    pub fn max_radius(&self) -> f64 {
        self.ra.max(self.rb)
    }

    #[cfg(test)]
    pub fn length(&self) -> f64 {
        norm(sub(self.b, self.a))
    }

    /// Distance of `p` from the axis and the tube's radius at the nearest axis point.
    #[inline]
    pub fn axis_distance(&self, p: Vec3) -> (f64, f64) {
        let (d, t) = point_segment(p, self.a, self.b);
        (d, self.ra + t * (self.rb - self.ra))
    }

    /// Signed distance of `p` from the surface (negative inside); exact for constant radius.
    #[inline]
    pub fn signed_distance(&self, p: Vec3) -> f64 {
        let (d, r) = self.axis_distance(p);
        d - r
    }

    /// Points every `step` mm along the axis, both ends included, with the radius there.
    #[cfg(test)]
    pub fn samples(&self, step: f64) -> impl Iterator<Item = (Vec3, f64)> + '_ {
        let n = (self.length() / step.max(1e-6)).ceil().max(1.0) as usize;
        (0..=n).map(move |s| {
            let t = s as f64 / n as f64;
            (add(self.a, scale(sub(self.b, self.a), t)), self.ra + t * (self.rb - self.ra))
        })
    }

    /// Axis-aligned bounding box of the solid, grown by `margin`.
    pub fn bounds(&self, margin: f64) -> (Vec3, Vec3) {
        let r = self.max_radius() + margin;
        let mut lo = [0.0; 3];
        let mut hi = [0.0; 3];
        for c in 0..3 {
            lo[c] = self.a[c].min(self.b[c]) - r;
            hi[c] = self.a[c].max(self.b[c]) + r;
        }
        (lo, hi)
    }
}

/// An axis-aligned ellipsoid.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Ellipsoid {
    pub centre: Vec3,
    pub semi: Vec3,
}

impl Ellipsoid {
    /// Approximate signed distance (exact on the surface, a close bound near it).
    #[inline]
    pub fn signed_distance(&self, p: Vec3) -> f64 {
        let d = sub(p, self.centre);
        ellipsoid_sd(d, self.semi)
    }

    pub fn bounds(&self, margin: f64) -> (Vec3, Vec3) {
        let lo = [0, 1, 2].map(|c| self.centre[c] - self.semi[c] - margin);
        let hi = [0, 1, 2].map(|c| self.centre[c] + self.semi[c] + margin);
        (lo, hi)
    }
}

/// Approximate signed distance of offset `d` from an origin-centred ellipsoid with semi-axes
/// `s` (the gradient-normalised implicit function; exact on the surface).
#[inline]
pub(crate) fn ellipsoid_sd(d: Vec3, s: Vec3) -> f64 {
    let k0 = norm([d[0] / s[0], d[1] / s[1], d[2] / s[2]]);
    let k1 = norm([d[0] / (s[0] * s[0]), d[1] / (s[1] * s[1]), d[2] / (s[2] * s[2])]);
    if k1 < 1e-12 {
        -s[0].min(s[1]).min(s[2])
    } else {
        k0 * (k0 - 1.0) / k1
    }
}

/// Approximate signed distance of `(x, y)` from an origin-centred ellipse with semi-axes `a`, `b`.
#[inline]
pub(crate) fn ellipse_sd(x: f64, y: f64, a: f64, b: f64) -> f64 {
    let k0 = ((x / a).powi(2) + (y / b).powi(2)).sqrt();
    let k1 = ((x / (a * a)).powi(2) + (y / (b * b)).powi(2)).sqrt();
    if k1 < 1e-12 {
        -a.min(b)
    } else {
        k0 * (k0 - 1.0) / k1
    }
}

/// Distance from `p` to segment `a`-`b` and the segment parameter (0 at `a`, 1 at `b`) of the
/// nearest point.
#[inline]
pub(crate) fn point_segment(p: Vec3, a: Vec3, b: Vec3) -> (f64, f64) {
    let ab = sub(b, a);
    let ap = sub(p, a);
    let len2 = dot(ab, ab);
    let t = if len2 > 0.0 { (dot(ap, ab) / len2).clamp(0.0, 1.0) } else { 0.0 };
    let q = add(a, scale(ab, t));
    (norm(sub(p, q)), t)
}

/// Shortest distance between segments `p1`-`q1` and `p2`-`q2`.
pub(crate) fn segment_segment(p1: Vec3, q1: Vec3, p2: Vec3, q2: Vec3) -> f64 {
    const EPS: f64 = 1e-12;
    let d1 = sub(q1, p1);
    let d2 = sub(q2, p2);
    let r = sub(p1, p2);
    let a = dot(d1, d1);
    let e = dot(d2, d2);
    let f = dot(d2, r);
    let (s, t) = if a <= EPS && e <= EPS {
        (0.0, 0.0)
    } else if a <= EPS {
        (0.0, (f / e).clamp(0.0, 1.0))
    } else {
        let c = dot(d1, r);
        if e <= EPS {
            ((-c / a).clamp(0.0, 1.0), 0.0)
        } else {
            let b = dot(d1, d2);
            let denom = a * e - b * b;
            let mut s = if denom > EPS { ((b * f - c * e) / denom).clamp(0.0, 1.0) } else { 0.0 };
            let mut t = (b * s + f) / e;
            if t < 0.0 {
                t = 0.0;
                s = (-c / a).clamp(0.0, 1.0);
            } else if t > 1.0 {
                t = 1.0;
                s = ((b - c) / a).clamp(0.0, 1.0);
            }
            (s, t)
        }
    };
    norm(sub(add(p1, scale(d1, s)), add(p2, scale(d2, t))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_distances() {
        let (d, t) = point_segment([1.0, 2.0, 0.0], [0.0; 3], [4.0, 0.0, 0.0]);
        assert!((d - 2.0).abs() < 1e-12 && (t - 0.25).abs() < 1e-12);
        // Skew segments one apart along z.
        let d = segment_segment([-1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, -1.0, 1.0], [0.0, 1.0, 1.0]);
        assert!((d - 1.0).abs() < 1e-12);
        // Parallel segments, end to end.
        let d = segment_segment([0.0; 3], [1.0, 0.0, 0.0], [3.0, 0.0, 0.0], [5.0, 0.0, 0.0]);
        assert!((d - 2.0).abs() < 1e-12);
    }

    #[test]
    fn ellipsoid_distance_is_exact_on_the_axes() {
        let e = Ellipsoid { centre: [1.0, 1.0, 1.0], semi: [10.0, 5.0, 2.0] };
        assert!(e.signed_distance([11.0, 1.0, 1.0]).abs() < 1e-9);
        assert!((e.signed_distance([1.0, 8.0, 1.0]) - 2.0).abs() < 0.2);
        assert!(e.signed_distance([1.0, 1.0, 1.0]) < 0.0);
        assert!((ellipse_sd(0.0, 7.0, 10.0, 5.0) - 2.0).abs() < 0.2);
    }
}
