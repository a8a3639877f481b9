//! The typed contents of a plugin file (`plugin.toml`), one struct per section.

use crate::infer::DeviceChoice;
use serde::Deserialize;
use std::path::PathBuf;

/// The whole file. Sections the node does not know are rejected, so a typo never goes unnoticed.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginFile {
    pub plugin: PluginInfo,
    pub prompts: PromptSection,
    /// The network's output classes in channel order (`[[classes]]`).
    pub classes: Vec<ClassEntry>,
    pub model: ModelSection,
}

/// `[plugin]`: identity.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginInfo {
    pub name: String,
    pub version: String,
}

/// `[prompts]`: how class names become text prompts.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromptSection {
    /// Sentence with a `{class}` placeholder.
    pub template: String,
}

/// `[[classes]]`: one network output channel.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassEntry {
    /// Class name as it enters the prompt (e.g. "left pulmonary artery").
    pub name: String,
    /// Output label this class merges into (1 artery, 2 vein).
    pub label: u8,
}

/// `[model]`: the network and how to run it. Paths are relative to the plugin file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSection {
    /// Network configuration (JSON, see `model::NetConfig`).
    pub config: PathBuf,
    /// Weights (safetensors).
    pub weights: PathBuf,
    /// Prompt embeddings written by `pavseg embed`.
    pub embeddings: PathBuf,
    /// Voxel spacing `[k, j, i]` in mm of the grid that the network was trained on.
    pub spacing: [f64; 3],
    #[serde(default)]
    pub device: DeviceChoice,
    /// Sliding-window side in voxels (a multiple of 8).
    #[serde(default = "default_window")]
    pub window: usize,
    #[serde(default = "default_overlap")]
    pub overlap: f64,
    /// Windows per forward pass.
    #[serde(default = "default_batch")]
    pub batch: usize,
    /// Mixed precision on CUDA.
    #[serde(default)]
    pub half: bool,
    /// Probability at or above which a voxel belongs to a class.
    #[serde(default = "default_threshold")]
    pub threshold: f32,
}

fn default_window() -> usize {
    96
}

fn default_overlap() -> f64 {
    0.5
}

fn default_batch() -> usize {
    1
}

fn default_threshold() -> f32 {
    0.5
}
