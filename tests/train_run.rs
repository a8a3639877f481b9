//! Short training runs on tiny phantoms: the loss goes down, a run stopped and resumed from its
//! checkpoint continues from the saved step and ends with the same weights as an uninterrupted
//! run, and the checkpoint is a plugin that `pavseg evaluate` runs.

mod common;

use pavseg::phantom::PhantomParams;
use pavseg::plugin::Plugin;
use pavseg::text::PromptEmbeddings;
use pavseg::train::dataset::{LabeledSide, Split};
use pavseg::train::phantoms::{make_phantom_dataset, PhantomCase};
use pavseg::train::{self, RunOptions, TrainConfig};
use std::path::Path;
use std::process::Command;

const TEXT_DIM: usize = 16;

/// A plugin like pulmonary-av's but with small deterministic prompt embeddings.
fn tiny_plugin(dir: &Path) -> std::path::PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("plugins/pulmonary-av/plugin.toml");
    let plugin = Plugin::load(&src).expect("pulmonary-av plugin");
    let data = ndarray::Array2::from_shape_fn((4, TEXT_DIM), |(k, d)| (((k * 31 + d * 17) % 13) as f32 - 6.0) / 6.0);
    let emb = PromptEmbeddings {
        encoder: "test".into(),
        encoder_weights: "deterministic".into(),
        template: plugin.file.prompts.template.clone(),
        classes: plugin.class_names(),
        prompts: plugin.prompts(),
        data,
    };
    emb.write(&dir.join("embeddings.safetensors")).unwrap();
    let text = std::fs::read_to_string(&src).unwrap();
    let path = dir.join("plugin.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn tiny_config(work: &Path, out: &str) -> TrainConfig {
    let params = PhantomParams { seed: 0, slices: 24, rows: 40, cols: 40, pixel_spacing: 8.0, slice_spacing: 8.0, feet_first: false, ..Default::default() };
    let data = work.join("data");
    if !data.join("manifest.toml").exists() {
        let cases = [
            PhantomCase { seed: 1, split: Split::Train, labeled_side: LabeledSide::Both },
            PhantomCase { seed: 2, split: Split::Train, labeled_side: LabeledSide::Left },
            PhantomCase { seed: 3, split: Split::Val, labeled_side: LabeledSide::Both },
            PhantomCase { seed: 4, split: Split::Test, labeled_side: LabeledSide::Both },
        ];
        make_phantom_dataset(&data, &cases, &params).expect("phantom dataset");
    }
    let mut cfg = TrainConfig {
        dataset: data.join("manifest.toml"),
        out: work.join(out),
        plugin: tiny_plugin(work),
        cache: Some(work.join("cache")),
        device: pavseg::infer::DeviceChoice::Cpu,
        threads: 1,
        epochs: 3,
        steps_per_epoch: 4,
        batch: 2,
        val_every: 3,
        ..TrainConfig::default()
    };
    cfg.network.base_width = 4;
    cfg.network.norm_groups = 4;
    cfg.network.text_heads = 4;
    cfg.preprocess.target_spacing_mm = Some([8.0, 8.0, 8.0]);
    cfg.preprocess.vesselness_scales_mm = vec![8.0];
    cfg.sampling.patch = [16, 16, 16];
    cfg.sampling.foreground_fraction = 1.0;
    cfg.optim.lr = 3e-3;
    cfg.optim.warmup_steps = 2;
    cfg
}

fn opts(resume: bool, stop: Option<usize>) -> RunOptions {
    RunOptions { resume, command: "test".into(), progress: false, stop_after_epoch: stop }
}

#[test]
fn loss_goes_down_on_a_tiny_phantom() {
    let tmp = common::TempDir::new("train-loss");
    let mut cfg = tiny_config(tmp.path(), "run");
    cfg.preprocess.downsample = pavseg::preprocess::Downsample::Area;
    cfg.epochs = 5;
    cfg.steps_per_epoch = 6;
    cfg.val_every = 5;
    let s = train::train(&cfg, &opts(false, None)).expect("training");
    let losses: Vec<f64> = s.history.iter().map(|r| r.loss).collect();
    assert_eq!(losses.len(), 5);
    assert!(losses[4] < losses[0] * 0.9, "loss did not go down: {losses:?}");
    assert!(s.history[4].val_dsc.is_some());
    for f in ["best/plugin.toml", "best/weights.safetensors", "best/model.json", "best/embeddings.safetensors", "last/optimizer.safetensors", "log.jsonl", "curves.png"] {
        assert!(cfg.out.join(f).exists(), "{f} missing");
    }
    let log = std::fs::read_to_string(cfg.out.join("log.jsonl")).unwrap();
    assert_eq!(log.lines().count(), 5);
    // The checkpoint's plugin records the training's preprocessing (here a vesselness scale
    // and a downsampling that differ from the plugin defaults), so inference meets its input.
    let checkpoint = Plugin::load(&cfg.out.join("best/plugin.toml")).unwrap();
    assert_eq!(checkpoint.preprocess_config().unwrap(), cfg.preprocess);
    // ... and infers as the plugin it was trained for: pulmonary-av mirrors its windows.
    let source = Plugin::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("plugins/pulmonary-av/plugin.toml")).unwrap();
    assert!(source.file.model.mirror);
    assert_eq!(checkpoint.infer_settings().unwrap().mirror, Some(vec![2, 3, 0, 1]));
    // The checkpoint is a plugin: evaluate runs it through the node's segmentation path.
    let out = Command::new(common::BIN)
        .args(["evaluate", "--model"])
        .arg(cfg.out.join("best"))
        .arg("--dataset")
        .arg(&cfg.dataset)
        .args(["--split", "test", "--threads", "1", "--json"])
        .arg(tmp.path().join("eval.json"))
        .output()
        .expect("run pavseg evaluate");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Artery") && stdout.contains("Mean DSC"), "{stdout}");
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(tmp.path().join("eval.json")).unwrap()).unwrap();
    assert_eq!(report["cases"].as_array().unwrap().len(), 1);
    assert!(report["summary"]["artery"]["dsc"]["mean"].as_f64().is_some());
}

#[test]
fn resume_continues_from_the_saved_step() {
    let tmp = common::TempDir::new("train-resume");
    let straight = tiny_config(tmp.path(), "straight");
    let whole = train::train(&straight, &opts(false, None)).expect("uninterrupted run");
    let parts = tiny_config(tmp.path(), "parts");
    let first = train::train(&parts, &opts(false, Some(2))).expect("first part");
    assert_eq!((first.history.len(), first.steps), (2, 8));
    let state = pavseg::train::checkpoint::read_state(&parts.out.join("last")).unwrap();
    assert_eq!((state.epoch, state.step), (2, 8));
    let second = train::train(&parts, &opts(true, None)).expect("resumed run");
    assert_eq!(second.steps, 12);
    assert_eq!(second.history.iter().map(|r| r.step).collect::<Vec<_>>(), vec![4, 8, 12]);
    assert_eq!(second.history[..2], first.history[..], "resuming keeps the history");
    for (a, b) in whole.history.iter().zip(&second.history) {
        assert!((a.loss - b.loss).abs() < 1e-5 * a.loss.abs().max(1.0), "epoch {}: {} vs {}", a.epoch, a.loss, b.loss);
    }
    let read = |p: &Path| std::fs::read(p.join("last/weights.safetensors")).unwrap();
    let (wa, wb) = (read(&straight.out), read(&parts.out));
    let sa = safetensors::SafeTensors::deserialize(&wa).unwrap();
    let sb = safetensors::SafeTensors::deserialize(&wb).unwrap();
    for (name, va) in sa.tensors() {
        let vb = sb.tensor(&name).unwrap();
        let fa: Vec<f32> = va.data().chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        let fb: Vec<f32> = vb.data().chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        let diff = fa.iter().zip(&fb).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(diff < 1e-4, "{name} differs by {diff} after resuming");
    }
    // Resuming without a checkpoint is an error naming what is missing.
    let mut fresh = tiny_config(tmp.path(), "none");
    fresh.epochs = 1;
    let err = train::train(&fresh, &opts(true, None)).err().expect("no checkpoint to resume");
    assert!(err.to_string().contains("checkpoint.json"), "{err}");
}

#[test]
fn bf16_and_fp16_autocast_with_channels_last_train_on_the_cpu_and_log_the_data_wait() {
    let tmp = common::TempDir::new("train-precision");
    for (name, precision) in [("bf16", pavseg::model::Precision::Bf16), ("fp16", pavseg::model::Precision::Fp16)] {
        let mut cfg = tiny_config(tmp.path(), name);
        cfg.epochs = 2;
        cfg.val_every = 2;
        cfg.precision = precision;
        cfg.channels_last = true;
        cfg.loader.workers = 2;
        let s = train::train(&cfg, &opts(false, None)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(s.steps, 8, "{name}");
        for r in &s.history {
            assert!(r.loss.is_finite() && r.loss > 0.0, "{name}: loss {}", r.loss);
            let w = r.data_wait.expect("data wait recorded");
            assert!((0.0..=1.0).contains(&w), "{name}: data wait {w}");
        }
        assert!(s.history[1].val_dsc.is_some_and(f64::is_finite), "{name}");
        let log = std::fs::read_to_string(cfg.out.join("log.jsonl")).unwrap();
        assert!(log.lines().all(|l| l.contains("\"data_wait\":")), "{log}");
        let state = pavseg::train::checkpoint::read_state(&cfg.out.join("last")).unwrap();
        match precision {
            pavseg::model::Precision::Fp16 => {
                let scaler = state.loss_scale.expect("fp16 keeps its loss scale in the checkpoint");
                assert!(scaler.scale >= 1.0 && scaler.scale <= 65536.0, "{}", scaler.scale);
            }
            _ => assert!(state.loss_scale.is_none()),
        }
        // The master weights stay float32, whatever the forward pass ran in.
        let bytes = std::fs::read(cfg.out.join("last/weights.safetensors")).unwrap();
        let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        assert!(st.tensors().iter().all(|(_, t)| t.dtype() != safetensors::Dtype::BF16 && t.dtype() != safetensors::Dtype::F16), "{name}");
    }
}

#[test]
fn init_weights_starts_a_run_from_a_checkpoint_and_refuses_another_network() {
    let tmp = common::TempDir::new("train-init-weights");
    let first = tiny_config(tmp.path(), "first");
    train::train(&first, &opts(false, None)).expect("first run");
    let saved = first.out.join("last/weights.safetensors");

    // One step at a vanishing learning rate: the fine-tuned run ends where the checkpoint was,
    // so every tensor of the network came from it (a fresh initialisation is far away).
    let mut tuned = tiny_config(tmp.path(), "tuned");
    tuned.init_weights = Some(saved.clone());
    (tuned.epochs, tuned.steps_per_epoch, tuned.val_every, tuned.optim.warmup_steps) = (1, 1, 1, 0);
    tuned.optim.lr = 1e-12;
    train::train(&tuned, &opts(false, None)).expect("fine-tuning run");
    let read = |p: &Path| std::fs::read(p).unwrap();
    let (wa, wb) = (read(&saved), read(&tuned.out.join("last/weights.safetensors")));
    let sa = safetensors::SafeTensors::deserialize(&wa).unwrap();
    let sb = safetensors::SafeTensors::deserialize(&wb).unwrap();
    assert_eq!(sa.len(), sb.len());
    let mut outside_backbone = 0;
    for (name, va) in sa.tensors() {
        let vb = sb.tensor(&name).unwrap();
        let f = |d: &[u8]| d.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect::<Vec<f32>>();
        let diff = f(va.data()).iter().zip(&f(vb.data())).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(diff < 1e-6, "{name} moved by {diff}: not initialised from the checkpoint");
        outside_backbone += usize::from(!name.starts_with("backbone."));
    }
    assert!(outside_backbone > 0, "the checkpoint holds only backbone tensors");

    // Another network (base width 8) cannot take these weights: the error names the file.
    let mut wider = tiny_config(tmp.path(), "wider");
    wider.network.base_width = 8;
    wider.init_weights = Some(saved.clone());
    let err = train::train(&wider, &opts(false, None)).err().expect("shape mismatch refused");
    assert!(err.to_string().contains("initialising the network from") && err.to_string().contains("weights.safetensors"), "{err}");

    // init_backbone and init_weights together are refused by name.
    let mut both = tiny_config(tmp.path(), "both");
    both.init_backbone = Some(saved.clone());
    both.init_weights = Some(saved);
    let err = both.validate().err().expect("both keys refused");
    assert!(err.contains("init_backbone") && err.contains("init_weights"), "{err}");
}
