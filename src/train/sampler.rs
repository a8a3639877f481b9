//! Random training patches with foreground oversampling and augmentation: intensity shift and
//! scale of the CT channel, small rotations and zoom (resampled from the whole case, so a
//! rotated patch has no empty corners), and a left-right flip that swaps the left and right
//! classes.

use super::config::{HalfLabelPolicy, SamplingConfig};
use super::dataset::LabeledSide;
use super::prepared::PreparedCase;
use super::sides::{mirrored, supervised, CLASSES};
use super::TrainError;
use rand::Rng;
use tch::{Device, Kind, Tensor};

/// A batch on the training device.
pub struct Batch {
    /// `[B, C, P0, P1, P2]`.
    pub input: Tensor,
    /// `[B, 4, P0, P1, P2]`, 0/1.
    pub target: Tensor,
    /// `[B, 4]`, 1 where the (item, class) pair enters the loss.
    pub supervised: Tensor,
    /// Which cases the items came from.
    pub cases: Vec<usize>,
}

/// A case as tensors, padded to at least the patch size.
struct CaseTensors {
    /// `[1, C, K, J, I]`.
    input: Tensor,
    /// `[1, 1, K, J, I]` four-class values as floats (for nearest resampling).
    labels: Tensor,
    shape: [usize; 3],
    spacing: [f64; 3],
    supervised: [bool; CLASSES],
    /// Flat indices of voxels of supervised classes.
    foreground: Vec<u32>,
}

pub struct PatchSampler {
    cases: Vec<CaseTensors>,
    cfg: SamplingConfig,
    channels: usize,
    device: Device,
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

impl PatchSampler {
    pub fn new(cases: &[PreparedCase], cfg: SamplingConfig, policy: HalfLabelPolicy, device: Device) -> Result<Self, TrainError> {
        let p = cfg.patch;
        let channels = cases.first().map(|c| c.input.shape()[0]).unwrap_or(2);
        let mut out = Vec::with_capacity(cases.len());
        for c in cases {
            let s = c.labels.shape();
            let shape = [s[0].max(p[0]), s[1].max(p[1]), s[2].max(p[2])];
            let mut input = ndarray::Array4::<f32>::zeros((c.input.shape()[0], shape[0], shape[1], shape[2]));
            input.slice_mut(ndarray::s![.., ..s[0], ..s[1], ..s[2]]).assign(&c.input);
            let mut labels = ndarray::Array3::<u8>::zeros((shape[0], shape[1], shape[2]));
            labels.slice_mut(ndarray::s![..s[0], ..s[1], ..s[2]]).assign(&c.labels);
            let sup = supervised_classes(c.labeled_side, policy);
            let foreground: Vec<u32> =
                labels.iter().enumerate().filter(|(_, &v)| v > 0 && sup[(v - 1) as usize]).map(|(n, _)| n as u32).collect();
            let dims = |d: &[usize]| d.iter().map(|&v| v as i64).collect::<Vec<_>>();
            let input_t = Tensor::f_from_slice(input.as_slice().unwrap_or(&[]))
                .and_then(|t| t.f_reshape(dims(&[1, input.shape()[0], shape[0], shape[1], shape[2]])))
                .map_err(terr("copying a case to a tensor"))?;
            let labels_f: Vec<f32> = labels.iter().map(|&v| v as f32).collect();
            let labels_t = Tensor::f_from_slice(&labels_f)
                .and_then(|t| t.f_reshape(dims(&[1, 1, shape[0], shape[1], shape[2]])))
                .map_err(terr("copying labels to a tensor"))?;
            out.push(CaseTensors { input: input_t, labels: labels_t, shape, spacing: c.grid.spacing, supervised: sup, foreground });
        }
        Ok(PatchSampler { cases: out, cfg, channels, device })
    }

    pub fn len(&self) -> usize {
        self.cases.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cases.is_empty()
    }

    /// A batch of `size` patches drawn with `rng`.
    pub fn batch(&self, size: usize, rng: &mut impl Rng) -> Result<Batch, TrainError> {
        let mut inputs = Vec::with_capacity(size);
        let mut targets = Vec::with_capacity(size);
        let mut sups = Vec::with_capacity(size * CLASSES);
        let mut which = Vec::with_capacity(size);
        for _ in 0..size {
            let n = rng.random_range(0..self.cases.len());
            let (x, y, s) = self.patch(&self.cases[n], rng)?;
            inputs.push(x);
            targets.push(y);
            sups.extend(s.iter().map(|&v| if v { 1.0f32 } else { 0.0 }));
            which.push(n);
        }
        let to_dev = |t: Tensor| t.f_to_device(self.device);
        Ok(Batch {
            input: Tensor::f_cat(&inputs, 0).and_then(to_dev).map_err(terr("stacking the batch"))?,
            target: Tensor::f_cat(&targets, 0).and_then(to_dev).map_err(terr("stacking the batch"))?,
            supervised: Tensor::f_from_slice(&sups)
                .and_then(|t| t.f_reshape([size as i64, CLASSES as i64]))
                .and_then(to_dev)
                .map_err(terr("stacking the batch"))?,
            cases: which,
        })
    }

    /// One augmented patch: input `[1, C, P...]`, one-hot target `[1, 4, P...]`, supervision.
    fn patch(&self, c: &CaseTensors, rng: &mut impl Rng) -> Result<(Tensor, Tensor, [bool; CLASSES]), TrainError> {
        let cfg = &self.cfg;
        let p = cfg.patch;
        let centre: [f64; 3] = if !c.foreground.is_empty() && rng.random_bool(cfg.foreground_fraction.clamp(0.0, 1.0)) {
            let v = c.foreground[rng.random_range(0..c.foreground.len())] as usize;
            let (nj, ni) = (c.shape[1], c.shape[2]);
            [(v / (nj * ni)) as f64, ((v / ni) % nj) as f64, (v % ni) as f64]
        } else {
            std::array::from_fn(|a| {
                let half = (p[a] as f64 - 1.0) / 2.0;
                rng.random_range(half..=(c.shape[a] as f64 - 1.0 - half).max(half))
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
            let grid = self.grid(c, centre, angles, zoom)?;
            let x = c.input.f_grid_sampler(&grid, 0, 0, true).map_err(terr("resampling a rotated patch"))?;
            let lab = c.labels.f_grid_sampler(&grid, 1, 0, true).map_err(terr("resampling rotated labels"))?;
            (x, lab)
        } else {
            let start: [i64; 3] = std::array::from_fn(|a| {
                let s = (centre[a] - (p[a] as f64 - 1.0) / 2.0).round() as i64;
                s.clamp(0, (c.shape[a] - p[a]) as i64)
            });
            let crop = |t: &Tensor| {
                t.f_narrow(2, start[0], p[0] as i64)?.f_narrow(3, start[1], p[1] as i64)?.f_narrow(4, start[2], p[2] as i64)?.f_contiguous()
            };
            (crop(&c.input).map_err(terr("cropping a patch"))?, crop(&c.labels).map_err(terr("cropping labels"))?)
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
        let mut sup = c.supervised;
        if cfg.flip_prob > 0.0 && rng.random_bool(cfg.flip_prob.min(1.0)) {
            let (fx, fy) = flip_left_right(&x, &onehot)?;
            sup = std::array::from_fn(|k| c.supervised[mirrored(k)]);
            return Ok((fx, fy, sup));
        }
        Ok((x, onehot, sup))
    }

    /// Sampling grid `[1, P0, P1, P2, 3]` (x = i, y = j, z = k, normalised, corners aligned) of a
    /// patch centred on `centre` (voxel index), rotated by `angles` (about k, j, i, radians) and
    /// zoomed by `zoom` (> 1 magnifies) in millimetres.
    fn grid(&self, c: &CaseTensors, centre: [f64; 3], angles: [f64; 3], zoom: f64) -> Result<Tensor, TrainError> {
        let p = self.cfg.patch;
        let r = rotation(angles);
        let sp = c.spacing;
        let mut g = Vec::with_capacity(p[0] * p[1] * p[2] * 3);
        for a in 0..p[0] {
            for b in 0..p[1] {
                for d in 0..p[2] {
                    let o = [
                        (a as f64 - (p[0] as f64 - 1.0) / 2.0) * sp[0] / zoom,
                        (b as f64 - (p[1] as f64 - 1.0) / 2.0) * sp[1] / zoom,
                        (d as f64 - (p[2] as f64 - 1.0) / 2.0) * sp[2] / zoom,
                    ];
                    let q: [f64; 3] = std::array::from_fn(|row| r[row][0] * o[0] + r[row][1] * o[1] + r[row][2] * o[2]);
                    let idx: [f64; 3] = std::array::from_fn(|ax| centre[ax] + q[ax] / sp[ax]);
                    let norm = |ax: usize| (2.0 * idx[ax] / (c.shape[ax] as f64 - 1.0).max(1.0) - 1.0) as f32;
                    g.extend_from_slice(&[norm(2), norm(1), norm(0)]);
                }
            }
        }
        Tensor::f_from_slice(&g).and_then(|t| t.f_reshape([1, p[0] as i64, p[1] as i64, p[2] as i64, 3])).map_err(terr("building a sampling grid"))
    }
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
