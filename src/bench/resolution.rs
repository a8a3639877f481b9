//! `pavseg bench resolution`: what the model grid's spacing and the network's width cost on a
//! whole clinical-size CT, the cost half of the resolution table (the quality half is
//! `pavseg evaluate` of networks trained at each point).
//!
//! For each point (model spacing, base width) the bench writes a plugin that differs from the
//! given one only in `[model] spacing`, `window`, `precision` and a network of that width
//! with random weights (the cost of the arithmetic does not depend on the weights), then runs
//! the node's own pipeline (`Engine::segment`: resampling and vesselness, sliding-window
//! inference, post-processing, SEG) on the CT and reports each stage. A point whose inference
//! would take longer than `max_run_s` (from one timed window times the window count) is only
//! estimated. The arithmetic of one window is counted by PyTorch's FlopCounterMode on the
//! reference network (`lacaf_torch.py flops`), which gives the whole CT's FLOPs and a GPU
//! estimate at a stated share of the GPU's peak.

use super::{lacaf_command, run_reference, BenchError};
use crate::infer::DeviceChoice;
use crate::model::{NetConfig, Precision};
use crate::preprocess::Downsample;
use crate::pipeline::Engine;
use crate::volume::Volume;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// One point of the table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Isotropic model grid spacing, mm.
    pub spacing_mm: f64,
    pub base_width: usize,
}

impl std::str::FromStr for Point {
    type Err = String;
    /// `SPACING:BASE`, e.g. `1.5:16`.
    fn from_str(s: &str) -> Result<Self, String> {
        let (a, b) = s.split_once(':').ok_or_else(|| format!("`{s}`: expected SPACING_MM:BASE_WIDTH, e.g. 1.5:16"))?;
        let spacing_mm: f64 = a.trim().parse().map_err(|e| format!("`{s}`: spacing `{a}`: {e}"))?;
        let base_width: usize = b.trim().parse().map_err(|e| format!("`{s}`: base width `{b}`: {e}"))?;
        if !(0.3..=10.0).contains(&spacing_mm) || base_width == 0 || base_width % 8 != 0 {
            return Err(format!("`{s}`: spacing must be 0.3..10 mm and the base width a positive multiple of 8"));
        }
        Ok(Point { spacing_mm, base_width })
    }
}

#[derive(Debug, Clone)]
pub struct Options {
    /// The plugin whose classes, prompts, preprocessing and post-processing every point shares.
    pub plugin: PathBuf,
    pub points: Vec<Point>,
    pub threads: usize,
    /// Sliding-window side in voxels at every point.
    pub window: usize,
    pub precision: Precision,
    /// How the CT reaches the coarser model grids.
    pub downsample: Downsample,
    /// Points whose inference is estimated above this many seconds are not run whole.
    pub max_run_s: f64,
    /// Where the per-point plugins are written.
    pub work: PathBuf,
    /// Python and folder of `lacaf_torch.py` for the FLOP count (None: no count).
    pub flops: Option<(PathBuf, PathBuf)>,
    /// Sustained share of the GPU's dense bf16 peak assumed by the GPU estimate.
    pub gpu_utilisation: f64,
}

/// Dense bf16 tensor-core peak of an NVIDIA H100 SXM, FLOP/s (NVIDIA's data sheet: 989.4
/// TFLOPS without sparsity).
pub const H100_BF16_DENSE_FLOPS: f64 = 989.4e12;

/// The measured or estimated cost of one point.
#[derive(Debug, Clone)]
pub struct Row {
    pub point: Point,
    pub model_grid: [usize; 3],
    pub params: usize,
    pub windows: usize,
    pub window_s: f64,
    /// `(stage, seconds)` of the whole pipeline when it ran; None when only estimated.
    pub stages: Option<Vec<(String, f64)>>,
    /// Inference seconds: measured when the pipeline ran, else windows x window time.
    pub inference_s: f64,
    /// Seconds of everything but inference: measured, or taken from a measured point of the
    /// same spacing (they do not depend on the width).
    pub other_s: Option<f64>,
    /// GFLOP of one window's forward pass (multiply-add = 2), if counted.
    pub window_gflop: Option<f64>,
}

impl Row {
    /// TFLOP of the whole CT's forward passes.
    pub fn whole_tflop(&self) -> Option<f64> {
        self.window_gflop.map(|g| g * self.windows as f64 / 1e3)
    }

    /// Seconds of the whole CT's forward passes on an H100 at `utilisation` of its bf16 peak.
    pub fn gpu_estimate_s(&self, utilisation: f64) -> Option<f64> {
        self.whole_tflop().map(|t| t * 1e12 / (H100_BF16_DENSE_FLOPS * utilisation))
    }
}

fn tensor(action: &'static str) -> impl Fn(tch::TchError) -> BenchError {
    move |source| BenchError::Tensor { action, source }
}

fn io(what: &Path, e: impl std::fmt::Display) -> BenchError {
    BenchError::Point { path: what.to_path_buf(), reason: e.to_string() }
}

/// Writes the plugin folder of one point: a copy of `plugin`'s file with the point's grid,
/// window and precision, pointing at a random network of the point's width.
pub fn write_point_plugin(plugin: &Path, point: Point, window: usize, precision: Precision, downsample: Downsample, dir: &Path) -> Result<PathBuf, BenchError> {
    let source = crate::plugin::Plugin::load(plugin).map_err(|e| io(plugin, e))?;
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    // The plugin names its files by absolute path: relative ones would be read from its folder.
    let dir = &std::path::absolute(dir).map_err(|e| io(dir, e))?;
    let mut cfg = NetConfig::from_json_file(&source.file.model.config)?;
    cfg.base_width = point.base_width;
    let text = tch::Tensor::f_randn([cfg.classes as i64, cfg.text_dim as i64], (tch::Kind::Float, tch::Device::Cpu))
        .map_err(tensor("drawing text embeddings"))?;
    tch::manual_seed(0);
    let vs = tch::nn::VarStore::new(tch::Device::Cpu);
    crate::model::Lacaf::new(&cfg, &vs.root(), &text)?;
    let (weights, config) = (dir.join("weights.safetensors"), dir.join("model.json"));
    crate::model::save(&vs, &cfg, &weights, &config)?;

    let text = std::fs::read_to_string(plugin).map_err(|e| io(plugin, e))?;
    let mut doc: toml::Table = text.parse().map_err(|e| io(plugin, e))?;
    let model = doc.get_mut("model").and_then(|m| m.as_table_mut()).ok_or_else(|| io(plugin, "no [model] table"))?;
    let abs = |p: &Path| toml::Value::String(p.display().to_string());
    model.insert("config".into(), abs(&config));
    model.insert("weights".into(), abs(&weights));
    model.insert("embeddings".into(), abs(&std::path::absolute(&source.file.model.embeddings).map_err(|e| io(plugin, e))?));
    model.insert("spacing".into(), toml::Value::Array(vec![toml::Value::Float(point.spacing_mm); 3]));
    model.insert("window".into(), toml::Value::Integer(window as i64));
    model.insert("device".into(), toml::Value::String("cpu".into()));
    model.insert("precision".into(), toml::Value::try_from(precision).map_err(|e| io(plugin, e))?);
    let preprocess = doc.entry("preprocess").or_insert_with(|| toml::Value::Table(toml::Table::new()));
    if let Some(t) = preprocess.as_table_mut() {
        t.insert("downsample".into(), toml::Value::try_from(downsample).map_err(|e| io(plugin, e))?);
    }
    let path = dir.join("plugin.toml");
    std::fs::write(&path, toml::to_string(&doc).map_err(|e| io(&path, e))?).map_err(|e| io(&path, e))?;
    Ok(path)
}

/// GFLOP of one `window`^3 forward pass of the network `net`, counted by the reference.
fn count_gflop(python: &Path, reference: &Path, net: &NetConfig, window: usize) -> Result<f64, BenchError> {
    let script = reference.join("lacaf_torch.py");
    if !script.exists() {
        return Err(BenchError::MissingReference(script));
    }
    let mut cmd = lacaf_command(python, &script, "flops", window, net, 1, 1);
    let fields = run_reference(&mut cmd)?;
    fields.get(1).and_then(|s| s.parse().ok()).ok_or(BenchError::Reference { command: format!("{cmd:?}"), reason: format!("no GFLOP in {fields:?}") })
}

/// Runs every point on `volume` (its CT already assembled).
pub fn run(o: &Options, volume: &Volume) -> Result<Vec<Row>, BenchError> {
    tch::set_num_threads(o.threads as i32);
    let mut rows = Vec::new();
    for &point in &o.points {
        let dir = o.work.join(format!("s{}_b{}", point.spacing_mm, point.base_width));
        let plugin = write_point_plugin(&o.plugin, point, o.window, o.precision, o.downsample, &dir)?;
        let cfg = NetConfig::from_json_file(&dir.join("model.json"))?;
        let spacing = [point.spacing_mm; 3];
        let timing = super::infer::run(&super::infer::Options {
            reference: PathBuf::new(),
            python: PathBuf::new(),
            net: cfg.clone(),
            window: o.window,
            threads: o.threads,
            reps: 1,
            rounds: 1,
            device: DeviceChoice::Cpu,
            half: false,
            precision: o.precision,
            channels_last: false,
            ct_shape: volume.geometry.shape,
            ct_spacing: volume.geometry.spacing,
            model_spacing: spacing,
            overlap: crate::plugin::Plugin::load(&plugin).map_err(|e| io(&plugin, e))?.file.model.overlap,
            batch: 1,
            whole: false,
            no_reference: true,
        })?;
        let window_gflop = match &o.flops {
            Some((python, reference)) => Some(count_gflop(python, reference, &cfg, o.window)?),
            None => None,
        };
        let mut row = Row {
            point,
            model_grid: timing.model_grid,
            params: timing.params,
            windows: timing.windows,
            window_s: timing.ours_window_s,
            stages: None,
            inference_s: timing.estimate_s,
            other_s: None,
            window_gflop,
        };
        if timing.estimate_s <= o.max_run_s {
            let engine = Engine::load(&plugin).map_err(|e| io(&plugin, e))?;
            let t = Instant::now();
            let outcome = engine.segment(volume).map_err(|e| io(&plugin, e))?;
            let total = t.elapsed().as_secs_f64();
            let inference: f64 = outcome.timings.iter().filter(|(s, _)| s == "inference").map(|(_, s)| s).sum();
            row.inference_s = inference;
            row.other_s = Some(total - inference);
            row.stages = Some(outcome.timings);
        } else {
            // The stages around the network depend on the grid, not on the width: take them
            // from a point of the same spacing that ran.
            row.other_s = rows.iter().find(|r: &&Row| r.point.spacing_mm == point.spacing_mm && r.stages.is_some()).and_then(|r| r.other_s);
        }
        println!("{}", describe(&row, o.gpu_utilisation));
        rows.push(row);
    }
    Ok(rows)
}

/// One `RESULT` line per point.
pub fn describe(r: &Row, utilisation: f64) -> String {
    let p = r.point;
    let mut s = format!(
        "RESULT point spacing={} base={} grid={:?} params={} windows={} window_s={:.3} inference_s={:.1}{}",
        p.spacing_mm,
        p.base_width,
        r.model_grid,
        r.params,
        r.windows,
        r.window_s,
        r.inference_s,
        if r.stages.is_some() { " (measured)" } else { " (estimated)" }
    );
    if let Some(o) = r.other_s {
        s += &format!(" other_stages_s={o:.1} total_s={:.1}", o + r.inference_s);
    }
    if let (Some(g), Some(t), Some(gpu)) = (r.window_gflop, r.whole_tflop(), r.gpu_estimate_s(utilisation)) {
        s += &format!(" window_gflop={g:.1} whole_tflop={t:.1} h100_estimate_ms={:.0}", gpu * 1e3);
    }
    for (stage, secs) in r.stages.iter().flatten() {
        s += &format!(" {stage}={secs:.2}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_parse_and_bad_ones_name_the_fault() {
        assert_eq!("1.5:16".parse::<Point>().unwrap(), Point { spacing_mm: 1.5, base_width: 16 });
        assert!("1.5".parse::<Point>().unwrap_err().contains("SPACING_MM:BASE_WIDTH"));
        assert!("x:8".parse::<Point>().unwrap_err().contains("spacing `x`"));
        assert!("2:12".parse::<Point>().unwrap_err().contains("multiple of 8"));
    }

    #[test]
    fn a_point_plugin_is_the_shipped_plugin_with_the_points_grid_and_width() {
        let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("plugins/pulmonary-av/plugin.toml");
        // A relative folder, as `--work` is by default.
        let dir = PathBuf::from(format!("target/pavseg-resolution-test-{}", std::process::id()));
        let point = Point { spacing_mm: 2.0, base_width: 16 };
        let path = write_point_plugin(&shipped, point, 48, Precision::Bf16, Downsample::Area, &dir).unwrap();
        let engine = Engine::load(&path).unwrap();
        let (a, b) = (&engine.plugin.file, &crate::plugin::Plugin::load(&shipped).unwrap().file);
        assert_eq!(a.model.spacing, [2.0; 3]);
        assert_eq!((a.model.window, a.model.precision), (48, Precision::Bf16));
        assert_eq!(NetConfig::from_json_file(&a.model.config).unwrap().base_width, 16);
        assert_eq!(a.preprocess.downsample, Downsample::Area);
        let same_otherwise = crate::preprocess::PreprocessConfig { downsample: b.preprocess.downsample, ..a.preprocess.clone() };
        assert_eq!((&a.classes, &same_otherwise, &a.postprocess), (&b.classes, &b.preprocess, &b.postprocess));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
