//! One plugin made ready to run: its rules checked, its network loaded (strictly), its
//! preprocessing aligned with the grid the network was trained on.

use super::postprocess::to_source_labels;
use super::PipelineError;
use crate::geometry::Geometry;
use crate::infer::{LabelMap, Predictor};
use crate::plugin::selection::{self, Rule};
use crate::plugin::Plugin;
use crate::preprocess::{prepare_grid, PreprocessConfig, VesselnessBackend};
use crate::seg::{self, SegIdentity, Segmentation};
use crate::volume::Volume;
use dicom_object::InMemDicomObject;
use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

/// Wall time of each stage in seconds, in order.
pub type Timings = Vec<(String, f64)>;

/// What one segmentation run produced.
pub struct Outcome {
    /// On the source grid.
    pub labels: LabelMap,
    pub segmentation: Segmentation,
    pub timings: Timings,
}

pub struct Engine {
    pub plugin: Plugin,
    rules: Vec<Rule>,
    preprocess: PreprocessConfig,
    /// One inference at a time: the GPU (or the CPU's threads) is shared by all jobs, while
    /// other stages of other jobs run alongside.
    predictor: Mutex<Predictor>,
}

impl Engine {
    /// Loads the plugin at `path` and its network. Errors name the file and key or tensor.
    pub fn load(path: &Path) -> Result<Engine, PipelineError> {
        let plugin = Plugin::load(path)?;
        let rules = plugin.selection_rules()?;
        let preprocess = plugin.preprocess_config()?;
        plugin.file.output.seg.validate().map_err(|e| PipelineError::Plugin(crate::plugin::PluginError::Invalid {
            path: plugin.path.clone(),
            key: "output.seg".into(),
            reason: e.to_string(),
        }))?;
        let predictor = Predictor::from_plugin(&plugin)?;
        tracing::info!(plugin = %plugin.file.plugin.name, version = %plugin.file.plugin.version, device = ?predictor.device(), "plugin loaded");
        Ok(Engine { plugin, rules, preprocess, predictor: Mutex::new(predictor) })
    }

    pub fn name(&self) -> &str {
        &self.plugin.file.plugin.name
    }

    /// The inference device, as "cpu" or "cuda:N".
    pub fn device_name(&self) -> String {
        match self.lock().map(|p| p.device()) {
            Ok(tch::Device::Cuda(n)) => format!("cuda:{n}"),
            Ok(tch::Device::Cpu) => "cpu".into(),
            Ok(other) => format!("{other:?}").to_lowercase(),
            Err(_) => "unavailable".into(),
        }
    }

    /// Whether this plugin processes a series with this first-slice header and grid; else
    /// the rule that failed.
    pub fn accepts(&self, header: &InMemDicomObject, grid: &Geometry) -> Result<(), String> {
        selection::select(&self.rules, header, grid)
    }

    /// Runs preprocessing, inference and post-processing, and builds the DICOM-SEG.
    pub fn segment(&self, volume: &Volume) -> Result<Outcome, PipelineError> {
        self.segment_with_progress(volume, &|_| {})
    }

    /// [`Self::segment`], calling `stage` with the name of each stage as it starts.
    pub fn segment_with_progress(&self, volume: &Volume, stage: &dyn Fn(&str)) -> Result<Outcome, PipelineError> {
        let mut timings = Timings::new();
        stage("preprocess");
        let device = self.lock()?.device();
        let backend = if device.is_cuda() { VesselnessBackend::Torch(device) } else { VesselnessBackend::Cpu };
        let t = Instant::now();
        let (input, stages) = prepare_grid(volume.hu.view(), &volume.geometry, &self.preprocess, backend)?;
        timings.extend(stages.into_iter().map(|(name, d)| (format!("preprocess.{name}"), d.as_secs_f64())));
        tracing::debug!(seconds = t.elapsed().as_secs_f64(), model_grid = ?input.grid.shape, "preprocessed");
        let t = Instant::now();
        stage("inference");
        tracing::info!(model_grid = ?input.grid.shape, "inference started");
        let probs = {
            let predictor = self.lock()?;
            predictor.predict(input.channels.view(), &input.grid)?
        };
        timings.push(("inference".into(), t.elapsed().as_secs_f64()));
        drop(input.channels);
        let t = Instant::now();
        stage("postprocess");
        let m = &self.plugin.file;
        let labels = to_source_labels(
            &probs,
            &input.to_source,
            &self.plugin.class_labels(),
            m.model.threshold,
            &m.postprocess,
        )?;
        drop(probs);
        timings.push(("postprocess".into(), t.elapsed().as_secs_f64()));
        let t = Instant::now();
        stage("seg");
        let cfg = &m.output.seg;
        let segmentation = seg::build(labels.labels.view(), &volume.geometry, &volume.source, cfg, &SegIdentity::new(cfg))?;
        timings.push(("seg".into(), t.elapsed().as_secs_f64()));
        Ok(Outcome { labels, segmentation, timings })
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Predictor>, PipelineError> {
        self.predictor.lock().map_err(|_| PipelineError::Postprocess("inference lock poisoned by an earlier failure".into()))
    }
}
