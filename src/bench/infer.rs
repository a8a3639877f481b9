//! `pavseg bench infer`: seconds per window of the full network against the same architecture in
//! PyTorch eager (`lacaf_torch.py window`), measured in one run; the window count and estimated
//! time of a whole CT at the plugin's model spacing; optionally the whole CT itself (meant for a
//! GPU) against MONAI's sliding window (`lacaf_torch.py sliding`).

use super::{lacaf_command, median, run_reference, BenchError};
use crate::geometry::Geometry;
use crate::infer::{windows, DeviceChoice, Predictor, InferSettings};
use crate::model::{Lacaf, NetConfig};
use std::path::PathBuf;
use std::time::Instant;
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

#[derive(Debug, Clone)]
pub struct Options {
    pub reference: PathBuf,
    pub python: PathBuf,
    pub net: NetConfig,
    pub window: usize,
    pub threads: usize,
    pub reps: usize,
    /// Alternations of pavseg and the reference (the machine's load drifts; each round measures
    /// both back to back, and the medians over rounds are compared).
    pub rounds: usize,
    pub device: DeviceChoice,
    pub half: bool,
    /// Forward-pass arithmetic of ours (`half` on CUDA means fp16).
    pub precision: crate::model::Precision,
    /// Ours in channels-last layout (weights and windows).
    pub channels_last: bool,
    /// Source CT `[slices, rows, columns]` and its spacing in mm.
    pub ct_shape: [usize; 3],
    pub ct_spacing: [f64; 3],
    /// The model grid's spacing (the plugin's `model.spacing`).
    pub model_spacing: [f64; 3],
    pub overlap: f64,
    pub batch: usize,
    /// Also run the whole CT (ours and MONAI's sliding window).
    pub whole: bool,
    /// Skip the PyTorch reference runs.
    pub no_reference: bool,
}

#[derive(Debug, Clone)]
pub struct Report {
    pub device: String,
    pub params: usize,
    pub ours_window_s: f64,
    pub reference_window_s: Option<f64>,
    pub model_grid: [usize; 3],
    pub windows: usize,
    pub estimate_s: f64,
    pub ours_whole_s: Option<f64>,
    pub reference_whole_s: Option<f64>,
}

fn tensor(action: &'static str) -> impl Fn(tch::TchError) -> BenchError {
    move |source| BenchError::Tensor { action, source }
}

/// Waits for the device's queued work, so that a timer stopped after it measures the work.
pub(crate) fn sync(device: Device) {
    if let Device::Cuda(i) = device {
        tch::Cuda::synchronize(i as i64);
    }
}

/// The model grid of a CT resampled to `model_spacing` (same physical extent).
pub fn model_grid(ct_shape: [usize; 3], ct_spacing: [f64; 3], model_spacing: [f64; 3]) -> [usize; 3] {
    [0, 1, 2].map(|a| ((ct_shape[a] as f64 * ct_spacing[a] / model_spacing[a]).round() as usize).max(1))
}

pub fn run(o: &Options) -> Result<Report, BenchError> {
    tch::set_num_threads(o.threads as i32);
    let device = o.device.resolve()?;
    if device.is_cuda() {
        tch::Cuda::cudnn_set_benchmark(true);
    }
    let script = o.reference.join("lacaf_torch.py");
    if !o.no_reference && !script.exists() {
        return Err(BenchError::MissingReference(script));
    }
    tch::manual_seed(0);
    let vs = VarStore::new(device);
    let text = Tensor::f_randn([o.net.classes as i64, o.net.text_dim as i64], (Kind::Float, Device::Cpu)).map_err(tensor("drawing text embeddings"))?;
    let net = Lacaf::new(&o.net, &vs.root(), &text)?;
    let params: usize = vs.trainable_variables().iter().map(|t| t.numel()).sum();
    let w = o.window as i64;
    let x = Tensor::f_randn([1, o.net.in_channels as i64, w, w, w], (Kind::Float, device)).map_err(tensor("drawing the input"))?;
    let x = if o.channels_last { crate::model::channels_last_3d(&x).map_err(tensor("making the input channels-last"))? } else { x };
    if o.channels_last {
        crate::model::weights_channels_last(&vs).map_err(tensor("making weights channels-last"))?;
    }
    let precision = if o.half && device.is_cuda() { crate::model::Precision::Fp16 } else { o.precision };
    let forward = || -> Result<f64, BenchError> {
        let t = Instant::now();
        let _guard = tch::no_grad_guard();
        let out = precision.run(device, || net.forward(&x, false))?;
        drop(out);
        sync(device);
        Ok(t.elapsed().as_secs_f64())
    };
    forward()?;

    let torch_device = if device.is_cuda() { "cuda" } else { "cpu" };
    let reference = |mode: &str, extra: &[String]| -> Result<Vec<String>, BenchError> {
        let mut cmd = lacaf_command(&o.python, &script, mode, o.window, &o.net, o.threads, o.reps);
        cmd.args(["--device", torch_device]);
        cmd.args(extra);
        let fields = run_reference(&mut cmd)?;
        println!("RESULT {}", fields.join(" "));
        Ok(fields)
    };
    let seconds = |fields: &[String]| fields.get(1).and_then(|s| s.parse::<f64>().ok());
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for round in 0..o.rounds.max(1) {
        let s = median((0..o.reps.max(1)).map(|_| forward()).collect::<Result<_, _>>()?);
        println!("RESULT pavseg window {s:.3} s size={} params={params} threads={} device={device:?} round={round}", o.window, o.threads);
        ours.push(s);
        if !o.no_reference {
            theirs.extend(seconds(&reference("window", &[])?));
        }
    }
    let ours_window_s = median(ours);
    let reference_window_s = (!theirs.is_empty()).then(|| median(theirs));

    let model_grid = model_grid(o.ct_shape, o.ct_spacing, o.model_spacing);
    let windows = windows::window_count(model_grid, [o.window; 3], o.overlap);
    let estimate_s = windows as f64 * ours_window_s;

    let (mut ours_whole_s, mut reference_whole_s) = (None, None);
    if o.whole {
        let settings = InferSettings { device: o.device, window: o.window, overlap: o.overlap, batch: o.batch, half: o.half, precision: o.precision, channels_last: o.channels_last, mirror: None };
        let predictor = Predictor::new(vs, net, (0..o.net.classes).map(|c| format!("class {c}")).collect(), &settings)?;
        let g = model_grid;
        let grid = Geometry::new(g, [0.0; 3], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], o.model_spacing);
        let volume = ndarray::Array4::<f32>::from_shape_fn((o.net.in_channels, g[0], g[1], g[2]), |(c, k, j, i)| {
            (((c * 7 + k * 13 + j * 17 + i * 19) % 101) as f32 / 50.0) - 1.0
        });
        let t = Instant::now();
        let probs = predictor.predict(volume.view(), &grid)?;
        sync(device);
        let s = t.elapsed().as_secs_f64();
        println!("RESULT pavseg whole {s:.3} s grid={g:?} windows={windows} window={} overlap={} batch={} device={device:?}", o.window, o.overlap, o.batch);
        drop(probs);
        ours_whole_s = Some(s);
        if !o.no_reference {
            let shape: Vec<String> = g.iter().map(|v| v.to_string()).collect();
            let mut extra = vec!["--shape".to_owned()];
            extra.extend(shape);
            extra.extend(["--overlap".to_owned(), o.overlap.to_string()]);
            reference_whole_s = seconds(&reference("sliding", &extra)?);
        }
    }
    Ok(Report {
        device: format!("{device:?}"),
        params,
        ours_window_s,
        reference_window_s,
        model_grid,
        windows,
        estimate_s,
        ours_whole_s,
        reference_whole_s,
    })
}
