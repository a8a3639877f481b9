//! A full disk: the spool on a 300 MB tmpfs in a private mount namespace (`unshare -m`, the
//! tests run as root). Instances that would cross the reserve get A700 and the node keeps
//! answering C-ECHO; a job whose results cannot be written stays in the job area and is
//! retried; the outbox stays intact; once space is freed, ingest, processing and delivery
//! resume without a restart, and nothing acknowledged is lost.

mod common;

use common::raw::{data_set_of, Raw};
use common::*;
use dicom_dictionary_std::uids;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(240);
const RESERVE: u64 = 40 * 1024 * 1024;

/// A process holding a private mount namespace with a tmpfs at `mount`; its view of that
/// folder from outside is `/proc/PID/root/<mount>`.
struct Namespace {
    holder: Child,
    mount: PathBuf,
}

impl Namespace {
    fn tmpfs(mount: &Path, size: &str) -> Namespace {
        std::fs::create_dir_all(mount).unwrap();
        let script = format!("mount -t tmpfs -o size={size} pavseg-full {} && echo mounted && exec sleep 3600", mount.display());
        let mut holder = Command::new("unshare")
            .args(["-m", "--propagation", "private", "sh", "-c", &script])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("unshare (util-linux)");
        let mut line = String::new();
        BufReader::new(holder.stdout.take().unwrap()).read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "mounted", "cannot mount a tmpfs in a private mount namespace (the tests need root)");
        Namespace { holder, mount: mount.to_path_buf() }
    }

    /// `path` (under the mount) as this process sees it.
    fn view(&self, path: &Path) -> PathBuf {
        PathBuf::from(format!("/proc/{}/root", self.holder.id())).join(path.strip_prefix("/").unwrap())
    }

    fn enter(&self) -> Vec<String> {
        ["nsenter", "-t", &self.holder.id().to_string(), "-m", "--"].iter().map(|s| s.to_string()).collect()
    }

    fn free(&self) -> u64 {
        pavseg::spool::free_bytes(&self.view(&self.mount)).unwrap()
    }

    /// Fills the tmpfs until only `leave` bytes are free, with the file `name`.
    fn fill(&self, name: &str, leave: u64) {
        let free = self.free();
        let size = free.saturating_sub(leave);
        let f = std::fs::File::create(self.view(&self.mount.join(name))).unwrap();
        // SAFETY: a valid descriptor; tmpfs supports fallocate.
        let rc = unsafe { libc::fallocate(std::os::fd::AsRawFd::as_raw_fd(&f), 0, 0, size as libc::off_t) };
        assert_eq!(rc, 0, "fallocate {size} bytes: {}", std::io::Error::last_os_error());
    }

    fn unfill(&self, name: &str) {
        std::fs::remove_file(self.view(&self.mount.join(name))).unwrap();
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = self.holder.kill();
        let _ = self.holder.wait();
    }
}

fn sop_uids(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| dicom_object::open_file(e.path()).unwrap().meta().media_storage_sop_instance_uid().trim_end_matches('\0').to_string())
        .collect();
    v.sort();
    v
}

fn spooled_uids(job_dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = job_files(job_dir)
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().to_string())
        .collect();
    v.sort();
    v
}

#[test]
fn a_full_disk_refuses_with_a700_keeps_everything_and_recovers_without_restart() {
    let t = TempDir::new("diskfull");
    let ns = Namespace::tmpfs(&t.path().join("mnt"), "300m");
    let scp_dir = t.path().join("pacs");
    let scp_port = free_port();
    let spool = ns.mount.join("spool");
    let cfg = NodeConfig {
        stability_seconds: 1.0,
        plugins: vec![default_plugin()],
        destinations: vec![("pacs".into(), "STORESCU".into(), scp_port)],
        extra_pipeline: "retry_seconds = 1.0\n".into(),
        extra_delivery: "max_attempts = 1000\n".into(),
        spool_dir: Some(spool.clone()),
        spool_view: Some(ns.view(&spool)),
        min_free_bytes: RESERVE,
        wrapper: ns.enter(),
        ..NodeConfig::default()
    };
    let node = Node::start(t.path(), &cfg);
    let (_, a) = make_phantom(&t.path().join("a"), selectable_phantom(301));
    let (_, b) = make_phantom(&t.path().join("b"), selectable_phantom(302));
    let (_, c) = make_phantom(&t.path().join("c"), selectable_phantom(303));

    // Series A is processed; its SEG waits in the outbox (the PACS is not up yet).
    assert!(node.storescu(&[], &[a.dicom_dir.clone()]).status.success());
    let (area, _) = node.wait_job(&a.series_instance_uid, WAIT).expect("job A filed");
    assert_eq!(area, "done");
    let outbox = node.spool.join("outbox");
    assert_eq!(std::fs::read_dir(&outbox).unwrap().count(), 1, "A's delivery is not in the outbox");

    // Below the reserve: an instance is refused with A700 (Out of Resources); C-ECHO works.
    ns.fill("filler", RESERVE / 2);
    let first_b = std::fs::read_dir(&b.dicom_dir).unwrap().flatten().map(|e| e.path()).min().unwrap();
    let mut raw = Raw::connect(node.port, &[(uids::CT_IMAGE_STORAGE, uids::EXPLICIT_VR_LITTLE_ENDIAN)]).unwrap();
    let (pc, _) = raw.accepted(uids::CT_IMAGE_STORAGE).unwrap();
    let sop_b = dicom_object::open_file(&first_b).unwrap().meta().media_storage_sop_instance_uid().trim_end_matches('\0').to_string();
    let (status, comment) = raw.store(pc, uids::CT_IMAGE_STORAGE, &sop_b, &data_set_of(&first_b));
    raw.release();
    assert_eq!(status, 0xA700, "instance stored below the reserve: {comment:?}");
    assert!(comment.unwrap_or_default().contains("disk full"));
    assert!(node.echo("ECHOSCU"), "no C-ECHO while the disk is full");
    ns.unfill("filler");

    // Series C arrives; while it is being segmented the disk fills up completely, so its
    // results cannot be written: the job stays in the job area, not rejected, and is retried.
    assert!(node.storescu(&[], &[c.dicom_dir.clone()]).status.success());
    assert!(
        wait_until(WAIT, || node.log_text().lines().any(|l| l.contains(c.series_instance_uid.as_str()) && l.contains("segmenting"))),
        "C was not segmented"
    );
    ns.fill("filler", 0);
    assert!(
        wait_until(WAIT, || node.log_text().contains("spool failure (full disk?)")),
        "no spool failure while the disk was full; log:\n{}",
        node.log_text()
    );
    std::thread::sleep(Duration::from_secs(3));
    assert!(node.wait_job(&c.series_instance_uid, Duration::ZERO).is_none(), "job C was filed while its results could not be written");
    let jobs: Vec<String> = std::fs::read_dir(node.spool.join("jobs")).unwrap().flatten().map(|e| e.file_name().to_string_lossy().to_string()).collect();
    assert!(jobs.iter().any(|j| j.ends_with(&c.series_instance_uid)), "job C is not in the job area: {jobs:?}");
    assert!(node.echo("ECHOSCU"), "no C-ECHO while the disk is full");
    // The outbox is intact: A's SEG and its record are still there.
    let a_delivery = std::fs::read_dir(&outbox).unwrap().flatten().next().expect("A's delivery vanished").path();
    assert!(a_delivery.join("delivery.json").is_file());

    // Space freed and the PACS up: C is finished, both SEGs are delivered, and B (refused
    // earlier) is accepted now, all without a restart.
    ns.unfill("filler");
    let scp = StoreScp::start("STORESCU", scp_port, &scp_dir);
    assert!(node.storescu(&[], &[b.dicom_dir.clone()]).status.success(), "B refused after space was freed");
    for p in [&a, &b, &c] {
        let (area, job) = node.wait_job(&p.series_instance_uid, WAIT).expect("job filed after space was freed");
        assert_eq!(area, "done", "series {}", p.series_instance_uid);
        assert_eq!(spooled_uids(&job), sop_uids(&p.dicom_dir), "acknowledged instances lost");
    }
    assert!(wait_until(WAIT, || scp.segmentations().len() == 3), "SEGs delivered: {}", scp.segmentations().len());
    assert_eq!(std::fs::read_dir(node.spool.join("failed-delivery")).unwrap().count(), 0);
    assert_eq!(std::fs::read_dir(node.spool.join("rejected")).unwrap().count(), 0);
}
