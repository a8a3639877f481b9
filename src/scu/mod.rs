//! C-STORE SCU: sends DICOM files to a peer, negotiating each file's own transfer syntax
//! (so the bytes arrive unchanged), falling back to re-encoding only between uncompressed
//! syntaxes. Used by `pavseg send` and by the node to deliver segmentations.

mod destination;
mod files;

pub use destination::Destination;
pub use files::{collect_files, OutgoingFile};

use crate::dimse::{self, Status};
use crate::tls::TcpSocket;
use dicom_dictionary_std::uids;
use dicom_ul::association::client::ClientAssociationOptions;
use dicom_ul::association::ClientAssociation;
use dicom_ul::pdu::{PDataValue, PDataValueType, PresentationContextResultReason};
use dicom_ul::Pdu;
use std::collections::BTreeSet;
use std::io::Write;
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ScuError {
    #[error("nothing to send")]
    NothingToSend,
    #[error("cannot read {path}: {reason}")]
    ReadFile { path: PathBuf, reason: String },
    #[error("cannot associate with {destination}: {reason}")]
    Associate { destination: String, reason: String },
    #[error("{destination} accepted no presentation context for SOP class {sop_class} in transfer syntax {transfer_syntax} ({path})")]
    NoContext { destination: String, sop_class: String, transfer_syntax: String, path: PathBuf },
    #[error("cannot re-encode {path} for {transfer_syntax}: {reason}")]
    Transcode { path: PathBuf, transfer_syntax: String, reason: String },
    #[error("lost the association with {destination} while sending {path}: {reason}")]
    Transfer { destination: String, path: PathBuf, reason: String },
}

#[derive(Debug, Clone)]
pub struct SendOptions {
    pub calling_ae_title: String,
    pub max_pdu_length: u32,
    pub timeout: Duration,
    /// Send over TLS with this client configuration; `None` is plain DICOM.
    pub tls: Option<TlsClient>,
}

/// A TLS client configuration and the name the peer's certificate must carry.
#[derive(Debug, Clone)]
pub struct TlsClient {
    pub config: std::sync::Arc<rustls::ClientConfig>,
    pub server_name: String,
}

impl Default for SendOptions {
    fn default() -> Self {
        SendOptions { calling_ae_title: "PAVSEG".into(), max_pdu_length: 131_072, timeout: Duration::from_secs(60), tls: None }
    }
}

/// The peer's answer for one file.
#[derive(Debug, Clone)]
pub struct FileOutcome {
    pub path: PathBuf,
    pub sop_instance_uid: String,
    pub status: u16,
    pub error_comment: Option<String>,
}

impl FileOutcome {
    pub fn stored(&self) -> bool {
        Status::code_is_success(self.status)
    }
}

/// Sends `files` over one association and returns the peer's status for each. Transport
/// failures are errors; a refused instance is an outcome with its status.
pub fn send_files(dest: &Destination, opts: &SendOptions, files: &[OutgoingFile]) -> Result<Vec<FileOutcome>, ScuError> {
    if files.is_empty() {
        return Err(ScuError::NothingToSend);
    }
    let native: BTreeSet<&str> = [uids::EXPLICIT_VR_LITTLE_ENDIAN, uids::IMPLICIT_VR_LITTLE_ENDIAN].into();
    let mut pairs = BTreeSet::new();
    let mut classes_with_native = BTreeSet::new();
    for f in files {
        pairs.insert((f.sop_class_uid.clone(), f.transfer_syntax.clone()));
        if native.contains(f.transfer_syntax.as_str()) {
            classes_with_native.insert(f.sop_class_uid.clone());
        }
    }
    let mut options = ClientAssociationOptions::new()
        .calling_ae_title(opts.calling_ae_title.clone())
        .called_ae_title(dest.ae_title.clone())
        .max_pdu_length(opts.max_pdu_length)
        .read_timeout(opts.timeout)
        .write_timeout(opts.timeout)
        .connection_timeout(opts.timeout);
    for (class, ts) in &pairs {
        options = options.with_presentation_context(class.clone(), vec![ts.clone()]);
    }
    for class in &classes_with_native {
        options = options.with_presentation_context(
            class.clone(),
            vec![uids::EXPLICIT_VR_LITTLE_ENDIAN.to_string(), uids::IMPLICIT_VR_LITTLE_ENDIAN.to_string()],
        );
    }
    let associate = |e: dicom_ul::association::Error| ScuError::Associate { destination: dest.to_string(), reason: crate::tls::error_chain(&e) };
    match &opts.tls {
        None => send_all(options.establish((dest.host.as_str(), dest.port)).map_err(associate)?, dest, files),
        Some(tls) => {
            let options = options.tls_config(tls.config.clone()).server_name(&tls.server_name);
            send_all(options.establish_tls((dest.host.as_str(), dest.port)).map_err(associate)?, dest, files)
        }
    }
}

/// Sends every file over an established association, then releases it.
fn send_all<S>(mut assoc: ClientAssociation<S>, dest: &Destination, files: &[OutgoingFile]) -> Result<Vec<FileOutcome>, ScuError>
where
    S: dicom_ul::association::CloseSocket + std::io::Read + std::io::Write + TcpSocket<Tcp = TcpStream>,
{
    // Command and data set go out as separate PDUs: without this, Nagle's algorithm holds
    // the data set until the peer's delayed ACK of the command (~40 ms per instance).
    let _ = assoc.inner_stream().tcp().set_nodelay(true);
    let mut outcomes = Vec::with_capacity(files.len());
    let mut message_id: u16 = 1;
    for f in files {
        let result = send_one(&mut assoc, dest, f, message_id);
        message_id = message_id.wrapping_add(1).max(1);
        match result {
            Ok(o) => outcomes.push(o),
            Err(e @ ScuError::NoContext { .. }) | Err(e @ ScuError::Transcode { .. }) | Err(e @ ScuError::ReadFile { .. }) => {
                let _ = assoc.release();
                return Err(e);
            }
            Err(e) => return Err(e),
        }
    }
    // Every file has its C-STORE response: what the peer acknowledged is stored, whatever
    // happens to the release (some peers drop the connection instead of answering it, seen
    // with dcmtk over TLS). Failing here would send the same instances again.
    if let Err(e) = assoc.release() {
        tracing::warn!(destination = %dest, error = %crate::tls::error_chain(&e), "association release failed after every response arrived");
    }
    Ok(outcomes)
}

fn send_one<S>(assoc: &mut ClientAssociation<S>, dest: &Destination, f: &OutgoingFile, message_id: u16) -> Result<FileOutcome, ScuError>
where
    S: dicom_ul::association::CloseSocket + std::io::Read + std::io::Write,
{
    let accepted = |ts: &str| {
        assoc.presentation_contexts().iter().find(|pc| {
            pc.reason == PresentationContextResultReason::Acceptance
                && pc.abstract_syntax == f.sop_class_uid
                && pc.transfer_syntax == ts
        })
    };
    let (pc_id, ts) = if let Some(pc) = accepted(&f.transfer_syntax) {
        (pc.id, pc.transfer_syntax.clone())
    } else if let Some(pc) = [uids::EXPLICIT_VR_LITTLE_ENDIAN, uids::IMPLICIT_VR_LITTLE_ENDIAN]
        .into_iter()
        .filter(|_| f.is_native())
        .find_map(accepted)
    {
        (pc.id, pc.transfer_syntax.clone())
    } else {
        return Err(ScuError::NoContext {
            destination: dest.to_string(),
            sop_class: f.sop_class_uid.clone(),
            transfer_syntax: f.transfer_syntax.clone(),
            path: f.path.clone(),
        });
    };
    let data = f.data_set_in(&ts)?;
    let lost = |reason: String| ScuError::Transfer { destination: dest.to_string(), path: f.path.clone(), reason };
    let command = dimse::store_request(message_id, &f.sop_class_uid, &f.sop_instance_uid).map_err(|e| lost(e.to_string()))?;
    assoc
        .send(&Pdu::PData {
            data: vec![PDataValue { presentation_context_id: pc_id, value_type: PDataValueType::Command, is_last: true, data: command }],
        })
        .map_err(|e| lost(e.to_string()))?;
    {
        let mut writer = assoc.send_pdata(pc_id);
        writer.write_all(&data).map_err(|e| lost(e.to_string()))?;
        writer.finish().map_err(|e| lost(e.to_string()))?;
    }
    let mut command_bytes = Vec::new();
    loop {
        match assoc.receive().map_err(|e| lost(e.to_string()))? {
            Pdu::PData { data } => {
                for pdv in data {
                    if pdv.value_type == PDataValueType::Command {
                        command_bytes.extend_from_slice(&pdv.data);
                        if pdv.is_last {
                            let rsp = dimse::decode_command(&command_bytes).map_err(|e| lost(e.to_string()))?;
                            return Ok(FileOutcome {
                                path: f.path.clone(),
                                sop_instance_uid: f.sop_instance_uid.clone(),
                                status: rsp.status.unwrap_or(0xFFFF),
                                error_comment: rsp.error_comment,
                            });
                        }
                    }
                }
            }
            Pdu::AbortRQ { source } => return Err(lost(format!("peer aborted: {source:?}"))),
            other => return Err(lost(format!("unexpected {}", other.short_description()))),
        }
    }
}
