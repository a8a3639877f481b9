//! Shared harness for integration tests: a real `pavseg serve` process on 127.0.0.1 with its
//! own spool, phantoms, and the dcmtk peers.
#![allow(dead_code)]

pub mod golden;
pub mod orthanc;
pub mod raw;
pub mod wire;

use pavseg::phantom::{self, PhantomFiles, PhantomParams};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_pavseg");

/// A fresh folder under the target dir, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        let dir = base.join(format!("{name}-{}-{}", std::process::id(), rand_suffix()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::env::var_os("PAVSEG_KEEP_TEST_DIRS").is_none() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(Instant::now().elapsed().as_nanos());
    h.finish() % 1_000_000
}

/// Generates and writes a phantom; returns its files.
pub fn make_phantom(dir: &Path, params: PhantomParams) -> (phantom::Phantom, PhantomFiles) {
    let p = phantom::generate(&params);
    let files = phantom::write_phantom(&p, dir).expect("write phantom");
    (p, files)
}

pub fn small_phantom(seed: u64) -> PhantomParams {
    PhantomParams { seed, slices: 64, rows: 96, cols: 96, pixel_spacing: 3.6, slice_spacing: 3.0, feet_first: false, ..Default::default() }
}

/// A running `pavseg serve`.
pub struct Node {
    pub child: Child,
    /// The plain DICOM port (the TLS port when the node is TLS-only).
    pub port: u16,
    pub tls_port: Option<u16>,
    pub http_port: Option<u16>,
    pub spool: PathBuf,
    pub config: PathBuf,
    pub log: PathBuf,
}

/// Settings of a test node. By default no plugin is loaded (series are only assembled).
pub struct NodeConfig {
    pub ae_title: String,
    /// DICOM port; 0 picks a free one (a node that restarts behind a router needs a fixed one).
    pub port: u16,
    pub stability_seconds: f64,
    /// Extra lines for the `[node]` section.
    pub extra_node: String,
    /// Plugin files for `pipeline.plugins`.
    pub plugins: Vec<PathBuf>,
    /// Extra lines for the `[pipeline]` section.
    pub extra_pipeline: String,
    /// Extra lines for the `[delivery]` section.
    pub extra_delivery: String,
    /// `[[destinations]]`: (name, AE title, port on 127.0.0.1).
    pub destinations: Vec<(String, String, u16)>,
    /// Extra TOML appended at the end (whole sections).
    pub extra: String,
    /// `[log] format`: "text" or "json".
    pub log_format: &'static str,
    /// `spool.dir` as the node sees it; default `dir/spool`.
    pub spool_dir: Option<PathBuf>,
    /// Where the test reads that spool (another mount namespace: `/proc/PID/root/...`).
    pub spool_view: Option<PathBuf>,
    /// `spool.min_free_bytes`.
    pub min_free_bytes: u64,
    /// A command that runs the node (e.g. `nsenter -t PID -m --`), empty: run it directly.
    pub wrapper: Vec<String>,
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig {
            ae_title: "PAVSEG".into(),
            port: 0,
            stability_seconds: 1.0,
            extra_node: String::new(),
            plugins: Vec::new(),
            extra_pipeline: String::new(),
            extra_delivery: String::new(),
            destinations: Vec::new(),
            extra: String::new(),
            log_format: "text",
            spool_dir: None,
            spool_view: None,
            min_free_bytes: 0,
            wrapper: Vec::new(),
        }
    }
}

/// The repository's default plugin (with the shipped demo weights).
pub fn default_plugin() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("plugins/pulmonary-av/plugin.toml")
}

impl Node {
    /// Starts a node with its spool in `dir/spool`, port 0, and waits until it listens.
    pub fn start(dir: &Path, cfg: &NodeConfig) -> Node {
        let spool = cfg.spool_dir.clone().unwrap_or_else(|| dir.join("spool"));
        let config = dir.join("pavseg.toml");
        let plugins: Vec<String> = cfg.plugins.iter().map(|p| format!("{:?}", p.display().to_string())).collect();
        let mut text = format!(
            "[node]\nae_title = \"{}\"\nbind = \"127.0.0.1\"\nport = {}\nshutdown_grace_seconds = 10\n{}\n[spool]\ndir = \"{}\"\nstability_seconds = {}\nmin_free_bytes = {}\n[pipeline]\nplugins = [{}]\n{}\n[delivery]\ninitial_backoff_seconds = 0.5\nmax_backoff_seconds = 2.0\ntimeout_seconds = 5\n{}\n[http]\nport = 0\n[log]\nformat = \"{}\"\n",
            cfg.ae_title,
            cfg.port,
            cfg.extra_node,
            spool.display(),
            cfg.stability_seconds,
            cfg.min_free_bytes,
            plugins.join(", "),
            cfg.extra_pipeline,
            cfg.extra_delivery,
            cfg.log_format,
        );
        for (name, ae, port) in &cfg.destinations {
            text += &format!("[[destinations]]\nname = \"{name}\"\nae_title = \"{ae}\"\nhost = \"127.0.0.1\"\nport = {port}\n");
        }
        text += &cfg.extra;
        std::fs::write(&config, text).unwrap();
        let view = cfg.spool_view.clone().unwrap_or(spool);
        Self::start_wrapped(dir, &config, &view, &cfg.wrapper)
    }

    /// Starts (or restarts) a node on an existing config file. The node prints its addresses
    /// and then "started" on stdout; everything after (log lines, when `[log] output` is
    /// stdout) is copied into the log file beside stderr's.
    pub fn start_with(dir: &Path, config: &Path, spool: &Path) -> Node {
        Self::start_wrapped(dir, config, spool, &[])
    }

    /// As `start_with`, the node run by `wrapper` (a command and its arguments) when given.
    pub fn start_wrapped(dir: &Path, config: &Path, spool: &Path, wrapper: &[String]) -> Node {
        let log = dir.join(format!("node-{}.log", rand_suffix()));
        let open_log = || {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&log)
                .unwrap()
        };
        let mut command = match wrapper.split_first() {
            Some((program, args)) => {
                let mut c = Command::new(program);
                c.args(args).arg(BIN);
                c
            }
            None => Command::new(BIN),
        };
        let mut child = command
            .args(["serve", "--config"])
            .arg(config)
            .env("PAVSEG_LOG", "info,pavseg=debug")
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(open_log())
            .spawn()
            .expect("spawn pavseg serve");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let (mut port, mut tls_port, mut http_port) = (None, None, None);
        let mut seen = String::new();
        loop {
            let mut line = String::new();
            if stdout.read_line(&mut line).unwrap_or(0) == 0 {
                break;
            }
            seen.push_str(&line);
            let line = line.trim();
            let last_port = || line.rsplit(':').next().and_then(|p| p.parse::<u16>().ok());
            if line == "started" {
                break;
            } else if line.starts_with("listening on ") {
                port = last_port();
            } else if line.starts_with("listening (tls) on ") {
                tls_port = last_port();
            } else if line.starts_with("http on ") {
                http_port = last_port();
            }
        }
        let Some(port) = port.or(tls_port) else {
            panic!(
                "node did not start: {seen:?}; log:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            )
        };
        let mut sink = open_log();
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut stdout, &mut sink);
        });
        Node {
            child,
            port,
            tls_port,
            http_port,
            spool: spool.to_path_buf(),
            config: config.to_path_buf(),
            log,
        }
    }

    /// GET on the node's HTTP API: (status, body); None when it does not answer.
    pub fn http_get(&self, path: &str) -> Option<(u16, String)> {
        let port = self.http_port?;
        let out = Command::new("curl")
            .args([
                "-s",
                "-o",
                "-",
                "-w",
                "\n%{http_code}",
                &format!("http://127.0.0.1:{port}{path}"),
            ])
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let (body, code) = text.rsplit_once('\n')?;
        Some((code.trim().parse().ok()?, body.to_string()))
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// dcmtk echoscu against the node.
    pub fn echo(&self, calling_ae: &str) -> bool {
        Command::new("echoscu")
            .args(["-aet", calling_ae, "-aec", "PAVSEG", "127.0.0.1", &self.port.to_string()])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    }

    /// dcmtk storescu of `files` (or folders with `+sd`), with extra options.
    pub fn storescu(&self, opts: &[&str], paths: &[PathBuf]) -> Output {
        let mut c = Command::new("storescu");
        c.args(["-aet", "STORESCU", "-aec", "PAVSEG"]).args(opts).arg("127.0.0.1").arg(self.port.to_string());
        for p in paths {
            if p.is_dir() {
                c.arg("+sd");
            }
            c.arg(p);
        }
        c.output().expect("run storescu (apt package dcmtk)")
    }

    pub fn sigterm(&self) {
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
    }

    pub fn sigkill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits until the node exits; returns whether it did within `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> bool {
        wait_until(timeout, || matches!(self.child.try_wait(), Ok(Some(_))))
    }

    /// Waits for a finished (done, rejected or skipped) job of `series`; returns its area and
    /// folder.
    pub fn wait_job(&self, series: &str, timeout: Duration) -> Option<(String, PathBuf)> {
        let mut found = None;
        wait_until(timeout, || {
            for area in ["done", "rejected", "skipped"] {
                if let Ok(rd) = std::fs::read_dir(self.spool.join(area)) {
                    for e in rd.flatten() {
                        if e.file_name().to_string_lossy().ends_with(series) {
                            found = Some((area.to_string(), e.path()));
                            return true;
                        }
                    }
                }
            }
            false
        });
        found
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    f()
}

/// The instance files of a finished job folder.
pub fn job_files(job_dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> =
        std::fs::read_dir(job_dir.join("instances")).unwrap().flatten().map(|e| e.path()).collect();
    v.sort();
    v
}

/// Asserts that the node's assembled volume (from the job's spooled instances, through the
/// same assembly code the node ran) equals the phantom voxel for voxel, and that the job's
/// recorded summary matches.
pub fn assert_volume_matches(job_dir: &Path, phantom: &phantom::Phantom) {
    let vol = pavseg::volume::assemble_files(&job_files(job_dir), &Default::default()).expect("assemble");
    assert!(vol.geometry.same_grid(&phantom.geometry, 1e-3), "grid {:?} vs {:?}", vol.geometry, phantom.geometry);
    assert_eq!(vol.hu.shape(), phantom.hu.shape());
    let mismatches = vol.hu.iter().zip(phantom.hu.iter()).filter(|(a, b)| **a != **b as f32).count();
    assert_eq!(mismatches, 0, "voxels differ from the phantom");
    let job: serde_json::Value = serde_json::from_slice(&std::fs::read(job_dir.join("job.json")).unwrap()).unwrap();
    let dims = &job["result"]["volume"]["dimensions"];
    let [nk, nj, ni] = phantom.geometry.shape;
    assert_eq!(dims, &serde_json::json!([ni, nj, nk]));
}
/// A fresh, empty folder under the system temp dir, unique per process and `name`.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pavseg-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("creating a temp dir");
    dir
}

/// The repository root (where Cargo.toml is).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(area: &str, name: &str) -> PathBuf {
    repo().join("fixtures").join(area).join(name)
}

/// Reproducible test values without libtorch's global generator (which tests running in
/// parallel threads would share): splitmix64 of `seed + (n + 1) * 0x9E3779B97F4A7C15`, top 24
/// bits as a float32 in [-1, 1). fixtures/model/make_lacaf_golden.py computes the same stream.
pub struct Stream {
    seed: u64,
    next: u64,
}

impl Stream {
    pub fn new(seed: u64) -> Self {
        Stream { seed, next: 0 }
    }

    pub fn values(&mut self, n: usize, scale: f32) -> Vec<f32> {
        let first = self.next + 1;
        self.next += n as u64;
        (first..first + n as u64)
            .map(|i| {
                let mut z = self.seed.wrapping_add(i.wrapping_mul(0x9E3779B97F4A7C15));
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D049BB133111EB);
                z ^= z >> 31;
                ((z >> 40) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0) * scale
            })
            .collect()
    }

    pub fn tensor(&mut self, shape: &[i64], scale: f32) -> tch::Tensor {
        let n = shape.iter().product::<i64>() as usize;
        tch::Tensor::from_slice(&self.values(n, scale)).reshape(shape)
    }
}

/// Fills every trainable variable of `vs`, in name order, from `stream` (running statistics
/// and counters keep their initial values).
pub fn fill_trainable(vs: &tch::nn::VarStore, stream: &mut Stream, scale: f32) {
    let trainable: Vec<tch::Tensor> = vs.trainable_variables();
    let vars: std::collections::BTreeMap<String, tch::Tensor> = vs.variables().into_iter().collect();
    tch::no_grad(|| {
        for t in vars.values().filter(|t| trainable.iter().any(|v| v.data_ptr() == t.data_ptr())) {
            t.shallow_clone().copy_(&stream.tensor(&t.size(), scale));
        }
    });
}

/// Pearson correlation of two equally shaped arrays.
pub fn pearson(a: ndarray::ArrayView3<'_, f32>, b: ndarray::ArrayView3<'_, f32>) -> f64 {
    assert_eq!(a.shape(), b.shape());
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().map(|&x| x as f64).sum::<f64>() / n, b.iter().map(|&x| x as f64).sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (&x, &y) in a.iter().zip(b.iter()) {
        let (x, y) = (x as f64 - ma, y as f64 - mb);
        sab += x * y;
        saa += x * x;
        sbb += y * y;
    }
    sab / (saa * sbb).sqrt()
}

/// Largest absolute difference of two equally shaped arrays.
pub fn max_abs_diff(a: ndarray::ArrayView3<'_, f32>, b: ndarray::ArrayView3<'_, f32>) -> f32 {
    assert_eq!(a.shape(), b.shape());
    a.iter().zip(b.iter()).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// dcmtk's storescp as the "PACS" that receives segmentations.
pub struct StoreScp {
    pub child: Child,
    pub port: u16,
    pub dir: PathBuf,
}

impl StoreScp {
    /// Starts storescp (AE `ae`) on `port` (0 picks a free one), saving into `dir`.
    pub fn start(ae: &str, port: u16, dir: &Path) -> StoreScp {
        let port = if port == 0 { free_port() } else { port };
        std::fs::create_dir_all(dir).unwrap();
        let child = Command::new("storescp")
            .args(["-aet", ae, "+xa", "-od"])
            .arg(dir)
            .arg(port.to_string())
            .env("TCP_NODELAY", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("storescp (apt package dcmtk)");
        let up = wait_until(Duration::from_secs(10), || {
            Command::new("echoscu").args(["-aec", ae, "127.0.0.1", &port.to_string()]).output().is_ok_and(|o| o.status.success())
        });
        assert!(up, "storescp did not start");
        StoreScp { child, port, dir: dir.to_path_buf() }
    }

    /// Files received so far.
    pub fn received(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(&self.dir).map(|d| d.flatten().map(|e| e.path()).collect()).unwrap_or_default();
        v.sort();
        v
    }

    /// Received Segmentation Storage objects (by their SOP Class, not storescp's file names).
    /// A file still being written fails to parse and is counted on the next poll.
    pub fn segmentations(&self) -> Vec<PathBuf> {
        self.received()
            .into_iter()
            .filter(|p| {
                dicom_object::OpenFileOptions::new()
                    .read_until(dicom_dictionary_std::tags::PIXEL_DATA)
                    .open_file(p)
                    .is_ok_and(|o| o.meta().media_storage_sop_class_uid.trim_end_matches('\0') == dicom_dictionary_std::uids::SEGMENTATION_STORAGE)
            })
            .collect()
    }
}

impl Drop for StoreScp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A phantom that the default plugin selects (64 slices of 2.5 mm), small enough for tests.
pub fn selectable_phantom(seed: u64) -> PhantomParams {
    PhantomParams { seed, slices: 64, rows: 96, cols: 96, pixel_spacing: 3.6, slice_spacing: 2.5, feet_first: false, ..Default::default() }
}

/// The lossless transfer syntaxes the node decodes, as (name, the dcmtk or GDCM command that
/// compresses a file into it, the storescu option that proposes it).
pub const LOSSLESS_COMPRESSORS: [(&str, &[&str], &str); 5] = [
    ("rle", &["dcmcrle"], "-xr"),
    ("jpeg-lossless", &["dcmcjpeg", "+e1"], "-xs"),
    ("jpeg-ls", &["dcmcjpls"], "-xt"),
    ("jpeg2000", &["gdcmconv", "--j2k"], "-xv"),
    ("deflate", &["dcmconv", "+td"], "-xd"),
];
