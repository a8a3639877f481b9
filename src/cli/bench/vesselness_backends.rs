//! `pavseg bench vesselness-backends`.

use crate::bench;
use crate::infer::DeviceChoice;

#[derive(Debug, clap::Args)]
pub struct VesselnessBackendsArgs {
    #[command(flatten)]
    pub ct: super::CtSize,
    /// In-plane pixel spacing of the phantom, mm.
    #[arg(long, default_value_t = 0.7)]
    pub pixel_spacing: f64,
    /// Slice spacing of the phantom, mm.
    #[arg(long, default_value_t = 1.0)]
    pub slice_spacing: f64,
    /// auto | cpu | cuda | cuda:N: where the libtorch filter runs.
    #[arg(long, default_value = "cpu")]
    pub device: DeviceChoice,
    /// Timed runs of the device filter, after one warm-up on CUDA (the best is reported).
    #[arg(long, default_value_t = 1)]
    pub reps: usize,
}

pub fn run(a: VesselnessBackendsArgs) -> anyhow::Result<()> {
    let o = bench::vesselness_backends::Options {
        shape: [a.ct.slices, a.ct.rows, a.ct.cols],
        spacing: [a.slice_spacing, a.pixel_spacing, a.pixel_spacing],
        device: a.device,
        reps: a.reps,
    };
    let r = bench::vesselness_backends::run(&o)?;
    println!(
        "CPU filter {:.3} s, libtorch on {} {:.3} s ({:.2}x); agreement: max |diff| {:.2e}, mean |diff| {:.2e}, Pearson {:.6}",
        r.cpu_s,
        r.device,
        r.device_s,
        r.cpu_s / r.device_s,
        r.max_abs_diff,
        r.mean_abs_diff,
        r.pearson
    );
    Ok(())
}
