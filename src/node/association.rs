//! One association: negotiate, then answer C-ECHO and C-STORE requests until the peer
//! releases or aborts. A bad instance gets a failure status and the association goes on.

use super::store::{store_instance, StoreRequest};
use super::admission::{Admission, Pending};
use super::{Shared, Transport};
use crate::tls::TcpSocket;
use crate::dimse::{self, command_field, Command, Status};
use dicom_ul::association::AsyncServerAssociation;
use dicom_ul::pdu::{PDataValue, PDataValueType};
use dicom_ul::prelude::*;
use dicom_ul::Pdu;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tracing::{debug, info, info_span, warn, Instrument};

/// A command set is a few hundred bytes; one spread over more than this is not a command.
const MAX_COMMAND_BYTES: usize = 64 * 1024;

/// A C-STORE whose data set is still arriving.
struct PendingStore {
    command: Command,
    context_id: u8,
    data: Vec<u8>,
    /// Set once the data set outgrew `max_instance_bytes`: the rest is read and dropped, and
    /// the request is answered with A700.
    overflow: bool,
}

pub async fn serve(
    socket: TcpStream,
    peer: SocketAddr,
    transport: Transport,
    shared: Arc<Shared>,
    abort: watch::Receiver<bool>,
    pending: Pending,
    admission: &Admission,
) {
    // A peer that connects and then says nothing (or stalls the TLS handshake) is dropped
    // after the associate timeout; until then it holds only a pending place, no slot.
    let limit = Duration::from_secs(shared.settings.node.associate_timeout_seconds);
    match transport {
        Transport::Plain => match tokio::time::timeout(limit, shared.options.establish_async(socket)).await {
            Ok(Ok(assoc)) => admitted(assoc, peer, "dicom", shared, abort, pending, admission, limit).await,
            Ok(Err(e)) => refused(&shared, peer, transport, &e),
            Err(_) => timed_out(&shared, peer, transport, limit),
        },
        Transport::Tls => {
            let Some(options) = shared.tls_options.as_ref() else { return };
            match tokio::time::timeout(limit, options.establish_tls_async(socket)).await {
                Ok(Ok(assoc)) => admitted(assoc, peer, "dicom-tls", shared, abort, pending, admission, limit).await,
                Ok(Err(e)) => refused(&shared, peer, transport, &e),
                Err(_) => timed_out(&shared, peer, transport, limit),
            }
        }
    }
}

/// An established association waits for a free slot (holding its pending place meanwhile);
/// when none frees up within the associate timeout it is aborted.
#[allow(clippy::too_many_arguments)]
async fn admitted<S>(
    assoc: AsyncServerAssociation<S>,
    peer: SocketAddr,
    transport: &'static str,
    shared: Arc<Shared>,
    abort: watch::Receiver<bool>,
    pending: Pending,
    admission: &Admission,
    limit: Duration,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + TcpSocket<Tcp = TcpStream>,
{
    let Some(slot) = admission.slot(limit).await else {
        shared.telemetry.associations_refused.with_label_values(&["busy"]).inc();
        warn!(peer = %peer, calling_ae = %assoc.peer_ae_title().trim(), max = shared.settings.node.max_associations, "every association slot is busy; association aborted");
        let _ = assoc.abort().await;
        return;
    };
    drop(pending);
    start(assoc, peer, transport, shared, abort).await;
    drop(slot);
}

fn refused(shared: &Shared, peer: SocketAddr, transport: Transport, e: &dicom_ul::association::Error) {
    use dicom_ul::association::Error as E;
    if matches!(e, E::Timeout { .. }) {
        // dicom-ul's own read timeout on the A-ASSOCIATE-RQ: the peer said nothing.
        timed_out(shared, peer, transport, Duration::from_secs(shared.settings.node.associate_timeout_seconds));
        return;
    }
    let reason = match e {
        E::TlsHandshake { .. } | E::TlsConnection { .. } => "tls",
        E::TlsNotSupported => "tls_on_plain_port",
        _ => "negotiation",
    };
    shared.telemetry.associations_refused.with_label_values(&[reason]).inc();
    let why = crate::tls::error_chain(e);
    match (transport, reason) {
        (Transport::Tls, "tls") => warn!(peer = %peer, reason, error = %why, "TLS connection refused"),
        (Transport::Plain, "tls_on_plain_port") => warn!(peer = %peer, reason, "TLS client on the plain DICOM port refused (use the TLS port)"),
        _ => warn!(peer = %peer, reason, error = %why, "association not established"),
    }
}

fn timed_out(shared: &Shared, peer: SocketAddr, transport: Transport, limit: Duration) {
    shared.telemetry.associations_refused.with_label_values(&["timeout"]).inc();
    warn!(peer = %peer, ?transport, limit_s = limit.as_secs(), "no association within the read timeout; connection dropped");
}

async fn start<S>(assoc: AsyncServerAssociation<S>, peer: SocketAddr, transport: &'static str, shared: Arc<Shared>, abort: watch::Receiver<bool>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + TcpSocket<Tcp = TcpStream>,
{
    let calling = assoc.peer_ae_title().trim().to_string();
    let span = info_span!("association", calling_ae = %calling, called_ae = %shared.settings.node.ae_title, peer = %peer, transport);
    shared.telemetry.associations.with_label_values(&[calling.as_str()]).inc();
    shared.telemetry.associations_active.inc();
    run_association(assoc, shared.clone(), abort).instrument(span).await;
    shared.telemetry.associations_active.dec();
}

async fn run_association<S>(mut assoc: AsyncServerAssociation<S>, shared: Arc<Shared>, mut abort: watch::Receiver<bool>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + TcpSocket<Tcp = TcpStream>,
{
    let accepted = assoc.presentation_contexts().iter().filter(|pc| pc.reason == dicom_ul::pdu::PresentationContextResultReason::Acceptance).count();
    info!(contexts = assoc.presentation_contexts().len(), accepted, "association established");
    let calling_ae = assoc.peer_ae_title().trim().to_string();
    let max_instance = shared.settings.node.max_instance_bytes;
    let mut command_buf: Vec<u8> = Vec::new();
    let mut pending: Option<PendingStore> = None;
    let mut stored = 0usize;
    loop {
        quick_ack(&mut assoc);
        let pdu = tokio::select! {
            biased;
            _ = abort.changed() => {
                warn!("aborting association at shutdown");
                let _ = assoc.abort().await;
                return;
            }
            pdu = assoc.receive() => pdu,
        };
        let data = match pdu {
            Ok(Pdu::PData { data }) => data,
            Ok(Pdu::ReleaseRQ) => {
                let _ = assoc.send(&Pdu::ReleaseRP).await;
                info!(stored, "association released");
                return;
            }
            Ok(Pdu::AbortRQ { source }) => {
                warn!(?source, stored, "association aborted by peer");
                return;
            }
            Ok(other) => {
                warn!(pdu = %other.short_description(), "unexpected PDU; aborting association");
                let _ = assoc.abort().await;
                return;
            }
            Err(e) => {
                warn!(error = %e, stored, "association ended without release");
                return;
            }
        };
        for pdv in data {
            match pdv.value_type {
                PDataValueType::Command => {
                    if command_buf.len() + pdv.data.len() > MAX_COMMAND_BYTES {
                        warn!(limit = MAX_COMMAND_BYTES, "DIMSE command set too long; aborting association");
                        let _ = assoc.abort().await;
                        return;
                    }
                    command_buf.extend_from_slice(&pdv.data);
                    if !pdv.is_last {
                        continue;
                    }
                    let bytes = std::mem::take(&mut command_buf);
                    let command = match dimse::decode_command(&bytes) {
                        Ok(c) => c,
                        Err(e) => {
                            warn!(error = %e, "undecodable command; aborting association");
                            let _ = assoc.abort().await;
                            return;
                        }
                    };
                    match command.field {
                        command_field::C_ECHO_RQ => {
                            let class = command.affected_sop_class_uid.clone().unwrap_or_default();
                            if send_command(&mut assoc, pdv.presentation_context_id, dimse::echo_response(command.message_id, &class)).await.is_err() {
                                return;
                            }
                            debug!("C-ECHO answered");
                        }
                        command_field::C_STORE_RQ if command.has_data_set => {
                            pending = Some(PendingStore { command, context_id: pdv.presentation_context_id, data: Vec::new(), overflow: false });
                        }
                        other => {
                            warn!(command_field = format!("{other:#06x}"), "unsupported DIMSE command; aborting association");
                            let _ = assoc.abort().await;
                            return;
                        }
                    }
                }
                PDataValueType::Data => {
                    let Some(p) = pending.as_mut() else {
                        warn!("data set without a preceding C-STORE request; aborting association");
                        let _ = assoc.abort().await;
                        return;
                    };
                    if !p.overflow && p.data.len() + pdv.data.len() > max_instance {
                        p.overflow = true;
                        p.data = Vec::new();
                    }
                    if !p.overflow {
                        p.data.extend_from_slice(&pdv.data);
                    }
                    if !pdv.is_last {
                        continue;
                    }
                    let Some(p) = pending.take() else { continue };
                    let bytes = p.data.len() as u64;
                    let (status, comment) = finish_store(&assoc, &shared, &calling_ae, p.context_id, &p.command, p.data, p.overflow, max_instance).await;
                    shared.telemetry.instances.with_label_values(&[format!("{:04X}", status.code()).as_str()]).inc();
                    if status == Status::Success {
                        stored += 1;
                        shared.telemetry.received_bytes.inc_by(bytes);
                    }
                    let class = p.command.affected_sop_class_uid.clone().unwrap_or_default();
                    let sop = p.command.affected_sop_instance_uid.clone().unwrap_or_default();
                    let rsp = dimse::store_response(p.command.message_id, &class, &sop, status, comment.as_deref());
                    if send_command(&mut assoc, p.context_id, rsp).await.is_err() {
                        return;
                    }
                }
            }
        }
    }
}

/// Stores a complete data set (on a blocking thread) and says what status to return.
#[allow(clippy::too_many_arguments)]
async fn finish_store<S>(
    assoc: &AsyncServerAssociation<S>,
    shared: &Arc<Shared>,
    calling_ae: &str,
    context_id: u8,
    command: &Command,
    data: Vec<u8>,
    overflow: bool,
    max_instance: usize,
) -> (Status, Option<String>) {
    if overflow {
        warn!(limit = max_instance, "instance larger than node.max_instance_bytes refused");
        return (Status::OutOfResources, Some(format!("instance exceeds {max_instance} bytes")));
    }
    let Some(ts) = assoc.presentation_contexts().iter().find(|pc| pc.id == context_id).map(|pc| pc.transfer_syntax.clone()) else {
        return (Status::CannotUnderstand, Some("unknown presentation context".into()));
    };
    let request = StoreRequest { command: command.clone(), transfer_syntax: ts, calling_ae: calling_ae.to_string(), data };
    let shared2 = shared.clone();
    let outcome = tokio::task::spawn_blocking(move || store_instance(&shared2, request)).await;
    match outcome {
        Ok(o) => (o.status, o.comment),
        Err(e) => {
            warn!(error = %e, "store task failed");
            (Status::ProcessingFailure, Some("internal error while storing".into()))
        }
    }
}

async fn send_command<S>(
    assoc: &mut AsyncServerAssociation<S>,
    context_id: u8,
    bytes: Result<Vec<u8>, dimse::DimseError>,
) -> Result<(), ()>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let bytes = bytes.map_err(|e| warn!(error = %e, "cannot encode response"))?;
    let pdu = Pdu::PData {
        data: vec![PDataValue { presentation_context_id: context_id, value_type: PDataValueType::Command, is_last: true, data: bytes }],
    };
    assoc.send(&pdu).await.map_err(|e| warn!(error = %e, "cannot send response; association lost"))
}

/// Asks the kernel to acknowledge the next segments at once. A sender with Nagle's algorithm
/// on (dcmtk's storescu by default) otherwise waits for our delayed ACK (~40 ms) between the
/// command and the data set of every instance. Linux clears the flag after use, so it is set
/// again before every read.
fn quick_ack<S: TcpSocket<Tcp = TcpStream> + AsyncRead + AsyncWrite + Unpin + Send>(assoc: &mut AsyncServerAssociation<S>) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let fd = assoc.inner_stream().tcp().as_raw_fd();
        let one: libc::c_int = 1;
        // SAFETY: a valid socket fd and a correctly sized option value; failure is harmless.
        unsafe {
            libc::setsockopt(
                fd,
                libc::IPPROTO_TCP,
                libc::TCP_QUICKACK,
                &one as *const libc::c_int as *const libc::c_void,
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
    }
}
