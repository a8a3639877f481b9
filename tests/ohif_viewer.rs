//! The returned SEG in a real viewer. Phantoms (head-first, feet-first, oblique) go through two
//! nodes: one with the demo plugin (BINARY SEGs), one with a copy of it that writes Label Map
//! SEGs. The SEGs they return (to a dcmtk storescp) and the CTs are uploaded to Orthanc (REST
//! API), whose DICOMweb feeds the OHIF viewer (OHIF's prebuilt app, fetched by
//! `scripts/setup.sh test`) in headless Chromium. For each SEG the test proves from
//! the page that the segmentation panel lists the plugin's segment labels, and from the pixels
//! that each segment's colour appears on the CT viewport while it is shown and disappears once
//! it is hidden in the panel. A negative control (the same SEG with its frames detached from the
//! CT: no per-frame source references, a Frame of Reference of its own) still lists its
//! segments but must show no segment colour: the pixel check can fail.
//!
//! Screenshots and a report per case are kept in target/tmp/ohif-viewer/ (cleared at start).

mod common;

#[path = "ohif/pixels.rs"]
mod pixels;
#[path = "ohif/viewer.rs"]
mod viewer;

use common::orthanc::Orthanc;
use common::*;
use dicom_dictionary_std::{tags, uids};
use pavseg::geometry::{cross, normalize, Geometry, Vec3};
use pavseg::phantom::{Phantom, PhantomFiles, PhantomParams};
use pavseg::plugin::Plugin;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use viewer::{Request, Viewer};

const WAIT: Duration = Duration::from_secs(300);
/// Fewest pixels of a segment's colour that count as the segment being drawn (a phantom voxel
/// covers about 75 screen pixels in the viewport).
const MIN_PIXELS: usize = 150;
/// Most pixels of a hidden segment's colour tolerated (none are expected).
const MAX_LEFT: usize = 10;
/// Least mean grey (0-255) of the CT under a segment's colour: vessels (blood, +40 HU) show
/// near white in the series' lung window (W 1500, L -600), lung parenchyma dark (about 85).
const MIN_GREY_UNDER: f64 = 130.0;

/// One segment as the plugin describes it.
struct Segment {
    label: String,
    rgb: [u8; 3],
}

/// A phantom sent through the node, and the SEG it came back with.
struct Case {
    name: &'static str,
    files: PhantomFiles,
    seg: PathBuf,
    labels: PathBuf,
}

/// Where the screenshots stay after the test.
fn shots_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ohif-viewer");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn plugin_segments(plugin: &Path) -> Vec<Segment> {
    let p = Plugin::load(plugin).expect("plugin");
    p.file.output.seg.segments.iter().map(|s| Segment { label: s.label.clone(), rgb: s.color_rgb }).collect()
}

/// Rotation of `v` by `deg` degrees about the unit `axis` (Rodrigues).
fn rotate(v: Vec3, axis: Vec3, deg: f64) -> Vec3 {
    let (s, c) = deg.to_radians().sin_cos();
    let k = normalize(axis);
    let kxv = cross(k, v);
    let kv = k[0] * v[0] + k[1] * v[1] + k[2] * v[2];
    [0, 1, 2].map(|i| v[i] * c + kxv[i] * s + k[i] * kv * (1.0 - c))
}

/// The phantom on an oblique grid: the same voxels with row and column directions turned 15°
/// about an axis off every patient axis, the grid still centred on the origin (so the patient
/// is tilted in patient space and every slice plane is oblique).
fn make_oblique(mut p: Phantom) -> Phantom {
    let g = &p.geometry;
    let axis = [1.0, 0.6, 0.3];
    let (row, col) = (rotate(g.row_dir, axis, 15.0), rotate(g.col_dir, axis, 15.0));
    let mut o = Geometry::new(g.shape, [0.0; 3], row, col, g.spacing);
    let [nk, nj, ni] = g.shape.map(|n| (n as f64 - 1.0) / 2.0);
    let centre = o.index_to_lps(nk, nj, ni);
    o.origin = centre.map(|x| -x);
    p.geometry = o;
    p
}

fn phantoms(dir: &Path) -> Vec<(&'static str, PhantomFiles)> {
    let write = |name: &str, p: Phantom| pavseg::phantom::write_phantom(&p, &dir.join(name)).expect("write phantom");
    let gen = pavseg::phantom::generate;
    vec![
        ("head-first", write("head-first", gen(&selectable_phantom(151)))),
        ("feet-first", write("feet-first", gen(&PhantomParams { feet_first: true, ..selectable_phantom(152) }))),
        ("oblique", write("oblique", make_oblique(gen(&selectable_phantom(153))))),
    ]
}

fn text_tag(path: &Path, tag: dicom_core::Tag) -> String {
    let obj = dicom_object::OpenFileOptions::new().read_until(tags::PIXEL_DATA).open_file(path).expect("open DICOM");
    let value = obj.element(tag).ok().and_then(|e| e.to_str().ok()).unwrap_or_default();
    value.trim_end_matches(['\0', ' ']).to_string()
}

/// A copy of the demo plugin (model files where they are) whose SEGs are Label Map
/// Segmentations.
fn labelmap_plugin(dir: &Path) -> PathBuf {
    let src = default_plugin();
    let folder = src.parent().unwrap();
    let mut text = std::fs::read_to_string(&src).unwrap();
    for file in ["model.json", "weights.safetensors", "embeddings.safetensors"] {
        let at = format!("{:?}", folder.join(file).display().to_string());
        text = text.replace(&format!("\"{file}\""), &at);
    }
    let text = text.replacen("\ntype = \"binary\"\n", "\ntype = \"labelmap\"\n", 1);
    assert!(text.contains("type = \"labelmap\"") && !text.contains("= \"model.json\""), "plugin.toml layout changed");
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("plugin.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// dcmtk's storescp (AE STORESCU) in promiscuous mode: dcmtk 3.6.7 does not know the Label Map
/// Segmentation Storage SOP class and would refuse it otherwise.
fn promiscuous_scp(dir: &Path) -> StoreScp {
    let port = free_port();
    std::fs::create_dir_all(dir).unwrap();
    let child = Command::new("storescp")
        .args(["-aet", "STORESCU", "+xa", "-pm", "-od"])
        .arg(dir)
        .arg(port.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("storescp (apt package dcmtk)");
    let echo = || Command::new("echoscu").args(["-aec", "STORESCU", "127.0.0.1", &port.to_string()]).output();
    assert!(wait_until(Duration::from_secs(10), || echo().is_ok_and(|o| o.status.success())), "storescp did not start");
    StoreScp { child, port, dir: dir.to_path_buf() }
}

/// Received SEGs of either SOP class (a file still being written is counted on a later poll).
fn segs(scp: &StoreScp) -> Vec<PathBuf> {
    let seg_classes = [uids::SEGMENTATION_STORAGE, uids::LABEL_MAP_SEGMENTATION_STORAGE];
    let class = |p: &PathBuf| {
        let obj = dicom_object::OpenFileOptions::new().read_until(tags::PIXEL_DATA).open_file(p).ok()?;
        Some(obj.meta().media_storage_sop_class_uid.trim_end_matches('\0').to_string())
    };
    scp.received().into_iter().filter(|p| class(p).is_some_and(|c| seg_classes.contains(&c.as_str()))).collect()
}

/// Sends every phantom through a node with `plugin` (in `t`); returns the cases with the SEGs
/// the node sent back.
fn through_the_node(t: &Path, plugin: PathBuf, sent: &[(&'static str, PhantomFiles)]) -> Vec<Case> {
    let scp = promiscuous_scp(&t.join("pacs"));
    let cfg = NodeConfig {
        plugins: vec![plugin],
        destinations: vec![("pacs".into(), "STORESCU".into(), scp.port)],
        ..NodeConfig::default()
    };
    let node = Node::start(t, &cfg);
    for (_, files) in sent {
        let out = node.storescu(&[], &[files.dicom_dir.clone()]);
        assert!(out.status.success(), "storescu: {}", String::from_utf8_lossy(&out.stderr));
    }
    let all = wait_until(WAIT, || segs(&scp).len() == sent.len());
    assert!(all, "{} of {} SEGs arrived; node log:\n{}", segs(&scp).len(), sent.len(), node.log_text());
    let received = segs(&scp);
    sent.iter()
        .map(|(name, files)| {
            let seg = received
                .iter()
                .find(|s| text_tag(s, tags::STUDY_INSTANCE_UID) == files.study_instance_uid)
                .unwrap_or_else(|| panic!("no SEG in the study of the {name} phantom"))
                .clone();
            let (area, job) = node.wait_job(&files.series_instance_uid, WAIT).expect("job filed");
            assert_eq!(area, "done", "{name}: job {}", job.display());
            Case { name, seg, labels: job.join("labels.nii.gz"), files: files.clone() }
        })
        .collect()
}

/// POST every file to Orthanc's REST API (its DICOM port cannot be bound to loopback only).
fn upload(orthanc: &Orthanc, paths: &[PathBuf]) {
    for p in paths {
        let out = Command::new("curl")
            .args(["-sf", "-X", "POST", "--data-binary"])
            .arg(format!("@{}", p.display()))
            .arg(format!("http://127.0.0.1:{}/instances", orthanc.http_port))
            .output()
            .expect("curl");
        assert!(out.status.success(), "upload of {} to Orthanc failed: {}", p.display(), orthanc.log());
    }
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().flatten().map(|e| e.path()).collect();
    v.sort();
    v
}

/// The CT image with the most of the rarer segment (then the most of both): the slice that
/// shows every segment best. Returns its SOP Instance UID.
fn best_image(case: &Case, n_segments: usize) -> String {
    let ct = files_in(&case.files.dicom_dir);
    let volume = pavseg::volume::assemble_files(&ct, &Default::default()).expect("assemble CT");
    let (labels, _) = pavseg::io::nifti::read::<u8>(&case.labels).expect("the job's labels.nii.gz");
    assert_eq!(labels.shape(), &volume.geometry.shape[..], "{}: labels and CT differ in shape", case.name);
    let score = |k: usize| {
        let slice = labels.index_axis(ndarray::Axis(0), k);
        let counts: Vec<usize> = (1..=n_segments as u8).map(|v| slice.iter().filter(|&&x| x == v).count()).collect();
        (*counts.iter().min().unwrap(), counts.iter().sum::<usize>())
    };
    let k = (0..volume.geometry.shape[0]).max_by_key(|&k| score(k)).unwrap();
    assert!(score(k).0 > 0, "{}: no slice holds every segment", case.name);
    volume.source.images[k].sop_instance_uid.clone()
}

/// `rgb(r, g, b)` as CSS computes a colour.
fn css_rgb(css: &str) -> Option<[u8; 3]> {
    let inner = css.strip_prefix("rgb(")?.strip_suffix(')')?;
    let v: Vec<u8> = inner.split(',').map(|x| x.trim().parse().ok()).collect::<Option<_>>()?;
    v.try_into().ok()
}

/// Pixels of each segment's colour in each screenshot: `counts[shot][segment]`.
fn colour_counts(shots: &[image::RgbImage], segments: &[Segment]) -> Vec<Vec<usize>> {
    shots.iter().map(|img| segments.iter().map(|s| pixels::count(img, s.rgb)).collect()).collect()
}

/// Whether each segment's colour is on the viewport while it is shown (shots before its own
/// hiding: shot `i` follows hiding segments `0..i`) and gone once it is hidden.
fn judge(counts: &[Vec<usize>], segments: &[Segment]) -> Result<(), String> {
    if counts.len() != segments.len() + 1 {
        return Err(format!("{} screenshots for {} segments", counts.len(), segments.len()));
    }
    for (i, s) in segments.iter().enumerate() {
        for (shot, c) in counts.iter().enumerate() {
            let n = c[i];
            if shot <= i && n < MIN_PIXELS {
                return Err(format!("{} shown, but only {n} pixels of its colour in screenshot {shot}", s.label));
            }
            if shot > i && n > MAX_LEFT {
                return Err(format!("{} hidden, but {n} pixels of its colour in screenshot {shot}", s.label));
            }
        }
    }
    Ok(())
}

/// What the viewer showed of one SEG.
struct Look {
    /// The driver's answer: labels, swatch colours, screenshots.
    answer: serde_json::Value,
    /// `counts[shot][segment]`: pixels of each segment's colour per screenshot.
    counts: Vec<Vec<usize>>,
    /// Mean grey of the CT (with every segment hidden) under each segment's colour.
    under: Vec<Option<f64>>,
}

/// Shows `seg_series` on the case's CT at image `sop`, judges the screenshots' colours, and
/// keeps a report beside them.
fn look(viewer: &mut Viewer, case: &Case, seg_series: &str, sop: &str, out: &Path, segments: &[Segment]) -> Look {
    let t = Instant::now();
    let series = [case.files.series_instance_uid.as_str(), seg_series];
    let req = Request { study: &case.files.study_instance_uid, series, sop, out };
    let answer = viewer.show(&req);
    let shots: Vec<image::RgbImage> = answer["shots"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| image::open(p.as_str().unwrap()).expect("screenshot").to_rgb8())
        .collect();
    let counts = colour_counts(&shots, segments);
    // How bright the CT is under each segment's colour (from the screenshot with all hidden).
    let under: Vec<Option<f64>> = match (shots.first(), shots.last()) {
        (Some(first), Some(last)) if shots.len() > 1 => {
            segments.iter().map(|s| pixels::mean_grey_under(last, &pixels::mask(first, s.rgb))).collect()
        }
        _ => vec![],
    };
    let report = serde_json::json!({
        "case": case.name, "seg_series": seg_series, "sop": sop, "driver": answer,
        "colour_pixels_per_shot": counts, "ct_grey_under_segment": under, "seconds": t.elapsed().as_secs_f64(),
    });
    std::fs::write(out.join("report.json"), serde_json::to_vec_pretty(&report).unwrap()).unwrap();
    let seconds = t.elapsed().as_secs();
    println!("{}: {seconds} s, colour pixels per screenshot {counts:?}, CT grey under segments {under:?}", out.display());
    Look { answer, counts, under }
}

fn assert_displayed(viewer: &mut Viewer, case: &Case, kind: &str, shots: &Path, segments: &[Segment]) {
    let sop = best_image(case, segments.len());
    let out = shots.join(format!("{}-{kind}", case.name));
    let seg_series = text_tag(&case.seg, tags::SERIES_INSTANCE_UID);
    let Look { answer, counts, under } = look(viewer, case, &seg_series, &sop, &out, segments);
    let photometric = text_tag(&case.seg, tags::PHOTOMETRIC_INTERPRETATION);
    let what = format!("{} {kind} ({photometric}; screenshots in {})", case.name, out.display());
    assert!(answer.get("error").is_none(), "{what}: the viewer failed: {answer}");
    let labels: Vec<&str> = answer["labels"].as_array().unwrap().iter().map(|l| l.as_str().unwrap()).collect();
    let expected: Vec<&str> = segments.iter().map(|s| s.label.as_str()).collect();
    assert_eq!(labels, expected, "{what}: the segmentation panel's labels");
    // The panel's swatches: the SEG's RecommendedDisplayCIELabValue, back in RGB.
    let swatches: Vec<Option<[u8; 3]>> =
        answer["colours"].as_array().unwrap().iter().map(|c| css_rgb(c.as_str().unwrap_or_default())).collect();
    for (s, swatch) in segments.iter().zip(&swatches) {
        let close = swatch.is_some_and(|w| w.iter().zip(s.rgb).all(|(&a, b)| a.abs_diff(b) <= 3));
        assert!(close, "{what}: {} shown in {swatch:?}, the plugin says {:?}", s.label, s.rgb);
    }
    if let Err(e) = judge(&counts, segments) {
        panic!("{what}: {e}; colour pixels per screenshot {counts:?}; driver: {answer}");
    }
    // On its CT: the colour lies on the bright vessels, not on dark lung.
    for (s, grey) in segments.iter().zip(&under) {
        assert!(grey.is_some_and(|g| g >= MIN_GREY_UNDER), "{what}: CT grey under {} is {grey:?}", s.label);
    }
}

/// The negative control: a copy of `seg` (in `dir`) with its frames detached from the CT
/// (tests/ohif/detach_frames.py); returns its path and Series Instance UID.
fn detached_copy(seg: &Path, dir: &Path) -> (PathBuf, String) {
    let control = dir.join("detached.dcm");
    let python = pavseg::bench::tools::python();
    let out = Command::new(&python)
        .arg(repo().join("tests/ohif/detach_frames.py"))
        .arg(seg)
        .arg(&control)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", python.display()));
    assert!(out.status.success(), "detach_frames.py: {}", String::from_utf8_lossy(&out.stderr));
    (control, String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The control loads (the panel lists its segments) but the pixel check finds no segment
/// colour on the CT: proof that the check can fail.
fn assert_not_displayed(viewer: &mut Viewer, case: &Case, seg_series: &str, out: &Path, segments: &[Segment]) {
    let sop = best_image(case, segments.len());
    let Look { answer, counts, .. } = look(viewer, case, seg_series, &sop, out, segments);
    let labels: Vec<&str> = answer["labels"].as_array().into_iter().flatten().filter_map(|l| l.as_str()).collect();
    let expected: Vec<&str> = segments.iter().map(|s| s.label.as_str()).collect();
    assert_eq!(labels, expected, "negative control: the panel should still list the segments ({answer})");
    let drawn = counts.first().cloned().unwrap_or_default();
    assert!(
        judge(&counts, segments).is_err() && drawn.iter().all(|&n| n <= MAX_LEFT),
        "a SEG with detached frames shows segment colours {drawn:?} (screenshots in {})",
        out.display()
    );
}

#[test]
fn the_returned_seg_shows_on_its_ct_in_ohif() {
    let start = Instant::now();
    let t = TempDir::new("ohif");
    let shots = shots_dir();
    let plugin = default_plugin();
    let segments = plugin_segments(&plugin);
    let sent = phantoms(&t.path().join("phantoms"));
    // Two nodes side by side: the demo plugin (BINARY SEGs) and its Label Map copy.
    let labelmap = labelmap_plugin(&t.path().join("labelmap-plugin"));
    let (cases, labelmap_cases) = std::thread::scope(|s| {
        let binary = s.spawn(|| through_the_node(&t.path().join("binary"), plugin, &sent));
        let labelmap = through_the_node(&t.path().join("labelmap"), labelmap, &sent);
        (binary.join().unwrap(), labelmap)
    });
    for case in &labelmap_cases {
        let class = text_tag(&case.seg, tags::SOP_CLASS_UID);
        assert_eq!(class, uids::LABEL_MAP_SEGMENTATION_STORAGE, "{}: the Label Map plugin's SEG", case.name);
    }
    println!("{} SEGs back from the nodes after {} s", cases.len() * 2, start.elapsed().as_secs());

    let orthanc = Orthanc::start_dicomweb(&t.path().join("orthanc"), Orthanc::ports(), "", serde_json::json!({}));
    for case in &cases {
        upload(&orthanc, &files_in(&case.files.dicom_dir));
    }
    for case in cases.iter().chain(&labelmap_cases) {
        upload(&orthanc, std::slice::from_ref(&case.seg));
    }
    // The negative control: the head-first SEG with its frames detached from the CT.
    let (control, control_series) = detached_copy(&cases[0].seg, t.path());
    upload(&orthanc, std::slice::from_ref(&control));

    let mut viewer = Viewer::start(t.path(), orthanc.http_port);
    for case in &cases {
        assert_displayed(&mut viewer, case, "binary", &shots, &segments);
    }
    assert_not_displayed(&mut viewer, &cases[0], &control_series, &shots.join("negative-control"), &segments);
    for case in &labelmap_cases {
        assert_displayed(&mut viewer, case, "labelmap", &shots, &segments);
    }
    println!("OHIF viewer test done in {} s; screenshots in {}", start.elapsed().as_secs(), shots.display());
}
