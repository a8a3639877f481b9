//! The vesselness filter on libtorch tensors, so that it can run on the GPU next to the
//! model: the same kernels as the CPU filter (from [`super::kernel`]) applied as three
//! separable `conv3d` passes, then the same closed-form eigen-analysis as tensor arithmetic in
//! f64. Convolutions run with TF32 off, so that a GPU gives f32 results like the CPU's.

use super::kernel::{mirror, scale_kernels, AxisKernels};
use super::{check_grid, derived_c, VesselnessError, VesselnessParams};
use ndarray::{Array3, ArrayView3};
use std::f64::consts::PI;
use tch::{Device, Kind, TchError, Tensor};

#[derive(Debug, thiserror::Error)]
pub enum TorchVesselnessError {
    #[error(transparent)]
    Check(#[from] VesselnessError),
    #[error("libtorch vesselness failed while {step}: {source}")]
    Compute {
        step: &'static str,
        #[source]
        source: TchError,
    },
}

type Result<T> = std::result::Result<T, TorchVesselnessError>;

fn at(step: &'static str) -> impl FnOnce(TchError) -> TorchVesselnessError {
    move |source| TorchVesselnessError::Compute { step, source }
}

/// The filter on an ndarray volume, computed on `device` and copied back.
pub fn vesselness_on(
    image: ArrayView3<'_, f32>,
    spacing_mm: [f64; 3],
    params: &VesselnessParams,
    device: Device,
) -> Result<Array3<f32>> {
    let shape = [image.shape()[0], image.shape()[1], image.shape()[2]];
    check_grid(image.shape(), spacing_mm)?;
    let image = image.as_standard_layout();
    let data = image.as_slice().ok_or(VesselnessError::NotContiguous)?;
    let dims: Vec<i64> = shape.iter().map(|&n| n as i64).collect();
    let t = Tensor::f_from_slice(data).map_err(at("uploading the image"))?;
    let t = t.f_reshape(&dims).and_then(|t| t.f_to_device(device)).map_err(at("uploading the image"))?;
    let v = vesselness(&t, spacing_mm, params)?;
    let v = v.f_to_device(Device::Cpu).and_then(|v| v.f_contiguous()).map_err(at("downloading the result"))?;
    let mut out = vec![0.0f32; shape.iter().product()];
    let n = out.len();
    v.f_copy_data(&mut out, n).map_err(at("downloading the result"))?;
    Array3::from_shape_vec(shape, out).map_err(|_| VesselnessError::NotContiguous.into())
}

/// Multi-scale Frangi vesselness of a `[k, j, i]` tensor on any device; returns an f32
/// tensor of the same shape on the same device.
pub fn vesselness(image: &Tensor, spacing_mm: [f64; 3], params: &VesselnessParams) -> Result<Tensor> {
    params.validate()?;
    let shape: Vec<usize> = image.size().iter().map(|&n| n.max(0) as usize).collect();
    check_grid(&shape, spacing_mm)?;
    let dims = [shape[0], shape[1], shape[2]];
    let x = image
        .f_to_kind(Kind::Float)
        .and_then(|x| x.f_reshape([1, 1, dims[0] as i64, dims[1] as i64, dims[2] as i64]))
        .map_err(at("preparing the input"))?;
    let mut out: Option<Tensor> = None;
    let mut two_c2 = params.c.map(|c| 2.0 * c * c);
    for sigma in params.ascending_scales() {
        let kernels = scale_kernels(sigma, spacing_mm, params.scale_normalization);
        let h = hessian(&x, dims, &kernels)?;
        let (shape_term, s2) = frangi_terms(&h, params.alpha, params.beta)?;
        let two_c2 = match two_c2 {
            Some(v) => v,
            None => {
                let max_s2 = s2.f_max().and_then(|m| m.f_double_value(&[])).map_err(at("deriving c"))?;
                let c = derived_c(max_s2);
                *two_c2.insert(2.0 * c * c)
            }
        };
        let v = s2
            .f_div_scalar(-two_c2)
            .and_then(|e| e.f_exp())
            .and_then(|e| e.f_neg())
            .and_then(|e| e.f_add_scalar(1.0))
            .and_then(|e| e.f_mul(&shape_term))
            .map_err(at("combining the Frangi terms"))?;
        out = Some(match out {
            None => v,
            Some(o) => o.f_maximum(&v).map_err(at("taking the maximum over scales"))?,
        });
    }
    let out = out.ok_or(VesselnessError::CheckParameter { name: "scales_mm", reason: "no scale".into() })?;
    out.f_to_kind(Kind::Float)
        .and_then(|o| o.f_reshape([dims[0] as i64, dims[1] as i64, dims[2] as i64]))
        .map_err(at("finishing the output"))
}

/// The six normalised Hessian elements `[kk, jj, ii, kj, ki, ji]` as f64 tensors `[k, j, i]`.
fn hessian(x: &Tensor, dims: [usize; 3], kernels: &[AxisKernels; 3]) -> Result<[Tensor; 6]> {
    let device = x.device();
    // Along k: orders 0, 1, 2 as three output channels.
    let kk = &kernels[0];
    let wk = weights(kk, &[0, 1, 2], 0, device)?;
    let p = convolve(&pad(x, 2, dims[0], kk.radius)?, &wk, 1)?;
    // Along j: channel k-orders 0,0,0,1,1,2 with j-orders 0,1,2,0,1,0 (grouped).
    let kj = &kernels[1];
    let pick = Tensor::f_from_slice(&[0i64, 0, 0, 1, 1, 2])
        .and_then(|t| t.f_to_device(device))
        .map_err(at("building indices"))?;
    let p6 = p.f_index_select(1, &pick).map_err(at("expanding channels"))?;
    let wj = weights(kj, &[0, 1, 2, 0, 1, 0], 1, device)?;
    let q = convolve(&pad(&p6, 3, dims[1], kj.radius)?, &wj, 6)?;
    // Along i: (k, j) = 00, 01, 02, 10, 11, 20 take i-orders 2, 1, 0, 1, 0, 0: ii, ji, jj, ki, kj, kk.
    let ki = &kernels[2];
    let wi = weights(ki, &[2, 1, 0, 1, 0, 0], 2, device)?;
    let h = convolve(&pad(&q, 4, dims[2], ki.radius)?, &wi, 6)?;
    let h = h.f_to_kind(Kind::Double).map_err(at("converting the Hessian to f64"))?;
    let c = |n: i64| h.f_select(1, n).and_then(|t| t.f_squeeze_dim(0)).map_err(at("splitting the Hessian"));
    Ok([c(5)?, c(2)?, c(0)?, c(4)?, c(3)?, c(1)?])
}

/// Weights `[out, 1, d, h, w]` for the given derivative orders along spatial dim `axis`
/// (0 = k, 1 = j, 2 = i) of a correlation.
fn weights(k: &AxisKernels, orders: &[usize], axis: usize, device: Device) -> Result<Tensor> {
    let taps = 2 * k.radius + 1;
    let mut flat = Vec::with_capacity(orders.len() * taps);
    for &o in orders {
        flat.extend(k.full(o));
    }
    let mut shape = [orders.len() as i64, 1, 1, 1, 1];
    shape[2 + axis] = taps as i64;
    Tensor::f_from_slice(&flat)
        .and_then(|t| t.f_reshape(shape))
        .and_then(|t| t.f_to_device(device))
        .map_err(at("building the kernels"))
}

/// Extends `x` by `radius` mirrored samples at both ends of `dim` (length `n`).
fn pad(x: &Tensor, dim: i64, n: usize, radius: usize) -> Result<Tensor> {
    let idx: Vec<i64> = (-(radius as isize)..(n + radius) as isize).map(|i| mirror(i, n) as i64).collect();
    let idx = Tensor::f_from_slice(&idx).and_then(|t| t.f_to_device(x.device())).map_err(at("building the padding"))?;
    x.f_index_select(dim, &idx).map_err(at("padding"))
}

fn convolve(x: &Tensor, w: &Tensor, groups: i64) -> Result<Tensor> {
    let none: Option<Tensor> = None;
    x.f_internal_convolution(
        w,
        none,
        [1, 1, 1],
        [0, 0, 0],
        [1, 1, 1],
        false,
        [0, 0, 0],
        groups,
        false,
        false,
        true,
        false,
    )
    .map_err(at("convolving"))
}

/// Frangi's shape term and S² from the Hessian, by the same closed form as the CPU filter.
fn frangi_terms(h: &[Tensor; 6], alpha: f64, beta: f64) -> Result<(Tensor, Tensor)> {
    frangi_terms_inner(h, alpha, beta).map_err(at("solving for eigenvalues"))
}

fn frangi_terms_inner(h: &[Tensor; 6], alpha: f64, beta: f64) -> std::result::Result<(Tensor, Tensor), TchError> {
    let [a, b, c, d, e, f] = h;
    let off2 = d.f_square()?.f_add(&e.f_square()?)?.f_add(&f.f_square()?)?;
    let s2 = a.f_square()?.f_add(&b.f_square()?)?.f_add(&c.f_square()?)?.f_add(&off2.f_mul_scalar(2.0)?)?;
    let q = a.f_add(b)?.f_add(c)?.f_div_scalar(3.0)?;
    let (a, b, c) = (a.f_sub(&q)?, b.f_sub(&q)?, c.f_sub(&q)?);
    let p2 = a.f_square()?.f_add(&b.f_square()?)?.f_add(&c.f_square()?)?.f_add(&off2.f_mul_scalar(2.0)?)?;
    let p = p2.f_div_scalar(6.0)?.f_sqrt()?;
    let positive = p.f_gt(0.0)?;
    let inv = p.f_reciprocal()?.f_where_self(&positive, &p.f_ones_like()?)?;
    let (a, b, c) = (a.f_mul(&inv)?, b.f_mul(&inv)?, c.f_mul(&inv)?);
    let (d, e, f) = (d.f_mul(&inv)?, e.f_mul(&inv)?, f.f_mul(&inv)?);
    let det = a
        .f_mul(&b.f_mul(&c)?.f_sub(&f.f_square()?)?)?
        .f_sub(&d.f_mul(&d.f_mul(&c)?.f_sub(&f.f_mul(&e)?)?)?)?
        .f_add(&e.f_mul(&d.f_mul(&f)?.f_sub(&b.f_mul(&e)?)?)?)?;
    let r = det.f_mul_scalar(0.5)?.f_clamp(-1.0, 1.0)?;
    let phi = r.f_acos()?.f_div_scalar(3.0)?;
    let two_p = p.f_mul_scalar(2.0)?;
    let largest = q.f_add(&two_p.f_mul(&phi.f_cos()?)?)?;
    let smallest = q.f_add(&two_p.f_mul(&phi.f_add_scalar(2.0 * PI / 3.0)?.f_cos()?)?)?;
    let middle = q.f_mul_scalar(3.0)?.f_sub(&largest)?.f_sub(&smallest)?;
    let l = Tensor::f_stack(&[smallest, middle, largest], 0)?;
    let order = l.f_abs()?.f_argsort(0, false)?;
    let l = l.f_gather(0, &order, false)?;
    let (l1, l2, l3) = (l.f_select(0, 0)?, l.f_select(0, 1)?, l.f_select(0, 2)?);
    let tube = l2.f_lt(0.0)?.f_logical_and(&l3.f_lt(0.0)?)?;
    let ra2 = l2.f_div(&l3)?.f_square()?;
    let rb2 = l1.f_square()?.f_div(&l2.f_mul(&l3)?)?;
    let plate = ra2.f_div_scalar(-2.0 * alpha * alpha)?.f_exp()?.f_neg()?.f_add_scalar(1.0)?;
    let blob = rb2.f_div_scalar(-2.0 * beta * beta)?.f_exp()?;
    let shape = plate.f_mul(&blob)?.f_where_self(&tube, &l1.f_zeros_like()?)?;
    Ok((shape, s2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_a_two_dimensional_tensor() {
        let t = Tensor::zeros([4, 4], (Kind::Float, Device::Cpu));
        assert!(vesselness(&t, [1.0; 3], &VesselnessParams::default()).is_err());
    }
}
