//! `pavseg prepare`: the training cache prepared by parallel workers; a second run finds every
//! case cached, a changed label file re-prepares only its case, a preparation killed part-way
//! resumes with the cases it finished, and a case read from the cache equals the same case
//! prepared without one.

mod common;

use pavseg::phantom::PhantomParams;
use pavseg::train::dataset::{Dataset, LabeledSide, Split};
use pavseg::train::phantoms::{make_phantom_dataset, PhantomCase};
use pavseg::train::prepared::prepare_case;
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
