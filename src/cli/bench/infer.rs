//! `pavseg bench infer`.

use super::reference_net::ReferenceNetArgs;
use crate::bench;
use crate::infer::DeviceChoice;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct InferArgs {
    #[command(flatten)]
    pub net: ReferenceNetArgs,
    #[arg(long, default_value_t = 4)]
    pub classes: usize,
    /// Window side in voxels.
    #[arg(long, default_value_t = 96)]
    pub window: usize,
    /// Timed repetitions after one warm-up (median reported).
    #[arg(long, default_value_t = 3)]
    pub reps: usize,
    /// Alternate pavseg and the reference this many times; medians over rounds are compared.
    #[arg(long, default_value_t = 2)]
    pub rounds: usize,
    /// auto | cpu | cuda | cuda:N
    #[arg(long, default_value = "cpu")]
    pub device: DeviceChoice,
    /// Mixed precision on CUDA (ours only; the reference runs fp32).
    #[arg(long)]
    pub half: bool,
    /// Forward-pass arithmetic of ours (bf16: autocast, fast on CPUs with AMX/avx512_bf16).
    #[arg(long, value_enum, default_value = "fp32")]
    pub precision: crate::model::Precision,
    /// Ours in channels-last layout (weights and windows).
    #[arg(long)]
    pub channels_last: bool,
    /// Whole CT [slices rows columns].
    #[arg(long, num_args = 3, default_values_t = [300, 512, 512])]
    pub ct_shape: Vec<usize>,
    /// Its spacing in mm [slice row column].
    #[arg(long, num_args = 3, default_values_t = [1.0, 0.7, 0.7])]
    pub ct_spacing: Vec<f64>,
    /// Model grid spacing in mm; default: the plugin's model.spacing.
    #[arg(long, num_args = 3)]
    pub model_spacing: Option<Vec<f64>>,
    #[arg(long, default_value = "plugins/pulmonary-av/plugin.toml")]
    pub plugin: PathBuf,
    #[arg(long, default_value_t = 0.5)]
    pub overlap: f64,
    /// Windows per forward pass for --whole.
    #[arg(long, default_value_t = 1)]
    pub batch: usize,
    /// Run the whole CT too (ours and MONAI's sliding_window_inference); meant for a GPU.
    #[arg(long)]
    pub whole: bool,
    /// Skip the PyTorch reference.
    #[arg(long)]
    pub no_reference: bool,
}

fn three<T: Copy>(v: &[T], name: &str) -> anyhow::Result<[T; 3]> {
    <[T; 3]>::try_from(v).map_err(|_| anyhow::anyhow!("{name} takes three values"))
}

pub fn infer(a: InferArgs) -> anyhow::Result<()> {
    let model_spacing = match &a.model_spacing {
        Some(v) => three(v, "--model-spacing")?,
        None => crate::plugin::Plugin::load(&a.plugin)?.file.model.spacing,
    };
    let python = a.net.python();
    let net = a.net.net(a.classes);
    let options = bench::infer::Options {
        reference: a.net.reference.clone(),
        python,
        net,
        window: a.window,
        threads: a.net.threads,
        reps: a.reps,
        rounds: a.rounds,
        device: a.device,
        half: a.half,
        precision: a.precision,
        channels_last: a.channels_last,
        ct_shape: three(&a.ct_shape, "--ct-shape")?,
        ct_spacing: three(&a.ct_spacing, "--ct-spacing")?,
        model_spacing,
        overlap: a.overlap,
        batch: a.batch,
        whole: a.whole,
        no_reference: a.no_reference,
    };
    let r = bench::infer::run(&options)?;
    println!("device {}  parameters {}  window {}^3  threads {}  precision {:?}  channels-last {}", r.device, r.params, options.window, options.threads, options.precision, options.channels_last);
    println!("pavseg  {:.3} s per window (median over {} rounds)", r.ours_window_s, options.rounds);
    if let Some(t) = r.reference_window_s {
        println!("PyTorch eager {:.3} s per window  ratio pavseg/PyTorch {:.3}", t, r.ours_window_s / t);
    }
    println!(
        "CT {:?} at {:?} mm -> model grid {:?} at {:?} mm: {} windows (overlap {}), estimated {:.0} s ({:.1} min) at this window time",
        options.ct_shape, options.ct_spacing, r.model_grid, options.model_spacing, r.windows, options.overlap, r.estimate_s, r.estimate_s / 60.0
    );
    if let Some(s) = r.ours_whole_s {
        print!("whole CT: pavseg {s:.2} s");
        if let Some(t) = r.reference_whole_s {
            print!("  MONAI {t:.2} s  ratio {:.3}", s / t);
        }
        println!();
    }
    Ok(())
}
