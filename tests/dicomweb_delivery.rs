//! DICOMweb destinations with a real Orthanc and its DICOMweb plugin: the SEG goes by
//! STOW-RS and is found in its study through QIDO-RS; basic authentication with the right
//! password delivers, with a wrong one the 401 sends the delivery to failed-delivery at once;
//! a server that is down is retried until it starts, and the SEG lands once; over https
//! (tests/tls_proxy.py in front of Orthanc) the destination's CA is trusted and a certificate
//! from another CA is refused, and retried.

mod common;

use common::orthanc::Orthanc;
use common::*;
use dicom_core::Tag;
use dicom_dictionary_std::tags;
use std::path::{Path, PathBuf};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(300);

/// The shipped plugin routing every SEG to the destinations `names` (and not back to the
/// sender), without the NIfTI and PNG extras; the model files are the shipped ones.
fn plugin_sending_to(dir: &Path, names: &[&str]) -> PathBuf {
    let shipped = repo().join("plugins/pulmonary-av");
    std::fs::create_dir_all(dir).unwrap();
    for f in ["model.json", "weights.safetensors", "embeddings.safetensors"] {
        std::os::unix::fs::symlink(shipped.join(f), dir.join(f)).unwrap();
    }
    let list: Vec<String> = names.iter().map(|n| format!("{n:?}")).collect();
    let text = std::fs::read_to_string(shipped.join("plugin.toml")).unwrap();
    let edited = text
        .replace("send_to = []", &format!("send_to = [{}]", list.join(", ")))
        .replace("send_back_to_sender = true", "send_back_to_sender = false")
        .replace("nifti = true", "nifti = false")
        .replace("png = true", "png = false");
    assert!(edited.contains("send_back_to_sender = false") && !edited.contains("send_to = []"), "plugin.toml layout changed");
    std::fs::write(dir.join("plugin.toml"), edited).unwrap();
    dir.join("plugin.toml")
}

/// A `[[destinations]]` table of kind dicomweb for Orthanc's DICOMweb root on `http_port`,
/// with extra keys (`lines`).
fn web_destination(name: &str, scheme: &str, http_port: u16, lines: &str) -> String {
    format!(
        "[[destinations]]\nname = \"{name}\"\nkind = \"dicomweb\"\nurl = \"{scheme}://127.0.0.1:{http_port}/dicom-web/\"\ntimeout_seconds = 10\n{lines}"
    )
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new("openssl").args(args).current_dir(dir).output().expect("openssl");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// Two CAs (`ca.crt`, `otherca.crt`) and a certificate for 127.0.0.1 that `ca` signed
/// (`server.crt`, `server.key`), made with openssl.
fn pki(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    for ca in ["ca", "otherca"] {
        let (crt, key, subject) = (format!("{ca}.crt"), format!("{ca}.key"), format!("/CN=pavseg test {ca}"));
        openssl(dir, &["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", &key, "-out", &crt, "-days", "30", "-subj", &subject,
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
    }
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(dir, &["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=orthanc"]);
    openssl(dir, &["x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.crt",
        "-days", "30", "-extfile", "server.ext"]);
    dir.to_path_buf()
}

/// SOP Instance UIDs of the SEG instances in a study, found through QIDO-RS.
fn seg_instances(orthanc: &Orthanc, study: &str) -> Vec<String> {
    let first = |v: &serde_json::Value, tag: Tag| {
        v[format!("{:04X}{:04X}", tag.group(), tag.element())]["Value"][0].as_str().map(str::to_string)
    };
    let series = orthanc.get(&format!("/dicom-web/studies/{study}/series?Modality=SEG")).unwrap_or_default();
    let mut uids = Vec::new();
    for s in series.as_array().into_iter().flatten() {
        let Some(series_uid) = first(s, tags::SERIES_INSTANCE_UID) else { continue };
        let instances = orthanc.get(&format!("/dicom-web/studies/{study}/series/{series_uid}/instances")).unwrap_or_default();
        uids.extend(instances.as_array().into_iter().flatten().filter_map(|i| first(i, tags::SOP_INSTANCE_UID)));
    }
    uids
}

/// Folders of one spool area (outbox, sent, failed-delivery) whose name ends with `__name`.
fn deliveries(node: &Node, area: &str, name: &str) -> Vec<PathBuf> {
    let suffix = format!("__{name}");
    std::fs::read_dir(node.spool.join(area))
        .map(|d| d.flatten().map(|e| e.path()).filter(|p| p.to_string_lossy().ends_with(&suffix)).collect())
        .unwrap_or_default()
}

fn record(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("delivery.json")).unwrap()).unwrap()
}

/// The value of one Prometheus sample line of the node's /metrics, e.g.
/// `pavseg_deliveries_sent_total{destination="web"}`.
fn metric(node: &Node, sample: &str) -> Option<f64> {
    let (_, text) = node.http_get("/metrics")?;
    text.lines().find_map(|l| l.strip_prefix(sample).and_then(|v| v.trim().parse().ok()))
}

#[test]
fn seg_reaches_orthanc_dicomweb_with_basic_auth_and_a_wrong_password_fails_at_once() {
    let t = TempDir::new("dicomweb");
    let (_, ph) = make_phantom(&t.path().join("ph"), selectable_phantom(95));
    let ports = Orthanc::ports();
    let orthanc = Orthanc::start_dicomweb_with_users(&t.path().join("orthanc"), ports, "", serde_json::json!({}), &[("pavseg", "s3cret")]);
    let cfg = NodeConfig {
        plugins: vec![plugin_sending_to(&t.path().join("plugin"), &["web", "web-wrong"])],
        extra: web_destination("web", "http", ports.1, "username = \"pavseg\"\npassword = \"s3cret\"\n")
            + &web_destination("web-wrong", "http", ports.1, "username = \"pavseg\"\npassword = \"not-the-password\"\n"),
        ..NodeConfig::default()
    };
    let node = Node::start(t.path(), &cfg);
    let out = node.storescu(&[], &[ph.dicom_dir.clone()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let sent = wait_until(WAIT, || deliveries(&node, "sent", "web").len() == 1);
    assert!(sent, "SEG not delivered by STOW-RS; node log:\n{}\nOrthanc log:\n{}", node.log_text(), orthanc.log());
    let delivered = record(&deliveries(&node, "sent", "web")[0]);
    let sop = delivered["sop_instance_uid"].as_str().unwrap().to_string();
    assert_eq!(delivered["destination"]["url"], format!("http://127.0.0.1:{}/dicom-web", ports.1), "{delivered}");
    assert!(
        wait_until(Duration::from_secs(30), || seg_instances(&orthanc, &ph.study_instance_uid) == [sop.clone()]),
        "QIDO-RS does not show exactly the delivered SEG in the study: {:?}",
        seg_instances(&orthanc, &ph.study_instance_uid)
    );

    // The wrong password: Orthanc answers 401, and the delivery is given up at once.
    assert!(wait_until(Duration::from_secs(30), || deliveries(&node, "failed-delivery", "web-wrong").len() == 1), "{}", node.log_text());
    let failed = &deliveries(&node, "failed-delivery", "web-wrong")[0];
    let reason = std::fs::read_to_string(failed.join("reason.txt")).unwrap();
    assert!(reason.contains("HTTP 401") && reason.contains("Unauthorized"), "reason.txt: {reason}");
    assert_eq!(record(failed)["attempts"], 1, "a 401 must not be retried");
    assert!(failed.join("seg.dcm").is_file(), "the SEG must stay with the failed delivery");
    assert!(deliveries(&node, "outbox", "web-wrong").is_empty());
    assert_eq!(metric(&node, "pavseg_deliveries_failed_total{destination=\"web-wrong\"}"), Some(1.0));
    assert_eq!(metric(&node, "pavseg_deliveries_sent_total{destination=\"web\"}"), Some(1.0));
    assert!(!node.log_text().contains("s3cret") && !node.log_text().contains("not-the-password"), "a password reached the log");
}

#[test]
fn orthanc_down_is_retried_and_the_seg_lands_once_when_it_starts() {
    let t = TempDir::new("dicomwebdown");
    let (_, ph) = make_phantom(&t.path().join("ph"), selectable_phantom(96));
    let ports = Orthanc::ports();
    let cfg = NodeConfig {
        plugins: vec![plugin_sending_to(&t.path().join("plugin"), &["web"])],
        extra_delivery: "max_attempts = 100\n".into(),
        extra: web_destination("web", "http", ports.1, ""),
        ..NodeConfig::default()
    };
    let node = Node::start(t.path(), &cfg);
    assert!(node.storescu(&[], &[ph.dicom_dir.clone()]).status.success());
    let retried = wait_until(WAIT, || {
        deliveries(&node, "outbox", "web").first().is_some_and(|d| {
            let r = record(d);
            r["attempts"].as_u64() >= Some(2) && r["last_error"].as_str().is_some_and(|e| e.contains("STOW-RS to"))
        })
    });
    assert!(retried, "delivery was not retried; node log:\n{}", node.log_text());
    assert!(metric(&node, "pavseg_delivery_retries_total{destination=\"web\"}").is_some_and(|n| n >= 1.0));

    let orthanc = Orthanc::start_dicomweb(&t.path().join("orthanc"), ports, "", serde_json::json!({}));
    let landed = wait_until(WAIT, || !seg_instances(&orthanc, &ph.study_instance_uid).is_empty());
    assert!(landed, "SEG not delivered after Orthanc started; node log:\n{}\nOrthanc log:\n{}", node.log_text(), orthanc.log());
    assert!(wait_until(Duration::from_secs(10), || deliveries(&node, "sent", "web").len() == 1));
    let sent = record(&deliveries(&node, "sent", "web")[0]);
    assert!(sent["attempts"].as_u64() >= Some(3), "{sent}");
    std::thread::sleep(Duration::from_secs(3));
    assert!(deliveries(&node, "outbox", "web").is_empty());
    assert_eq!(seg_instances(&orthanc, &ph.study_instance_uid), [sent["sop_instance_uid"].as_str().unwrap().to_string()]);
    assert_eq!(metric(&node, "pavseg_deliveries_sent_total{destination=\"web\"}"), Some(1.0), "sent more than once");
}

/// tests/tls_proxy.py: TLS on `port` with the certificate `name` of `pki`, forwarding to
/// 127.0.0.1:`upstream` (a site's reverse proxy in front of Orthanc); stopped when dropped.
struct TlsProxy(std::process::Child);

impl TlsProxy {
    fn start(port: u16, upstream: u16, pki: &Path, name: &str, log: &Path) -> TlsProxy {
        let mut child = std::process::Command::new(pavseg::bench::tools::python())
            .arg(repo().join("tests/tls_proxy.py"))
            .args([port.to_string(), upstream.to_string()])
            .arg(pki.join(format!("{name}.crt")))
            .arg(pki.join(format!("{name}.key")))
            .stdout(std::process::Stdio::piped())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .expect("python3 tests/tls_proxy.py");
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut line).unwrap();
        assert_eq!(line.trim(), "ready", "TLS proxy did not start: {}", std::fs::read_to_string(log).unwrap_or_default());
        TlsProxy(child)
    }
}

impl Drop for TlsProxy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn https_with_the_destination_ca_delivers_and_an_untrusted_certificate_is_retried() {
    let t = TempDir::new("dicomwebtls");
    let pki = pki(&t.path().join("pki"));
    let (_, ph) = make_phantom(&t.path().join("ph"), selectable_phantom(97));
    let ports = Orthanc::ports();
    let orthanc = Orthanc::start_dicomweb(&t.path().join("orthanc"), ports, "", serde_json::json!({}));
    let https_port = free_port();
    let _proxy = TlsProxy::start(https_port, ports.1, &pki, "server", &t.path().join("proxy.log"));
    let ca = |f: &str| format!("ca = \"{}\"\n", pki.join(f).display());
    let cfg = NodeConfig {
        plugins: vec![plugin_sending_to(&t.path().join("plugin"), &["web-tls", "web-untrusted"])],
        extra_delivery: "max_attempts = 100\n".into(),
        extra: web_destination("web-tls", "https", https_port, &ca("ca.crt"))
            + &web_destination("web-untrusted", "https", https_port, &ca("otherca.crt")),
        ..NodeConfig::default()
    };
    let node = Node::start(t.path(), &cfg);
    assert!(node.storescu(&[], &[ph.dicom_dir.clone()]).status.success());
    let sent = wait_until(WAIT, || deliveries(&node, "sent", "web-tls").len() == 1);
    assert!(sent, "SEG not delivered over https; node log:\n{}\nOrthanc log:\n{}", node.log_text(), orthanc.log());
    let sop = record(&deliveries(&node, "sent", "web-tls")[0])["sop_instance_uid"].as_str().unwrap().to_string();
    assert!(wait_until(Duration::from_secs(30), || seg_instances(&orthanc, &ph.study_instance_uid) == [sop.clone()]));
    // A server certificate from a CA the destination does not trust: nothing is sent; retried.
    let refused = wait_until(Duration::from_secs(60), || {
        deliveries(&node, "outbox", "web-untrusted").first().is_some_and(|d| {
            let r = record(d);
            r["attempts"].as_u64() >= Some(2) && r["last_error"].as_str().is_some_and(|e| e.contains("certificate"))
        })
    });
    assert!(refused, "untrusted certificate not refused and retried; node log:\n{}", node.log_text());
    assert!(deliveries(&node, "sent", "web-untrusted").is_empty() && deliveries(&node, "failed-delivery", "web-untrusted").is_empty());
}
