//! The plugin file and its loader.

mod common;

use pavseg::infer::DeviceChoice;
use pavseg::model::NetConfig;
use pavseg::plugin::{Plugin, PluginError};
use pavseg::text::PromptEmbeddings;

fn shipped() -> std::path::PathBuf {
    common::repo().join("plugins/pulmonary-av/plugin.toml")
}

#[test]
fn the_shipped_plugin_loads_with_its_defaults() {
    let p = Plugin::load(&shipped()).expect("loading the shipped plugin");
    assert_eq!(p.file.plugin.name, "pulmonary-av");
    assert_eq!(p.class_names(), ["left pulmonary artery", "left pulmonary vein", "right pulmonary artery", "right pulmonary vein"]);
    assert_eq!(p.class_labels(), [1, 2, 1, 2]);
    assert_eq!(p.prompts()[3], "A computerized tomography of a right pulmonary vein with small branches");
    let m = &p.file.model;
    assert_eq!((m.window, m.overlap, m.batch, m.half, m.device), (64, 0.5, 1, false, DeviceChoice::Auto));
    let dir = shipped().parent().unwrap().to_owned();
    assert_eq!(m.config, dir.join("model.json"));
    assert_eq!(m.embeddings, dir.join("embeddings.safetensors"));
    // The files it names (all but the trained weights, which are not shipped) exist and agree.
    let cfg = NetConfig::from_json_file(&m.config).expect("model.json");
    let emb = PromptEmbeddings::read(&m.embeddings).expect("embeddings.safetensors");
    assert_eq!(emb.classes, p.class_names());
    assert_eq!(emb.prompts, p.prompts());
    assert_eq!(emb.data.dim(), (cfg.classes, cfg.text_dim));
}

fn parse(text: &str) -> Result<Plugin, PluginError> {
    Plugin::parse(std::path::Path::new("/plugins/test/plugin.toml"), text)
}

fn shipped_text() -> String {
    std::fs::read_to_string(shipped()).unwrap()
}

#[test]
fn unknown_keys_and_bad_values_name_the_file_and_key() {
    let err = parse(&shipped_text().replace("overlap = 0.5", "overlap = 0.5\noverlapp = 0.3")).expect_err("unknown key");
    let msg = err.to_string();
    assert!(msg.contains("/plugins/test/plugin.toml") && msg.contains("overlapp"), "{msg}");

    let text = regex::Regex::new(r"(?m)^window = \d+").unwrap().replace(&shipped_text(), "window = 100").into_owned();
    let err = parse(&text).expect_err("window");
    assert!(err.to_string().contains("model.window"), "{err}");

    // Test-time mirroring needs the classes to pair left with right by name.
    let mirrored = regex::Regex::new(r"(?m)^mirror = \w+").unwrap().replace(&shipped_text(), "mirror = true").into_owned();
    let p = parse(&mirrored).expect("a mirrored plugin");
    assert_eq!(p.infer_settings().unwrap().mirror, Some(vec![2, 3, 0, 1]));
    // A class renamed after parse is refused by name, not run unmirrored.
    let mut edited = p.clone();
    edited.file.classes[3].name = "right lung vein".into();
    let err = edited.infer_settings().expect_err("unpaired class after parse");
    assert!(err.to_string().contains("model.mirror") && err.to_string().contains("left pulmonary vein"), "{err}");
    let err = parse(&mirrored.replace("name = \"right pulmonary vein\"", "name = \"right lung vein\"")).expect_err("unpaired class");
    assert!(err.to_string().contains("model.mirror") && err.to_string().contains("`left pulmonary vein`"), "{err}");
    let plain = regex::Regex::new(r"(?m)^mirror = \w+").unwrap().replace(&shipped_text(), "mirror = false").into_owned();
    assert_eq!(parse(&plain).expect("an unmirrored plugin").infer_settings().unwrap().mirror, None);

    let err = parse(&shipped_text().replace("label = 2", "label = 0")).expect_err("label");
    assert!(err.to_string().contains("classes[1].label"), "{err}");

    let err = parse(&shipped_text().replace("{class} with", "with")).expect_err("template");
    assert!(err.to_string().contains("prompts.template"), "{err}");

    let err = parse(&shipped_text().replace("device = \"auto\"", "device = \"tpu\"")).expect_err("device");
    assert!(err.to_string().contains("tpu"), "{err}");

    let p = parse(&shipped_text().replace("device = \"auto\"", "device = \"cuda:1\"")).expect("cuda:1");
    assert_eq!(p.file.model.device, DeviceChoice::Cuda(1));
    assert_eq!(p.file.model.weights, std::path::Path::new("/plugins/test/weights.safetensors"));
}
