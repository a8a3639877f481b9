//! The training loop: prepare the cases, build the network, then epochs of AdamW steps on
//! random patches with validation, checkpoints, a JSON-lines log, a progress bar and a plot.

use super::adamw::{AdamW, AdamWConfig};
use super::grad_scaler::GradScaler;
use super::checkpoint::{self, CheckpointState, EpochRecord, PluginFacts};
use super::config::{TrainConfig, ValSelect};
use super::dataset::{Dataset, Split};
use super::loader::Loader;
use super::mapped::MappedCase;
use super::prepare_all::{prepare_cases, split_cases, CaseOutcome};
use super::loss::recipe_loss;
use super::prepared::open_cached;
use super::sampler::PatchSampler;
use super::schedule::Schedule;
use super::validate::validate;
use super::TrainError;
use crate::model::{channels_last_3d, Lacaf, Precision};
use crate::plugin::Plugin;
use crate::text::PromptEmbeddings;
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;
use tch::nn::VarStore;

/// How a run was started.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Continue from `<out>/last`.
    pub resume: bool,
    /// The command line, recorded in every checkpoint.
    pub command: String,
    /// Draw a progress bar (on a terminal).
    pub progress: bool,
    /// Stop (after checkpointing) once this many epochs are done, to resume later.
    pub stop_after_epoch: Option<usize>,
}

/// What a finished run reports.
#[derive(Debug, Clone)]
pub struct TrainSummary {
    pub out: PathBuf,
    pub history: Vec<EpochRecord>,
    pub best_val_dsc: Option<f64>,
    pub best_epoch: Option<usize>,
    pub seconds: f64,
    pub steps: u64,
}

/// Held while the network's weights are drawn from libtorch's global generator.
static INIT_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn terr(action: &'static str) -> impl Fn(tch::TchError) -> TrainError {
    move |source| TrainError::Tensor { action, source }
}

/// A failed forward or backward pass, with the batch and patch size that caused it (a device
/// out of memory is the usual reason).
fn step_error<E: std::fmt::Display>(cfg: &TrainConfig, step: u64) -> impl Fn(E) -> TrainError + '_ {
    move |e| TrainError::Step { step, batch: cfg.batch, patch: cfg.sampling.patch, reason: e.to_string() }
}

/// Prepares the cases of one split into the cache (in parallel, skipping those already there)
/// and maps them: training reads patches from the mapped files.
pub fn prepare_split(cfg: &TrainConfig, split: Split) -> Result<Vec<MappedCase>, TrainError> {
    let dataset = Dataset::open(&cfg.dataset)?;
    let cases = split_cases(cfg, &dataset, split)?;
    let report = |o: &CaseOutcome| tracing::info!(case = %o.id, cached = o.cached, seconds = o.seconds, error = ?o.error, "case prepared");
    let summary = prepare_cases(&cases, cfg, cfg.loader.prepare_workers, &report)?;
    if let Some(failed) = summary.failed().first() {
        return Err(TrainError::Prepare { case: failed.id.clone(), reason: failed.error.clone().unwrap_or_default() });
    }
    let cache = cfg.cache_dir();
    cases.iter().map(|c| open_cached(c, &cfg.preprocess, &cache)).collect()
}

pub fn train(cfg: &TrainConfig, opts: &RunOptions) -> Result<TrainSummary, TrainError> {
    let t0 = Instant::now();
    tch::set_num_threads(cfg.threads as i32);
    let device = cfg.device.resolve().map_err(|e| TrainError::Config { path: cfg.out.clone(), reason: e.to_string() })?;
    let plugin = Plugin::load(&cfg.plugin).map_err(|e| TrainError::Plugin { reason: e.to_string() })?;
    let embeddings = PromptEmbeddings::read(&plugin.file.model.embeddings).map_err(|e| TrainError::Plugin { reason: e.to_string() })?;
    if embeddings.classes != plugin.class_names() || embeddings.prompts != plugin.prompts() {
        return Err(TrainError::Plugin { reason: format!("embeddings {} were not made for the classes and prompts of {} (rerun pavseg embed)", plugin.file.model.embeddings.display(), plugin.path.display()) });
    }
    let (k, d) = embeddings.data.dim();
    if k != super::sides::CLASSES {
        return Err(TrainError::Plugin { reason: format!("plugin {} has {k} classes; training needs the four left/right artery/vein classes", plugin.path.display()) });
    }
    let mut net_cfg = cfg.network.clone();
    net_cfg.classes = k;
    net_cfg.text_dim = d;
    std::fs::create_dir_all(&cfg.out).map_err(|source| TrainError::WriteFile { path: cfg.out.clone(), source })?;

    tracing::info!(dataset = %cfg.dataset.display(), "preparing cases");
    let train_cases = prepare_split(cfg, Split::Train)?;
    let val_cases = prepare_split(cfg, Split::Val)?;
    if train_cases.is_empty() {
        return Err(TrainError::Config { path: cfg.dataset.clone(), reason: "the training split holds no usable case".into() });
    }
    tracing::info!(train = train_cases.len(), val = val_cases.len(), seconds = t0.elapsed().as_secs_f64(), "cases prepared");

    let vs = VarStore::new(device);
    let text = crate::infer::array2_to_tensor(&embeddings.data).map_err(|e| TrainError::Plugin { reason: e.to_string() })?;
    let net = {
        // libtorch's generator is process-wide: two runs initialising at once in one process
        // (tests, a benchmark harness) would interleave their draws and each get an init that
        // its seed does not determine.
        let _seeded = INIT_LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        tch::manual_seed(cfg.seed as i64);
        Lacaf::new(&net_cfg, &vs.root(), &text).map_err(|e| TrainError::Checkpoint { reason: e.to_string() })?
    };
    let mut opt = AdamW::new(&vs, AdamWConfig { beta1: cfg.optim.beta1, beta2: cfg.optim.beta2, eps: cfg.optim.eps, weight_decay: cfg.optim.weight_decay })?;
    let last_dir = cfg.out.join("last");
    let best_dir = cfg.out.join("best");
    let mut state = CheckpointState {
        epoch: 0,
        step: 0,
        best_val_dsc: None,
        best_epoch: None,
        history: vec![],
        command: opts.command.clone(),
        config: serde_json::to_value(cfg).unwrap_or_default(),
        train_cases: train_cases.iter().map(|c| c.id.clone()).collect(),
        val_cases: val_cases.iter().map(|c| c.id.clone()).collect(),
        seconds: 0.0,
        loss_scale: (cfg.precision == Precision::Fp16).then(GradScaler::default),
    };
    if opts.resume {
        let saved = checkpoint::read_state(&last_dir)?;
        crate::model::load_weights(&vs, &last_dir.join(checkpoint::WEIGHTS_FILE)).map_err(|e| TrainError::Resume { reason: e.to_string() })?;
        let (moments, steps) = checkpoint::read_optimizer(&last_dir)?;
        opt.load_state(&moments, steps)?;
        tracing::info!(epoch = saved.epoch, step = saved.step, "resuming");
        let loss_scale = saved.loss_scale.or(state.loss_scale).filter(|_| cfg.precision == Precision::Fp16);
        state = CheckpointState { command: format!("{}\n{}", saved.command, opts.command), config: state.config, train_cases: state.train_cases, val_cases: state.val_cases, loss_scale, ..saved };
    } else if let Some(init) = &cfg.init_backbone {
        let n = checkpoint::init_backbone(&vs, init)?;
        tracing::info!(tensors = n, from = %init.display(), "backbone initialised");
    } else if let Some(init) = &cfg.init_weights {
        crate::model::load_weights(&vs, init).map_err(|e| TrainError::InitWeights { path: init.clone(), reason: e.to_string() })?;
        tracing::info!(from = %init.display(), "network initialised");
    }

    if cfg.channels_last {
        opt.channels_last()?;
    }
    if device.is_cuda() {
        tch::Cuda::cudnn_set_benchmark(cfg.cudnn_benchmark);
    }
    let sampler = std::sync::Arc::new(PatchSampler::new(train_cases, cfg.sampling.clone(), cfg.half_labeled)?.with_skeletons(cfg.loss.skeleton_recall_weight > 0.0));
    // Each step's batch depends only on the seed and the step, so a resumed run draws the same
    // patches as an uninterrupted one.
    let mut loader = Loader::start(sampler, cfg.seed, cfg.batch, state.step, cfg.total_steps(), cfg.loader.workers, cfg.loader.prefetch)?;
    let schedule = Schedule { base_lr: cfg.optim.lr, min_lr: cfg.optim.min_lr, warmup_steps: cfg.optim.warmup_steps, total_steps: cfg.total_steps() };
    let spacing = cfg.preprocess.target_spacing_mm.unwrap_or([1.0; 3]);
    let facts = PluginFacts { source: &plugin, spacing, window: cfg.window(), overlap: cfg.infer_overlap, command: &opts.command, preprocess: &cfg.preprocess };
    let log_path = cfg.out.join("log.jsonl");
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|source| TrainError::WriteFile { path: log_path.clone(), source })?;
    let run_start = Instant::now();
    let seconds_before = state.seconds;

    for epoch in state.epoch..cfg.epochs {
        let e0 = Instant::now();
        let bar = if opts.progress {
            let b = indicatif::ProgressBar::new(cfg.steps_per_epoch as u64);
            b.set_style(
                indicatif::ProgressStyle::with_template("epoch {prefix} [{bar:30}] {pos}/{len} {msg} ({elapsed}, eta {eta})")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            b.set_prefix(format!("{}/{}", epoch + 1, cfg.epochs));
            b
        } else {
            indicatif::ProgressBar::hidden()
        };
        let mut loss_sum = 0.0;
        let mut lr = 0.0;
        let mut waited = 0.0;
        for _ in 0..cfg.steps_per_epoch {
            let w0 = Instant::now();
            let batch = loader.next_batch()?.to_device(device)?;
            waited += w0.elapsed().as_secs_f64();
            lr = schedule.lr(state.step);
            let input = if cfg.channels_last { channels_last_3d(&batch.input).map_err(terr("making the batch channels-last"))? } else { batch.input };
            let logits = cfg.precision.run(device, || net.forward(&input, true)).map_err(step_error(cfg, state.step))?;
            // The loss in float32 whatever the forward pass's precision.
            let loss = logits
                .f_to_kind(tch::Kind::Float)
                .and_then(|l| recipe_loss(&l, &batch.target, &batch.supervised, batch.skeleton.as_ref(), &cfg.loss))
                .map_err(step_error(cfg, state.step))?;
            let value = loss.f_double_value(&[]).map_err(terr("reading the loss"))?;
            if !value.is_finite() {
                return Err(TrainError::Step { step: state.step, batch: cfg.batch, patch: cfg.sampling.patch, reason: format!("loss is {value}") });
            }
            opt.zero_grad()?;
            let stepped = match state.loss_scale.as_mut() {
                Some(scaler) => {
                    loss.f_mul_scalar(scaler.scale).and_then(|l| l.f_backward()).map_err(step_error(cfg, state.step))?;
                    let finite = opt.unscale_grads(1.0 / scaler.scale)?;
                    scaler.update(finite)
                }
                None => {
                    loss.f_backward().map_err(step_error(cfg, state.step))?;
                    true
                }
            };
            if stepped {
                if cfg.optim.grad_clip_norm > 0.0 {
                    opt.clip_grad_norm(cfg.optim.grad_clip_norm)?;
                }
                opt.step(lr)?;
            } else {
                tracing::warn!(step = state.step, scale = ?state.loss_scale.map(|s| s.scale), "fp16 gradients overflowed: step skipped, loss scale halved");
            }
            state.step += 1;
            loss_sum += value;
            bar.inc(1);
            bar.set_message(format!("loss {value:.4} lr {lr:.2e}"));
        }
        bar.finish_and_clear();
        let step_seconds = e0.elapsed().as_secs_f64();
        let mut record = EpochRecord {
            epoch,
            step: state.step,
            loss: loss_sum / cfg.steps_per_epoch as f64,
            lr,
            seconds: e0.elapsed().as_secs_f64(),
            val_dsc: None,
            val_dsc_per_class: None,
            val_label_dsc: None,
            data_wait: Some(if step_seconds > 0.0 { waited / step_seconds } else { 0.0 }),
        };
        let last = epoch + 1 == cfg.epochs;
        if !val_cases.is_empty() && ((epoch + 1) % cfg.val_every == 0 || last) {
            let v = tch::no_grad(|| validate(&net, &val_cases, cfg.window(), cfg.infer_overlap))?;
            record.val_dsc = Some(v.mean_dsc);
            record.val_dsc_per_class = Some(v.per_class);
            record.val_label_dsc = v.labels;
        }
        state.epoch = epoch + 1;
        state.seconds = seconds_before + run_start.elapsed().as_secs_f64();
        state.history.push(record.clone());
        // The score that selects the best checkpoint (`best_val_dsc` holds its best value).
        let score = match (cfg.val_select, record.val_label_dsc) {
            (ValSelect::Labels, Some([a, v])) => Some((a + v) / 2.0),
            _ => record.val_dsc,
        };
        let improved = match (score, state.best_val_dsc) {
            (Some(v), Some(b)) => v > b,
            (Some(v), None) => v.is_finite(),
            _ => false,
        };
        if improved {
            state.best_val_dsc = score;
            state.best_epoch = Some(epoch);
        }
        tracing::info!(epoch = epoch + 1, step = state.step, loss = record.loss, val_dsc = ?record.val_dsc, seconds = record.seconds, data_wait = ?record.data_wait, "epoch done");
        let line = serde_json::to_string(&record).unwrap_or_default();
        writeln!(log, "{line}").map_err(|source| TrainError::WriteFile { path: log_path.clone(), source })?;
        if improved || (val_cases.is_empty() && last) {
            checkpoint::save(&best_dir, &vs, &net_cfg, &facts, &state, None)?;
        }
        checkpoint::save(&last_dir, &vs, &net_cfg, &facts, &state, Some(&opt))?;
        if let Err(e) = super::plot::write_plot(&cfg.out.join("curves.png"), &state.history) {
            tracing::warn!(error = %e, "cannot write the plot");
        }
        if opts.stop_after_epoch.is_some_and(|n| epoch + 1 >= n) {
            break;
        }
    }
    Ok(TrainSummary {
        out: cfg.out.clone(),
        history: state.history,
        best_val_dsc: state.best_val_dsc,
        best_epoch: state.best_epoch,
        seconds: state.seconds,
        steps: state.step,
    })
}
