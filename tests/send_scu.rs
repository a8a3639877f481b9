//! `pavseg send` against dcmtk's storescp, and its failures.

mod common;

use common::*;
use std::process::{Command, Stdio};
use std::time::Duration;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn send_delivers_every_file_unchanged_to_storescp() {
    let t = TempDir::new("send");
    let (_, files) = make_phantom(&t.path().join("ph"), small_phantom(61));
    let out_dir = t.path().join("received");
    std::fs::create_dir_all(&out_dir).unwrap();
    let port = free_port();
    let mut scp = Command::new("storescp")
        .args(["-aet", "STORESCP", "+B", "-od"])
        .arg(&out_dir)
        .arg(port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("storescp (apt package dcmtk)");
    assert!(wait_until(Duration::from_secs(10), || Command::new("echoscu")
        .args(["-aec", "STORESCP", "127.0.0.1", &port.to_string()])
        .output()
        .is_ok_and(|o| o.status.success())));
    let out = Command::new(BIN)
        .args(["send", "--to", &format!("STORESCP@127.0.0.1:{port}")])
        .arg(&files.dicom_dir)
        .output()
        .unwrap();
    let _ = scp.kill();
    let _ = scp.wait();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("sent 64 of 64"));
    let received: Vec<_> = std::fs::read_dir(&out_dir).unwrap().flatten().map(|e| e.path()).collect();
    assert_eq!(received.len(), 64);
    for r in received {
        let got = pavseg::scu::OutgoingFile::open(&r).unwrap();
        let sent = std::fs::read_dir(&files.dicom_dir)
            .unwrap()
            .flatten()
            .map(|e| pavseg::scu::OutgoingFile::open(&e.path()).unwrap())
            .find(|f| f.sop_instance_uid == got.sop_instance_uid)
            .expect("received file matches a sent one");
        assert_eq!(got.transfer_syntax, sent.transfer_syntax);
        assert_eq!(common::raw::data_set_of(&r), common::raw::data_set_of(&sent.path), "data set changed in transit");
    }
}

#[test]
fn send_fails_clearly_when_the_peer_is_unreachable_or_rejects() {
    let t = TempDir::new("sendfail");
    let (_, files) = make_phantom(&t.path().join("ph"), small_phantom(62));
    let port = free_port();
    let out = Command::new(BIN).args(["send", "--to", &format!("NOBODY@127.0.0.1:{port}")]).arg(&files.dicom_dir).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot associate with NOBODY@127.0.0.1"), "{err}");

    // A node that refuses our calling AE title.
    let cfg = NodeConfig { extra_node: "allowed_calling_ae_titles = [\"SOMEONE\"]".into(), ..NodeConfig::default() };
    let node = Node::start(t.path(), &cfg);
    let out = Command::new(BIN)
        .args(["send", "--calling-ae", "STRANGER", "--to", &format!("PAVSEG@127.0.0.1:{}", node.port)])
        .arg(&files.dicom_dir)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot associate") && err.to_lowercase().contains("reject"), "{err}");

    // A file that is not DICOM, named explicitly.
    let junk = t.path().join("notes.txt");
    std::fs::write(&junk, "not dicom").unwrap();
    let out = Command::new(BIN).args(["send", "--to", &format!("PAVSEG@127.0.0.1:{}", node.port)]).arg(&junk).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("notes.txt"));
}
