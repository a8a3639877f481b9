//! The typed contents of a plugin file (`plugin.toml`), one struct per section.

use super::selection::RuleEntry;
use crate::infer::DeviceChoice;
use crate::preprocess::PreprocessConfig;
use crate::seg::SegConfig;
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
    /// `[[selection]]`: every rule must hold for a series to be processed.
    #[serde(default)]
    pub selection: Vec<RuleEntry>,
    /// `[preprocess]`: HU window and vesselness scales; the model grid's voxel size comes from
    /// `model.spacing`.
    #[serde(default)]
    pub preprocess: PreprocessConfig,
    #[serde(default)]
    pub postprocess: PostprocessSection,
    #[serde(default)]
    pub output: OutputSection,
}

/// `[postprocess]`: clean-up of the label map on the source grid.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PostprocessSection {
    /// Connected components (per label, 26-connected) smaller than this are removed, mm³.
    pub min_component_mm3: f64,
    /// One label per vessel branch, decided from the network's probabilities along it
    /// (`pipeline::refine_branches`); junctions keep the network's labels.
    pub refine_branches: bool,
}

impl Default for PostprocessSection {
    fn default() -> Self {
        PostprocessSection { min_component_mm3: 20.0, refine_branches: false }
    }
}

/// `[output]`: what a job produces and where it goes.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutputSection {
    /// Also write the label map as NIfTI into the job folder.
    pub nifti: bool,
    /// Also write a PNG preview into the job folder.
    pub png: bool,
    /// Names of `[[destinations]]` in the node settings that every SEG goes to.
    pub send_to: Vec<String>,
    /// Send the SEG back to the AE that sent the series, when its calling AE title is one of
    /// the node's `[[destinations]]`.
    pub send_back_to_sender: bool,
    /// The DICOM-SEG: series attributes, algorithm and segments (`[output.seg]`,
    /// `[[output.seg.segments]]`).
    pub seg: SegConfig,
}

impl Default for OutputSection {
    fn default() -> Self {
        OutputSection { nifti: false, png: false, send_to: Vec::new(), send_back_to_sender: true, seg: SegConfig::default() }
    }
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
    /// Forward-pass arithmetic: fp32, or autocast to bf16 (fast on CPUs with AMX or
    /// avx512_bf16, and on GPUs) or fp16.
    #[serde(default)]
    pub precision: crate::model::Precision,
    /// Weights and windows in channels-last layout (oneDNN's and cuDNN's fastest 3-D kernels).
    #[serde(default)]
    pub channels_last: bool,
    /// Test-time mirroring: each window also runs mirrored along the patient's left-right axis,
    /// and the two are averaged with the left and right classes swapped back (twice the
    /// forward passes). The classes must pair by name (`left ...` with `right ...`).
    #[serde(default)]
    pub mirror: bool,
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
