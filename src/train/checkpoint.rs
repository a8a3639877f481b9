//! Checkpoints: each a complete plugin folder (plugin.toml, model.json, weights.safetensors,
//! embeddings.safetensors) that `pavseg evaluate` and the node load like any plugin, plus
//! `checkpoint.json` (epoch, step, metrics, the exact command) and, for resuming,
//! `optimizer.safetensors`.

use super::grad_scaler::GradScaler;
use super::adamw::AdamW;
use super::TrainError;
use crate::model::NetConfig;
use crate::plugin::Plugin;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use tch::nn::VarStore;
use tch::Tensor;

pub const PLUGIN_FILE: &str = "plugin.toml";
pub const CONFIG_FILE: &str = "model.json";
pub const WEIGHTS_FILE: &str = "weights.safetensors";
pub const EMBEDDINGS_FILE: &str = "embeddings.safetensors";
pub const STATE_FILE: &str = "checkpoint.json";
pub const OPTIMIZER_FILE: &str = "optimizer.safetensors";

/// One epoch's record in the log and the checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    pub epoch: usize,
    /// Optimiser steps done at the end of the epoch.
    pub step: u64,
    pub loss: f64,
    pub lr: f64,
    pub seconds: f64,
    /// Mean DSC over the supervised (validation case, class) pairs, when validated.
    pub val_dsc: Option<f64>,
    /// Per class (left artery, left vein, right artery, right vein), over the cases supervising it.
    pub val_dsc_per_class: Option<Vec<f64>>,
    /// Artery and vein DSC of the two-label output over the fully labelled validation cases.
    #[serde(default)]
    pub val_label_dsc: Option<[f64; 2]>,
    /// Fraction of the epoch's step time the training loop waited for batches.
    #[serde(default)]
    pub data_wait: Option<f64>,
}

/// `checkpoint.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointState {
    pub epoch: usize,
    pub step: u64,
    pub best_val_dsc: Option<f64>,
    pub best_epoch: Option<usize>,
    pub history: Vec<EpochRecord>,
    /// The command line that trained it.
    pub command: String,
    /// The training configuration as run (paths absolute).
    pub config: serde_json::Value,
    pub train_cases: Vec<String>,
    pub val_cases: Vec<String>,
    pub seconds: f64,
    /// The fp16 loss scale (`precision = "fp16"` only).
    #[serde(default)]
    pub loss_scale: Option<GradScaler>,
}

#[derive(Serialize)]
struct PluginOut<'a> {
    plugin: Info<'a>,
    prompts: Prompts<'a>,
    classes: Vec<Class<'a>>,
    model: ModelOut,
    /// The training's preprocessing, so that inference meets the input it was trained on
    /// (the model grid is `model.spacing`).
    preprocess: crate::preprocess::PreprocessConfig,
}

#[derive(Serialize)]
struct Info<'a> {
    name: &'a str,
    version: &'a str,
}

#[derive(Serialize)]
struct Prompts<'a> {
    template: &'a str,
}

#[derive(Serialize)]
struct Class<'a> {
    name: &'a str,
    label: u8,
}

#[derive(Serialize)]
struct ModelOut {
    config: String,
    weights: String,
    embeddings: String,
    spacing: [f64; 3],
    device: String,
    window: usize,
    overlap: f64,
    batch: usize,
    half: bool,
    threshold: f32,
    mirror: bool,
}

/// What a checkpoint's plugin file states besides the training plugin's classes and prompts.
pub struct PluginFacts<'a> {
    pub source: &'a Plugin,
    pub spacing: [f64; 3],
    pub window: usize,
    pub overlap: f64,
    pub command: &'a str,
    /// The training configuration's `[preprocess]`.
    pub preprocess: &'a crate::preprocess::PreprocessConfig,
}

/// The text of a checkpoint's `plugin.toml`.
pub fn plugin_text(f: &PluginFacts<'_>) -> Result<String, TrainError> {
    let p = &f.source.file;
    let out = PluginOut {
        plugin: Info { name: &p.plugin.name, version: &p.plugin.version },
        prompts: Prompts { template: &p.prompts.template },
        classes: p.classes.iter().map(|c| Class { name: &c.name, label: c.label }).collect(),
        model: ModelOut {
            config: CONFIG_FILE.into(),
            weights: WEIGHTS_FILE.into(),
            embeddings: EMBEDDINGS_FILE.into(),
            spacing: f.spacing,
            device: p.model.device.to_string(),
            window: f.window,
            overlap: f.overlap,
            batch: p.model.batch,
            half: p.model.half,
            threshold: p.model.threshold,
            // A checkpoint infers as the plugin it was trained for (validation does not mirror).
            mirror: p.model.mirror,
        },
        preprocess: crate::preprocess::PreprocessConfig { target_spacing_mm: None, ..f.preprocess.clone() },
    };
    let body = toml::to_string(&out).map_err(|e| TrainError::Checkpoint { reason: format!("writing plugin.toml: {e}") })?;
    Ok(format!("# Checkpoint of `{}`.\n# Written by pavseg train; paths are relative to this file.\n\n{body}", f.command))
}

/// Writes a checkpoint folder (replacing an older one atomically by renaming).
pub fn save(
    dir: &Path,
    vs: &VarStore,
    net: &NetConfig,
    facts: &PluginFacts<'_>,
    state: &CheckpointState,
    optimizer: Option<&AdamW>,
) -> Result<(), TrainError> {
    let tmp = dir.with_extension("partial");
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(|source| TrainError::WriteFile { path: tmp.clone(), source })?;
    crate::model::save(vs, net, &tmp.join(WEIGHTS_FILE), &tmp.join(CONFIG_FILE)).map_err(|e| TrainError::Checkpoint { reason: e.to_string() })?;
    let write = |name: &str, bytes: &[u8]| std::fs::write(tmp.join(name), bytes).map_err(|source| TrainError::WriteFile { path: tmp.join(name), source });
    write(PLUGIN_FILE, plugin_text(facts)?.as_bytes())?;
    let emb = std::fs::read(&facts.source.file.model.embeddings)
        .map_err(|source| TrainError::ReadFile { path: facts.source.file.model.embeddings.clone(), source })?;
    write(EMBEDDINGS_FILE, &emb)?;
    let json = serde_json::to_string_pretty(state).map_err(|e| TrainError::Checkpoint { reason: e.to_string() })?;
    write(STATE_FILE, (json + "\n").as_bytes())?;
    if let Some(opt) = optimizer {
        let meta = HashMap::from([("steps".to_owned(), opt.steps.to_string())]);
        crate::weights::save_tensors(&tmp.join(OPTIMIZER_FILE), &opt.state(), meta).map_err(|e| TrainError::Checkpoint { reason: e.to_string() })?;
    }
    let old = dir.with_extension("old");
    let _ = std::fs::remove_dir_all(&old);
    if dir.exists() {
        std::fs::rename(dir, &old).map_err(|source| TrainError::WriteFile { path: dir.to_owned(), source })?;
    }
    std::fs::rename(&tmp, dir).map_err(|source| TrainError::WriteFile { path: dir.to_owned(), source })?;
    let _ = std::fs::remove_dir_all(&old);
    Ok(())
}

/// Reads `checkpoint.json` of a checkpoint folder.
pub fn read_state(dir: &Path) -> Result<CheckpointState, TrainError> {
    let path = dir.join(STATE_FILE);
    let text = std::fs::read_to_string(&path).map_err(|source| TrainError::ReadFile { path: path.clone(), source })?;
    serde_json::from_str(&text).map_err(|e| TrainError::Resume { reason: format!("{}: {e}", path.display()) })
}

/// Reads the optimiser moments of a checkpoint folder.
pub fn read_optimizer(dir: &Path) -> Result<(BTreeMap<String, Tensor>, u64), TrainError> {
    let path = dir.join(OPTIMIZER_FILE);
    let bytes = crate::weights::read_file(&path).map_err(|e| TrainError::Resume { reason: e.to_string() })?;
    let st = crate::weights::parse(&path, &bytes).map_err(|e| TrainError::Resume { reason: e.to_string() })?;
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).map_err(|e| TrainError::Resume { reason: e.to_string() })?;
    let steps = header
        .metadata()
        .as_ref()
        .and_then(|m| m.get("steps"))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| TrainError::Resume { reason: format!("{} has no `steps` metadata", path.display()) })?;
    let mut out = BTreeMap::new();
    for (name, view) in st.tensors() {
        let t = crate::weights::tensor_from_view(&path, &name, &view).map_err(|e| TrainError::Resume { reason: e.to_string() })?;
        out.insert(name, t);
    }
    Ok((out, steps))
}

/// Copies the `backbone.*` tensors of a weights file into `vs`: every backbone variable must be
/// there with its shape; other tensors of the file are ignored.
pub fn init_backbone(vs: &VarStore, weights: &Path) -> Result<usize, TrainError> {
    let fail = |reason: String| TrainError::InitBackbone { path: weights.to_owned(), reason };
    let bytes = crate::weights::read_file(weights).map_err(|e| fail(e.to_string()))?;
    let st = crate::weights::parse(weights, &bytes).map_err(|e| fail(e.to_string()))?;
    let mut n = 0;
    let _guard = tch::no_grad_guard();
    for (name, var) in vs.variables() {
        if !name.starts_with("backbone.") {
            continue;
        }
        let view = st.tensor(&name).map_err(|_| fail(format!("lacks tensor `{name}`")))?;
        let t = crate::weights::tensor_from_view(weights, &name, &view).map_err(|e| fail(e.to_string()))?;
        if t.size() != var.size() {
            return Err(fail(format!("tensor `{name}` has shape {:?}, the backbone expects {:?}", t.size(), var.size())));
        }
        var.shallow_clone().f_copy_(&t).map_err(|e| fail(e.to_string()))?;
        n += 1;
    }
    Ok(n)
}
