//! The fusion network: shapes, architecture, gradients, weight files, and equality with the
//! PyTorch reference (fixtures/model/, made by make_lacaf_golden.py).

mod common;

use pavseg::model::{self, Fusion, Lacaf, NetConfig, Norm};
use pavseg::weights::{self, WeightsError};
use std::collections::{BTreeMap, HashMap};
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

fn small(norm: Norm, fusion: Fusion) -> NetConfig {
    NetConfig { base_width: 4, text_dim: 16, classes: 3, text_heads: 4, norm_groups: 4, norm, fusion, ..NetConfig::default() }
}

/// A network whose text embeddings and trainable weights come from `seed`'s stream.
fn build(cfg: &NetConfig, seed: u64) -> (VarStore, Lacaf) {
    let mut stream = common::Stream::new(seed);
    let vs = VarStore::new(Device::Cpu);
    let text = stream.tensor(&[cfg.classes as i64, cfg.text_dim as i64], 1.0);
    let net = Lacaf::new(cfg, &vs.root(), &text).expect("building the network");
    common::fill_trainable(&vs, &mut stream, 0.3);
    (vs, net)
}

fn input(shape: [i64; 5], seed: u64) -> Tensor {
    common::Stream::new(seed + 1000).tensor(&shape, 1.0)
}

#[test]
fn output_shapes_follow_the_input() {
    for fusion in [Fusion::CrossAttention, Fusion::Concat] {
        for norm in [Norm::Instance, Norm::Batch] {
            let cfg = small(norm, fusion);
            let (_vs, net) = build(&cfg, 1);
            for shape in [[1, 2, 8, 8, 8], [2, 2, 16, 8, 24], [1, 2, 24, 16, 8]] {
                let out = tch::no_grad(|| net.forward(&input(shape, 2), false)).expect("forward");
                assert_eq!(out.size(), vec![shape[0], 3, shape[2], shape[3], shape[4]], "{fusion:?} {norm:?} {shape:?}");
                assert!(out.isfinite().all().int64_value(&[]) == 1);
            }
        }
    }
}

#[test]
fn bad_inputs_are_errors_not_panics() {
    let (_vs, net) = build(&small(Norm::Instance, Fusion::CrossAttention), 1);
    for shape in [vec![1i64, 2, 12, 8, 8], vec![1, 3, 8, 8, 8], vec![2, 8, 8, 8], vec![1, 2, 0, 8, 8]] {
        let x = Tensor::zeros(shape.as_slice(), (Kind::Float, Device::Cpu));
        let err = net.forward(&x, false).expect_err("a bad shape must be refused");
        assert!(err.to_string().contains("multiples of 8"), "{err}");
    }
    let text = Tensor::zeros([2, 16], (Kind::Float, Device::Cpu));
    let vs = VarStore::new(Device::Cpu);
    let err = Lacaf::new(&small(Norm::Instance, Fusion::CrossAttention), &vs.root(), &text).expect_err("wrong K");
    assert!(err.to_string().contains("[3, 16]"), "{err}");
}

/// Trainable parameters of the backbone described in the issue, from its widths alone.
fn backbone_formula(input: usize, b: usize, norm_params_per_channel: usize) -> usize {
    let conv = |i: usize, o: usize| i * o * 27 + o + norm_params_per_channel * o;
    let level = |i: usize, m: usize, o: usize| conv(i, m) + conv(m, o);
    let encoder = level(input, b, 2 * b) + level(2 * b, 2 * b, 4 * b) + level(4 * b, 4 * b, 8 * b) + level(8 * b, 8 * b, 16 * b);
    let up = |c: usize| c * c * 8 + c;
    let decoder = up(16 * b) + level(16 * b + 8 * b, 8 * b, 8 * b) + up(8 * b) + level(8 * b + 4 * b, 4 * b, 4 * b) + up(4 * b)
        + level(4 * b + 2 * b, 2 * b, 2 * b);
    encoder + decoder
}

fn trainable_count(vs: &VarStore, prefix: &str) -> usize {
    let trainable: Vec<Tensor> = vs.trainable_variables();
    let names: HashMap<String, Tensor> = vs.variables();
    names
        .iter()
        .filter(|(n, t)| n.starts_with(prefix) && trainable.iter().any(|v| v.data_ptr() == t.data_ptr()))
        .map(|(_, t)| t.numel())
        .sum()
}

#[test]
fn backbone_parameter_count_matches_the_architecture() {
    for (base, norm) in [(32, Norm::Instance), (8, Norm::Batch), (4, Norm::BatchStats)] {
        let cfg = NetConfig { base_width: base, norm, norm_groups: 4, ..NetConfig::default() };
        let (vs, _net) = build(&cfg, 3);
        assert_eq!(trainable_count(&vs, "backbone."), backbone_formula(2, base, 2), "base {base} {norm:?}");
    }
}

#[test]
fn gradients_reach_every_trained_block_but_not_the_text_embeddings() {
    let cfg = small(Norm::Instance, Fusion::CrossAttention);
    let (vs, net) = build(&cfg, 4);
    let x = input([2, 2, 16, 16, 8], 5);
    let target = x.narrow(1, 0, 1).gt(0.5).to_kind(Kind::Float).repeat([1, 3, 1, 1, 1]);
    let logits = net.forward(&x, true).expect("forward");
    let loss = logits.binary_cross_entropy_with_logits::<Tensor>(&target, None, None, tch::Reduction::Mean);
    loss.backward();
    let vars = vs.variables();
    for name in [
        "backbone.enc.0.0.0.weight",
        "backbone.dec.2.1.0.weight",
        "backbone.up.0.weight",
        "text_adapters.0.down.weight",
        "text_adapters.2.norm.weight",
        "text_self_attn.in_proj_weight",
        "image_adapter.4.weight",
        "q.weight",
        "k.weight",
        "v.weight",
        "controller.0.weight",
        "controller.2.bias",
        "precls.2.weight",
    ] {
        let grad = vars[name].grad();
        assert!(grad.defined(), "no gradient for {name}");
        let norm = grad.abs().sum(Kind::Float).double_value(&[]);
        assert!(norm > 0.0 && norm.is_finite(), "gradient of {name} is {norm}");
    }
    assert!(!net.text().requires_grad(), "the text embeddings must be frozen");
    assert!(!net.text().grad().defined(), "the text embeddings received a gradient");
    assert!(vars.keys().all(|k| !k.starts_with("text.")) && !vars.contains_key("text"));
}

#[test]
fn without_the_fusion_residual_all_classes_get_the_same_head() {
    // Documents why `fusion_residual` defaults to true: V = v(H_v^a) has K identical rows.
    let x = input([1, 2, 8, 8, 8], 6);
    for (residual, identical) in [(false, true), (true, false)] {
        let cfg = NetConfig { fusion_residual: residual, ..small(Norm::Instance, Fusion::CrossAttention) };
        let (_vs, net) = build(&cfg, 7);
        let out = tch::no_grad(|| net.forward(&x, false)).expect("forward");
        let diff = (out.get(0).get(0) - out.get(0).get(1)).abs().max().double_value(&[]);
        assert_eq!(diff < 1e-6, identical, "residual {residual}: class 0 vs 1 differ by {diff}");
    }
}

fn temp_files(name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let dir = common::temp_dir(name);
    (dir.join("weights.safetensors"), dir.join("model.json"))
}

#[test]
fn save_and_load_give_bit_identical_outputs() {
    for norm in [Norm::Instance, Norm::Batch] {
        let cfg = small(norm, Fusion::CrossAttention);
        let (vs, net) = build(&cfg, 8);
        let x = input([1, 2, 8, 16, 8], 9);
        if norm == Norm::Batch {
            // Move the running statistics away from their initial values first.
            let _ = net.forward(&x, true).expect("training forward");
        }
        let (weights_path, config_path) = temp_files(&format!("roundtrip-{norm:?}"));
        model::save(&vs, &cfg, &weights_path, &config_path).expect("saving");
        let before = tch::no_grad(|| net.forward(&x, false)).expect("forward");
        let (_vs2, loaded) = model::load(&config_path, &weights_path, net.text(), Device::Cpu).expect("loading");
        let after = tch::no_grad(|| loaded.forward(&x, false)).expect("forward");
        assert!(before.equal(&after), "{norm:?}: outputs differ after a save/load round trip");
        let (_vs3, other) = build(&cfg, 10);
        let fresh = tch::no_grad(|| other.forward(&x, false)).expect("forward");
        assert!(!before.equal(&fresh), "a differently seeded network gave the same output");
    }
}

/// All tensors of a weights file, by name.
fn read_all(path: &std::path::Path) -> BTreeMap<String, Tensor> {
    let bytes = weights::read_file(path).unwrap();
    let st = weights::parse(path, &bytes).unwrap();
    st.tensors().into_iter().map(|(n, v)| { let t = weights::tensor_from_view(path, &n, &v).unwrap(); (n, t) }).collect()
}

#[test]
fn strict_loading_names_the_missing_extra_or_misshaped_tensor() {
    let cfg = small(Norm::Instance, Fusion::CrossAttention);
    let (vs, _net) = build(&cfg, 11);
    let (path, config) = temp_files("strict");
    model::save(&vs, &cfg, &path, &config).unwrap();
    let all = read_all(&path);
    let (fresh_vs, _fresh) = build(&cfg, 12);
    let rewrite = |tensors: Vec<(String, Tensor)>| {
        let p = path.with_file_name("edited.safetensors");
        weights::save_tensors(&p, &tensors, HashMap::new()).unwrap();
        p
    };

    let missing: Vec<(String, Tensor)> = all.iter().filter(|(n, _)| *n != "q.bias").map(|(n, t)| (n.clone(), t.shallow_clone())).collect();
    let err = model::load_weights(&fresh_vs, &rewrite(missing)).expect_err("a missing tensor must fail");
    assert!(matches!(&err, model::ModelError::Weights(WeightsError::MissingTensor { name, .. }) if name == "q.bias"), "{err}");
    assert!(err.to_string().contains("q.bias"));

    let mut extra: Vec<(String, Tensor)> = all.iter().map(|(n, t)| (n.clone(), t.shallow_clone())).collect();
    extra.push(("text".into(), Tensor::zeros([3, 16], (Kind::Float, Device::Cpu))));
    let err = model::load_weights(&fresh_vs, &rewrite(extra)).expect_err("an extra tensor must fail");
    assert!(matches!(&err, model::ModelError::Weights(WeightsError::UnexpectedTensor { name, .. }) if name == "text"), "{err}");

    let misshaped: Vec<(String, Tensor)> = all
        .iter()
        .map(|(n, t)| (n.clone(), if n == "controller.2.weight" { t.narrow(0, 0, 152) } else { t.shallow_clone() }))
        .collect();
    let err = model::load_weights(&fresh_vs, &rewrite(misshaped)).expect_err("a misshaped tensor must fail");
    assert!(matches!(&err, model::ModelError::Weights(WeightsError::ShapeMismatch { name, .. }) if name == "controller.2.weight"), "{err}");

    model::load_weights(&fresh_vs, &path).expect("the untouched file loads");
}

#[derive(serde::Deserialize)]
struct ReferenceNames {
    config: HashMap<String, usize>,
    state_dict: HashMap<String, BTreeMap<String, Vec<i64>>>,
}

fn reference_config(r: &ReferenceNames, norm: Norm) -> NetConfig {
    NetConfig {
        in_channels: r.config["in_ch"],
        classes: r.config["classes"],
        text_dim: r.config["text_dim"],
        base_width: r.config["base"],
        norm,
        fusion_residual: false,
        ..NetConfig::default()
    }
}

#[test]
fn parameter_names_and_shapes_equal_the_pytorch_reference() {
    let text = std::fs::read_to_string(common::fixture("model", "lacaf_state_dict.json")).unwrap();
    let reference: ReferenceNames = serde_json::from_str(&text).unwrap();
    for (key, norm) in [("instance", Norm::Instance), ("batch", Norm::Batch)] {
        let (vs, _net) = build(&reference_config(&reference, norm), 13);
        let ours: BTreeMap<String, Vec<i64>> = vs.variables().into_iter().map(|(n, t)| (n, t.size())).collect();
        assert_eq!(ours, reference.state_dict[key], "state_dict of the {key} network");
    }
}

#[test]
fn tiny_network_matches_the_pytorch_reference() {
    let text = std::fs::read_to_string(common::fixture("model", "lacaf_state_dict.json")).unwrap();
    let reference: ReferenceNames = serde_json::from_str(&text).unwrap();
    let cfg = reference_config(&reference, Norm::Instance);
    // Replay make_lacaf_golden.py's value stream: text, sorted state_dict, input.
    let mut stream = common::Stream::new(1234);
    let text = stream.tensor(&[cfg.classes as i64, cfg.text_dim as i64], 1.0);
    let values: Vec<(String, Tensor)> =
        reference.state_dict["instance"].iter().map(|(n, shape)| (n.clone(), stream.tensor(shape, 0.5))).collect();
    let x = stream.tensor(&[1, 2, 16, 16, 16], 1.0);
    let vs = VarStore::new(Device::Cpu);
    let net = Lacaf::new(&cfg, &vs.root(), &text).unwrap();
    let vars = vs.variables();
    tch::no_grad(|| {
        for (name, value) in &values {
            vars[name].shallow_clone().copy_(value);
        }
    });
    let ours = tch::no_grad(|| net.forward(&x, false)).unwrap();
    let golden = read_all(&common::fixture("model", "lacaf_tiny_logits.safetensors")).remove("logits").unwrap();
    assert_eq!(ours.size(), golden.size());
    let diff = (&ours - &golden).abs().max().double_value(&[]);
    let scale = golden.abs().max().double_value(&[]);
    eprintln!("max |ours - reference| = {diff:e}, reference max {scale}");
    assert!(diff <= 2e-5 * scale, "max |ours - reference| = {diff} (reference max {scale})");
}

#[test]
fn config_json_round_trips_and_rejects_unknown_or_invalid_fields() {
    let dir = common::temp_dir("config");
    let cfg = NetConfig { norm: Norm::BatchStats, fusion: Fusion::Concat, base_width: 8, ..NetConfig::default() };
    cfg.to_json_file(&dir.join("m.json")).unwrap();
    assert_eq!(NetConfig::from_json_file(&dir.join("m.json")).unwrap(), cfg);
    std::fs::write(dir.join("empty.json"), "{}").unwrap();
    assert_eq!(NetConfig::from_json_file(&dir.join("empty.json")).unwrap(), NetConfig::default());
    std::fs::write(dir.join("typo.json"), r#"{"base_widht": 8}"#).unwrap();
    let err = NetConfig::from_json_file(&dir.join("typo.json")).expect_err("unknown field");
    assert!(err.to_string().contains("base_widht") && err.to_string().contains("typo.json"), "{err}");
    std::fs::write(dir.join("bad.json"), r#"{"text_dim": 100, "text_heads": 8}"#).unwrap();
    let err = NetConfig::from_json_file(&dir.join("bad.json")).expect_err("heads must divide");
    assert!(err.to_string().contains("text_heads"), "{err}");
}
