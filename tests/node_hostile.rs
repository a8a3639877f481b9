//! Slow and hostile peers: silent sockets, a PDU cut off half-way, PDUs longer than negotiated
//! (one whose length field says 4 GB), an A-ASSOCIATE-RQ with 200 presentation contexts, and
//! 5,000 tiny instances over one association. Throughout, another peer's C-ECHO is answered
//! within a second, stalled connections are dropped after the configured timeouts, and the
//! node's memory stays bounded.

mod common;

use common::raw::Raw;
use common::wire::{self, associate, closed_within, connect_from, echo_context, rss_mib};
use common::*;
use dicom_core::value::PrimitiveValue;
use dicom_core::{DataElement, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_encoding::transfer_syntax::TransferSyntaxIndex;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;
use dicom_ul::pdu::PresentationContextProposed;
use dicom_ul::Pdu;
use std::io::Write;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Timeouts of the test node: short, so that the test sees stalled peers dropped.
const ASSOCIATE_TIMEOUT_S: u64 = 3;
const READ_TIMEOUT_S: u64 = 3;
/// The node's resident memory must stay under this (it idles at ~120 MiB).
const RSS_LIMIT_MIB: f64 = 400.0;

fn hostile_node(t: &TempDir) -> Node {
    let cfg = NodeConfig {
        extra_node: format!(
            "associate_timeout_seconds = {ASSOCIATE_TIMEOUT_S}\nread_timeout_seconds = {READ_TIMEOUT_S}\nmax_pending_per_address = 8\nmax_associations = 4\nmax_instance_bytes = 67108864\n"
        ),
        ..NodeConfig::default()
    };
    Node::start(t.path(), &cfg)
}

/// Milliseconds of one dcmtk C-ECHO from 127.0.0.1; None when it failed.
fn echo_ms(node: &Node) -> Option<u128> {
    let t = Instant::now();
    let ok = Command::new("echoscu")
        .args(["-to", "5", "-aet", "ECHOER", "-aec", "PAVSEG", "127.0.0.1", &node.port.to_string()])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    ok.then(|| t.elapsed().as_millis())
}

fn assert_echo_fast(node: &Node, during: &str) {
    let ms = echo_ms(node);
    assert!(ms.is_some_and(|ms| ms < 1000), "C-ECHO during {during}: {ms:?} ms; log:\n{}", node.log_text());
}

fn metric(node: &Node, line_start: &str) -> f64 {
    let (_, text) = node.http_get("/metrics").expect("metrics");
    text.lines()
        .find(|l| l.starts_with(line_start))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

/// Runs C-ECHOs in the background every 200 ms while `f` runs; returns the slowest (ms) and
/// the number that failed.
fn echoes_during<T>(node: &Node, f: impl FnOnce() -> T) -> (T, u128, usize) {
    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Mutex::new((0u128, 0usize)));
    let port = node.port;
    let handle = {
        let (stop, seen) = (stop.clone(), seen.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                let ok = Command::new("echoscu")
                    .args(["-to", "5", "-aet", "ECHOER", "-aec", "PAVSEG", "127.0.0.1", &port.to_string()])
                    .output()
                    .map(|o| o.status.success())
                    .unwrap_or(false);
                let mut s = seen.lock().unwrap();
                s.0 = s.0.max(t.elapsed().as_millis());
                s.1 += usize::from(!ok);
                drop(s);
                std::thread::sleep(Duration::from_millis(200));
            }
        })
    };
    let out = f();
    stop.store(true, Ordering::Relaxed);
    handle.join().unwrap();
    let s = *seen.lock().unwrap();
    (out, s.0, s.1)
}

#[test]
fn silent_sockets_do_not_shut_other_peers_out_and_are_dropped() {
    let t = TempDir::new("hostile-silent");
    let node = hostile_node(&t);
    // 100 connections from another "host" (127.0.0.2) that never send an A-ASSOCIATE-RQ.
    let mut silent: Vec<_> = (0..100).map(|_| connect_from("127.0.0.2", node.port).expect("connect")).collect();
    for round in 0..3 {
        assert_echo_fast(&node, &format!("100 silent connections (round {round})"));
    }
    // Beyond the per-address bound they were closed at once; the rest after the timeout.
    let deadline = Duration::from_secs(ASSOCIATE_TIMEOUT_S + 3);
    let t0 = Instant::now();
    let mut open = 0;
    for s in silent.iter_mut() {
        open += usize::from(!closed_within(s, deadline.saturating_sub(t0.elapsed())));
    }
    assert_eq!(open, 0, "silent connections still open after {deadline:?}");
    assert!(metric(&node, "pavseg_associations_refused_total{reason=\"address_limit\"}") >= 92.0);
    assert!(metric(&node, "pavseg_associations_refused_total{reason=\"timeout\"}") >= 8.0);
    assert_echo_fast(&node, "after the silent connections");
}

#[test]
fn stalled_and_oversized_pdus_are_dropped_without_buffering() {
    let t = TempDir::new("hostile-pdu");
    let node = hostile_node(&t);
    let pid = node.child.id();

    // A peer that stops in the middle of a P-DATA-TF: dropped after the read timeout.
    let mut stalled = connect_from("127.0.0.3", node.port).unwrap();
    assert!(matches!(associate(&mut stalled, echo_context()), Ok(Pdu::AssociationAC(_))));
    stalled.write_all(&[0x04, 0, 0, 0, 0x03, 0xE8]).unwrap(); // P-DATA-TF of 1000 bytes ...
    stalled.write_all(&[0u8; 100]).unwrap(); // ... of which 100 arrive
    assert_echo_fast(&node, "a stalled PDU");
    let t0 = Instant::now();
    assert!(closed_within(&mut stalled, Duration::from_secs(READ_TIMEOUT_S + 3)), "stalled peer not dropped");
    assert!(t0.elapsed() >= Duration::from_secs(READ_TIMEOUT_S - 1), "dropped before the read timeout");

    // A PDU longer than the node's maximum (131072, the default): refused as it starts.
    let mut long = connect_from("127.0.0.3", node.port).unwrap();
    assert!(matches!(associate(&mut long, echo_context()), Ok(Pdu::AssociationAC(_))));
    let len: u32 = 131_072 + 4096;
    let mut pdu = vec![0x04, 0];
    pdu.extend_from_slice(&len.to_be_bytes());
    pdu.resize(6 + len as usize, 0);
    let _ = long.write_all(&pdu);
    assert!(closed_within(&mut long, Duration::from_secs(2)), "over-long PDU accepted");

    // A P-DATA-TF whose length field says 4 GB, followed by 64 MiB of bytes: dropped at the
    // header; nothing of it is buffered.
    let mut huge = connect_from("127.0.0.3", node.port).unwrap();
    assert!(matches!(associate(&mut huge, echo_context()), Ok(Pdu::AssociationAC(_))));
    let _ = huge.write_all(&[0x04, 0, 0xFF, 0xFF, 0xFF, 0xFE]);
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..64 {
        if huge.write_all(&chunk).is_err() {
            break;
        }
    }
    assert!(closed_within(&mut huge, Duration::from_secs(2)), "4 GB PDU accepted");
    let (rss, peak) = rss_mib(pid);
    eprintln!("node RSS after the hostile PDUs: {rss:.0} MiB (peak {peak:.0} MiB)");
    assert!(peak < RSS_LIMIT_MIB, "node peak RSS {peak:.0} MiB");
    assert_echo_fast(&node, "after the hostile PDUs");
}

#[test]
fn two_hundred_presentation_contexts_get_an_answer() {
    let t = TempDir::new("hostile-pcs");
    let node = hostile_node(&t);
    // Ids are odd numbers below 256, so 200 contexts must repeat ids; half name unknown classes.
    let contexts: Vec<PresentationContextProposed> = (0..200u32)
        .map(|i| PresentationContextProposed {
            id: ((2 * i + 1) % 256) as u8,
            abstract_syntax: if i % 2 == 0 { uids::CT_IMAGE_STORAGE.to_string() } else { format!("1.2.3.999.{i}") },
            transfer_syntaxes: vec![uids::EXPLICIT_VR_LITTLE_ENDIAN.into(), uids::IMPLICIT_VR_LITTLE_ENDIAN.into()],
        })
        .collect();
    let mut s = connect_from("127.0.0.4", node.port).unwrap();
    let t0 = Instant::now();
    let answer = associate(&mut s, contexts).expect("an answer to 200 contexts");
    assert!(t0.elapsed() < Duration::from_secs(1), "answered after {:?}", t0.elapsed());
    match answer {
        Pdu::AssociationAC(ac) => {
            assert!(ac.presentation_contexts.len() <= 200);
            eprintln!("A-ASSOCIATE-AC with {} context results", ac.presentation_contexts.len());
        }
        Pdu::AssociationRJ(rj) => eprintln!("A-ASSOCIATE-RJ: {rj:?}"),
        other => panic!("unexpected answer {other:?}"),
    }
    drop(s);
    assert_echo_fast(&node, "after 200 contexts");
}

/// One tiny CT instance (4 x 4 pixels) of `series`, slice `k`, as an explicit VR little
/// endian data set, made from a phantom slice.
fn tiny_instance(template: &dicom_object::DefaultDicomObject, series: &str, k: usize) -> (String, Vec<u8>) {
    let mut obj = template.clone();
    let sop = format!("{series}.{}", k + 1);
    let put = |o: &mut dicom_object::DefaultDicomObject, tag, vr, v: PrimitiveValue| o.put(DataElement::new(tag, vr, v));
    put(&mut obj, tags::SERIES_INSTANCE_UID, VR::UI, PrimitiveValue::from(series));
    put(&mut obj, tags::SOP_INSTANCE_UID, VR::UI, PrimitiveValue::from(sop.as_str()));
    put(&mut obj, tags::INSTANCE_NUMBER, VR::IS, PrimitiveValue::from((k + 1).to_string()));
    put(&mut obj, tags::IMAGE_POSITION_PATIENT, VR::DS, PrimitiveValue::from(format!("0\\0\\{}", k as f64 * 0.5)));
    put(&mut obj, tags::ROWS, VR::US, PrimitiveValue::from(4u16));
    put(&mut obj, tags::COLUMNS, VR::US, PrimitiveValue::from(4u16));
    put(&mut obj, tags::PIXEL_DATA, VR::OW, PrimitiveValue::U16(vec![1000u16; 16].into()));
    let ts = TransferSyntaxRegistry.get(uids::EXPLICIT_VR_LITTLE_ENDIAN).unwrap();
    let mut bytes = Vec::new();
    obj.write_dataset_with_ts(&mut bytes, ts).unwrap();
    (sop, bytes)
}

#[test]
fn five_thousand_tiny_instances_over_one_association() {
    let t = TempDir::new("hostile-5000");
    let (_, ph) = make_phantom(&t.path().join("ph"), small_phantom(77));
    let template = {
        let first = std::fs::read_dir(&ph.dicom_dir).unwrap().flatten().map(|e| e.path()).min().unwrap();
        dicom_object::open_file(first).unwrap()
    };
    let node = hostile_node(&t);
    let series = pavseg::uid::generate("2.25");
    let n = 5000;
    let ((acked, secs), slowest_echo, failed_echoes) = echoes_during(&node, || {
        let mut raw = Raw::connect(node.port, &[(uids::CT_IMAGE_STORAGE, uids::EXPLICIT_VR_LITTLE_ENDIAN)]).unwrap();
        let (pc, _) = raw.accepted(uids::CT_IMAGE_STORAGE).unwrap();
        let t0 = Instant::now();
        let mut acked = 0;
        for k in 0..n {
            let (sop, bytes) = tiny_instance(&template, &series, k);
            let (status, comment) = raw.store(pc, uids::CT_IMAGE_STORAGE, &sop, &bytes);
            assert_eq!(status, 0x0000, "instance {k}: {comment:?}");
            acked += 1;
        }
        raw.release();
        (acked, t0.elapsed().as_secs_f64())
    });
    eprintln!("{acked} tiny instances in {secs:.1} s; slowest concurrent C-ECHO {slowest_echo} ms, {failed_echoes} failed");
    assert_eq!(acked, n);
    assert_eq!(failed_echoes, 0);
    assert!(slowest_echo < 1000, "slowest C-ECHO {slowest_echo} ms while storing");
    // Every acknowledged instance is in the spool, and the series becomes one filed job.
    let (area, dir) = node.wait_job(&series, Duration::from_secs(120)).expect("the 5000-instance series was not filed");
    assert_eq!(job_files(&dir).len(), n, "job {area} holds a different number of instances");
    let (rss, peak) = rss_mib(node.child.id());
    eprintln!("job {area}; node RSS {rss:.0} MiB (peak {peak:.0} MiB)");
    assert!(peak < RSS_LIMIT_MIB, "node peak RSS {peak:.0} MiB");
    let _ = wire::fds_and_threads(node.child.id());
}
