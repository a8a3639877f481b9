//! Random training patches with foreground oversampling and augmentation: intensity shift and
//! scale of the CT channel, small rotations and zoom (resampled from the box of the case around it, so a
//! rotated patch has no empty corners), and a left-right flip that swaps the left and right
//! classes. Patches are cut from memory-mapped cases (only the box a patch needs is read).

use super::config::{HalfLabelPolicy, SamplingConfig};
use super::dataset::LabeledSide;
use super::mapped::MappedCase;
use super::sides::{mirrored, supervised, CLASSES};
use super::skeleton_target::tubed_skeleton;
use super::TrainError;
use rand::Rng;
use tch::{Device, Kind, Tensor};

/// A batch (built on the CPU by a loader thread, moved to the device by the training loop).
pub struct Batch {
    /// `[B, C, P0, P1, P2]`.
    pub input: Tensor,
    /// `[B, 4, P0, P1, P2]`, 0/1.
    pub target: Tensor,
    /// `[B, 4]`, 1 where the (item, class) pair enters the loss.
    pub supervised: Tensor,
    /// Which cases the items came from.
    pub cases: Vec<usize>,
    /// `[B, 4, P0, P1, P2]`: the target's tubed skeleton, where the loss has a skeleton recall
    /// term ([`super::skeleton_target`]).
    pub skeleton: Option<Tensor>,
}

impl Batch {
    pub fn to_device(self, device: Device) -> Result<Batch, TrainError> {
        let to = |t: Tensor| t.f_to_device(device).map_err(terr("moving the batch to the device"));
        let skeleton = self.skeleton.map(to).transpose()?;
        Ok(Batch { input: to(self.input)?, target: to(self.target)?, supervised: to(self.supervised)?, cases: self.cases, skeleton })
    }
}

/// Draws patches from mapped cases: only the box a patch needs is copied out of a case, so the
/// sampler's memory does not grow with the cases' size or number.
pub struct PatchSampler {
    cases: Vec<MappedCase>,
    supervised: Vec<[bool; CLASSES]>,
    cfg: SamplingConfig,
    channels: usize,
    skeletons: bool,
}

fn terr(action: &'static str) -> impl Fn(tch::TchError) -> TrainError {
    move |source| TrainError::Tensor { action, source }
}

/// The classes a case supervises under `policy`.
pub fn supervised_classes(side: LabeledSide, policy: HalfLabelPolicy) -> [bool; CLASSES] {
    match policy {
        HalfLabelPolicy::Background => [true; CLASSES],
        HalfLabelPolicy::Mask | HalfLabelPolicy::Exclude => supervised(side),
    }
}

/// Copies the box `[lo, lo + size)` of a `[K, J, I]` volume, zeros outside it.
fn copy_box<T: Copy + Default>(src: &[T], shape: [usize; 3], lo: [i64; 3], size: [usize; 3]) -> Vec<T> {
    let mut out = vec![T::default(); size[0] * size[1] * size[2]];
    let span = |a: usize| -> (usize, usize) {
        let from = lo[a].clamp(0, shape[a] as i64) as usize;
        let to = (lo[a] + size[a] as i64).clamp(0, shape[a] as i64) as usize;
        (from, to.max(from))
    };
    let ((k0, k1), (j0, j1), (i0, i1)) = (span(0), span(1), span(2));
    if i0 == i1 {
        return out;
    }
    for k in k0..k1 {
        for j in j0..j1 {
            let s = (k * shape[1] + j) * shape[2];
            let d = (((k as i64 - lo[0]) as usize * size[1]) + (j as i64 - lo[1]) as usize) * size[2] + (i0 as i64 - lo[2]) as usize;
            out[d..d + (i1 - i0)].copy_from_slice(&src[s + i0..s + i1]);
        }
    }
    out
}

impl PatchSampler {
    pub fn new(cases: Vec<MappedCase>, cfg: SamplingConfig, policy: HalfLabelPolicy) -> Result<Self, TrainError> {
        let channels = cases.first().map(|c| c.input_shape[0]).unwrap_or(2);
        if let Some(c) = cases.iter().find(|c| c.input_shape[0] != channels) {
            return Err(TrainError::Prepare { case: c.id.clone(), reason: format!("{} input channels where the first case has {channels}", c.input_shape[0]) });
        }
        let supervised = cases.iter().map(|c| supervised_classes(c.labeled_side, policy)).collect();
        Ok(PatchSampler { cases, supervised, cfg, channels, skeletons: false })
    }

    /// Also build each patch's tubed skeleton (`Batch::skeleton`), for a loss that needs it.
    pub fn with_skeletons(mut self, on: bool) -> Self {
        self.skeletons = on;
        self
    }

    pub fn len(&self) -> usize {
        self.cases.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cases.is_empty()
    }

    /// A batch of `size` patches drawn with `rng`, on the CPU.
    pub fn batch(&self, size: usize, rng: &mut impl Rng) -> Result<Batch, TrainError> {
        let mut inputs = Vec::with_capacity(size);
        let mut targets = Vec::with_capacity(size);
        let mut sups = Vec::with_capacity(size * CLASSES);
        let mut which = Vec::with_capacity(size);
        let mut skeletons = Vec::new();
        for _ in 0..size {
            let n = rng.random_range(0..self.cases.len());
            let (x, y, s) = self.patch(n, rng)?;
            if self.skeletons {
                skeletons.push(tubed_skeleton(&y)?);
            }
            inputs.push(x);
            targets.push(y);
            sups.extend(s.iter().map(|&v| if v { 1.0f32 } else { 0.0 }));
            which.push(n);
        }
        Ok(Batch {
            input: Tensor::f_cat(&inputs, 0).map_err(terr("stacking the batch"))?,
            target: Tensor::f_cat(&targets, 0).map_err(terr("stacking the batch"))?,
            supervised: Tensor::f_from_slice(&sups).and_then(|t| t.f_reshape([size as i64, CLASSES as i64])).map_err(terr("stacking the batch"))?,
            cases: which,
            skeleton: if self.skeletons { Some(Tensor::f_cat(&skeletons, 0).map_err(terr("stacking the skeletons"))?) } else { None },
        })
    }

    /// The input channels `[1, C, size]` and labels (as floats, `[1, 1, size]`) of the box
    /// `[lo, lo + size)` of case `n`, zeros outside the case.
    fn region(&self, n: usize, lo: [i64; 3], size: [usize; 3]) -> Result<(Tensor, Tensor), TrainError> {
        let c = &self.cases[n];
        let shape = c.shape();
        let input = c.input();
        let mut x = Vec::with_capacity(self.channels * size[0] * size[1] * size[2]);
        for ch in 0..self.channels {
            let plane = input.index_axis(ndarray::Axis(0), ch);
            x.extend(copy_box(plane.as_slice().unwrap_or(&[]), shape, lo, size));
        }
        let labels = c.labels();
        let lab: Vec<f32> = copy_box(labels.as_slice().unwrap_or(&[]), shape, lo, size).into_iter().map(f32::from).collect();
        let dims = [size[0] as i64, size[1] as i64, size[2] as i64];
        let x = Tensor::f_from_slice(&x).and_then(|t| t.f_reshape([1, self.channels as i64, dims[0], dims[1], dims[2]])).map_err(terr("copying a patch"))?;
        let lab = Tensor::f_from_slice(&lab).and_then(|t| t.f_reshape([1, 1, dims[0], dims[1], dims[2]])).map_err(terr("copying labels"))?;
        Ok((x, lab))
    }

    /// One augmented patch of case `n`: input `[1, C, P...]`, one-hot target `[1, 4, P...]`,
    /// supervision.
    fn patch(&self, n: usize, rng: &mut impl Rng) -> Result<(Tensor, Tensor, [bool; CLASSES]), TrainError> {
        let cfg = &self.cfg;
        let p = cfg.patch;
        let c = &self.cases[n];
        let sup = self.supervised[n];
        let shape = c.shape();
        // Cases smaller than a patch are treated as zero-padded at their far ends.
        let padded: [usize; 3] = std::array::from_fn(|a| shape[a].max(p[a]));
        let fg_total: usize = (0..CLASSES).filter(|&k| sup[k]).map(|k| c.class_counts[k]).sum();
        let centre: [f64; 3] = if fg_total > 0 && rng.random_bool(cfg.foreground_fraction.clamp(0.0, 1.0)) {
            // Uniform over the voxels of supervised classes.
            let mut r = rng.random_range(0..fg_total);
            let mut v = 0usize;
            for k in (0..CLASSES).filter(|&k| sup[k]) {
                if r < c.class_counts[k] {
                    v = c.foreground(k)[r] as usize;
                    break;
                }
                r -= c.class_counts[k];
            }
            let (nj, ni) = (shape[1], shape[2]);
            [(v / (nj * ni)) as f64, ((v / ni) % nj) as f64, (v % ni) as f64]
        } else {
            std::array::from_fn(|a| {
                let half = (p[a] as f64 - 1.0) / 2.0;
                rng.random_range(half..=(padded[a] as f64 - 1.0 - half).max(half))
            })
        };
        let rotate = cfg.rotate_prob > 0.0 && rng.random_bool(cfg.rotate_prob.min(1.0));
        let zoom_on = cfg.zoom_prob > 0.0 && rng.random_bool(cfg.zoom_prob.min(1.0));
        let angles: [f64; 3] = if rotate {
            std::array::from_fn(|_| rng.random_range(-cfg.rotate_deg..=cfg.rotate_deg).to_radians())
        } else {
            [0.0; 3]
        };
        let zoom = if zoom_on { rng.random_range(cfg.zoom_range[0]..=cfg.zoom_range[1]) } else { 1.0 };
        let (x, lab) = if rotate || zoom_on {
            let points = self.sample_points(c.grid.spacing, centre, angles, zoom);
            // The box that holds every sample point, one voxel more for the interpolation.
            let lo: [i64; 3] = std::array::from_fn(|a| points.iter().map(|q| q[a]).fold(f64::INFINITY, f64::min).floor() as i64 - 1);
            let hi: [i64; 3] = std::array::from_fn(|a| points.iter().map(|q| q[a]).fold(f64::NEG_INFINITY, f64::max).ceil() as i64 + 1);
            let size: [usize; 3] = std::array::from_fn(|a| (hi[a] - lo[a] + 1).max(2) as usize);
            let (bx, bl) = self.region(n, lo, size)?;
            let grid = grid_tensor(&points, p, lo, size)?;
            let x = bx.f_grid_sampler(&grid, 0, 0, true).map_err(terr("resampling a rotated patch"))?;
            let lab = bl.f_grid_sampler(&grid, 1, 0, true).map_err(terr("resampling rotated labels"))?;
            (x, lab)
        } else {
            let start: [i64; 3] = std::array::from_fn(|a| {
                let s = (centre[a] - (p[a] as f64 - 1.0) / 2.0).round() as i64;
                s.clamp(0, (padded[a] - p[a]) as i64)
            });
            self.region(n, start, p)?
        };
        let mut x = x;
        if cfg.intensity_prob > 0.0 && rng.random_bool(cfg.intensity_prob.min(1.0)) {
            let scale = 1.0 + rng.random_range(-cfg.intensity_scale..=cfg.intensity_scale);
            let shift = rng.random_range(-cfg.intensity_shift..=cfg.intensity_shift);
            let ct = x.f_narrow(1, 0, 1).and_then(|t| t.f_mul_scalar(scale)).and_then(|t| t.f_add_scalar(shift)).map_err(terr("intensity augmentation"))?;
            let rest = x.f_narrow(1, 1, self.channels as i64 - 1).map_err(terr("intensity augmentation"))?;
            x = Tensor::f_cat(&[ct, rest], 1).map_err(terr("intensity augmentation"))?;
        }
        let lab = lab.f_round().map_err(terr("rounding labels"))?;
        let onehot = (1..=CLASSES as i64)
            .map(|v| lab.f_eq(v as f64).and_then(|t| t.f_to_kind(Kind::Float)))
            .collect::<Result<Vec<_>, _>>()
            .and_then(|v| Tensor::f_cat(&v, 1))
            .map_err(terr("one-hot labels"))?;
        if cfg.flip_prob > 0.0 && rng.random_bool(cfg.flip_prob.min(1.0)) {
            let (fx, fy) = flip_left_right(&x, &onehot)?;
            let flipped = std::array::from_fn(|k| sup[mirrored(k)]);
            return Ok((fx, fy, flipped));
        }
        Ok((x, onehot, sup))
    }

    /// Voxel positions `(k, j, i)` of the patch's sample points, in output order: a patch
    /// centred on `centre` (voxel index), rotated by `angles` (about k, j, i, radians) and
    /// zoomed by `zoom` (> 1 magnifies) in millimetres.
    fn sample_points(&self, sp: [f64; 3], centre: [f64; 3], angles: [f64; 3], zoom: f64) -> Vec<[f64; 3]> {
        let p = self.cfg.patch;
        let r = rotation(angles);
        let mut points = Vec::with_capacity(p[0] * p[1] * p[2]);
        for a in 0..p[0] {
            for b in 0..p[1] {
                for d in 0..p[2] {
                    let o = [
                        (a as f64 - (p[0] as f64 - 1.0) / 2.0) * sp[0] / zoom,
                        (b as f64 - (p[1] as f64 - 1.0) / 2.0) * sp[1] / zoom,
                        (d as f64 - (p[2] as f64 - 1.0) / 2.0) * sp[2] / zoom,
                    ];
                    let q: [f64; 3] = std::array::from_fn(|row| r[row][0] * o[0] + r[row][1] * o[1] + r[row][2] * o[2]);
                    points.push(std::array::from_fn(|ax| centre[ax] + q[ax] / sp[ax]));
                }
            }
        }
        points
    }
}

/// Sampling grid `[1, P0, P1, P2, 3]` (x = i, y = j, z = k, normalised over the box
/// `[lo, lo + size)`, corners aligned) of sample points.
fn grid_tensor(points: &[[f64; 3]], p: [usize; 3], lo: [i64; 3], size: [usize; 3]) -> Result<Tensor, TrainError> {
    let mut g = Vec::with_capacity(points.len() * 3);
    for q in points {
        let norm = |ax: usize| (2.0 * (q[ax] - lo[ax] as f64) / (size[ax] as f64 - 1.0).max(1.0) - 1.0) as f32;
        g.extend_from_slice(&[norm(2), norm(1), norm(0)]);
    }
    Tensor::f_from_slice(&g).and_then(|t| t.f_reshape([1, p[0] as i64, p[1] as i64, p[2] as i64, 3])).map_err(terr("building a sampling grid"))
}

/// Mirrors a patch along `i` (the patient's left-right axis on the canonical model grid) and
/// swaps the left and right classes of its one-hot target: `[B, C, ..]`, `[B, 4, ..]`.
pub fn flip_left_right(input: &Tensor, target: &Tensor) -> Result<(Tensor, Tensor), TrainError> {
    let swap: Vec<i64> = (0..CLASSES).map(|k| mirrored(k) as i64).collect();
    let index = Tensor::from_slice(&swap).to_device(target.device());
    let x = input.f_flip([-1i64]).map_err(terr("flipping a patch"))?;
    let y = target.f_flip([-1i64]).and_then(|t| t.f_index_select(1, &index)).map_err(terr("flipping a patch"))?;
    Ok((x, y))
}

/// Rotation matrix (rows and columns in k, j, i order) for angles about the k, j and i axes.
fn rotation(a: [f64; 3]) -> [[f64; 3]; 3] {
    let (s0, c0) = a[0].sin_cos();
    let (s1, c1) = a[1].sin_cos();
    let (s2, c2) = a[2].sin_cos();
    let rk = [[1.0, 0.0, 0.0], [0.0, c0, -s0], [0.0, s0, c0]];
    let rj = [[c1, 0.0, s1], [0.0, 1.0, 0.0], [-s1, 0.0, c1]];
    let ri = [[c2, -s2, 0.0], [s2, c2, 0.0], [0.0, 0.0, 1.0]];
    mul(mul(rk, rj), ri)
}

fn mul(a: [[f64; 3]; 3], b: [[f64; 3]; 3]) -> [[f64; 3]; 3] {
    std::array::from_fn(|r| std::array::from_fn(|c| (0..3).map(|k| a[r][k] * b[k][c]).sum()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::Geometry;
    use crate::train::prepared::PreparedCase;
    use crate::train::sides::Midline;
    use rand::SeedableRng;

    /// A random case of `shape` on a grid of `spacing`, mapped.
    fn case(shape: [usize; 3], spacing: [f64; 3]) -> MappedCase {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let input = ndarray::Array4::from_shape_fn((2, shape[0], shape[1], shape[2]), |_| rng.random_range(-1.0f32..1.0));
        let labels = ndarray::Array3::from_shape_fn((shape[0], shape[1], shape[2]), |(k, j, i)| ((k + 2 * j + 3 * i) % 5) as u8);
        let grid = Geometry::new(shape, [0.0; 3], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], spacing);
        let p = PreparedCase { id: "t".into(), input, labels, labeled_side: LabeledSide::Both, grid, midline: Midline { point: [0.0; 3], normal: [1.0, 0.0, 0.0] } };
        MappedCase::from_prepared(&p).unwrap()
    }

    #[test]
    fn a_rotated_patch_cut_from_its_box_equals_the_one_sampled_from_the_whole_case() {
        let cfg = SamplingConfig { patch: [8, 16, 8], ..SamplingConfig::default() };
        let s = PatchSampler::new(vec![case([20, 30, 25], [2.0, 1.0, 1.5])], cfg, HalfLabelPolicy::Mask).unwrap();
        // Inside, at a corner (the box reaches outside the case) and zoomed out.
        for (centre, angles, zoom) in [([10.0, 15.0, 12.0], [0.2, -0.1, 0.25], 1.1), ([1.0, 2.0, 24.0], [-0.26, 0.26, 0.1], 0.85), ([19.0, 29.0, 0.0], [0.0, 0.0, 0.0], 0.9)] {
            let points = s.sample_points([2.0, 1.0, 1.5], centre, angles, zoom);
            let lo: [i64; 3] = std::array::from_fn(|a| points.iter().map(|q| q[a]).fold(f64::INFINITY, f64::min).floor() as i64 - 1);
            let hi: [i64; 3] = std::array::from_fn(|a| points.iter().map(|q| q[a]).fold(f64::NEG_INFINITY, f64::max).ceil() as i64 + 1);
            let size: [usize; 3] = std::array::from_fn(|a| (hi[a] - lo[a] + 1) as usize);
            let (bx, bl) = s.region(0, lo, size).unwrap();
            let boxed = bx.grid_sampler(&grid_tensor(&points, [8, 16, 8], lo, size).unwrap(), 0, 0, true);
            let boxed_labels = bl.grid_sampler(&grid_tensor(&points, [8, 16, 8], lo, size).unwrap(), 1, 0, true);
            let (wx, wl) = s.region(0, [0, 0, 0], [20, 30, 25]).unwrap();
            let whole_grid = grid_tensor(&points, [8, 16, 8], [0, 0, 0], [20, 30, 25]).unwrap();
            let whole = wx.grid_sampler(&whole_grid, 0, 0, true);
            let whole_labels = wl.grid_sampler(&whole_grid, 1, 0, true);
            let diff = (&boxed - &whole).abs().max().double_value(&[]);
            assert!(diff < 1e-4, "centre {centre:?}: {diff}");
            assert!(boxed.abs().sum(Kind::Float).double_value(&[]) > 0.0);
            let label_diff = (&boxed_labels - &whole_labels).abs().gt(0.5).sum(Kind::Int64).int64_value(&[]);
            // Nearest-neighbour ties at exactly half a voxel may round either way.
            assert!(label_diff <= 2, "centre {centre:?}: {label_diff} labels differ");
        }
    }

    #[test]
    fn a_crop_equals_the_case_and_is_zero_padded_beyond_it() {
        let c = case([6, 7, 9], [1.0; 3]);
        let whole = c.input().to_owned();
        let s = PatchSampler::new(vec![c], SamplingConfig { patch: [8, 8, 8], ..SamplingConfig::default() }, HalfLabelPolicy::Mask).unwrap();
        let (x, _) = s.region(0, [0, 0, 1], [8, 8, 8]).unwrap();
        let x: Vec<f32> = Vec::try_from(x.flatten(0, -1)).unwrap();
        let at = |ch: usize, k: usize, j: usize, i: usize| x[((ch * 8 + k) * 8 + j) * 8 + i];
        assert_eq!(at(1, 5, 6, 7), whole[[1, 5, 6, 8]]);
        assert_eq!(at(0, 0, 0, 0), whole[[0, 0, 0, 1]]);
        assert_eq!(at(0, 6, 0, 0), 0.0);
        assert_eq!(at(1, 0, 7, 0), 0.0);
    }

    #[test]
    fn batches_carry_the_tubed_skeleton_of_their_own_targets_only_when_asked() {
        let cfg = SamplingConfig { patch: [8, 8, 8], ..SamplingConfig::default() };
        let plain = PatchSampler::new(vec![case([12, 12, 12], [1.0; 3])], cfg.clone(), HalfLabelPolicy::Mask).unwrap();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        assert!(plain.batch(2, &mut rng).unwrap().skeleton.is_none());
        let with = PatchSampler::new(vec![case([12, 12, 12], [1.0; 3])], cfg, HalfLabelPolicy::Mask).unwrap().with_skeletons(true);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let b = with.batch(2, &mut rng).unwrap();
        let skeleton = b.skeleton.expect("a skeleton per patch");
        assert_eq!(skeleton.size(), b.target.size());
        // Each item's skeleton is its own (flipped, rotated) target's: inside it, and not empty where it is not.
        let outside = skeleton.multiply(&b.target.ones_like().subtract(&b.target)).sum(Kind::Float).double_value(&[]);
        assert_eq!(outside, 0.0);
        for item in 0..2 {
            let t = b.target.get(item).sum(Kind::Float).double_value(&[]);
            let s = skeleton.get(item).sum(Kind::Float).double_value(&[]);
            assert!(t == 0.0 || (s > 0.0 && s <= t), "item {item}: skeleton {s} of {t} target voxels");
        }
    }
}
