//! Plugins: a folder with `plugin.toml` that says what to segment (classes, prompts) and with
//! which network. [`Plugin::load`] parses and checks the file and resolves its paths.

mod manifest;
mod mirror;
pub mod selection;

pub use mirror::mirror_partners;
pub use manifest::{ClassEntry, ModelSection, OutputSection, PluginFile, PluginInfo, PostprocessSection, PromptSection};

use crate::infer::InferSettings;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    #[error("reading plugin file {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("parsing plugin file {}: {source}", path.display())]
    Parse { path: PathBuf, source: toml::de::Error },
    #[error("plugin file {}: `{key}` {reason}", path.display())]
    Invalid { path: PathBuf, key: String, reason: String },
}

/// A loaded plugin: the file's contents with the model paths made absolute.
#[derive(Debug, Clone, PartialEq)]
pub struct Plugin {
    /// The plugin file itself.
    pub path: PathBuf,
    pub file: PluginFile,
}

impl Plugin {
    pub fn load(path: &Path) -> Result<Self, PluginError> {
        let text = std::fs::read_to_string(path).map_err(|source| PluginError::Read { path: path.to_owned(), source })?;
        Self::parse(path, &text)
    }

    /// Parses `text` as the contents of `path` (which anchors the relative paths).
    pub fn parse(path: &Path, text: &str) -> Result<Self, PluginError> {
        let mut file: PluginFile = toml::from_str(text).map_err(|source| PluginError::Parse { path: path.to_owned(), source })?;
        let invalid = |key: &str, reason: String| PluginError::Invalid { path: path.to_owned(), key: key.to_owned(), reason };
        if !file.prompts.template.contains(crate::text::PLACEHOLDER) {
            return Err(invalid("prompts.template", format!("must contain {}", crate::text::PLACEHOLDER)));
        }
        if file.classes.is_empty() {
            return Err(invalid("classes", "must list at least one class".into()));
        }
        for (n, c) in file.classes.iter().enumerate() {
            if c.name.trim().is_empty() {
                return Err(invalid(&format!("classes[{n}].name"), "must not be empty".into()));
            }
            if c.label == 0 {
                return Err(invalid(&format!("classes[{n}].label"), "must be 1..=255 (0 is background)".into()));
            }
        }
        let m = &file.model;
        if m.window == 0 || m.window % 8 != 0 {
            return Err(invalid("model.window", format!("{} is not a positive multiple of 8", m.window)));
        }
        if !(0.0..1.0).contains(&m.overlap) {
            return Err(invalid("model.overlap", format!("{} is not in [0, 1)", m.overlap)));
        }
        if m.batch == 0 {
            return Err(invalid("model.batch", "must be at least 1".into()));
        }
        if !(m.threshold > 0.0 && m.threshold < 1.0) {
            return Err(invalid("model.threshold", format!("{} is not in (0, 1)", m.threshold)));
        }
        if m.spacing.iter().any(|&s| !(s > 0.0 && s.is_finite())) {
            return Err(invalid("model.spacing", format!("{:?} must be positive millimetres", m.spacing)));
        }
        mirror_setting(path, &file)?;
        for (n, rule) in file.selection.iter().enumerate() {
            selection::Rule::from_entry(rule).map_err(|reason| invalid(&format!("selection[{n}]"), reason))?;
        }
        if let Some(s) = file.preprocess.target_spacing_mm {
            if s != m.spacing {
                return Err(invalid("preprocess.target_spacing_mm", format!("{s:?} differs from model.spacing {:?}; leave it out", m.spacing)));
            }
        }
        file.preprocess.validate().map_err(|e| invalid("preprocess", e.to_string()))?;
        if file.postprocess.min_component_mm3 < 0.0 || !file.postprocess.min_component_mm3.is_finite() {
            return Err(invalid("postprocess.min_component_mm3", "must be a non-negative number".into()));
        }
        file.output.seg.validate().map_err(|e| invalid("output.seg", e.to_string()))?;
        let labels: std::collections::BTreeSet<u8> = file.classes.iter().map(|c| c.label).collect();
        for l in &labels {
            if !file.output.seg.segments.iter().any(|s| s.label_value == *l) {
                return Err(invalid("output.seg.segments", format!("no segment has label_value {l}, which a class produces")));
            }
        }
        let base = path.parent().unwrap_or(Path::new("."));
        for p in [&mut file.model.config, &mut file.model.weights, &mut file.model.embeddings] {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        Ok(Plugin { path: path.to_owned(), file })
    }

    /// The selection rules, checked.
    pub fn selection_rules(&self) -> Result<Vec<selection::Rule>, PluginError> {
        self.file
            .selection
            .iter()
            .enumerate()
            .map(|(n, r)| {
                selection::Rule::from_entry(r).map_err(|reason| PluginError::Invalid {
                    path: self.path.clone(),
                    key: format!("selection[{n}]"),
                    reason,
                })
            })
            .collect()
    }

    /// Preprocessing with the model grid's voxel size.
    pub fn preprocess_config(&self) -> Result<crate::preprocess::PreprocessConfig, PluginError> {
        Ok(crate::preprocess::PreprocessConfig { target_spacing_mm: Some(self.file.model.spacing), ..self.file.preprocess.clone() })
    }

    pub fn class_names(&self) -> Vec<String> {
        self.file.classes.iter().map(|c| c.name.clone()).collect()
    }

    pub fn class_labels(&self) -> Vec<u8> {
        self.file.classes.iter().map(|c| c.label).collect()
    }

    /// The prompts, one per class.
    pub fn prompts(&self) -> Vec<String> {
        let t = &self.file.prompts.template;
        self.file.classes.iter().map(|c| t.replace(crate::text::PLACEHOLDER, &c.name)).collect()
    }

    /// The inference settings, with the left/right class partners where `model.mirror` is on
    /// (checked again here: `file` is public, so it may have changed since `parse`).
    pub fn infer_settings(&self) -> Result<InferSettings, PluginError> {
        let m = &self.file.model;
        let mirror = mirror_setting(&self.path, &self.file)?;
        Ok(InferSettings { device: m.device, window: m.window, overlap: m.overlap, batch: m.batch, half: m.half, precision: m.precision, channels_last: m.channels_last, mirror })
    }
}

/// The left/right class partners where `model.mirror` is on; a plugin whose classes do not
/// pair is refused naming the key (at parse, and again for the inference settings).
fn mirror_setting(path: &Path, file: &PluginFile) -> Result<Option<Vec<usize>>, PluginError> {
    if !file.model.mirror {
        return Ok(None);
    }
    let names: Vec<String> = file.classes.iter().map(|c| c.name.clone()).collect();
    mirror_partners(&names).map(Some).map_err(|reason| PluginError::Invalid { path: path.to_owned(), key: "model.mirror".into(), reason })
}
