//! Crash torture: 20 SIGKILLs of the node at seeded random moments, aimed in turn at ingest,
//! assembly, inference, SEG writing and delivery, each followed by a restart on the same
//! spool, while a sender (a raw C-STORE client that re-sends what was not acknowledged, as a
//! PACS does) keeps sending. Afterwards every acknowledged instance is in a finished job, no
//! job is left, and the receiving storescp holds exactly one SEG per series: no SOP Instance
//! UID twice, none missing. `PAVSEG_TORTURE_SEED=N` replays a run.

mod common;

use common::raw::{data_set_of, Raw};
use common::*;
use dicom_core::value::PrimitiveValue;
use dicom_core::{DataElement, VR};
use dicom_dictionary_std::{tags, uids};
use pavseg::phantom::PhantomParams;
use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const KILLS: usize = 20;
/// Different phantoms; every series sent is a copy of one with its own UIDs.
const PHANTOMS: u64 = 4;
/// Series prepared; the sender sends them one after another until the kills are over.
const MAX_SERIES: usize = 40;
/// Pause between two series.
const GAP: Duration = Duration::from_millis(1500);
const WAIT: Duration = Duration::from_secs(300);

/// Markers of the job stages in the node's log, in pipeline order.
const STAGES: [(&str, &str); 5] = [
    ("assembly", "series complete; job created"),
    ("inference or SEG writing", ": segmenting"),
    ("outbox and filing", "stage timing"),
    ("delivery", "segmentation written"),
    ("idle", "delivered"),
];

/// What the node was doing: ingest when the sender is in the middle of a series, and the
/// stage of the job that logged last.
fn stage_now(log: &str, sending: bool) -> String {
    let last = STAGES.iter().filter_map(|(name, marker)| log.rfind(marker).map(|p| (p, *name))).max();
    let job = last.map(|(_, n)| n).unwrap_or("start-up");
    if sending { format!("ingest + {job}") } else { job.to_string() }
}

fn quick_phantom(seed: u64) -> PhantomParams {
    PhantomParams { rows: 48, cols: 48, ..selectable_phantom(seed) }
}

fn sop_of(path: &Path) -> String {
    dicom_object::open_file(path).unwrap().meta().media_storage_sop_instance_uid().trim_end_matches('\0').to_string()
}

/// A copy of a phantom series with new Series and SOP Instance UIDs: (series UID, files).
fn copy_series(src: &Path, dst: &Path) -> (String, Vec<PathBuf>) {
    std::fs::create_dir_all(dst).unwrap();
    let series = pavseg::uid::generate("2.25");
    let mut files = Vec::new();
    let mut names: Vec<PathBuf> = std::fs::read_dir(src).unwrap().flatten().map(|e| e.path()).collect();
    names.sort();
    for (k, path) in names.iter().enumerate() {
        let mut obj = dicom_object::open_file(path).unwrap();
        let sop = pavseg::uid::generate("2.25");
        obj.put(DataElement::new(tags::SERIES_INSTANCE_UID, VR::UI, PrimitiveValue::from(series.as_str())));
        obj.put(DataElement::new(tags::SOP_INSTANCE_UID, VR::UI, PrimitiveValue::from(sop.as_str())));
        obj.meta_mut().media_storage_sop_instance_uid = sop;
        obj.meta_mut().update_information_group_length();
        let out = dst.join(format!("{k:04}.dcm"));
        obj.write_to_file(&out).unwrap();
        files.push(out);
    }
    (series, files)
}

/// Shared between the sender and the test.
#[derive(Default)]
struct Progress {
    /// SOP Instance UIDs whose Success response arrived.
    acked: BTreeSet<String>,
    /// Series begun (their UIDs); each must be finished in the end.
    begun: Vec<String>,
}

/// Sends series one after another, instance by instance, until `stop`; an instance counts
/// as acknowledged only once its Success response arrived. When the node goes away the
/// sender waits for it and re-sends the instances of the series not yet acknowledged. A
/// series begun is always finished.
fn sender(port: u16, series: Vec<(String, Vec<PathBuf>)>, progress: Arc<Mutex<Progress>>, sending: Arc<AtomicBool>, stop: Arc<AtomicBool>) {
    for (uid, files) in series {
        std::thread::sleep(GAP);
        if stop.load(Ordering::Relaxed) {
            return;
        }
        progress.lock().unwrap().begun.push(uid);
        sending.store(true, Ordering::Relaxed);
        loop {
            let todo: Vec<&PathBuf> = {
                let p = progress.lock().unwrap();
                files.iter().filter(|f| !p.acked.contains(&sop_of(f))).collect()
            };
            if todo.is_empty() {
                break;
            }
            let Ok(mut raw) = Raw::connect(port, &[(uids::CT_IMAGE_STORAGE, uids::EXPLICIT_VR_LITTLE_ENDIAN)]) else {
                std::thread::sleep(Duration::from_millis(50));
                continue;
            };
            let Some((pc, _)) = raw.accepted(uids::CT_IMAGE_STORAGE) else { continue };
            for f in todo {
                let sop = sop_of(f);
                match raw.try_store(pc, uids::CT_IMAGE_STORAGE, &sop, &data_set_of(f)) {
                    Ok((0x0000, _)) => {
                        progress.lock().unwrap().acked.insert(sop);
                    }
                    Ok((status, comment)) => panic!("instance refused: {status:#06X} {comment:?}"),
                    Err(_) => break,
                }
                std::thread::sleep(Duration::from_millis(15));
            }
            raw.try_release();
        }
        sending.store(false, Ordering::Relaxed);
    }
}

/// The series a SEG segments (its ReferencedSeriesSequence).
fn referenced_series(seg: &Path) -> String {
    let obj = dicom_object::open_file(seg).unwrap();
    let item = &obj.element(tags::REFERENCED_SERIES_SEQUENCE).unwrap().items().unwrap()[0];
    item.element(tags::SERIES_INSTANCE_UID).unwrap().to_str().unwrap().trim_end_matches('\0').to_string()
}

#[test]
fn twenty_sigkills_lose_nothing_and_duplicate_nothing() {
    let seed: u64 = std::env::var("PAVSEG_TORTURE_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64 % 1_000_000
    });
    eprintln!("crash torture seed {seed} (replay with PAVSEG_TORTURE_SEED={seed})");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let t = TempDir::new("torture");
    // The raw sender calls as RAWSCU; the SEG goes back to the sender, a storescp of that AE.
    let scp = StoreScp::start("RAWSCU", 0, &t.path().join("pacs"));
    let cfg = NodeConfig {
        port: free_port(),
        stability_seconds: 3.0,
        plugins: vec![default_plugin()],
        destinations: vec![("pacs".into(), "RAWSCU".into(), scp.port)],
        // Kills alone must never make a job look like a poison pill.
        extra_pipeline: "max_attempts = 100\n".into(),
        extra_delivery: "max_attempts = 1000\n".into(),
        ..NodeConfig::default()
    };
    let phantoms: Vec<_> = (0..PHANTOMS).map(|k| make_phantom(&t.path().join(format!("ph{k}")), quick_phantom(700 + k)).1).collect();
    let series: Vec<(String, Vec<PathBuf>)> = (0..MAX_SERIES)
        .map(|k| copy_series(&phantoms[k % phantoms.len()].dicom_dir, &t.path().join(format!("series{k}"))))
        .collect();
    let files_of: BTreeMap<String, Vec<PathBuf>> = series.iter().cloned().collect();
    let mut node = Node::start(t.path(), &cfg);
    let progress = Arc::new(Mutex::new(Progress::default()));
    let (sending, stop) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
    let send = {
        let (port, progress, sending, stop) = (node.port, progress.clone(), sending.clone(), stop.clone());
        std::thread::spawn(move || sender(port, series, progress, sending, stop))
    };
    let mut hit: BTreeMap<String, usize> = BTreeMap::new();
    for kill in 0..KILLS {
        // Aim in turn at ingest and at each job stage: wait (a little) for it, then a random
        // moment after.
        match kill % 5 {
            0 => {
                wait_until(Duration::from_secs(8), || sending.load(Ordering::Relaxed));
            }
            k => {
                let (_, marker) = STAGES[k - 1];
                wait_until(Duration::from_secs(8), || node.log_text().contains(marker));
            }
        }
        std::thread::sleep(Duration::from_millis(rng.random_range(0..600)));
        let stage = stage_now(&node.log_text(), sending.load(Ordering::Relaxed));
        eprintln!("kill {kill}: during {stage}");
        *hit.entry(stage).or_default() += 1;
        node.sigkill();
        node = Node::start_with(t.path(), &node.config.clone(), &node.spool.clone());
    }
    eprintln!("kills by stage: {hit:?}");
    stop.store(true, Ordering::Relaxed);
    send.join().unwrap();
    let Progress { acked, begun } = std::mem::take(&mut *progress.lock().unwrap());
    eprintln!("{} series sent", begun.len());

    // Every series begun finishes; every acknowledged instance is in its done job.
    let mut in_jobs = BTreeSet::new();
    for uid in &begun {
        let (area, _) = node.wait_job(uid, WAIT).expect("series never finished");
        assert_eq!(area, "done", "series {uid} (seed {seed})");
    }
    for e in std::fs::read_dir(node.spool.join("done")).unwrap().flatten() {
        for f in job_files(&e.path()) {
            in_jobs.insert(f.file_stem().unwrap().to_string_lossy().to_string());
        }
    }
    let lost: Vec<_> = acked.difference(&in_jobs).collect();
    assert!(lost.is_empty(), "acknowledged instances lost (seed {seed}): {lost:?}");
    let all: usize = begun.iter().map(|u| files_of[u].len()).sum();
    assert_eq!(acked.len(), all, "not every instance of the series begun was acknowledged in the end");

    // Nothing stuck: no job left in the job area, the outbox empties, nothing failed.
    let t0 = Instant::now();
    assert!(
        wait_until(WAIT, || {
            ["jobs", "outbox", "series"].iter().all(|a| std::fs::read_dir(node.spool.join(a)).map(|d| d.count() == 0).unwrap_or(false))
        }),
        "jobs, outbox or series not empty {:?} after the last restart",
        t0.elapsed()
    );
    for area in ["rejected", "failed-delivery"] {
        assert_eq!(std::fs::read_dir(node.spool.join(area)).unwrap().count(), 0, "{area} is not empty");
    }

    // Exactly one SEG per series at the PACS.
    std::thread::sleep(Duration::from_secs(1));
    let mut per_series: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for seg in scp.segmentations() {
        per_series.entry(referenced_series(&seg)).or_default().insert(sop_of(&seg));
    }
    for uid in &begun {
        let segs = per_series.get(uid).map(|s| s.len()).unwrap_or(0);
        assert_eq!(segs, 1, "series {uid}: {segs} SEGs (seed {seed})");
    }
    assert_eq!(per_series.len(), begun.len(), "SEGs of series never sent: {per_series:?}");
    eprintln!("{KILLS} kills, {} instances acknowledged, 0 lost, {} SEGs, 0 duplicated", acked.len(), per_series.len());
}
