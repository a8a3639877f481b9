//! Rasterises the patient model onto a grid, one axial plane per task.
//!
//! Each plane starts from the chest background; then every part whose bounding box reaches the
//! plane is drawn over its own small box into per-plane coverage buffers (airway wall, airway
//! lumen, blood), which are composited in that order, so vessels lie on top. Coverage is an
//! analytic partial-volume estimate of a box-filtered tube, so thin vessels are faint and
//! boundaries are anti-aliased. A voxel is labelled when its centre lies inside a labelled
//! vessel and not inside unlabelled blood (trunk, left atrium, aorta); where two labelled
//! vessels contain the centre, the one it lies deeper in wins.

use super::anatomy::{Anatomy, Part, Shape, Tissue};
use super::torso::{hu, Side};
use super::{LABEL_LEFT_ARTERY, LABEL_LEFT_VEIN, LABEL_RIGHT_ARTERY, LABEL_RIGHT_VEIN};
use crate::geometry::{add, scale, Geometry, Vec3};
use ndarray::{Array3, ArrayViewMut2, Axis};
use rayon::prelude::*;

/// Label of `labels_lr.nii.gz` for a part, 0 if unlabelled.
fn lr_label(t: Tissue) -> u8 {
    match t {
        Tissue::Artery(Side::Left) => LABEL_LEFT_ARTERY,
        Tissue::Vein(Side::Left) => LABEL_LEFT_VEIN,
        Tissue::Artery(Side::Right) => LABEL_RIGHT_ARTERY,
        Tissue::Vein(Side::Right) => LABEL_RIGHT_VEIN,
        _ => 0,
    }
}

/// `labels.nii.gz` value of a `labels_lr.nii.gz` value.
pub(crate) fn artery_vein_label(lr: u8) -> u8 {
    match lr {
        LABEL_LEFT_ARTERY | LABEL_RIGHT_ARTERY => super::LABEL_ARTERY,
        LABEL_LEFT_VEIN | LABEL_RIGHT_VEIN => super::LABEL_VEIN,
        _ => 0,
    }
}

/// Partial-volume coverage of a voxel of width `w` whose centre is `rho` from the axis of a
/// tube of radius `r`: a ramp one voxel wide across the surface; tubes thinner than a voxel are
/// spread to half a voxel with their peak lowered to keep their cross-section area.
#[inline]
fn tube_coverage(rho: f64, r: f64, w: f64) -> f32 {
    let re = r.max(0.5 * w);
    let peak = (r / re) * (r / re);
    (peak * (0.5 + (re - rho) / w).clamp(0.0, 1.0)) as f32
}

/// How far from a tube's axis its coverage reaches.
fn tube_reach(r: f64, w: f64) -> f64 {
    r.max(0.5 * w) + 0.5 * w
}

/// Per-plane scratch buffers, reused by each worker thread.
struct Plane {
    wall: Vec<f32>,
    lumen: Vec<f32>,
    blood: Vec<f32>,
    /// Coverage by arterial blood (pulmonary arteries and trunk), drawn over `blood`.
    arterial: Vec<f32>,
    depth: Vec<f32>,
    label: Vec<u8>,
    blocked: Vec<bool>,
}

impl Plane {
    fn new(n: usize) -> Self {
        Plane {
            wall: vec![0.0; n],
            lumen: vec![0.0; n],
            blood: vec![0.0; n],
            arterial: vec![0.0; n],
            depth: vec![0.0; n],
            label: vec![0; n],
            blocked: vec![false; n],
        }
    }

    fn clear(&mut self) {
        self.wall.fill(0.0);
        self.lumen.fill(0.0);
        self.blood.fill(0.0);
        self.arterial.fill(0.0);
        self.depth.fill(f32::INFINITY);
        self.label.fill(0);
        self.blocked.fill(false);
    }
}

/// The grid's voxel-centre positions: `origin + k dk + j dj + i di`.
#[derive(Clone, Copy)]
struct Lattice {
    origin: Vec3,
    dk: Vec3,
    dj: Vec3,
    di: Vec3,
}

impl Lattice {
    fn new(g: &Geometry) -> Self {
        Lattice {
            origin: g.origin,
            dk: scale(g.slice_dir, g.spacing[0]),
            dj: scale(g.col_dir, g.spacing[1]),
            di: scale(g.row_dir, g.spacing[2]),
        }
    }

    #[inline]
    fn at(&self, k: usize, j: usize, i: usize) -> Vec3 {
        add(add(add(self.origin, scale(self.dk, k as f64)), scale(self.dj, j as f64)), scale(self.di, i as f64))
    }
}

/// Inclusive index ranges `[lo, hi]` along `[k, j, i]`.
type IndexBox = [(usize, usize); 3];

/// Clamps fractional index bounds to the grid; `None` if they miss it.
fn clamp_box(lo: [f64; 3], hi: [f64; 3], shape: [usize; 3]) -> Option<IndexBox> {
    let mut b = [(0, 0); 3];
    for c in 0..3 {
        let l = lo[c].ceil().max(0.0);
        let h = hi[c].floor().min(shape[c] as f64 - 1.0);
        if l.is_nan() || h.is_nan() || l > h {
            return None;
        }
        b[c] = (l as usize, h as usize);
    }
    Some(b)
}

/// Index box of the part's voxels on plane `k`.
fn plane_box(part: &Part, g: &Geometry, k: usize, w: f64) -> Option<IndexBox> {
    let kf = k as f64;
    match part.shape {
        Shape::Tube(t) => {
            let reach = tube_reach(t.max_radius(), w);
            let e = [reach / g.spacing[0], reach / g.spacing[1], reach / g.spacing[2]];
            let (a, b) = (g.lps_to_index(t.a), g.lps_to_index(t.b));
            // Part of the axis within reach of this plane.
            let dk = b[0] - a[0];
            let (t0, t1) = if dk.abs() < 1e-12 {
                if (a[0] - kf).abs() > e[0] {
                    return None;
                }
                (0.0, 1.0)
            } else {
                let u = (kf - e[0] - a[0]) / dk;
                let v = (kf + e[0] - a[0]) / dk;
                (u.min(v).max(0.0), u.max(v).min(1.0))
            };
            if t0 > t1 {
                return None;
            }
            let p0 = [0, 1, 2].map(|c| a[c] + t0 * (b[c] - a[c]));
            let p1 = [0, 1, 2].map(|c| a[c] + t1 * (b[c] - a[c]));
            let lo = [kf, p0[1].min(p1[1]) - e[1], p0[2].min(p1[2]) - e[2]];
            let hi = [kf, p0[1].max(p1[1]) + e[1], p0[2].max(p1[2]) + e[2]];
            clamp_box(lo, hi, g.shape)
        }
        Shape::Ellipsoid(_) => {
            let (lo, hi) = part_index_bounds(part, g, w);
            let mut b = clamp_box(lo, hi, g.shape)?;
            if k < b[0].0 || k > b[0].1 {
                return None;
            }
            b[0] = (k, k);
            Some(b)
        }
    }
}

/// Fractional index bounds of everything a part may cover.
fn part_index_bounds(part: &Part, g: &Geometry, w: f64) -> ([f64; 3], [f64; 3]) {
    let (lo, hi) = match part.shape {
        Shape::Tube(t) => t.bounds(tube_reach(t.max_radius(), w) - t.max_radius()),
        Shape::Ellipsoid(e) => e.bounds(w),
    };
    let mut ilo = [f64::INFINITY; 3];
    let mut ihi = [f64::NEG_INFINITY; 3];
    for corner in 0..8 {
        let p = [0, 1, 2].map(|c| if corner & (1 << c) != 0 { hi[c] } else { lo[c] });
        let idx = g.lps_to_index(p);
        for c in 0..3 {
            ilo[c] = ilo[c].min(idx[c]);
            ihi[c] = ihi[c].max(idx[c]);
        }
    }
    (ilo, ihi)
}

/// Draws one part into the plane buffers.
fn draw(part: &Part, b: IndexBox, k: usize, lat: &Lattice, ni: usize, w: f64, buf: &mut Plane) {
    let code = lr_label(part.tissue);
    for j in b[1].0..=b[1].1 {
        for i in b[2].0..=b[2].1 {
            let p = lat.at(k, j, i);
            let v = j * ni + i;
            match (part.shape, part.tissue) {
                (Shape::Tube(t), Tissue::Airway { wall }) => {
                    let (rho, r) = t.axis_distance(p);
                    buf.wall[v] = buf.wall[v].max(tube_coverage(rho, r, w));
                    let lumen = r - wall;
                    if lumen > 0.05 {
                        buf.lumen[v] = buf.lumen[v].max(tube_coverage(rho, lumen, w));
                    }
                }
                (Shape::Tube(t), tissue) => {
                    let (rho, r) = t.axis_distance(p);
                    let cover = tube_coverage(rho, r, w);
                    buf.blood[v] = buf.blood[v].max(cover);
                    if matches!(tissue, Tissue::Artery(_) | Tissue::Blood { arterial: true }) {
                        buf.arterial[v] = buf.arterial[v].max(cover);
                    }
                    let depth = (rho - r) as f32;
                    if depth < 0.0 {
                        if matches!(tissue, Tissue::Blood { .. }) {
                            buf.blocked[v] = true;
                        } else if depth < buf.depth[v] {
                            buf.depth[v] = depth;
                            buf.label[v] = code;
                        }
                    }
                }
                (Shape::Ellipsoid(e), _) => {
                    let sd = e.signed_distance(p);
                    buf.blood[v] = buf.blood[v].max((0.5 - sd / w).clamp(0.0, 1.0) as f32);
                    if sd < 0.0 {
                        buf.blocked[v] = true;
                    }
                }
            }
        }
    }
}

/// CT (HU), labels and left/right labels of the anatomy on grid `g`.
pub(crate) fn render(anatomy: &Anatomy, g: &Geometry) -> (Array3<i16>, Array3<u8>, Array3<u8>) {
    let [nk, nj, ni] = g.shape;
    let shape = (nk, nj, ni);
    let mut hu_out = Array3::<i16>::zeros(shape);
    let mut labels = Array3::<u8>::zeros(shape);
    let mut labels_lr = Array3::<u8>::zeros(shape);
    if nk == 0 || nj == 0 || ni == 0 {
        return (hu_out, labels, labels_lr);
    }
    let w = (g.spacing[0] * g.spacing[1] * g.spacing[2]).cbrt();
    let lat = Lattice::new(g);
    // Which parts reach each plane.
    let mut bins: Vec<Vec<u32>> = vec![Vec::new(); nk];
    for (n, part) in anatomy.parts.iter().enumerate() {
        if !anatomy.family.airways && matches!(part.tissue, Tissue::Airway { .. }) {
            continue;
        }
        let (lo, hi) = part_index_bounds(part, g, w);
        let (k0, k1) = (lo[0].ceil().max(0.0), hi[0].floor().min(nk as f64 - 1.0));
        if k0 <= k1 {
            for bin in &mut bins[k0 as usize..=k1 as usize] {
                bin.push(n as u32);
            }
        }
    }
    let planes = hu_out
        .axis_iter_mut(Axis(0))
        .into_par_iter()
        .zip(labels.axis_iter_mut(Axis(0)))
        .zip(labels_lr.axis_iter_mut(Axis(0)))
        .enumerate();
    planes.for_each_init(
        || Plane::new(nj * ni),
        |buf, (k, ((hu_plane, label_plane), lr_plane))| {
            buf.clear();
            for &n in &bins[k] {
                let part = &anatomy.parts[n as usize];
                if let Some(b) = plane_box(part, g, k, w) {
                    draw(part, b, k, &lat, ni, w, buf);
                }
            }
            compose(anatomy, &lat, k, w, buf, hu_plane, label_plane, lr_plane);
        },
    );
    (hu_out, labels, labels_lr)
}

/// Background, then airway walls, lumens and blood, then noise; and the labels.
#[allow(clippy::too_many_arguments)]
fn compose(
    anatomy: &Anatomy,
    lat: &Lattice,
    k: usize,
    w: f64,
    buf: &Plane,
    mut hu_plane: ArrayViewMut2<i16>,
    mut label_plane: ArrayViewMut2<u8>,
    mut lr_plane: ArrayViewMut2<u8>,
) {
    let ni = hu_plane.shape()[1];
    let (artery_hu, vein_hu) = (anatomy.family.artery_hu, anatomy.family.vein_hu);
    for ((j, i), out) in hu_plane.indexed_iter_mut() {
        let p = lat.at(k, j, i);
        let v = j * ni + i;
        let mut x = anatomy.torso.background_hu(p, w);
        x += buf.wall[v] * (hu::AIRWAY_WALL - x);
        x += buf.lumen[v] * (hu::AIR - x);
        // All blood at the veins' CT number, then the arterial share moved to the arteries'
        // (no change where the family gives both the same number).
        x += buf.blood[v] * (vein_hu - x);
        x += buf.arterial[v] * (artery_hu - vein_hu);
        x += anatomy.noise.at(p);
        // Round half to even by the float trick (no libm call), then clip to the CT range.
        const MAGIC: f32 = 12_582_912.0; // 2^23 + 2^22
        *out = ((x + MAGIC) - MAGIC).clamp(-1024.0, 3071.0) as i16;
        let lr = if buf.blocked[v] { 0 } else { buf.label[v] };
        lr_plane[[j, i]] = lr;
        label_plane[[j, i]] = artery_vein_label(lr);
    }
}
