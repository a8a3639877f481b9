//! Writes the seed corpora (`pavseg bench fuzz --write-seeds fixtures/fuzz`): small valid
//! inputs of every target, made from the tiny phantom of [`super::targets::fixture`] (so that
//! DICOM seeds belong to the series the targets assemble them with) and from the repository's
//! own configuration and plugin files. Deterministic: the same code writes the same bytes.

use super::targets::fixture;
use super::FuzzError;
use crate::dimse;
use crate::seg::{self, SegConfig, SegIdentity};
use crate::volume::assemble_files;
use dicom_dictionary_std::{tags, uids};
use dicom_encoding::transfer_syntax::TransferSyntaxIndex;
use dicom_object::{open_file, InMemDicomObject};
use dicom_pixeldata::Transcode;
use dicom_transfer_syntax_registry::entries::EXPLICIT_VR_BIG_ENDIAN;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;
use dicom_ul::pdu::{
    write_pdu, AbortRQSource, AssociationAC, AssociationRJ, AssociationRJResult, AssociationRJServiceUserReason,
    AssociationRJSource, AssociationRQ, PDataValue, PDataValueType, Pdu, PresentationContextProposed,
    PresentationContextResult, PresentationContextResultReason, UserVariableItem,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn fail(what: &str) -> impl Fn(String) -> FuzzError + '_ {
    move |e| FuzzError::Seeds(format!("{what}: {e}"))
}

fn put(dir: &Path, name: &str, bytes: &[u8], written: &mut Vec<PathBuf>) -> Result<(), FuzzError> {
    std::fs::create_dir_all(dir).map_err(FuzzError::io("creating seed folder", dir))?;
    let path = dir.join(name);
    std::fs::write(&path, bytes).map_err(FuzzError::io("writing seed", &path))?;
    written.push(path);
    Ok(())
}

/// Writes every target's seeds under `out/<target>/`; returns the files written.
pub fn write_seeds(out: &Path) -> Result<Vec<PathBuf>, FuzzError> {
    let work = super::scratch::dir().join("seeds");
    let files = fixture::write_series(&work).map_err(fail("writing the phantom"))?;
    let first = files
        .first()
        .ok_or_else(|| FuzzError::Seeds("the phantom has no slices".into()))?;
    let mut written = Vec::new();
    dicom_file_seeds(first, &out.join("dicom-file"), &mut written)?;
    let dataset = dataset_seeds(first, &out.join("dataset"), &mut written)?;
    pdu_seeds(&dataset, &out.join("pdu"), &mut written)?;
    nifti_seeds(&work, &out.join("nifti"), &mut written)?;
    nrrd_seeds(&work, &out.join("nrrd"), &mut written)?;
    seg_seeds(&files, &work, &out.join("seg"), &mut written)?;
    text_seeds(out, &mut written)?;
    Ok(written)
}

/// The first slice as written, and transcoded to the other transfer syntaxes the registry
/// can encode (pixel codecs included).
fn dicom_file_seeds(first: &Path, dir: &Path, written: &mut Vec<PathBuf>) -> Result<(), FuzzError> {
    let bytes = std::fs::read(first).map_err(FuzzError::io("reading", first))?;
    put(dir, "slice-explicit-le.dcm", &bytes, written)?;
    for (name, uid) in [
        ("slice-implicit-le.dcm", uids::IMPLICIT_VR_LITTLE_ENDIAN),
        ("slice-explicit-be.dcm", EXPLICIT_VR_BIG_ENDIAN.uid()),
        ("slice-deflated.dcm", uids::DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN),
        ("slice-rle.dcm", uids::RLE_LOSSLESS),
        ("slice-jpeg-ls.dcm", uids::JPEGLS_LOSSLESS),
        ("slice-jpeg2000.dcm", uids::JPEG2000_LOSSLESS),
        ("slice-jpeg-lossless.dcm", uids::JPEG_LOSSLESS_SV1),
    ] {
        let Some(ts) = TransferSyntaxRegistry.get(uid) else {
            continue;
        };
        let mut obj = open_file(first).map_err(|e| fail("reading the phantom slice")(e.to_string()))?;
        if obj.transcode(ts).is_err() {
            continue;
        }
        let mut out = Vec::new();
        let decodes = |bytes: &[u8]| {
            use dicom_pixeldata::PixelDecoder;
            dicom_object::from_reader(bytes.get(128..).unwrap_or_default()).is_ok_and(|o| o.decode_pixel_data().is_ok())
        };
        if obj.write_all(&mut out).is_ok() && decodes(&out) {
            put(dir, name, &out, written)?;
        }
    }
    Ok(())
}

/// The first slice's data set without file meta in the node's data set encodings; returns
/// the explicit VR little endian one (for the PDU seeds).
fn dataset_seeds(first: &Path, dir: &Path, written: &mut Vec<PathBuf>) -> Result<Vec<u8>, FuzzError> {
    let obj = open_file(first)
        .map_err(|e| fail("reading the phantom slice")(e.to_string()))?
        .into_inner();
    let mut explicit = Vec::new();
    for (name, uid) in [
        ("implicit-le.bin", uids::IMPLICIT_VR_LITTLE_ENDIAN),
        ("explicit-le.bin", uids::EXPLICIT_VR_LITTLE_ENDIAN),
        ("explicit-be.bin", EXPLICIT_VR_BIG_ENDIAN.uid()),
        ("deflated.bin", uids::DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN),
    ] {
        let Some(ts) = TransferSyntaxRegistry.get(uid) else {
            continue;
        };
        let mut out = Vec::new();
        if obj.write_dataset_with_ts(&mut out, ts).is_err()
            || InMemDicomObject::read_dataset_with_ts(&out[..], ts).is_err()
        {
            continue;
        }
        if uid == uids::EXPLICIT_VR_LITTLE_ENDIAN {
            explicit = out.clone();
        }
        put(dir, name, &out, written)?;
    }
    if explicit.is_empty() {
        return Err(FuzzError::Seeds(
            "cannot encode the data set in explicit VR little endian".into(),
        ));
    }
    Ok(explicit)
}

fn pdu_bytes(pdus: &[Pdu]) -> Result<Vec<u8>, FuzzError> {
    let mut out = Vec::new();
    for p in pdus {
        write_pdu(&mut out, p).map_err(|e| fail("encoding a PDU")(e.to_string()))?;
    }
    Ok(out)
}

fn command(
    context: u8,
    bytes: Result<Vec<u8>, dimse::DimseError>,
    value_type: PDataValueType,
) -> Result<Pdu, FuzzError> {
    let data = bytes.map_err(|e| fail("encoding a command")(e.to_string()))?;
    Ok(Pdu::PData {
        data: vec![PDataValue {
            presentation_context_id: context,
            value_type,
            is_last: true,
            data,
        }],
    })
}

/// A whole association as a peer sends it (request, C-ECHO, C-STORE of the phantom slice in
/// two fragments, release), each PDU type on its own, a bare command set, a TLS ClientHello.
fn pdu_seeds(dataset: &[u8], dir: &Path, written: &mut Vec<PathBuf>) -> Result<(), FuzzError> {
    let sop = InMemDicomObject::read_dataset_with_ts(
        dataset,
        &dicom_transfer_syntax_registry::entries::EXPLICIT_VR_LITTLE_ENDIAN.erased(),
    )
    .ok()
    .and_then(|o| {
        o.element(tags::SOP_INSTANCE_UID)
            .ok()
            .and_then(|e| e.to_str().ok())
            .map(|s| crate::uid::trim(&s).to_string())
    })
    .ok_or_else(|| FuzzError::Seeds("the phantom slice has no SOP Instance UID".into()))?;
    let rq = Pdu::AssociationRQ(AssociationRQ {
        protocol_version: 1,
        calling_ae_title: "FUZZ".into(),
        called_ae_title: "PAVSEG".into(),
        application_context_name: uids::DICOM_APPLICATION_CONTEXT.into(),
        presentation_contexts: vec![
            PresentationContextProposed {
                id: 1,
                abstract_syntax: uids::VERIFICATION.into(),
                transfer_syntaxes: vec![uids::IMPLICIT_VR_LITTLE_ENDIAN.into()],
            },
            PresentationContextProposed {
                id: 3,
                abstract_syntax: uids::CT_IMAGE_STORAGE.into(),
                transfer_syntaxes: vec![
                    uids::EXPLICIT_VR_LITTLE_ENDIAN.into(),
                    uids::IMPLICIT_VR_LITTLE_ENDIAN.into(),
                ],
            },
            PresentationContextProposed {
                id: 5,
                abstract_syntax: uids::CT_IMAGE_STORAGE.into(),
                transfer_syntaxes: vec![uids::JPEGLS_LOSSLESS.into()],
            },
        ],
        user_variables: vec![
            UserVariableItem::MaxLength(16384),
            UserVariableItem::ImplementationClassUID(crate::IMPLEMENTATION_CLASS_UID.into()),
            UserVariableItem::ImplementationVersionName(crate::IMPLEMENTATION_VERSION_NAME.into()),
        ],
    });
    let echo = command(1, dimse::echo_request(1, uids::VERIFICATION), PDataValueType::Command)?;
    let store = command(
        3,
        dimse::store_request(2, uids::CT_IMAGE_STORAGE, &sop),
        PDataValueType::Command,
    )?;
    let half = dataset.len() / 2;
    let data = Pdu::PData {
        data: vec![
            PDataValue {
                presentation_context_id: 3,
                value_type: PDataValueType::Data,
                is_last: false,
                data: dataset[..half].to_vec(),
            },
            PDataValue {
                presentation_context_id: 3,
                value_type: PDataValueType::Data,
                is_last: true,
                data: dataset[half..].to_vec(),
            },
        ],
    };
    let session = pdu_bytes(&[rq.clone(), echo.clone(), store, data, Pdu::ReleaseRQ])?;
    put(dir, "association.bin", &session, written)?;
    put(dir, "associate-rq.bin", &pdu_bytes(&[rq])?, written)?;
    let ac = Pdu::AssociationAC(AssociationAC {
        protocol_version: 1,
        calling_ae_title: "FUZZ".into(),
        called_ae_title: "PAVSEG".into(),
        application_context_name: uids::DICOM_APPLICATION_CONTEXT.into(),
        presentation_contexts: vec![PresentationContextResult {
            id: 1,
            reason: PresentationContextResultReason::Acceptance,
            transfer_syntax: uids::IMPLICIT_VR_LITTLE_ENDIAN.into(),
        }],
        user_variables: vec![UserVariableItem::MaxLength(16384)],
    });
    put(dir, "associate-ac.bin", &pdu_bytes(&[ac])?, written)?;
    let rj = Pdu::AssociationRJ(AssociationRJ {
        result: AssociationRJResult::Permanent,
        source: AssociationRJSource::ServiceUser(AssociationRJServiceUserReason::CalledAETitleNotRecognized),
    });
    put(dir, "associate-rj.bin", &pdu_bytes(&[rj])?, written)?;
    put(dir, "p-data-echo.bin", &pdu_bytes(&[echo])?, written)?;
    put(
        dir,
        "release.bin",
        &pdu_bytes(&[Pdu::ReleaseRQ, Pdu::ReleaseRP])?,
        written,
    )?;
    put(
        dir,
        "abort.bin",
        &pdu_bytes(&[Pdu::AbortRQ {
            source: AbortRQSource::ServiceUser,
        }])?,
        written,
    )?;
    let cmd =
        dimse::store_request(7, uids::CT_IMAGE_STORAGE, &sop).map_err(|e| fail("encoding a command")(e.to_string()))?;
    put(dir, "command-store-rq.bin", &cmd, written)?;
    put(dir, "tls-client-hello.bin", &client_hello()?, written)?;
    Ok(())
}

/// The first flight of a TLS client (rustls): what a TLS peer sends to the plain port.
fn client_hello() -> Result<Vec<u8>, FuzzError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| fail("TLS client")(e.to_string()))?
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    let name =
        rustls::pki_types::ServerName::try_from("pavseg.invalid").map_err(|e| fail("TLS name")(e.to_string()))?;
    let mut conn =
        rustls::ClientConnection::new(Arc::new(config), name).map_err(|e| fail("TLS client")(e.to_string()))?;
    let mut out = Vec::new();
    conn.write_tls(&mut out)
        .map_err(|e| fail("TLS client")(e.to_string()))?;
    Ok(out)
}

/// The phantom's label map (uint8) and CT (int16, float32) as NIfTI, plain and gzipped, a
/// uint16 label map, and a label map with a header extension.
fn nifti_seeds(work: &Path, dir: &Path, written: &mut Vec<PathBuf>) -> Result<(), FuzzError> {
    let p = crate::phantom::generate(&fixture::params());
    let g = &p.geometry;
    let tmp = work.join("nifti");
    std::fs::create_dir_all(&tmp).map_err(FuzzError::io("creating", &tmp))?;
    let nifti_fail = |e: crate::io::nifti::NiftiError| FuzzError::Seeds(e.to_string());
    for name in ["labels.nii", "labels.nii.gz"] {
        seg::write_label_nifti(&tmp.join(name), p.labels.view(), g).map_err(|e| FuzzError::Seeds(e.to_string()))?;
    }
    crate::io::nifti::write(&tmp.join("ct-i16.nii"), p.hu.view(), g).map_err(nifti_fail)?;
    crate::io::nifti::write(&tmp.join("ct-i16.nii.gz"), p.hu.view(), g).map_err(nifti_fail)?;
    crate::io::nifti::write(&tmp.join("ct-f32.nii"), p.hu.mapv(f32::from).view(), g).map_err(nifti_fail)?;
    crate::io::nifti::write(&tmp.join("labels-u16.nii.gz"), p.labels.mapv(u16::from).view(), g).map_err(nifti_fail)?;
    for name in [
        "labels.nii",
        "labels.nii.gz",
        "ct-i16.nii",
        "ct-i16.nii.gz",
        "ct-f32.nii",
        "labels-u16.nii.gz",
    ] {
        let src = tmp.join(name);
        let bytes = std::fs::read(&src).map_err(FuzzError::io("reading", &src))?;
        put(dir, name, &bytes, written)?;
    }
    let plain = std::fs::read(tmp.join("labels.nii")).map_err(FuzzError::io("reading", tmp.join("labels.nii")))?;
    put(dir, "labels-extension.nii", &with_extension(&plain), written)?;
    Ok(())
}

/// The phantom's label map as NRRD: plain (raw and gzip), as a Slicer `.seg.nrrd` of two
/// segments in one layer and of two layers (artery, vein) with a terminology entry, and a small
/// big-endian int16 and a text-encoded one written by hand.
fn nrrd_seeds(work: &Path, dir: &Path, written: &mut Vec<PathBuf>) -> Result<(), FuzzError> {
    use crate::io::nrrd::{write, SegmentEntry};
    let p = crate::phantom::generate(&fixture::params());
    let g = &p.geometry;
    let tmp = work.join("nrrd");
    std::fs::create_dir_all(&tmp).map_err(FuzzError::io("creating", &tmp))?;
    let nrrd_fail = |e: crate::io::nrrd::NrrdError| FuzzError::Seeds(e.to_string());
    let artery = p.labels.mapv(|v| u8::from(v == 1));
    let vein = p.labels.mapv(|v| u8::from(v == 2));
    let tags = "TerminologyEntry:Segmentation category and type - 3D Slicer General Anatomy list~SCT^123037004^Anatomical Structure~SCT^81040000^Pulmonary artery~^^~Anatomic codes - DICOM master list~^^~^^|";
    let one_layer = [
        SegmentEntry { name: "artery", label_value: 1, layer: 0, tags: None },
        SegmentEntry { name: "vein", label_value: 2, layer: 0, tags: None },
    ];
    let two_layers = [
        SegmentEntry { name: "Segment_1", label_value: 1, layer: 0, tags: Some(tags) },
        SegmentEntry { name: "vein", label_value: 1, layer: 1, tags: None },
    ];
    write(&tmp.join("labels-raw.nrrd"), &[p.labels.view()], g, &[], false).map_err(nrrd_fail)?;
    write(&tmp.join("labels-gzip.nrrd"), &[p.labels.view()], g, &[], true).map_err(nrrd_fail)?;
    write(&tmp.join("one-layer.seg.nrrd"), &[p.labels.view()], g, &one_layer, true).map_err(nrrd_fail)?;
    write(&tmp.join("two-layers.seg.nrrd"), &[artery.view(), vein.view()], g, &two_layers, false).map_err(nrrd_fail)?;
    for name in ["labels-raw.nrrd", "labels-gzip.nrrd", "one-layer.seg.nrrd", "two-layers.seg.nrrd"] {
        let src = tmp.join(name);
        let bytes = std::fs::read(&src).map_err(FuzzError::io("reading", &src))?;
        put(dir, name, &bytes, written)?;
    }
    let header = "NRRD0005\ntype: short\ndimension: 3\nsizes: 2 2 2\nspace: RAS\nspace directions: (-1,0,0) (0,-2,0) (0,0,3)\nspace origin: (10,20,30)\nendian: big\n";
    let mut big = format!("{header}encoding: raw\n\n").into_bytes();
    big.extend_from_slice(&[0, 0, 0, 1, 0, 2, 0, 1, 0, 0, 0, 2, 0, 1, 0, 0]);
    put(dir, "int16-big-endian.nrrd", &big, written)?;
    put(dir, "text.nrrd", format!("{header}encoding: text\n\n0 1 2 1\n0 0 2 1\n").as_bytes(), written)?;
    Ok(())
}

/// A single-file NIfTI-1 with one 16-byte comment extension inserted before the voxels.
fn with_extension(plain: &[u8]) -> Vec<u8> {
    const HEADER: usize = 348;
    const VOX_OFFSET_AT: usize = 108;
    const COMMENT: i32 = 6;
    let mut out = plain[..HEADER].to_vec();
    out[VOX_OFFSET_AT..VOX_OFFSET_AT + 4].copy_from_slice(&368f32.to_le_bytes());
    out.extend_from_slice(&[1, 0, 0, 0]);
    out.extend_from_slice(&16i32.to_le_bytes());
    out.extend_from_slice(&COMMENT.to_le_bytes());
    out.extend_from_slice(b"pavseg\0\0");
    out.extend_from_slice(plain.get(352..).unwrap_or_default());
    out
}

/// A DICOM-SEG of the phantom's label map on its series, with a fixed identity.
fn seg_seeds(files: &[PathBuf], work: &Path, dir: &Path, written: &mut Vec<PathBuf>) -> Result<(), FuzzError> {
    let p = crate::phantom::generate(&fixture::params());
    let volume = assemble_files(files, &fixture::node_limits()).map_err(|e| FuzzError::Seeds(e.to_string()))?;
    let config = SegConfig::default();
    // Fixed UIDs under the configured root, so that the seed is the same every time.
    let uid = |n: u32| {
        format!(
            "{}.{}",
            config.uid_root,
            271_828_182_845_904_523_536u128 + u128::from(n)
        )
    };
    let created = chrono::NaiveDate::from_ymd_opt(2026, 1, 1)
        .and_then(|d| d.and_hms_opt(12, 0, 0))
        .ok_or_else(|| FuzzError::Seeds("bad date".into()))?;
    let identity = SegIdentity {
        series_instance_uid: uid(1),
        sop_instance_uid: uid(2),
        dimension_organization_uid: uid(3),
        tracking_uids: (0..config.segments.len() as u32).map(|n| uid(10 + n)).collect(),
        created,
    };
    let s = seg::build(p.labels.view(), &volume.geometry, &volume.source, &config, &identity)
        .map_err(|e| FuzzError::Seeds(e.to_string()))?;
    let path = work.join("seg.dcm");
    s.write_to_file(&path).map_err(|e| FuzzError::Seeds(e.to_string()))?;
    let bytes = std::fs::read(&path).map_err(FuzzError::io("reading", &path))?;
    put(dir, "seg.dcm", &bytes, written)
}

/// Node settings and plugin files: the repository's own, and small ones.
fn text_seeds(out: &Path, written: &mut Vec<PathBuf>) -> Result<(), FuzzError> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = out.join("config");
    if let Ok(text) = std::fs::read(repo.join("config/pavseg.toml")) {
        put(&config, "pavseg.toml", &text, written)?;
    }
    let defaults = toml::to_string(&crate::config::Settings::default()).map_err(|e| FuzzError::Seeds(e.to_string()))?;
    put(&config, "defaults.toml", defaults.as_bytes(), written)?;
    let small = "[node]\nae_title = \"PAVSEG\"\nport = 11112\nallowed_calling_ae_titles = [\"CT1\", \"PACS\"]\n\n\
                 [node.tls]\nport = 2762\ncertificate = \"/etc/pavseg/node.pem\"\nprivate_key = \"/etc/pavseg/node.key\"\n\n\
                 [pipeline]\nplugins = []\nworkers = 1\n\n[[destinations]]\nname = \"pacs\"\nae_title = \"PACS\"\n\
                 host = \"127.0.0.1\"\nport = 104\n";
    put(&config, "small.toml", small.as_bytes(), written)?;
    let plugin = out.join("plugin");
    if let Ok(text) = std::fs::read(repo.join("plugins/pulmonary-av/plugin.toml")) {
        put(&plugin, "plugin.toml", &text, written)?;
    }
    Ok(())
}
