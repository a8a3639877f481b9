//! Settings: the shipped file equals the built-in defaults; bad keys and values stop start-up
//! with a message naming the key.

mod common;

use common::*;
use pavseg::config::Settings;
use std::process::Command;

fn repo_config() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/pavseg.toml")
}

#[test]
fn shipped_config_lists_exactly_the_defaults() {
    let text = std::fs::read_to_string(repo_config()).unwrap();
    let from_file: Settings = toml::from_str(&text).expect("config/pavseg.toml parses on its own");
    assert_eq!(from_file, Settings::default());
}

fn serve_with(config_text: &str, env: &[(&str, &str)]) -> String {
    let t = TempDir::new("cfg");
    let path = t.path().join("c.toml");
    std::fs::write(&path, config_text).unwrap();
    let mut c = Command::new(BIN);
    c.args(["serve", "--config"]).arg(&path);
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    assert!(!out.status.success(), "start-up should fail");
    String::from_utf8_lossy(&out.stderr).to_string()
}

#[test]
fn unknown_key_and_bad_values_name_the_key() {
    let err = serve_with("[node]\nae_titel = \"X\"\n", &[]);
    assert!(err.contains("ae_titel"), "{err}");
    let err = serve_with("[node]\nport = \"eleven\"\n", &[]);
    assert!(err.contains("port"), "{err}");
    let err = serve_with("[node]\nae_title = \"THIS AE TITLE IS FAR TOO LONG\"\n", &[]);
    assert!(err.contains("node.ae_title"), "{err}");
    let err = serve_with("[spool]\nstability_seconds = -1\n", &[]);
    assert!(err.contains("spool.stability_seconds"), "{err}");
    let err = serve_with("", &[("PAVSEG_NODE__MAX_ASSOCIATIONS", "0")]);
    assert!(err.contains("node.max_associations"), "{err}");
    let err = serve_with("", &[("PAVSEG_NODE__BOGUS", "1")]);
    assert!(err.to_lowercase().contains("bogus"), "{err}");
    let t = TempDir::new("cfgmissing");
    let out = Command::new(BIN).args(["serve", "--config"]).arg(t.path().join("nope.toml")).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope.toml"));
}

#[test]
fn environment_overrides_a_key() {
    let t = TempDir::new("cfgenv");
    let spool = t.path().join("spool");
    let path = t.path().join("c.toml");
    std::fs::write(&path, format!("[node]\nbind = \"127.0.0.1\"\nport = 1\n[spool]\ndir = \"{}\"\nmin_free_bytes = 0\n[http]\nport = 0\n", spool.display())).unwrap();
    let mut child = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&path)
        .env("PAVSEG_NODE__PORT", "0")
        .env("PAVSEG_NODE__AE_TITLE", "ENVAE")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut line).unwrap();
    let port = line.trim().rsplit(':').next().unwrap().to_string();
    let ok = Command::new("echoscu").args(["-aec", "ENVAE", "127.0.0.1", &port]).output().unwrap().status.success();
    let _ = child.kill();
    let _ = child.wait();
    assert!(ok, "echo to the AE title set by PAVSEG_NODE__AE_TITLE failed");
}
