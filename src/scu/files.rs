//! Files to send: found on disk, identified by their file meta, read when their turn comes.

use super::ScuError;
use dicom_dictionary_std::uids;
use dicom_encoding::transfer_syntax::TransferSyntaxIndex;
use dicom_object::FileMetaTable;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;
use std::io::Read;
use std::path::{Path, PathBuf};

/// A DICOM file identified by its meta group; the data set is read only when sent.
#[derive(Debug, Clone)]
pub struct OutgoingFile {
    pub path: PathBuf,
    pub sop_class_uid: String,
    pub sop_instance_uid: String,
    pub transfer_syntax: String,
    /// Byte offset of the data set (after preamble, magic and meta group).
    data_offset: u64,
}

impl OutgoingFile {
    /// Reads the file meta of `path`; errors if it is not a DICOM Part 10 file.
    pub fn open(path: &Path) -> Result<OutgoingFile, ScuError> {
        let fail = |reason: String| ScuError::ReadFile { path: path.to_path_buf(), reason };
        // No element may claim more than the file holds (dicom-object allocates the claim).
        crate::element_lengths::check_file(path).map_err(|e| fail(e.to_string()))?;
        let mut f = std::fs::File::open(path).map_err(|e| fail(e.to_string()))?;
        let mut preamble = [0u8; 128];
        f.read_exact(&mut preamble).map_err(|_| fail("not a DICOM file (shorter than the 128-byte preamble)".into()))?;
        let meta = FileMetaTable::from_reader(&mut f).map_err(|e| fail(format!("not a DICOM Part 10 file: {e}")))?;
        // Offset: preamble + "DICM" + group length element (12 bytes) + group length value.
        let data_offset = 128 + 4 + 12 + meta.information_group_length as u64;
        let trim = |s: &str| crate::uid::trim(s).to_string();
        Ok(OutgoingFile {
            path: path.to_path_buf(),
            sop_class_uid: trim(meta.media_storage_sop_class_uid()),
            sop_instance_uid: trim(meta.media_storage_sop_instance_uid()),
            transfer_syntax: trim(meta.transfer_syntax()),
            data_offset,
        })
    }

    /// Explicit or implicit VR little endian: re-encodable without loss.
    pub fn is_native(&self) -> bool {
        self.transfer_syntax == uids::EXPLICIT_VR_LITTLE_ENDIAN || self.transfer_syntax == uids::IMPLICIT_VR_LITTLE_ENDIAN
    }

    /// The data set bytes in transfer syntax `ts`: the file's own bytes when `ts` is the
    /// file's syntax, else re-encoded (only between uncompressed syntaxes).
    pub fn data_set_in(&self, ts: &str) -> Result<Vec<u8>, ScuError> {
        let fail = |reason: String| ScuError::ReadFile { path: self.path.clone(), reason };
        let bytes = std::fs::read(&self.path).map_err(|e| fail(e.to_string()))?;
        let offset = self.data_offset as usize;
        if offset > bytes.len() {
            return Err(fail("file is shorter than its meta group says".into()));
        }
        let data = &bytes[offset..];
        if ts == self.transfer_syntax {
            return Ok(data.to_vec());
        }
        let transcode = |reason: String| ScuError::Transcode { path: self.path.clone(), transfer_syntax: ts.to_string(), reason };
        let (Some(from), Some(to)) = (TransferSyntaxRegistry.get(&self.transfer_syntax), TransferSyntaxRegistry.get(ts)) else {
            return Err(transcode("unknown transfer syntax".into()));
        };
        let obj = crate::dimse::read_data_set(data, from).map_err(|e| transcode(e.to_string()))?;
        let mut out = Vec::with_capacity(data.len());
        obj.write_dataset_with_ts(&mut out, to).map_err(|e| transcode(e.to_string()))?;
        Ok(out)
    }
}

/// Expands files and folders (recursively, sorted) into DICOM files to send. Files named
/// explicitly must be DICOM; non-DICOM files found inside folders are returned separately so
/// the caller can report them.
pub fn collect_files(paths: &[PathBuf]) -> Result<(Vec<OutgoingFile>, Vec<PathBuf>), ScuError> {
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found = Vec::new();
            walk(p, &mut found).map_err(|e| ScuError::ReadFile { path: p.clone(), reason: e.to_string() })?;
            found.sort();
            for f in found {
                match OutgoingFile::open(&f) {
                    Ok(o) => files.push(o),
                    Err(_) => skipped.push(f),
                }
            }
        } else {
            files.push(OutgoingFile::open(p)?);
        }
    }
    Ok((files, skipped))
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let p = entry?.path();
        if p.is_dir() {
            walk(&p, out)?;
        } else {
            out.push(p);
        }
    }
    Ok(())
}
