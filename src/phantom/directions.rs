//! Unit-vector helpers for growing trees: perpendiculars, turn and tilt limits, spreading
//! siblings apart, random directions.

use crate::geometry::{add, cross, dot, norm, normalize, scale, sub, Vec3};
use rand::Rng;

/// Normal of the plane in which a branch along `dir` splits across `axis`, on the side of `old`.
pub(crate) fn plane_normal_of(dir: Vec3, axis: Vec3, old: Vec3) -> Vec3 {
    let c = cross(dir, axis);
    let v = if norm(c) > 0.2 { perpendicular(dir, c) } else { perpendicular(dir, old) };
    if dot(v, old) < 0.0 {
        scale(v, -1.0)
    } else {
        v
    }
}

/// Unit directions for two siblings heading along unit `a` and `b`, turned apart
/// symmetrically to at least `min_angle` between them.
pub(crate) fn spread(a: Vec3, b: Vec3, min_angle: f64) -> [Option<Vec3>; 2] {
    if dot(a, b).clamp(-1.0, 1.0).acos() >= min_angle {
        return [Some(a), Some(b)];
    }
    let mid = if norm(add(a, b)) > 1e-9 { normalize(add(a, b)) } else { a };
    let apart = perpendicular(mid, sub(b, a));
    let (c, s) = ((0.5 * min_angle).cos(), (0.5 * min_angle).sin());
    [Some(sub(scale(mid, c), scale(apart, s))), Some(add(scale(mid, c), scale(apart, s)))]
}

/// A uniformly random unit vector.
pub(crate) fn random_unit<R: Rng>(rng: &mut R) -> Vec3 {
    let z: f64 = rng.random_range(-1.0..=1.0);
    let phi: f64 = rng.random_range(0.0..std::f64::consts::TAU);
    let s = (1.0 - z * z).max(0.0).sqrt();
    [s * phi.cos(), s * phi.sin(), z]
}

/// A unit vector perpendicular to unit `d`, as close to `hint` as possible.
pub(crate) fn perpendicular(d: Vec3, hint: Vec3) -> Vec3 {
    let p = sub(hint, scale(d, dot(hint, d)));
    if norm(p) > 1e-6 {
        return normalize(p);
    }
    let other = if d[0].abs() < 0.9 { [1.0, 0.0, 0.0] } else { [0.0, 1.0, 0.0] };
    normalize(cross(d, other))
}

/// `d` turned towards `reference` until they are at most `max_angle` apart.
pub(crate) fn limit_turn(d: Vec3, reference: Vec3, max_angle: f64) -> Vec3 {
    let c = dot(d, reference).clamp(-1.0, 1.0);
    if c.acos() <= max_angle {
        return d;
    }
    let perp = perpendicular(reference, d);
    add(scale(reference, max_angle.cos()), scale(perp, max_angle.sin()))
}

/// `d` with its angle to the plane with unit normal `n` limited to `max_angle`.
pub(crate) fn limit_tilt(d: Vec3, n: Vec3, max_angle: f64) -> Vec3 {
    let along = dot(d, n);
    let limit = max_angle.sin();
    if along.abs() <= limit {
        return d;
    }
    let in_plane = sub(d, scale(n, along));
    if norm(in_plane) < 1e-9 {
        return d;
    }
    let s = along.signum() * limit;
    normalize(add(scale(normalize(in_plane), (1.0 - s * s).sqrt()), scale(n, s)))
}

/// `d` tilted by `angle` in a random direction.
pub(crate) fn deviate<R: Rng>(d: Vec3, angle: f64, rng: &mut R) -> Vec3 {
    let perp = perpendicular(d, random_unit(rng));
    normalize(add(scale(d, angle.cos()), scale(perp, angle.sin())))
}

/// Spherical interpolation between unit vectors.
pub(crate) fn slerp(u0: Vec3, u1: Vec3, t: f64) -> Vec3 {
    let c = dot(u0, u1).clamp(-1.0, 1.0);
    let omega = c.acos();
    if omega < 1e-6 {
        return u0;
    }
    let s = omega.sin();
    if s < 1e-6 {
        // Opposite: go round through any perpendicular.
        let mid = perpendicular(u0, [0.3, 0.5, 0.8]);
        return if t < 0.5 { slerp(u0, mid, 2.0 * t) } else { slerp(mid, u1, 2.0 * t - 1.0) };
    }
    normalize(add(scale(u0, ((1.0 - t) * omega).sin() / s), scale(u1, (t * omega).sin() / s)))
}
