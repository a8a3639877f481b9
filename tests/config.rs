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

#[test]
fn destination_keys_are_checked_per_kind() {
    let web = "[[destinations]]\nname = \"web\"\nkind = \"dicomweb\"\n";
    let err = serve_with(web, &[]);
    assert!(err.contains("destinations.url") && err.contains("destination web"), "{err}");
    let err = serve_with(&format!("{web}url = \"ftp://pacs/dicom-web\"\n"), &[]);
    assert!(err.contains("destinations.url") && err.contains("http"), "{err}");
    let err = serve_with(&format!("{web}url = \"http://user:pw@pacs/dicom-web\"\n"), &[]);
    assert!(err.contains("destinations.url") && err.contains("credentials"), "{err}");
    let err = serve_with(&format!("{web}url = \"http://pacs/dicom-web\"\nhost = \"pacs\"\nport = 104\n"), &[]);
    assert!(err.contains("destinations.host") && err.contains("dimse"), "{err}");
    let err = serve_with(&format!("{web}url = \"http://pacs/dicom-web\"\nusername = \"u\"\n"), &[]);
    assert!(err.contains("destinations.username"), "{err}");
    let err = serve_with(&format!("{web}url = \"http://pacs/dicom-web\"\nusername = \"u\"\npassword = \"p\"\nbearer_token = \"t\"\n"), &[]);
    assert!(err.contains("destinations.bearer_token"), "{err}");
    let err = serve_with(&format!("{web}url = \"http://pacs/dicom-web\"\nca = \"/etc/ca.crt\"\n"), &[]);
    assert!(err.contains("destinations.ca") && err.contains("https"), "{err}");
    let err = serve_with("[[destinations]]\nname = \"web\"\nkind = \"smtp\"\n", &[]);
    assert!(err.contains("kind") && err.contains("smtp"), "{err}");
    // A DIMSE destination (the default kind) needs its AE title and may not carry DICOMweb keys.
    let err = serve_with("[[destinations]]\nname = \"pacs\"\nhost = \"pacs\"\nport = 104\n", &[]);
    assert!(err.contains("destinations.ae_title") && err.contains("destination pacs"), "{err}");
    let err = serve_with("[[destinations]]\nname = \"pacs\"\nae_title = \"PACS\"\nhost = \"pacs\"\nport = 104\nurl = \"http://pacs\"\n", &[]);
    assert!(err.contains("destinations.url") && err.contains("dimse"), "{err}");
    // A password file that cannot be read stops start-up naming it.
    let t = TempDir::new("cfgsecret");
    let missing = t.path().join("no-such-password");
    let text = format!(
        "[node]\nbind = \"127.0.0.1\"\nport = 0\n[spool]\ndir = \"{}\"\nmin_free_bytes = 0\n[pipeline]\nplugins = []\n[http]\nport = 0\n{web}url = \"http://127.0.0.1:9/dicom-web\"\nusername = \"u\"\npassword_file = \"{}\"\n",
        t.path().join("spool").display(),
        missing.display()
    );
    let err = serve_with(&text, &[]);
    assert!(err.contains("destination web") && err.contains("no-such-password"), "{err}");
}
