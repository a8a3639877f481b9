//! A raw C-STORE client over dicom-ul, for sending what no well-behaved SCU would send.
#![allow(dead_code)]

use dicom_ul::association::client::ClientAssociationOptions;
use dicom_ul::association::ClientAssociation;
use dicom_ul::pdu::{PDataValue, PDataValueType, PresentationContextResultReason};
use dicom_ul::Pdu;
use pavseg::dimse;
use std::io::Write;
use std::net::TcpStream;

pub struct Raw {
    pub assoc: ClientAssociation<TcpStream>,
}

impl Raw {
    pub fn connect(port: u16, contexts: &[(&str, &str)]) -> Result<Raw, String> {
        let mut o = ClientAssociationOptions::new().calling_ae_title("RAWSCU").called_ae_title("PAVSEG");
        for (class, ts) in contexts {
            o = o.with_presentation_context(class.to_string(), vec![ts.to_string()]);
        }
        o.establish(("127.0.0.1", port)).map(|assoc| Raw { assoc }).map_err(|e| e.to_string())
    }

    pub fn accepted(&self, class: &str) -> Option<(u8, String)> {
        self.assoc
            .presentation_contexts()
            .iter()
            .find(|pc| pc.reason == PresentationContextResultReason::Acceptance && pc.abstract_syntax == class)
            .map(|pc| (pc.id, pc.transfer_syntax.clone()))
    }

    /// Sends a C-STORE with the given command UIDs and raw data set bytes; returns the status
    /// and error comment of the response.
    pub fn store(&mut self, pc: u8, class: &str, sop: &str, data: &[u8]) -> (u16, Option<String>) {
        let cmd = dimse::store_request(1, class, sop).unwrap();
        self.assoc
            .send(&Pdu::PData {
                data: vec![PDataValue {
                    presentation_context_id: pc,
                    value_type: PDataValueType::Command,
                    is_last: true,
                    data: cmd,
                }],
            })
            .unwrap();
        {
            let mut w = self.assoc.send_pdata(pc);
            w.write_all(data).unwrap();
            w.finish().unwrap();
        }
        match self.assoc.receive().unwrap() {
            Pdu::PData { data } => {
                let rsp = dimse::decode_command(&data[0].data).unwrap();
                (rsp.status.unwrap(), rsp.error_comment)
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    pub fn release(self) {
        self.assoc.release().unwrap();
    }

    /// As `store`, but a lost connection is an error instead of a panic.
    pub fn try_store(&mut self, pc: u8, class: &str, sop: &str, data: &[u8]) -> Result<(u16, Option<String>), String> {
        let cmd = dimse::store_request(1, class, sop).map_err(|e| e.to_string())?;
        self.assoc
            .send(&Pdu::PData {
                data: vec![PDataValue { presentation_context_id: pc, value_type: PDataValueType::Command, is_last: true, data: cmd }],
            })
            .map_err(|e| e.to_string())?;
        {
            let mut w = self.assoc.send_pdata(pc);
            w.write_all(data).map_err(|e| e.to_string())?;
            w.finish().map_err(|e| e.to_string())?;
        }
        match self.assoc.receive().map_err(|e| e.to_string())? {
            Pdu::PData { data } if !data.is_empty() => {
                let rsp = dimse::decode_command(&data[0].data).map_err(|e| e.to_string())?;
                Ok((rsp.status.ok_or("response without status")?, rsp.error_comment))
            }
            other => Err(format!("unexpected {}", other.short_description())),
        }
    }

    /// Releases, ignoring a peer that has gone.
    pub fn try_release(self) {
        let _ = self.assoc.release();
    }
}

/// The data set bytes of a Part 10 file in its own transfer syntax.
pub fn data_set_of(path: &std::path::Path) -> Vec<u8> {
    let f = pavseg::scu::OutgoingFile::open(path).unwrap();
    f.data_set_in(&f.transfer_syntax.clone()).unwrap()
}
