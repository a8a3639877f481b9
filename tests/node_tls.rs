//! DICOM over TLS against dcmtk: echoscu and storescu with `+tls` send a phantom to the node's
//! TLS port, and the SEG comes back over TLS to a dcmtk `storescp +tls` that requires the
//! node's client certificate. With a client CA configured, a client without a certificate and
//! one whose certificate another CA signed are refused with a log line saying why; a plain
//! DICOM client on the TLS port is refused and the node keeps serving. Certificate problems
//! stop start-up with a message naming the file.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA (`<name>.crt`, `<name>.key`) made with openssl.
fn make_ca(dir: &Path, name: &str) {
    let (crt, key) = (format!("{name}.crt"), format!("{name}.key"));
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &crt,
            "-days",
            "30",
            "-subj",
            &format!("/CN={name}"),
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
}

/// A leaf certificate for 127.0.0.1 signed by `ca`, valid for `days` (negative: expired).
fn make_leaf(dir: &Path, ca: &str, name: &str, days: i32) {
    let (crt, key, csr, ext) = (
        format!("{name}.crt"),
        format!("{name}.key"),
        format!("{name}.csr"),
        format!("{name}.ext"),
    );
    std::fs::write(
        dir.join(&ext),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &csr,
            "-subj",
            &format!("/CN={name}"),
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &format!("{ca}.crt"),
            "-CAkey",
            &format!("{ca}.key"),
            "-CAcreateserial",
            "-out",
            &crt,
            "-days",
            &days.to_string(),
            "-extfile",
            &ext,
        ],
    );
}

fn pki(dir: &Path) -> PathBuf {
    let d = dir.join("pki");
    std::fs::create_dir_all(&d).unwrap();
    make_ca(&d, "ca");
    make_ca(&d, "otherca");
    make_leaf(&d, "ca", "node", 30);
    make_leaf(&d, "ca", "pacs", 30);
    make_leaf(&d, "ca", "sender", 30);
    make_leaf(&d, "otherca", "stranger", 30);
    d
}

fn p(pki: &Path, f: &str) -> String {
    pki.join(f).display().to_string()
}

/// dcmtk's TLS options: `name`'s key and certificate (anonymous TLS without one), trusting `ca.crt`.
fn dcmtk_tls(pki: &Path, name: Option<&str>) -> Vec<String> {
    let mut args = match name {
        Some(n) => vec!["+tls".to_string(), p(pki, &format!("{n}.key")), p(pki, &format!("{n}.crt"))],
        None => vec!["+tla".to_string()],
    };
    args.extend(["+cf".to_string(), p(pki, "ca.crt")]);
    args
}

fn tls_echo(pki: &Path, port: u16, client: Option<&str>) -> Output {
    Command::new("echoscu")
        .args(dcmtk_tls(pki, client))
        .args(["-aet", "PACS", "-aec", "PAVSEG", "127.0.0.1", &port.to_string()])
        .output()
        .expect("echoscu (dcmtk)")
}

#[test]
fn phantom_over_tls_both_ways_and_untrusted_clients_are_refused() {
    let t = TempDir::new("tls");
    let pki = pki(t.path());
    let (_, ph) = make_phantom(&t.path().join("ph"), selectable_phantom(131));
    // The PACS: storescp over TLS, requiring a client certificate from our CA.
    let scp_port = free_port();
    let scp_dir = t.path().join("pacs");
    std::fs::create_dir_all(&scp_dir).unwrap();
    // The harness's StoreScp, started here with TLS options; it is killed when dropped.
    let child = Command::new("storescp")
        .args(dcmtk_tls(&pki, Some("pacs")))
        .args(["-rc", "-aet", "PACS", "+xa", "-od"])
        .arg(&scp_dir)
        .arg(scp_port.to_string())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(t.path().join("storescp.log")).unwrap())
        .spawn()
        .expect("storescp (dcmtk)");
    let scp = StoreScp { child, port: scp_port, dir: scp_dir.clone() };
    let scp_up = wait_until(Duration::from_secs(10), || {
        tls_echo(&pki, scp_port, Some("sender")).status.success()
    });
    assert!(
        scp_up,
        "storescp +tls did not start: {}",
        std::fs::read_to_string(t.path().join("storescp.log")).unwrap_or_default()
    );
    let cfg = NodeConfig {
        plugins: vec![default_plugin()],
        extra_node: format!(
            "[node.tls]\nport = 0\ncertificate = {:?}\nprivate_key = {:?}\nclient_ca = {:?}\nplain = true\n",
            p(&pki, "node.crt"),
            p(&pki, "node.key"),
            p(&pki, "ca.crt")
        ),
        extra: format!(
            "[[destinations]]\nname = \"pacs\"\nae_title = \"PACS\"\nhost = \"127.0.0.1\"\nport = {scp_port}\ntls = true\nca = {:?}\nclient_certificate = {:?}\nclient_key = {:?}\n",
            p(&pki, "ca.crt"),
            p(&pki, "sender.crt"),
            p(&pki, "sender.key")
        ),
        ..NodeConfig::default()
    };
    let node = Node::start(t.path(), &cfg);
    let tls_port = node.tls_port.expect("the node prints its TLS port");
    let result = (|| -> Result<(), String> {
        let ok = tls_echo(&pki, tls_port, Some("sender"));
        if !ok.status.success() {
            return Err(format!("echoscu +tls: {}", String::from_utf8_lossy(&ok.stderr)));
        }
        // Refused: no client certificate, and a certificate from another CA.
        let anonymous = tls_echo(&pki, tls_port, None);
        let stranger = tls_echo(&pki, tls_port, Some("stranger"));
        if anonymous.status.success() || stranger.status.success() {
            return Err("a client without a trusted certificate was served".into());
        }
        // Plain DICOM on the TLS port: refused; the node keeps serving both ports.
        let plain = Command::new("echoscu")
            .args(["-aec", "PAVSEG", "127.0.0.1", &tls_port.to_string()])
            .output()
            .unwrap();
        if plain.status.success() {
            return Err("plain DICOM was answered on the TLS port".into());
        }
        if !tls_echo(&pki, tls_port, Some("sender")).status.success() || !node.echo("PLAIN") {
            return Err("the node stopped serving after the refusals".into());
        }
        let sent = Command::new("storescu")
            .args(dcmtk_tls(&pki, Some("sender")))
            .args(["-aet", "PACS", "-aec", "PAVSEG"])
            .args(["127.0.0.1", &tls_port.to_string(), "+sd"])
            .arg(&ph.dicom_dir)
            .output()
            .unwrap();
        if !sent.status.success() {
            return Err(format!("storescu +tls: {}", String::from_utf8_lossy(&sent.stderr)));
        }
        let got_seg = wait_until(Duration::from_secs(240), || !scp.segmentations().is_empty());
        if !got_seg {
            return Err("no SEG arrived at storescp over TLS".into());
        }
        Ok(())
    })();
    let delivered = wait_until(Duration::from_secs(20), || node.log_text().contains("delivered"));
    drop(scp);
    let log = node.log_text();
    result.unwrap_or_else(|e| {
        panic!(
            "{e}\nnode log:\n{log}\nstorescp log:\n{}",
            std::fs::read_to_string(t.path().join("storescp.log")).unwrap_or_default()
        )
    });
    let refusals: Vec<&str> = log.lines().filter(|l| l.contains("TLS connection refused")).collect();
    assert!(
        refusals.iter().any(|l| l.to_lowercase().contains("no certificates")),
        "no log line says the client sent no certificate:\n{log}"
    );
    assert!(
        refusals.iter().any(|l| l.contains("UnknownIssuer")),
        "no log line says the client's CA is unknown:\n{log}"
    );
    assert!(
        log.lines().any(|l| l.contains("TLS connection refused")
            && !l.contains("no certificates")
            && !l.contains("UnknownIssuer")),
        "no refusal logged for plain DICOM on the TLS port:\n{log}"
    );
    assert!(
        delivered && !log.contains("delivery failed"),
        "the SEG was not delivered at the first attempt:\n{log}"
    );
}

fn serve_fails(dir: &Path, tls: &str) -> String {
    let config = dir.join(format!("bad-{}.toml", rand_name(tls)));
    std::fs::write(
        &config,
        format!("[node]\nbind = \"127.0.0.1\"\nport = 0\n{tls}\n[spool]\ndir = {:?}\nmin_free_bytes = 0\n[pipeline]\nplugins = []\n[http]\nport = 0\n", dir.join("spool").display().to_string()),
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(!out.status.success(), "start-up should fail with {tls}");
    String::from_utf8_lossy(&out.stderr).to_string()
}

fn rand_name(s: &str) -> String {
    format!(
        "{:x}",
        s.bytes().fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(b as u64))
    )
}

#[test]
fn certificate_problems_stop_start_up_naming_the_file() {
    let t = TempDir::new("tlsbad");
    let d = t.path().join("pki");
    std::fs::create_dir_all(&d).unwrap();
    make_ca(&d, "ca");
    make_leaf(&d, "ca", "node", 30);
    make_leaf(&d, "ca", "other", 30);
    make_leaf(&d, "ca", "old", -1);
    let table = |cert: &str, key: &str| {
        format!(
            "[node.tls]\nport = 0\ncertificate = {:?}\nprivate_key = {:?}\n",
            p(&d, cert),
            p(&d, key)
        )
    };
    let err = serve_fails(t.path(), &table("missing.crt", "node.key"));
    assert!(
        err.contains(&p(&d, "missing.crt")) && err.contains("cannot read"),
        "{err}"
    );
    let err = serve_fails(t.path(), &table("old.crt", "old.key"));
    assert!(err.contains(&p(&d, "old.crt")) && err.contains("expired"), "{err}");
    let err = serve_fails(t.path(), &table("node.crt", "other.key"));
    assert!(
        err.contains(&p(&d, "other.key")) && err.contains("does not match"),
        "{err}"
    );
    let err = serve_fails(t.path(), &table("node.key", "node.key"));
    assert!(
        err.contains(&p(&d, "node.key")) && err.contains("no PEM certificate"),
        "{err}"
    );
    // A destination's CA is checked at start-up too.
    let dest = format!(
        "[[destinations]]\nname = \"pacs\"\nae_title = \"PACS\"\nhost = \"127.0.0.1\"\nport = 104\ntls = true\nca = {:?}\n",
        p(&d, "nope-ca.crt")
    );
    let config = t.path().join("dest.toml");
    std::fs::write(&config, format!("[node]\nport = 0\n[spool]\ndir = {:?}\nmin_free_bytes = 0\n[pipeline]\nplugins = []\n[http]\nport = 0\n{dest}", t.path().join("spool").display().to_string())).unwrap();
    let out = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("destination pacs") && err.contains(&p(&d, "nope-ca.crt")),
        "{err}"
    );
}
