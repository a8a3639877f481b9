//! Sliding-window inference and label maps on small networks.

mod common;

use ndarray::{Array4, ArrayView4};
use pavseg::geometry::Geometry;
use pavseg::infer::{label_map, DeviceChoice, InferSettings, Predictor, Probabilities};
use pavseg::model::{Lacaf, NetConfig, Norm};
use tch::nn::VarStore;
use tch::{Device, Tensor};

fn cfg() -> NetConfig {
    NetConfig { base_width: 4, text_dim: 16, classes: 4, text_heads: 4, norm_groups: 4, norm: Norm::Instance, ..NetConfig::default() }
}

fn classes() -> Vec<String> {
    ["left pulmonary artery", "left pulmonary vein", "right pulmonary artery", "right pulmonary vein"].map(String::from).to_vec()
}

/// A network with the same weights in every call.
fn network() -> (VarStore, Lacaf) {
    let mut stream = common::Stream::new(21);
    let vs = VarStore::new(Device::Cpu);
    let text = stream.tensor(&[4, 16], 1.0);
    let net = Lacaf::new(&cfg(), &vs.root(), &text).expect("network");
    common::fill_trainable(&vs, &mut stream, 0.3);
    (vs, net)
}

fn predictor(window: usize, overlap: f64, batch: usize) -> Predictor {
    let (vs, net) = network();
    let settings = InferSettings { device: DeviceChoice::Cpu, window, overlap, batch, half: false, ..InferSettings::default() };
    Predictor::new(vs, net, classes(), &settings).expect("predictor")
}

fn volume(shape: [usize; 3], seed: u64) -> (Array4<f32>, Geometry) {
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let data = Array4::from_shape_simple_fn((2, shape[0], shape[1], shape[2]), || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    });
    let grid = Geometry::new(shape, [-100.0, -120.0, 30.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.5, 1.0, 1.0]);
    (data, grid)
}

fn to_tensor(a: ArrayView4<f32>) -> Tensor {
    let (c, k, j, i) = a.dim();
    Tensor::from_slice(a.as_standard_layout().as_slice().unwrap()).reshape([1, c as i64, k as i64, j as i64, i as i64])
}

#[test]
fn one_window_equals_a_direct_forward_pass() {
    let p = predictor(16, 0.5, 1);
    let (x, grid) = volume([16, 16, 16], 1);
    let probs = p.predict(x.view(), &grid).expect("predict");
    let direct = tch::no_grad(|| p.network().forward(&to_tensor(x.view()), false)).unwrap().sigmoid();
    let direct: Vec<f32> = Vec::try_from(direct.flatten(0, -1)).unwrap();
    assert_eq!(probs.data.dim(), (4, 16, 16, 16));
    assert_eq!(probs.grid, grid);
    assert_eq!(probs.classes, classes());
    let max = probs.data.iter().zip(&direct).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(max <= 1e-6, "sliding window differs from the forward pass by {max}");
}

#[test]
fn inference_is_deterministic_and_independent_of_the_batch() {
    let (x, grid) = volume([20, 24, 40], 2);
    let p = predictor(16, 0.5, 1);
    let a = p.predict(x.view(), &grid).expect("predict");
    let b = p.predict(x.view(), &grid).expect("predict");
    assert_eq!(a, b, "two CPU runs differ");
    let c = predictor(16, 0.5, 3).predict(x.view(), &grid).expect("predict");
    let max = a.data.iter().zip(c.data.iter()).map(|(u, v)| (u - v).abs()).fold(0.0f32, f32::max);
    assert!(max <= 1e-5, "batch 3 differs from batch 1 by {max}");
    assert!(a.data.iter().all(|v| (0.0..=1.0).contains(v)));
}

#[test]
fn overlapping_windows_blend_smoothly() {
    // A volume of two windows along i: the blend must lie between the two windows' own values.
    let p = predictor(16, 0.5, 2);
    let (x, grid) = volume([16, 16, 24], 3);
    let probs = p.predict(x.view(), &grid).expect("predict");
    let full = to_tensor(x.view());
    let first = tch::no_grad(|| p.network().forward(&full.narrow(4, 0, 16), false)).unwrap().sigmoid();
    let second = tch::no_grad(|| p.network().forward(&full.narrow(4, 8, 16), false)).unwrap().sigmoid();
    for (c, k, j, i) in [(0, 3, 5, 2), (1, 8, 8, 10), (3, 15, 0, 23)] {
        let v = probs.data[[c, k, j, i]] as f64;
        let mut seen = Vec::new();
        if i < 16 {
            seen.push(first.double_value(&[0, c as i64, k as i64, j as i64, i as i64]));
        }
        if i >= 8 {
            seen.push(second.double_value(&[0, c as i64, k as i64, j as i64, i as i64 - 8]));
        }
        let (lo, hi) = seen.iter().fold((f64::MAX, f64::MIN), |(l, h), &s| (l.min(s), h.max(s)));
        assert!(v >= lo - 1e-6 && v <= hi + 1e-6, "voxel {:?}: {v} not within {seen:?}", (c, k, j, i));
    }
}

#[test]
fn volumes_smaller_than_a_window_are_padded_and_cropped() {
    let p = predictor(16, 0.25, 2);
    let (x, grid) = volume([10, 17, 9], 4);
    let probs = p.predict(x.view(), &grid).expect("predict");
    assert_eq!(probs.data.dim(), (4, 10, 17, 9));
    assert!(probs.data.iter().all(|v| v.is_finite() && (0.0..=1.0).contains(v)));
}

#[test]
fn input_that_does_not_fit_the_grid_is_refused() {
    let p = predictor(16, 0.5, 1);
    let (x, mut grid) = volume([16, 16, 16], 5);
    grid.shape = [16, 16, 8];
    let err = p.predict(x.view(), &grid).expect_err("shape mismatch");
    assert!(err.to_string().contains("[2, 16, 16, 16]") && err.to_string().contains("[2, 16, 16, 8]"), "{err}");
}

#[test]
fn label_map_merges_sides_and_lets_the_larger_probability_win() {
    let grid = Geometry::new([1, 1, 6], [0.0; 3], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0; 3]);
    // classes: left artery, left vein, right artery, right vein; voxels along i.
    let p = [
        [0.9, 0.2, 0.6, 0.4, 0.1, 0.5],  // left artery
        [0.1, 0.7, 0.7, 0.45, 0.2, 0.0], // left vein
        [0.0, 0.1, 0.1, 0.3, 0.3, 0.0],  // right artery
        [0.3, 0.8, 0.2, 0.49, 0.95, 0.5], // right vein
    ];
    let data = Array4::from_shape_fn((4, 1, 1, 6), |(c, _, _, i)| p[c][i]);
    let probs = Probabilities { data, grid: grid.clone(), classes: classes() };
    let labels = label_map(&probs, &[1, 2, 1, 2], 0.5).expect("labels");
    assert_eq!(labels.labels.iter().copied().collect::<Vec<u8>>(), vec![1, 2, 2, 0, 2, 1]);
    assert_eq!(labels.geometry, grid);
    assert!(label_map(&probs, &[1, 2], 0.5).is_err());
}

#[test]
fn a_predictor_can_move_to_a_blocking_thread() {
    fn send<T: Send + 'static>(_: &T) {}
    send(&predictor(16, 0.5, 1));
}

#[test]
fn device_strings_parse_and_cuda_is_checked() {
    assert_eq!("auto".parse::<DeviceChoice>().unwrap(), DeviceChoice::Auto);
    assert_eq!("cpu".parse::<DeviceChoice>().unwrap(), DeviceChoice::Cpu);
    assert_eq!("cuda:1".parse::<DeviceChoice>().unwrap(), DeviceChoice::Cuda(1));
    assert!("gpu".parse::<DeviceChoice>().is_err());
    assert_eq!(DeviceChoice::Cuda(3).to_string(), "cuda:3");
    assert_eq!(DeviceChoice::Cpu.resolve().unwrap(), Device::Cpu);
    let auto = DeviceChoice::Auto.resolve().unwrap();
    assert_eq!(auto.is_cuda(), tch::Cuda::is_available());
    let beyond = DeviceChoice::Cuda(tch::Cuda::device_count() as usize);
    assert!(beyond.resolve().is_err());
}

#[test]
fn a_plugin_folder_with_config_weights_and_embeddings_predicts() {
    use pavseg::plugin::Plugin;
    use pavseg::text::PromptEmbeddings;
    let dir = common::temp_dir("plugin-predict");
    let shipped = std::fs::read_to_string(common::repo().join("plugins/pulmonary-av/plugin.toml")).unwrap();
    // One 16^3 window on the CPU, whatever the shipped plugin says.
    let window = regex::Regex::new(r"(?m)^window = \d+").unwrap();
    // Unmirrored, to compare with one forward pass of the saved network.
    let edited = window
        .replace(&shipped, "window = 16")
        .replace("device = \"auto\"", "device = \"cpu\"")
        .replace("mirror = true", "mirror = false");
    assert!(
        edited.contains("window = 16") && edited.contains("device = \"cpu\"") && edited.contains("mirror = false"),
        "plugin.toml layout changed"
    );
    std::fs::write(dir.join("plugin.toml"), edited).unwrap();
    let plugin = Plugin::load(&dir.join("plugin.toml")).unwrap();
    // A small random network saved as the plugin's weights, with embeddings for its prompts.
    let (vs, net) = network();
    pavseg::model::save(&vs, &cfg(), &plugin.file.model.weights, &plugin.file.model.config).unwrap();
    let data = ndarray::Array2::from_shape_vec((4, 16), Vec::<f32>::try_from(net.text().flatten(0, -1)).unwrap()).unwrap();
    let mut embeddings = PromptEmbeddings {
        encoder: "test".into(),
        encoder_weights: "random".into(),
        template: plugin.file.prompts.template.clone(),
        classes: plugin.class_names(),
        prompts: plugin.prompts(),
        data,
    };
    embeddings.write(&plugin.file.model.embeddings).unwrap();
    let predictor = Predictor::from_plugin(&plugin).expect("loading the plugin's network");
    let (x, grid) = volume([16, 16, 16], 6);
    let probs = predictor.predict(x.view(), &grid).unwrap();
    let direct = tch::no_grad(|| net.forward(&to_tensor(x.view()), false)).unwrap().sigmoid();
    let direct: Vec<f32> = Vec::try_from(direct.flatten(0, -1)).unwrap();
    let max = probs.data.iter().zip(&direct).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(max <= 1e-6, "plugin predictor differs from the saved network by {max}");
    let labels = label_map(&probs, &plugin.class_labels(), plugin.file.model.threshold).unwrap();
    assert_eq!(labels.labels.dim(), (16, 16, 16));

    embeddings.prompts[0] = "another prompt".into();
    embeddings.write(&plugin.file.model.embeddings).unwrap();
    let err = Predictor::from_plugin(&plugin).err().expect("stale embeddings must be refused");
    assert!(err.to_string().contains("rerun pavseg embed"), "{err}");
}

#[test]
fn mirrored_inference_averages_the_left_right_mirror_with_the_sides_swapped_back() {
    let (vs, net) = network();
    let mirror = pavseg::plugin::mirror_partners(&classes()).unwrap();
    assert_eq!(mirror, vec![2, 3, 0, 1]);
    let settings = InferSettings { device: DeviceChoice::Cpu, window: 16, overlap: 0.5, batch: 1, mirror: Some(mirror), ..InferSettings::default() };
    let p = Predictor::new(vs, net, classes(), &settings).expect("predictor");
    let (x, grid) = volume([16, 16, 16], 5);
    let probs = p.predict(x.view(), &grid).expect("predict");
    // One window: the output is exactly the mean of the forward pass and the mirrored one.
    let forward = |t: &Tensor| tch::no_grad(|| p.network().forward(t, false)).unwrap().sigmoid();
    let input = to_tensor(x.view());
    let plain = forward(&input);
    let swap = Tensor::from_slice(&[2i64, 3, 0, 1]);
    let mirrored = forward(&input.flip([-1i64])).flip([-1i64]).index_select(1, &swap);
    let expected: Vec<f32> = Vec::try_from(((&plain + &mirrored) * 0.5).flatten(0, -1)).unwrap();
    let max = probs.data.iter().zip(&expected).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(max <= 1e-6, "mirrored inference differs from the mean of both passes by {max}");
    // And it is not the plain pass (the random network is not left-right symmetric).
    let plain: Vec<f32> = Vec::try_from(plain.flatten(0, -1)).unwrap();
    let moved = probs.data.iter().zip(&plain).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(moved > 1e-3, "mirroring changed nothing ({moved})");
    // A mirror map that is not a permutation of the classes is refused.
    let (vs, net) = network();
    let bad = InferSettings { mirror: Some(vec![0, 0, 1, 2]), ..settings };
    assert!(Predictor::new(vs, net, classes(), &bad).is_err());
}
