//! `pavseg bench train`: seconds per training step (forward, masked Dice + BCE, backward, AdamW)
//! against the same architecture and loss in PyTorch eager (lacaf_torch.py train), alternating
//! rounds in one run.

use super::infer::sync;
use super::{lacaf_command, median, run_reference, BenchError};
use crate::infer::DeviceChoice;
use crate::model::{Lacaf, NetConfig};
use crate::train::adamw::{AdamW, AdamWConfig};
use crate::train::loss::masked_dice_bce;
use std::path::PathBuf;
use std::time::Instant;
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

#[derive(Debug, Clone)]
pub struct Options {
    pub reference: PathBuf,
    pub python: PathBuf,
    pub net: NetConfig,
    pub size: usize,
    pub batch: usize,
    pub threads: usize,
    pub reps: usize,
    pub rounds: usize,
    pub no_reference: bool,
    /// Where both run (PyTorch on the same kind of device).
    pub device: DeviceChoice,
}

#[derive(Debug, Clone)]
pub struct Report {
    pub params: usize,
    pub device: String,
    pub ours_step_s: f64,
    pub reference_step_s: Option<f64>,
}

fn tensor(action: &'static str) -> impl Fn(tch::TchError) -> BenchError {
    move |source| BenchError::Tensor { action, source }
}

pub fn run(o: &Options) -> Result<Report, BenchError> {
    tch::set_num_threads(o.threads as i32);
    let script = o.reference.join("lacaf_torch.py");
    if !o.no_reference && !script.exists() {
        return Err(BenchError::MissingReference(script));
    }
    tch::manual_seed(0);
    let device = o.device.resolve()?;
    let vs = VarStore::new(device);
    let text = Tensor::f_randn([o.net.classes as i64, o.net.text_dim as i64], (Kind::Float, Device::Cpu)).map_err(tensor("drawing text embeddings"))?;
    let net = Lacaf::new(&o.net, &vs.root(), &text)?;
    let params: usize = vs.trainable_variables().iter().map(|t| t.numel()).sum();
    let mut opt = AdamW::new(&vs, AdamWConfig { weight_decay: 1e-5, ..AdamWConfig::default() })
        .map_err(|e| BenchError::Reference { command: "building AdamW".into(), reason: e.to_string() })?;
    let s = o.size as i64;
    let (b, k) = (o.batch as i64, o.net.classes as i64);
    let x = Tensor::f_randn([b, o.net.in_channels as i64, s, s, s], (Kind::Float, device)).map_err(tensor("drawing the input"))?;
    let y = Tensor::f_rand([b, k, s, s, s], (Kind::Float, device)).and_then(|t| t.f_gt(0.95)).and_then(|t| t.f_to_kind(Kind::Float)).map_err(tensor("drawing the target"))?;
    let supervised = Tensor::f_ones([b, k], (Kind::Float, device)).map_err(tensor("supervision mask"))?;
    let mut step = || -> Result<f64, BenchError> {
        let t = Instant::now();
        let logits = net.forward(&x, true)?;
        let loss = masked_dice_bce(&logits, &y, &supervised).map_err(tensor("computing the loss"))?;
        opt.zero_grad().map_err(|e| BenchError::Reference { command: "zero_grad".into(), reason: e.to_string() })?;
        loss.f_backward().map_err(tensor("backpropagating"))?;
        opt.step(8e-4).map_err(|e| BenchError::Reference { command: "AdamW step".into(), reason: e.to_string() })?;
        sync(device);
        Ok(t.elapsed().as_secs_f64())
    };
    step()?;
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for round in 0..o.rounds.max(1) {
        let t = median((0..o.reps.max(1)).map(|_| step()).collect::<Result<_, _>>()?);
        println!("RESULT pavseg train {t:.3} s batch={} size={} params={params} threads={} device={device:?} round={round}", o.batch, o.size, o.threads);
        ours.push(t);
        if !o.no_reference {
            let mut cmd = lacaf_command(&o.python, &script, "train", o.size, &o.net, o.threads, o.reps);
            cmd.args(["--batch", &o.batch.to_string(), "--device", if device.is_cuda() { "cuda" } else { "cpu" }]);
            let fields = run_reference(&mut cmd)?;
            println!("RESULT {}", fields.join(" "));
            theirs.extend(fields.get(1).and_then(|v| v.parse::<f64>().ok()));
        }
    }
    Ok(Report { params, device: format!("{device:?}"), ours_step_s: median(ours), reference_step_s: (!theirs.is_empty()).then(|| median(theirs)) })
}
