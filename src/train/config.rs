//! The training configuration (TOML): dataset, network, preprocessing, sampling, optimiser and
//! schedule. Relative paths are relative to the configuration file.

use super::dataset::SplitRatios;
use super::TrainError;
use crate::infer::DeviceChoice;
use crate::model::{NetConfig, Precision};
use crate::preprocess::PreprocessConfig;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// How half-labelled cases enter training.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum HalfLabelPolicy {
    /// The classes of the unannotated side are left out of the loss (the paper's method).
    #[default]
    Mask,
    /// The unannotated side counts as background (the naive baseline).
    Background,
    /// Half-labelled cases are not used for training (fully labelled cases only).
    Exclude,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SamplingConfig {
    /// Patch `[k, j, i]` in voxels (multiples of 8).
    pub patch: [usize; 3],
    /// Fraction of patches centred on a voxel of a supervised vessel class.
    pub foreground_fraction: f64,
    pub rotate_prob: f64,
    /// Largest rotation about each axis, degrees.
    pub rotate_deg: f64,
    pub zoom_prob: f64,
    pub zoom_range: [f64; 2],
    /// Probability of a left-right flip (which swaps the left and right classes).
    pub flip_prob: f64,
    pub intensity_prob: f64,
    /// Largest relative change of the CT channel's scale, and largest shift (window units).
    pub intensity_scale: f64,
    pub intensity_shift: f64,
}

impl Default for SamplingConfig {
    fn default() -> Self {
        SamplingConfig {
            patch: [96, 96, 96],
            foreground_fraction: 2.0 / 3.0,
            rotate_prob: 0.2,
            rotate_deg: 15.0,
            zoom_prob: 0.2,
            zoom_range: [0.85, 1.15],
            flip_prob: 0.5,
            intensity_prob: 0.5,
            intensity_scale: 0.1,
            intensity_shift: 0.1,
        }
    }
}

/// Preparing cases and loading batches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoaderConfig {
    /// Cases prepared in parallel before training (each worker holds one whole case).
    pub prepare_workers: usize,
    /// Threads that build augmented batches while the network steps (0: on the training
    /// thread, no prefetch).
    pub workers: usize,
    /// Finished batches each loader thread may hold ahead of the training loop.
    pub prefetch: usize,
}

impl Default for LoaderConfig {
    fn default() -> Self {
        LoaderConfig { prepare_workers: 1, workers: 1, prefetch: 2 }
    }
}

/// The loss: `dice_weight` x soft Dice + `bce_weight` x binary cross-entropy, over the
/// supervised (patch, class) pairs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LossConfig {
    /// Pool each class's soft Dice over the batch (nnU-Net's batch Dice) instead of taking it
    /// per patch: a patch that holds none of a class then does not push that class to zero
    /// everywhere on its own, which keeps thin, rare classes from collapsing to background.
    pub batch_dice: bool,
    pub dice_weight: f64,
    pub bce_weight: f64,
    /// Weight of the skeleton recall term (0: off): 1 - the share of each class's tubed
    /// centreline that the soft prediction covers, pooled over the batch. It weighs a thin
    /// vessel by its length rather than its voxels, the part of the tree Dice neglects.
    pub skeleton_recall_weight: f64,
}

impl Default for LossConfig {
    fn default() -> Self {
        LossConfig { batch_dice: false, dice_weight: 0.5, bce_weight: 0.5, skeleton_recall_weight: 0.0 }
    }
}

/// What picks the best checkpoint at validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ValSelect {
    /// Mean DSC of the four training classes (left/right artery/vein).
    #[default]
    Classes,
    /// Mean of artery and vein DSC of the two-label output the node delivers (classes merged
    /// as in inference), over the fully labelled validation cases; the four-class mean where
    /// no validation case is fully labelled.
    Labels,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OptimConfig {
    pub lr: f64,
    pub weight_decay: f64,
    pub min_lr: f64,
    pub warmup_steps: u64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    /// Gradients are scaled down to this global L2 norm before each step (0 turns it off).
    pub grad_clip_norm: f64,
}

impl Default for OptimConfig {
    fn default() -> Self {
        OptimConfig { lr: 8e-4, weight_decay: 1e-5, min_lr: 0.0, warmup_steps: 100, beta1: 0.9, beta2: 0.999, eps: 1e-8, grad_clip_norm: 1.0 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    /// Dataset: a manifest (.toml) or a folder with dataset.json.
    pub dataset: PathBuf,
    /// Output folder: checkpoints, logs, plot, cache.
    pub out: PathBuf,
    /// Plugin whose classes, prompts and prompt embeddings the network is trained for.
    pub plugin: PathBuf,
    /// Where prepared cases are cached (default: `<out>/cache`).
    pub cache: Option<PathBuf>,
    pub seed: u64,
    pub split_seed: u64,
    pub split_ratios: SplitRatios,
    pub device: DeviceChoice,
    /// CPU threads for libtorch.
    pub threads: usize,
    /// Forward-pass arithmetic: fp32, bf16 (autocast) or fp16 (autocast with dynamic loss
    /// scaling).
    pub precision: Precision,
    /// Convolution weights and batches in channels-last layout (faster cuDNN kernels with
    /// bf16/fp16 on tensor cores).
    pub channels_last: bool,
    /// Let cuDNN time its convolution algorithms for the patch size and keep the fastest
    /// (CUDA only).
    pub cudnn_benchmark: bool,
    pub epochs: usize,
    pub steps_per_epoch: usize,
    pub batch: usize,
    /// Validation every this many epochs (and after the last).
    pub val_every: usize,
    /// Sliding window for validation and for the checkpoints' plugin files (default: the patch).
    pub infer_window: Option<usize>,
    pub infer_overlap: f64,
    pub half_labeled: HalfLabelPolicy,
    /// The validation score that selects the best checkpoint.
    pub val_select: ValSelect,
    /// Weights (safetensors) whose `backbone.*` tensors initialise the backbone.
    pub init_backbone: Option<PathBuf>,
    /// Weights (safetensors) that initialise the whole network, every tensor with its shape (a
    /// checkpoint of the same network config): fine-tuning trained weights on new data.
    pub init_weights: Option<PathBuf>,
    /// Network; `classes` and `text_dim` are taken from the plugin's embeddings.
    pub network: NetConfig,
    /// Preprocessing; `target_spacing_mm` is the model grid (written to the plugin's
    /// `model.spacing`).
    pub preprocess: PreprocessConfig,
    pub sampling: SamplingConfig,
    pub loader: LoaderConfig,
    pub loss: LossConfig,
    pub optim: OptimConfig,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            dataset: PathBuf::new(),
            out: PathBuf::from("runs/train"),
            plugin: PathBuf::from("plugins/pulmonary-av/plugin.toml"),
            cache: None,
            seed: 1,
            split_seed: 7,
            split_ratios: SplitRatios::default(),
            device: DeviceChoice::Auto,
            threads: 2,
            precision: Precision::Fp32,
            channels_last: false,
            cudnn_benchmark: true,
            epochs: 100,
            steps_per_epoch: 250,
            batch: 2,
            val_every: 5,
            infer_window: None,
            infer_overlap: 0.5,
            half_labeled: HalfLabelPolicy::Mask,
            val_select: ValSelect::Classes,
            init_backbone: None,
            init_weights: None,
            network: NetConfig::default(),
            preprocess: PreprocessConfig { target_spacing_mm: Some([1.0, 1.0, 1.0]), ..PreprocessConfig::default() },
            sampling: SamplingConfig::default(),
            loader: LoaderConfig::default(),
            loss: LossConfig::default(),
            optim: OptimConfig::default(),
        }
    }
}

impl TrainConfig {
    /// Reads a TOML file; relative paths become relative to its folder.
    pub fn from_file(path: &Path) -> Result<Self, TrainError> {
        let text = std::fs::read_to_string(path).map_err(|source| TrainError::ReadFile { path: path.to_owned(), source })?;
        let mut cfg: TrainConfig =
            toml::from_str(&text).map_err(|e| TrainError::Config { path: path.to_owned(), reason: e.to_string() })?;
        let base = path.parent().unwrap_or(Path::new("."));
        for p in [&mut cfg.dataset, &mut cfg.out, &mut cfg.plugin] {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        for p in [&mut cfg.cache, &mut cfg.init_backbone, &mut cfg.init_weights].into_iter().flatten() {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        cfg.validate().map_err(|reason| TrainError::Config { path: path.to_owned(), reason })?;
        Ok(cfg)
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.sampling.patch.iter().any(|&p| p == 0 || p % 8 != 0) {
            return Err(format!("sampling.patch {:?}: each side must be a positive multiple of 8", self.sampling.patch));
        }
        if let Some(w) = self.infer_window {
            if w == 0 || w % 8 != 0 {
                return Err(format!("infer_window {w} must be a positive multiple of 8"));
            }
        }
        if self.epochs == 0 || self.steps_per_epoch == 0 || self.batch == 0 || self.val_every == 0 || self.threads == 0 {
            return Err("epochs, steps_per_epoch, batch, val_every and threads must be at least 1".into());
        }
        if self.loader.prepare_workers == 0 || self.loader.prefetch == 0 {
            return Err("loader.prepare_workers and loader.prefetch must be at least 1".into());
        }
        if self.preprocess.target_spacing_mm.is_none() {
            return Err("preprocess.target_spacing_mm must be given: it is the model grid the plugin records".into());
        }
        if !(self.optim.grad_clip_norm >= 0.0) {
            return Err(format!("optim.grad_clip_norm {} must be 0 (off) or positive", self.optim.grad_clip_norm));
        }
        if self.init_backbone.is_some() && self.init_weights.is_some() {
            return Err("init_backbone and init_weights are both set: init_weights already holds the backbone".into());
        }
        if !(self.optim.lr > 0.0) || self.optim.weight_decay < 0.0 {
            return Err(format!("optim.lr {} must be positive and weight_decay {} not negative", self.optim.lr, self.optim.weight_decay));
        }
        let l = &self.loss;
        if !(l.dice_weight >= 0.0 && l.bce_weight >= 0.0 && l.dice_weight + l.bce_weight > 0.0) {
            return Err(format!("loss.dice_weight {} and loss.bce_weight {} must not be negative and not both 0", l.dice_weight, l.bce_weight));
        }
        if !(l.skeleton_recall_weight >= 0.0 && l.skeleton_recall_weight.is_finite()) {
            return Err(format!("loss.skeleton_recall_weight {} must be a finite number, 0 or more", l.skeleton_recall_weight));
        }
        let z = self.sampling.zoom_range;
        if !(z[0] > 0.0 && z[0] <= z[1]) {
            return Err(format!("sampling.zoom_range {z:?} must be positive and ascending"));
        }
        self.preprocess.validate().map_err(|e| e.to_string())
    }

    /// The sliding window used for validation and written to checkpoint plugins.
    pub fn window(&self) -> usize {
        self.infer_window.unwrap_or_else(|| *self.sampling.patch.iter().max().unwrap_or(&96))
    }

    pub fn cache_dir(&self) -> PathBuf {
        self.cache.clone().unwrap_or_else(|| self.out.join("cache"))
    }

    pub fn total_steps(&self) -> u64 {
        (self.epochs * self.steps_per_epoch) as u64
    }
}

#[cfg(test)]
mod recipe_tests {
    use super::*;

    /// The recipe a site copies parses (every key known, values valid), and every key line in
    /// it has a comment of its own above it (or directly above its group of related keys).
    #[test]
    fn the_family_recipe_parses_and_documents_every_key() {
        recipe_parses_and_documents_every_key("fixtures/family-recipe.toml");
    }

    /// The demo weights' fine-tuning recipe too, and it starts from the earlier demo weights.
    #[test]
    fn the_demo_finetune_recipe_parses_and_documents_every_key() {
        let cfg = recipe_parses_and_documents_every_key("fixtures/demo-finetune.toml");
        let init = cfg.init_weights.expect("init_weights");
        assert!(init.ends_with(".work/demo-init.safetensors"), "{}", init.display());
        assert!(cfg.dataset.ends_with("fixtures/demo-mix.toml"));
    }

    /// The site fine-tuning recipe: the family recipe's 800 steps, from pretrained weights.
    #[test]
    fn the_site_finetune_recipe_parses_and_documents_every_key() {
        let cfg = recipe_parses_and_documents_every_key("fixtures/site-finetune.toml");
        let init = cfg.init_weights.expect("init_weights");
        assert!(init.ends_with(".work/demo-init.safetensors"), "{}", init.display());
        assert_eq!(cfg.epochs * cfg.steps_per_epoch, 800);
    }

    fn recipe_parses_and_documents_every_key(file: &str) -> TrainConfig {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
        let cfg = TrainConfig::from_file(&path).expect("the recipe parses");
        assert!(cfg.loss.batch_dice);
        assert_eq!(cfg.val_select, ValSelect::Labels);
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        let is_key = |l: &str| !l.starts_with('#') && !l.starts_with('[') && l.contains('=');
        let mut undocumented = Vec::new();
        for (n, line) in lines.iter().enumerate() {
            if !is_key(line) {
                continue;
            }
            // Walk up over the keys of the same group to the first line that is not a key.
            let above = lines[..n].iter().rev().find(|l| !is_key(l)).copied().unwrap_or("");
            if !above.starts_with('#') {
                undocumented.push(format!("line {}: {line}", n + 1));
            }
        }
        assert!(undocumented.is_empty(), "keys without a comment: {undocumented:?}");
        // Every section of the recipe is one TrainConfig knows (deny_unknown_fields did that),
        // and the keys the file sets reach the config: a changed value shows.
        let changed = text.replace("batch_dice = true", "batch_dice = false");
        let stem = path.file_stem().unwrap_or_default().to_string_lossy();
        let other = std::env::temp_dir().join(format!("pavseg-{stem}-{}.toml", std::process::id()));
        std::fs::write(&other, changed).unwrap();
        let parsed = TrainConfig::from_file(&other);
        let _ = std::fs::remove_file(&other);
        assert!(!parsed.unwrap().loss.batch_dice);
        cfg
    }

    #[test]
    fn a_negative_skeleton_recall_weight_is_refused_by_name() {
        let mut cfg = TrainConfig::default();
        cfg.loss.skeleton_recall_weight = -0.5;
        let e = cfg.validate().unwrap_err();
        assert!(e.contains("loss.skeleton_recall_weight"), "{e}");
        cfg.loss.skeleton_recall_weight = 0.5;
        assert!(cfg.validate().is_ok());
    }
}
