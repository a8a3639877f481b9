//! `pavseg bench vesselness-backends`: the libtorch vesselness on a device (the node's path
//! when a plugin runs on CUDA) against the CPU filter on the same windowed phantom: time of
//! each and how closely they agree. For the GPU check; on a CPU it compares the two code paths.

use super::infer::sync;
use super::BenchError;
use crate::infer::DeviceChoice;
use crate::phantom::{generate, PhantomParams};
use crate::preprocess::vesselness::{self, torch};
use crate::preprocess::{window_into, PreprocessConfig};
use ndarray::Array3;
use std::time::Instant;

#[derive(Debug, Clone)]
pub struct Options {
    /// `[slices, rows, columns]` of the generated phantom.
    pub shape: [usize; 3],
    /// `[slice, row, column]` spacing in mm.
    pub spacing: [f64; 3],
    pub device: DeviceChoice,
    /// Timed runs of the device filter, after one warm-up on CUDA (the best is reported).
    pub reps: usize,
}

#[derive(Debug, Clone)]
pub struct Report {
    pub device: String,
    pub voxels: usize,
    pub cpu_s: f64,
    pub device_s: f64,
    pub max_abs_diff: f32,
    pub mean_abs_diff: f64,
    /// Pearson correlation of the two maps.
    pub pearson: f64,
}

pub fn run(o: &Options) -> Result<Report, BenchError> {
    let device = o.device.resolve()?;
    let [slices, rows, cols] = o.shape;
    let params = PhantomParams {
        slices,
        rows,
        cols,
        pixel_spacing: o.spacing[1],
        slice_spacing: o.spacing[0],
        ..PhantomParams::default()
    };
    let phantom = generate(&params);
    let cfg = PreprocessConfig::default();
    let mut ct = Array3::<f32>::zeros(phantom.hu.raw_dim());
    window_into(phantom.hu.mapv(f32::from).view(), cfg.window, ct.view_mut());
    let spacing = phantom.geometry.spacing;
    let vp = cfg.vesselness();
    fn filter(e: impl std::fmt::Display) -> BenchError {
        BenchError::Vesselness(e.to_string())
    }

    let t = Instant::now();
    let cpu = vesselness::vesselness(ct.view(), spacing, &vp).map_err(filter)?;
    let cpu_s = t.elapsed().as_secs_f64();
    if device.is_cuda() {
        // The first CUDA run loads kernels and sizes the allocator's pools.
        torch::vesselness_on(ct.view(), spacing, &vp, device).map_err(filter)?;
    }
    let mut device_s = f64::INFINITY;
    let mut on_device = None;
    for _ in 0..o.reps.max(1) {
        let t = Instant::now();
        let v = torch::vesselness_on(ct.view(), spacing, &vp, device).map_err(filter)?;
        sync(device);
        device_s = device_s.min(t.elapsed().as_secs_f64());
        on_device = Some(v);
    }
    let on_device = on_device.unwrap_or_default();
    let n = cpu.len() as f64;
    let (mut max_abs, mut sum_abs) = (0.0f32, 0.0f64);
    let (mut sa, mut sb, mut saa, mut sbb, mut sab) = (0.0f64, 0.0, 0.0, 0.0, 0.0);
    for (&a, &b) in cpu.iter().zip(on_device.iter()) {
        let d = (a - b).abs();
        max_abs = max_abs.max(d);
        sum_abs += f64::from(d);
        let (a, b) = (f64::from(a), f64::from(b));
        sa += a;
        sb += b;
        saa += a * a;
        sbb += b * b;
        sab += a * b;
    }
    let cov = sab / n - (sa / n) * (sb / n);
    let var = (saa / n - (sa / n).powi(2)) * (sbb / n - (sb / n).powi(2));
    let pearson = if var > 0.0 { cov / var.sqrt() } else { f64::NAN };
    let r = Report {
        device: format!("{device:?}"),
        voxels: cpu.len(),
        cpu_s,
        device_s,
        max_abs_diff: max_abs,
        mean_abs_diff: sum_abs / n,
        pearson,
    };
    println!(
        "RESULT vesselness-backends cpu={:.3} s device={:.3} s on={} voxels={} max_abs_diff={:.2e} mean_abs_diff={:.2e} pearson={:.6}",
        r.cpu_s, r.device_s, r.device, r.voxels, r.max_abs_diff, r.mean_abs_diff, r.pearson
    );
    Ok(r)
}
