//! `pdu`: bytes from a peer. First dicom-ul's PDU reader on its own (strict, every PDU the
//! input holds) and our DIMSE command decoder on the raw bytes; then the input as the byte
//! stream of a connection to the node: association establishment with the node's own
//! negotiation (over loopback TCP, since dicom-ul's `establish_async` takes a `TcpStream` and no
//! other stream), and, once established, the node's handling of what follows: command fragments
//! reassembled and decoded, C-ECHO answered, C-STORE data sets parsed with the negotiated
//! transfer syntax, release answered.

use super::Target;
use crate::config::NodeSettings;
use crate::dimse::{self, command_field, Status};
use crate::fuzz::node_negotiation::{options, Options};
use dicom_encoding::transfer_syntax::TransferSyntaxIndex;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;
use dicom_ul::association::AsyncServerAssociation;
use dicom_ul::pdu::{read_pdu, PDataValue, PDataValueType, Pdu};
use std::net::SocketAddr;
use std::sync::OnceLock;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub const TARGET: Target = Target {
    name: "pdu",
    about: "upper-layer PDUs: dicom-ul read_pdu, the node's association negotiation, DIMSE decode_command",
    prepare,
    run,
    dictionary: super::tokens::pdu,
    builtin_seeds: &[],
    hidden: false,
};

/// PDUs handled per association at most (an input holds few).
const MAX_PDUS: usize = 256;
/// Largest data set buffered (the node's limit is `node.max_instance_bytes`; inputs are small).
const MAX_DATA_SET: usize = 4 << 20;
/// The node aborts an association whose command set grows past this (association.rs).
const MAX_COMMAND_BYTES: usize = 64 * 1024;

struct Fixture {
    runtime: tokio::runtime::Runtime,
    listener: TcpListener,
    address: SocketAddr,
    options: Options,
    max_pdu_length: u32,
}

fn fixture() -> Result<&'static Fixture, String> {
    static FIXTURE: OnceLock<Result<Fixture, String>> = OnceLock::new();
    FIXTURE
        .get_or_init(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            let listener = runtime
                .block_on(TcpListener::bind("127.0.0.1:0"))
                .map_err(|e| e.to_string())?;
            let address = listener.local_addr().map_err(|e| e.to_string())?;
            let node = NodeSettings::default();
            Ok(Fixture {
                runtime,
                listener,
                address,
                max_pdu_length: node.max_pdu_length,
                options: options(&node),
            })
        })
        .as_ref()
        .map_err(Clone::clone)
}

fn prepare() -> Result<(), String> {
    fixture().map(|_| ())
}

fn run(bytes: &[u8]) {
    let Ok(fx) = fixture() else { return };
    let mut buf = bytes;
    for _ in 0..MAX_PDUS {
        let before = buf.len();
        match read_pdu(&mut buf, fx.max_pdu_length, true) {
            Ok(Some(_)) if buf.len() < before => {}
            _ => break,
        }
    }
    let _ = dimse::decode_command(bytes);
    fx.runtime.block_on(connect(fx, bytes));
}

/// One connection: the client sends `bytes` and closes its side; the node's side negotiates
/// and serves until the stream ends.
async fn connect(fx: &Fixture, bytes: &[u8]) {
    let accept = async { fx.listener.accept().await.map(|(s, _)| s) };
    let Ok((client, server)) = tokio::try_join!(TcpStream::connect(fx.address), accept) else {
        return;
    };
    // Reset instead of TIME_WAIT: a million connections must not exhaust the ports.
    let _ = client.set_zero_linger();
    let _ = server.set_zero_linger();
    let (mut rd, mut wr) = client.into_split();
    let send = async move {
        let _ = wr.write_all(bytes).await;
        let _ = wr.shutdown().await;
    };
    let drain = async move {
        let mut sink = [0u8; 4096];
        while let Ok(n) = rd.read(&mut sink).await {
            if n == 0 {
                break;
            }
        }
    };
    let serve = async {
        if let Ok(assoc) = fx.options.establish_async(server).await {
            serve(assoc).await;
        }
    };
    tokio::join!(send, drain, serve);
}

/// What the node's association loop does with the PDUs after establishment.
async fn serve(mut assoc: AsyncServerAssociation<TcpStream>) {
    let mut command: Vec<u8> = Vec::new();
    let mut pending: Option<(dimse::Command, u8, Vec<u8>)> = None;
    for _ in 0..MAX_PDUS {
        let pdvs = match assoc.receive().await {
            Ok(Pdu::PData { data }) => data,
            Ok(Pdu::ReleaseRQ) => {
                let _ = assoc.send(&Pdu::ReleaseRP).await;
                return;
            }
            Ok(Pdu::AbortRQ { .. }) | Err(_) => return,
            Ok(_) => {
                let _ = assoc.abort().await;
                return;
            }
        };
        for pdv in pdvs {
            match pdv.value_type {
                PDataValueType::Command => {
                    if command.len() + pdv.data.len() > MAX_COMMAND_BYTES {
                        let _ = assoc.abort().await;
                        return;
                    }
                    command.extend_from_slice(&pdv.data);
                    if !pdv.is_last {
                        continue;
                    }
                    let Ok(c) = dimse::decode_command(&std::mem::take(&mut command)) else {
                        let _ = assoc.abort().await;
                        return;
                    };
                    match c.field {
                        command_field::C_ECHO_RQ => {
                            let class = c.affected_sop_class_uid.clone().unwrap_or_default();
                            let rsp = dimse::echo_response(c.message_id, &class);
                            if reply(&mut assoc, pdv.presentation_context_id, rsp).await.is_err() {
                                return;
                            }
                        }
                        command_field::C_STORE_RQ if c.has_data_set => {
                            pending = Some((c, pdv.presentation_context_id, Vec::new()));
                        }
                        _ => {
                            let _ = assoc.abort().await;
                            return;
                        }
                    }
                }
                PDataValueType::Data => {
                    let Some((_, _, data)) = pending.as_mut() else {
                        let _ = assoc.abort().await;
                        return;
                    };
                    if data.len() + pdv.data.len() <= MAX_DATA_SET {
                        data.extend_from_slice(&pdv.data);
                    }
                    if !pdv.is_last {
                        continue;
                    }
                    let Some((c, context, data)) = pending.take() else {
                        continue;
                    };
                    let status = store(&assoc, context, &data);
                    let class = c.affected_sop_class_uid.clone().unwrap_or_default();
                    let sop = c.affected_sop_instance_uid.clone().unwrap_or_default();
                    let rsp = dimse::store_response(c.message_id, &class, &sop, status, Some("fuzz"));
                    if reply(&mut assoc, context, rsp).await.is_err() {
                        return;
                    }
                }
            }
        }
    }
}

/// Parses a received data set with its presentation context's transfer syntax.
fn store(assoc: &AsyncServerAssociation<TcpStream>, context: u8, data: &[u8]) -> Status {
    let ts = assoc
        .presentation_contexts()
        .iter()
        .find(|pc| pc.id == context)
        .and_then(|pc| TransferSyntaxRegistry.get(&pc.transfer_syntax));
    match ts.map(|ts| dimse::read_data_set(data, ts)) {
        Some(Ok(_)) => Status::Success,
        _ => Status::CannotUnderstand,
    }
}

async fn reply(
    assoc: &mut AsyncServerAssociation<TcpStream>,
    context: u8,
    bytes: Result<Vec<u8>, dimse::DimseError>,
) -> Result<(), ()> {
    let data = bytes.map_err(|_| ())?;
    let pdu = Pdu::PData {
        data: vec![PDataValue {
            presentation_context_id: context,
            value_type: PDataValueType::Command,
            is_last: true,
            data,
        }],
    };
    assoc.send(&pdu).await.map_err(|_| ())
}
