//! `pavseg prepare`: the training cache prepared by parallel workers; a second run finds every
//! case cached, a changed label file re-prepares only its case, a preparation killed part-way
//! resumes with the cases it finished, a case read from the cache equals the same case
//! prepared without one, and the batches drawn from mapped cache files equal those drawn from
//! cases prepared in memory, whatever the number of loader threads.

mod common;

use pavseg::phantom::PhantomParams;
use pavseg::train::dataset::{Dataset, LabeledSide, Split};
use pavseg::train::phantoms::{make_phantom_dataset, PhantomCase};
use pavseg::train::loader::Loader;
use pavseg::train::mapped::MappedCase;
use pavseg::train::prepared::{ensure_cached, open_cached, prepare_case};
use pavseg::train::sampler::PatchSampler;
use pavseg::train::HalfLabelPolicy;
use std::sync::Arc;
use pavseg::train::TrainConfig;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Six small phantoms (four train, one half-labelled, two val) and a recipe on them.
fn recipe(work: &Path) -> std::path::PathBuf {
    let params = PhantomParams { seed: 0, slices: 40, rows: 64, cols: 64, pixel_spacing: 5.0, slice_spacing: 5.0, ..Default::default() };
    let cases: Vec<PhantomCase> = (1..=6)
        .map(|seed| PhantomCase {
            seed,
            split: if seed <= 4 { Split::Train } else { Split::Val },
            labeled_side: if seed == 2 { LabeledSide::Left } else { LabeledSide::Both },
        })
        .collect();
    make_phantom_dataset(&work.join("data"), &cases, &params).expect("phantom dataset");
    let text = std::fs::read_to_string(common::repo().join("fixtures/phantom-train.toml")).unwrap();
    let text = text
        .lines()
        .map(|l| match l.split('=').next().map(str::trim) {
            Some("dataset") => format!("dataset = \"{}\"", work.join("data/manifest.toml").display()),
            Some("out") => format!("out = \"{}\"", work.join("run").display()),
            Some("plugin") => format!("plugin = \"{}\"", common::repo().join("plugins/pulmonary-av/plugin.toml").display()),
            _ => l.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    let path = work.join("recipe.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// `prepare=N cached=M` of a finished run.
fn prepare(recipe: &Path, workers: usize) -> (usize, usize, String) {
    let o = Command::new(common::BIN).args(["prepare", "--workers", &workers.to_string(), "--config"]).arg(recipe).output().unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(o.status.success(), "{stdout}{}", String::from_utf8_lossy(&o.stderr));
    let field = |k: &str| -> usize {
        let line = stdout.lines().find(|l| l.starts_with("RESULT prepare")).unwrap_or_else(|| panic!("no RESULT: {stdout}"));
        line.split_whitespace().find_map(|f| f.strip_prefix(&format!("{k}="))).unwrap().parse().unwrap()
    };
    assert_eq!(field("cases"), 6, "{stdout}");
    assert_eq!(field("failed"), 0, "{stdout}");
    (field("prepared"), field("cached"), stdout)
}

fn cache_files(cache: &Path) -> usize {
    std::fs::read_dir(cache).map(|d| d.flatten().filter(|e| e.path().extension().is_some_and(|x| x == "safetensors")).count()).unwrap_or(0)
}

#[test]
fn prepare_caches_once_reprepares_what_changed_and_resumes_after_a_kill() {
    let tmp = common::TempDir::new("prepare");
    let recipe = recipe(tmp.path());
    let cache = tmp.path().join("run/cache");

    let (p, c, out) = prepare(&recipe, 2);
    assert_eq!((p, c), (6, 0), "{out}");
    let (p, c, _) = prepare(&recipe, 2);
    assert_eq!((p, c), (0, 6));

    // A changed label file: only its case again (the cache key holds its size and mtime).
    let labels = tmp.path().join("data/phantom0003/labels.nii.gz");
    assert!(labels.is_file(), "{}", labels.display());
    std::thread::sleep(Duration::from_millis(20));
    std::fs::write(&labels, std::fs::read(&labels).unwrap()).unwrap();
    let (p, c, out) = prepare(&recipe, 2);
    assert_eq!((p, c), (1, 5), "{out}");
    assert!(out.lines().any(|l| l.starts_with("case phantom0003 prepared")), "{out}");

    // Killed once the first case is in the cache, then run again: the finished cases are kept.
    std::fs::remove_dir_all(&cache).unwrap();
    let mut child = Command::new(common::BIN)
        .args(["prepare", "--workers", "1", "--config"])
        .arg(&recipe)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t = Instant::now();
    while cache_files(&cache) == 0 && t.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let done = cache_files(&cache);
    assert!((1..6).contains(&done), "{done} cases cached when killed");
    let (p, c, out) = prepare(&recipe, 2);
    assert_eq!((p, c), (6 - done, done), "{out}");
}

#[test]
fn a_cached_case_equals_the_same_case_prepared_without_a_cache() {
    let tmp = common::TempDir::new("prepare-equal");
    let recipe = recipe(tmp.path());
    let cfg = TrainConfig::from_file(&recipe).unwrap();
    let dataset = Dataset::open(&cfg.dataset).unwrap();
    let cache = tmp.path().join("cache");
    for case in dataset.cases.iter().take(2) {
        let fresh = prepare_case(case, &cfg.preprocess, None).unwrap();
        let written = prepare_case(case, &cfg.preprocess, Some(&cache)).unwrap();
        let read = prepare_case(case, &cfg.preprocess, Some(&cache)).unwrap();
        for other in [&written, &read] {
            assert_eq!(other.input, fresh.input, "{}", case.id);
            assert_eq!(other.labels, fresh.labels, "{}", case.id);
            assert_eq!(other.grid, fresh.grid, "{}", case.id);
            assert_eq!(other.labeled_side, fresh.labeled_side, "{}", case.id);
        }
    }
    assert_eq!(cache_files(&cache), 2);
}

#[test]
fn batches_from_mapped_cache_files_equal_batches_from_cases_prepared_in_memory() {
    let tmp = common::TempDir::new("prepare-batches");
    let recipe = recipe(tmp.path());
    let cfg = TrainConfig::from_file(&recipe).unwrap();
    let dataset = Dataset::open(&cfg.dataset).unwrap();
    let cases: Vec<_> = dataset.cases.iter().take(3).collect();
    let cache = tmp.path().join("cache");
    let in_memory: Vec<MappedCase> =
        cases.iter().map(|c| MappedCase::from_prepared(&prepare_case(c, &cfg.preprocess, None).unwrap()).unwrap()).collect();
    for c in &cases {
        assert!(!ensure_cached(c, &cfg.preprocess, &cache).unwrap(), "{} was not in the cache yet", c.id);
        assert!(ensure_cached(c, &cfg.preprocess, &cache).unwrap(), "{} is in the cache now", c.id);
    }
    let mapped: Vec<MappedCase> = cases.iter().map(|c| open_cached(c, &cfg.preprocess, &cache).unwrap()).collect();
    for (a, b) in in_memory.iter().zip(&mapped) {
        assert_eq!(a.class_counts, b.class_counts);
        assert!(a.class_counts.iter().sum::<usize>() > 0, "{} has no vessel voxels", a.id);
        assert_eq!(a.input(), b.input());
    }
    // Every augmentation on, so both the crop and the rotated-box paths are drawn.
    let mut sampling = cfg.sampling.clone();
    (sampling.rotate_prob, sampling.zoom_prob) = (0.5, 0.5);
    let from_memory = Arc::new(PatchSampler::new(in_memory, sampling.clone(), HalfLabelPolicy::Mask).unwrap());
    let from_files = Arc::new(PatchSampler::new(mapped, sampling, HalfLabelPolicy::Mask).unwrap());
    let mut inline = Loader::start(from_memory, 11, 2, 0, 10, 0, 1).unwrap();
    let mut threaded = Loader::start(from_files.clone(), 11, 2, 0, 10, 3, 2).unwrap();
    let mut resumed = Loader::start(from_files, 11, 2, 6, 10, 2, 1).unwrap();
    let mut foreground = 0.0;
    for step in 0..10 {
        let a = inline.next_batch().unwrap();
        let b = threaded.next_batch().unwrap();
        assert_eq!(a.cases, b.cases, "step {step}");
        assert!(a.input.equal(&b.input), "step {step}: inputs differ");
        assert!(a.target.equal(&b.target), "step {step}: targets differ");
        assert!(a.supervised.equal(&b.supervised), "step {step}: supervision differs");
        if step >= 6 {
            let r = resumed.next_batch().unwrap();
            assert!(r.input.equal(&b.input) && r.target.equal(&b.target), "step {step}: a loader started there draws another batch");
        }
        foreground += b.target.sum(tch::Kind::Float).double_value(&[]);
    }
    assert!(foreground > 0.0, "no vessel voxel in 20 patches with foreground sampling");
}
