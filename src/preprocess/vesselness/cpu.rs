//! The vesselness filter on the CPU: separable Gaussian derivative filtering plane by plane,
//! with rayon over output planes and each plane's Hessian never stored whole.
//!
//! For output plane `k` a worker filters along `k` into three planes (derivative orders 0, 1,
//! 2), then for each row `j` filters those along `j` into six rows and along `i` into the six
//! Hessian rows, which go straight into the per-voxel eigen-analysis. Besides the output, one
//! volume of S² lives while the first scale runs (to derive `c` from the data) and each worker
//! holds three planes and a few rows, so the extra memory is about twice the input.

use super::eigen::{frobenius2, structure, Frangi, Sym3};
use super::kernel::{mirror, scale_kernels, AxisKernels};
use super::{derived_c, VesselnessError, VesselnessParams};
use ndarray::{Array3, ArrayView3, Zip};
use rayon::prelude::*;

/// Elements per chunk of the `k` pass: the three accumulators stay in the L1 cache.
const CHUNK: usize = 2048;

/// Multi-scale Frangi vesselness of bright tubes of `image` (`[k, j, i]`, voxel size
/// `spacing_mm`), in `[0, 1]`.
pub fn vesselness(
    image: ArrayView3<'_, f32>,
    spacing_mm: [f64; 3],
    params: &VesselnessParams,
) -> Result<Array3<f32>, VesselnessError> {
    params.validate()?;
    super::check_grid(image.shape(), spacing_mm)?;
    let image = image.as_standard_layout();
    let input = image.as_slice().ok_or(VesselnessError::NotContiguous)?;
    let dims = [image.shape()[0], image.shape()[1], image.shape()[2]];
    let frangi = Frangi::new(params.alpha, params.beta);
    let mut out = Array3::<f32>::zeros(dims);
    let scales = params.ascending_scales();
    let mut rest = scales.iter();
    let inv_two_c2 = match params.c {
        Some(c) => 1.0 / (2.0 * c * c),
        None => {
            // The first (smallest) scale fixes c: keep its shape term and S², then combine.
            let Some(&first) = rest.next() else { return Ok(out) };
            let kernels = scale_kernels(first, spacing_mm, params.scale_normalization);
            let mut s2 = Array3::<f32>::zeros(dims);
            let max_s2 = first_scale(input, dims, &kernels, &frangi, slice_mut(&mut out)?, slice_mut(&mut s2)?);
            let c = derived_c(max_s2 as f64);
            let inv_two_c2 = 1.0 / (2.0 * c * c);
            Zip::from(&mut out)
                .and(&s2)
                .par_for_each(|v, &s| *v = (*v as f64 * structure(s as f64, inv_two_c2)) as f32);
            inv_two_c2
        }
    };
    for &sigma in rest {
        let kernels = scale_kernels(sigma, spacing_mm, params.scale_normalization);
        later_scale(input, dims, &kernels, &frangi, inv_two_c2, slice_mut(&mut out)?);
    }
    Ok(out)
}

fn slice_mut(a: &mut Array3<f32>) -> Result<&mut [f32], VesselnessError> {
    a.as_slice_mut().ok_or(VesselnessError::NotContiguous)
}

/// Stores the shape term in `shape` and S² in `s2`; returns the largest S².
fn first_scale(
    input: &[f32],
    dims: [usize; 3],
    kernels: &[AxisKernels; 3],
    frangi: &Frangi,
    shape: &mut [f32],
    s2: &mut [f32],
) -> f32 {
    let [_, nj, ni] = dims;
    let plane = nj * ni;
    shape
        .par_chunks_mut(plane)
        .zip(s2.par_chunks_mut(plane))
        .enumerate()
        .map_init(
            || Scratch::new(dims, kernels),
            |scratch, (k, (shape, s2))| {
                let mut sink = FirstScale { frangi, ni, shape, s2, max_s2: 0.0 };
                filter_plane(input, dims, kernels, k, scratch, &mut sink);
                sink.max_s2
            },
        )
        .reduce(|| 0.0, f32::max)
}

/// Raises `out` to this scale's measure where it is larger.
fn later_scale(
    input: &[f32],
    dims: [usize; 3],
    kernels: &[AxisKernels; 3],
    frangi: &Frangi,
    inv_two_c2: f64,
    out: &mut [f32],
) {
    let [_, nj, ni] = dims;
    out.par_chunks_mut(nj * ni).enumerate().for_each_init(
        || Scratch::new(dims, kernels),
        |scratch, (k, out)| {
            filter_plane(input, dims, kernels, k, scratch, &mut LaterScale { frangi, inv_two_c2, ni, out });
        },
    );
}

/// What happens to each row of Hessians (a trait rather than a closure so that it is
/// inlined into, and vectorised with, the AVX2 build of the filter).
trait RowSink {
    fn row(&mut self, j: usize, h: &[Vec<f32>; 6]);
}

/// First scale: shape term and S² of one plane.
struct FirstScale<'a> {
    frangi: &'a Frangi,
    ni: usize,
    shape: &'a mut [f32],
    s2: &'a mut [f32],
    max_s2: f32,
}

impl RowSink for FirstScale<'_> {
    #[inline(always)]
    fn row(&mut self, j: usize, h: &[Vec<f32>; 6]) {
        let n = self.ni;
        let a_row = &mut self.shape[j * n..][..n];
        let s_row = &mut self.s2[j * n..][..n];
        let h = rows(h, n);
        for (x, s) in s_row.iter_mut().enumerate() {
            *s = frobenius2(&hessian_at(&h, x)) as f32;
        }
        for x0 in (0..n).step_by(BLOCK) {
            let len = BLOCK.min(n - x0);
            let a_block = &mut a_row[x0..x0 + len];
            if !any_negative_trace(&h, x0, len) {
                a_block.fill(0.0);
                continue;
            }
            for (x, a) in (x0..).zip(a_block.iter_mut()) {
                *a = self.frangi.shape_of(&hessian_at(&h, x)) as f32;
            }
        }
        for &s in s_row.iter() {
            self.max_s2 = self.max_s2.max(s);
        }
    }
}

/// Later scales: the running maximum of one plane.
struct LaterScale<'a> {
    frangi: &'a Frangi,
    inv_two_c2: f64,
    ni: usize,
    out: &'a mut [f32],
}

impl RowSink for LaterScale<'_> {
    #[inline(always)]
    fn row(&mut self, j: usize, h: &[Vec<f32>; 6]) {
        let n = self.ni;
        let o_row = &mut self.out[j * n..][..n];
        let h = rows(h, n);
        for x0 in (0..n).step_by(BLOCK) {
            let len = BLOCK.min(n - x0);
            if !any_negative_trace(&h, x0, len) {
                continue;
            }
            for (x, o) in (x0..).zip(o_row[x0..x0 + len].iter_mut()) {
                let m = hessian_at(&h, x);
                let v = self.frangi.shape_of(&m) * structure(frobenius2(&m), self.inv_two_c2);
                *o = o.max(v as f32);
            }
        }
    }
}

/// Voxels per block of the eigen-analysis: a block where no Hessian has a negative trace
/// (flat or dark-structured image, such as windowed lung or air) cannot hold a bright tube
/// (`λ1 + λ2 + λ3 <= |λ1| - |λ2| + λ3 < 0` for one) and is skipped.
const BLOCK: usize = 32;

#[inline(always)]
fn any_negative_trace(h: &[&[f32]; 6], x0: usize, len: usize) -> bool {
    let (a, b, c) = (&h[0][x0..x0 + len], &h[1][x0..x0 + len], &h[2][x0..x0 + len]);
    let mut negative = 0u32;
    for x in 0..len {
        negative += (a[x] + b[x] + c[x] < 0.0) as u32;
    }
    negative > 0
}

#[inline(always)]
fn rows(h: &[Vec<f32>; 6], n: usize) -> [&[f32]; 6] {
    std::array::from_fn(|c| &h[c][..n])
}

#[inline(always)]
fn hessian_at(h: &[&[f32]; 6], x: usize) -> Sym3 {
    [h[0][x] as f64, h[1][x] as f64, h[2][x] as f64, h[3][x] as f64, h[4][x] as f64, h[5][x] as f64]
}

/// One worker's buffers, allocated once per rayon job rather than per plane or voxel.
struct Scratch {
    /// The plane filtered along `k` with derivative orders 0, 1, 2.
    p: [Vec<f32>; 3],
    /// One row filtered along `k` and `j`: orders (k, j) = 00, 01, 02, 10, 11, 20.
    q: [Vec<f32>; 6],
    /// One row mirrored at both ends for the `i` pass.
    pad: Vec<f32>,
    /// One row of the Hessian: kk, jj, ii, kj, ki, ji.
    h: [Vec<f32>; 6],
}

impl Scratch {
    fn new(dims: [usize; 3], kernels: &[AxisKernels; 3]) -> Self {
        let [_, nj, ni] = dims;
        let plane = || vec![0.0f32; nj * ni];
        let row = || vec![0.0f32; ni];
        Scratch {
            p: [plane(), plane(), plane()],
            q: std::array::from_fn(|_| row()),
            pad: vec![0.0; ni + 2 * kernels[2].radius],
            h: std::array::from_fn(|_| row()),
        }
    }
}

/// Computes the six Hessian rows of every row of plane `k` and hands each to `row`, with
/// AVX2 and FMA where the processor has them (the same code, compiled for those features).
fn filter_plane(
    input: &[f32],
    dims: [usize; 3],
    kernels: &[AxisKernels; 3],
    k: usize,
    s: &mut Scratch,
    sink: &mut impl RowSink,
) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the processor supports the features filter_plane_avx2 is compiled for.
        unsafe { filter_plane_avx2(input, dims, kernels, k, s, sink) };
        return;
    }
    filter_plane_impl::<false>(input, dims, kernels, k, s, sink);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn filter_plane_avx2(
    input: &[f32],
    dims: [usize; 3],
    kernels: &[AxisKernels; 3],
    k: usize,
    s: &mut Scratch,
    sink: &mut impl RowSink,
) {
    filter_plane_impl::<true>(input, dims, kernels, k, s, sink);
}

/// `acc + w·x`, fused where the build has FMA.
#[inline(always)]
fn madd<const FMA: bool>(acc: f32, w: f32, x: f32) -> f32 {
    if FMA {
        w.mul_add(x, acc)
    } else {
        acc + w * x
    }
}

#[inline(always)]
fn filter_plane_impl<const FMA: bool>(
    input: &[f32],
    dims: [usize; 3],
    kernels: &[AxisKernels; 3],
    k: usize,
    s: &mut Scratch,
    sink: &mut impl RowSink,
) {
    let [nk, nj, ni] = dims;
    let plane = nj * ni;
    filter_k::<FMA>(input, plane, nk, k, &kernels[0], &mut s.p);
    for j in 0..nj {
        filter_j::<FMA>(&s.p, nj, ni, j, &kernels[1], &mut s.q);
        // Orders (k, j, i): kk = 200, jj = 020, ii = 002, kj = 110, ki = 101, ji = 011.
        let ki = &kernels[2];
        let [q00, q01, q02, q10, q11, q20] = &s.q;
        let [hkk, hjj, hii, hkj, hki, hji] = &mut s.h;
        filter_row::<FMA>(q20, ki, 0, &mut s.pad, hkk);
        filter_row::<FMA>(q02, ki, 0, &mut s.pad, hjj);
        filter_row::<FMA>(q00, ki, 2, &mut s.pad, hii);
        filter_row::<FMA>(q11, ki, 0, &mut s.pad, hkj);
        filter_row::<FMA>(q10, ki, 1, &mut s.pad, hki);
        filter_row::<FMA>(q01, ki, 1, &mut s.pad, hji);
        sink.row(j, &s.h);
    }
}

/// Plane `k` correlated along `k` with the three kernels, chunk by chunk.
#[inline(always)]
fn filter_k<const FMA: bool>(
    input: &[f32],
    plane: usize,
    nk: usize,
    k: usize,
    kern: &AxisKernels,
    p: &mut [Vec<f32>; 3],
) {
    let [g0, g1, g2] = &kern.half;
    let [p0, p1, p2] = p;
    let at = |kk: isize, x0: usize, len: usize| &input[mirror(kk, nk) * plane + x0..][..len];
    for x0 in (0..plane).step_by(CHUNK) {
        let len = CHUNK.min(plane - x0);
        let (o0, o1, o2) = (&mut p0[x0..x0 + len], &mut p1[x0..x0 + len], &mut p2[x0..x0 + len]);
        let c = at(k as isize, x0, len);
        for x in 0..len {
            o0[x] = g0[0] * c[x];
            o1[x] = 0.0;
            o2[x] = g2[0] * c[x];
        }
        for t in 1..=kern.radius {
            let a = at(k as isize + t as isize, x0, len);
            let b = at(k as isize - t as isize, x0, len);
            let (w0, w1, w2) = (g0[t], g1[t], g2[t]);
            for x in 0..len {
                let sum = a[x] + b[x];
                let dif = a[x] - b[x];
                o0[x] = madd::<FMA>(o0[x], w0, sum);
                o1[x] = madd::<FMA>(o1[x], w1, dif);
                o2[x] = madd::<FMA>(o2[x], w2, sum);
            }
        }
    }
}

/// Row `j` of the three `k`-filtered planes correlated along `j`: the six rows `q`.
#[inline(always)]
fn filter_j<const FMA: bool>(
    p: &[Vec<f32>; 3],
    nj: usize,
    ni: usize,
    j: usize,
    kern: &AxisKernels,
    q: &mut [Vec<f32>; 6],
) {
    let [g0, g1, g2] = &kern.half;
    fn row(pl: &[f32], jj: isize, nj: usize, ni: usize) -> &[f32] {
        &pl[mirror(jj, nj) * ni..][..ni]
    }
    let [q00, q01, q02, q10, q11, q20] = q;
    let (q00, q01, q02, q10, q11, q20) =
        (&mut q00[..ni], &mut q01[..ni], &mut q02[..ni], &mut q10[..ni], &mut q11[..ni], &mut q20[..ni]);
    let (c0, c1, c2) = (row(&p[0], j as isize, nj, ni), row(&p[1], j as isize, nj, ni), row(&p[2], j as isize, nj, ni));
    for x in 0..ni {
        q00[x] = g0[0] * c0[x];
        q01[x] = 0.0;
        q02[x] = g2[0] * c0[x];
        q10[x] = g0[0] * c1[x];
        q11[x] = 0.0;
        q20[x] = g0[0] * c2[x];
    }
    for t in 1..=kern.radius {
        let (up, down) = (j as isize + t as isize, j as isize - t as isize);
        let (a0, b0) = (row(&p[0], up, nj, ni), row(&p[0], down, nj, ni));
        let (a1, b1) = (row(&p[1], up, nj, ni), row(&p[1], down, nj, ni));
        let (a2, b2) = (row(&p[2], up, nj, ni), row(&p[2], down, nj, ni));
        let (w0, w1, w2) = (g0[t], g1[t], g2[t]);
        for x in 0..ni {
            let s0 = a0[x] + b0[x];
            let d0 = a0[x] - b0[x];
            q00[x] = madd::<FMA>(q00[x], w0, s0);
            q01[x] = madd::<FMA>(q01[x], w1, d0);
            q02[x] = madd::<FMA>(q02[x], w2, s0);
            let s1 = a1[x] + b1[x];
            let d1 = a1[x] - b1[x];
            q10[x] = madd::<FMA>(q10[x], w0, s1);
            q11[x] = madd::<FMA>(q11[x], w1, d1);
            q20[x] = madd::<FMA>(q20[x], w0, a2[x] + b2[x]);
        }
    }
}

/// One row correlated along `i` with the kernel of `order`, mirrored at both ends.
#[inline(always)]
fn filter_row<const FMA: bool>(src: &[f32], kern: &AxisKernels, order: usize, pad: &mut [f32], dst: &mut [f32]) {
    let n = src.len();
    let r = kern.radius;
    let pad = &mut pad[..n + 2 * r];
    pad[r..r + n].copy_from_slice(src);
    for e in 0..r {
        pad[r - 1 - e] = src[mirror(-1 - e as isize, n)];
        pad[r + n + e] = src[mirror((n + e) as isize, n)];
    }
    let w = &kern.half[order];
    let dst = &mut dst[..n];
    let centre = &pad[r..r + n];
    for x in 0..n {
        dst[x] = w[0] * centre[x];
    }
    for t in 1..=r {
        let (a, b) = (&pad[r + t..r + t + n], &pad[r - t..r - t + n]);
        let wt = w[t];
        if order == 1 {
            for x in 0..n {
                dst[x] = madd::<FMA>(dst[x], wt, a[x] - b[x]);
            }
        } else {
            for x in 0..n {
                dst[x] = madd::<FMA>(dst[x], wt, a[x] + b[x]);
            }
        }
    }
}
