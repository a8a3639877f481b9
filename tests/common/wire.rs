//! Raw bytes on a TCP socket, for peers that misbehave below the DIMSE level: silent sockets,
//! PDUs cut short, length fields that lie. Sockets may be bound to another loopback address
//! (127.0.0.2, ...), so that one "host" can be told from another.
#![allow(dead_code)]

use dicom_dictionary_std::uids;
use dicom_ul::pdu::{write_pdu, AssociationRQ, PresentationContextProposed, UserVariableItem};
use dicom_ul::Pdu;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// Connects to the node on 127.0.0.1:`port` from the loopback address `from`.
pub fn connect_from(from: &str, port: u16) -> std::io::Result<TcpStream> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let stream = rt.block_on(async {
        let s = tokio::net::TcpSocket::new_v4()?;
        s.bind(format!("{from}:0").parse().map_err(std::io::Error::other)?)?;
        s.connect(format!("127.0.0.1:{port}").parse().map_err(std::io::Error::other)?).await
    })?;
    let stream = stream.into_std()?;
    stream.set_nonblocking(false)?;
    Ok(stream)
}

/// An A-ASSOCIATE-RQ from `RAWSCU` to `PAVSEG` with the given presentation contexts.
pub fn associate_rq(contexts: Vec<PresentationContextProposed>) -> Vec<u8> {
    let rq = Pdu::AssociationRQ(AssociationRQ {
        protocol_version: 1,
        calling_ae_title: "RAWSCU".into(),
        called_ae_title: "PAVSEG".into(),
        application_context_name: "1.2.840.10008.3.1.1.1".into(),
        presentation_contexts: contexts,
        user_variables: vec![
            UserVariableItem::MaxLength(16_384),
            UserVariableItem::ImplementationClassUID("1.2.3.4.5".into()),
        ],
    });
    let mut out = Vec::new();
    write_pdu(&mut out, &rq).expect("encode A-ASSOCIATE-RQ");
    out
}

/// One Verification context (id 1, explicit VR little endian).
pub fn echo_context() -> Vec<PresentationContextProposed> {
    vec![PresentationContextProposed {
        id: 1,
        abstract_syntax: uids::VERIFICATION.into(),
        transfer_syntaxes: vec![uids::EXPLICIT_VR_LITTLE_ENDIAN.into()],
    }]
}

/// Reads one whole PDU (up to 1 MiB) within `timeout`.
pub fn read_pdu(s: &mut TcpStream, timeout: Duration) -> Result<Pdu, String> {
    s.set_read_timeout(Some(timeout)).map_err(|e| e.to_string())?;
    let mut head = [0u8; 6];
    s.read_exact(&mut head).map_err(|e| format!("reading a PDU header: {e}"))?;
    let len = u32::from_be_bytes([head[2], head[3], head[4], head[5]]) as usize;
    if len > 1 << 20 {
        return Err(format!("PDU of {len} bytes"));
    }
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).map_err(|e| format!("reading a PDU body: {e}"))?;
    let mut all = head.to_vec();
    all.extend_from_slice(&body);
    dicom_ul::pdu::read_pdu(&mut all.as_slice(), 1 << 20, false)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| "incomplete PDU".to_string())
}

/// Associates with the node over `s`; returns the node's answer.
pub fn associate(s: &mut TcpStream, contexts: Vec<PresentationContextProposed>) -> Result<Pdu, String> {
    s.write_all(&associate_rq(contexts)).map_err(|e| e.to_string())?;
    read_pdu(s, Duration::from_secs(5))
}

/// Whether the peer closed (or reset) the connection within `timeout`; anything it sends
/// first (an A-ABORT) is read and ignored.
pub fn closed_within(s: &mut TcpStream, timeout: Duration) -> bool {
    let end = Instant::now() + timeout;
    let mut buf = [0u8; 4096];
    loop {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        let _ = s.set_read_timeout(Some(left.max(Duration::from_millis(10))));
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => return false,
            Err(_) => return true,
        }
    }
}

/// The node's resident set now and at its peak, in MiB (from /proc).
pub fn rss_mib(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .map(|kb| kb / 1024.0)
            .unwrap_or(0.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Open file descriptors and threads of a process.
pub fn fds_and_threads(pid: u32) -> (usize, usize) {
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map(|d| d.count()).unwrap_or(0);
    let threads = std::fs::read_dir(format!("/proc/{pid}/task")).map(|d| d.count()).unwrap_or(0);
    (fds, threads)
}
