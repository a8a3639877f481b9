//! Multi-frame CT input. One phantom series reaches the node four ways over storescu: as
//! single-frame CT images, as one and as two Legacy Converted Enhanced CT objects (highdicom's
//! `legacy` conversion), and as an Enhanced CT in JPEG-LS (dcmcjpls). Each gives the phantom's
//! volume and the single-frame run's label map voxel for voxel; each multi-frame SEG passes
//! dciodvfy, and highdicom reads it back by source frame (ReferencedSOPInstanceUID +
//! ReferencedFrameNumber). Three malformed multi-frame objects are rejected, each with a reason
//! naming the attribute at fault.

mod common;

use common::*;
use dicom_core::value::PrimitiveValue;
use dicom_core::{DataElement, VR};
use dicom_dictionary_std::{tags, uids};
use pavseg::phantom::PhantomParams;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(400);

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().flatten().map(|e| e.path()).collect();
    v.sort();
    v
}

/// tests/multiframe.py with the project's Python; fails the test with its output.
fn python(args: &[&std::ffi::OsStr]) -> String {
    let py = pavseg::bench::tools::python();
    let script = repo().join("tests/multiframe.py");
    let out = Command::new(&py)
        .arg(&script)
        .args(args)
        .env("PATH", pavseg::bench::tools::path_with_python_bin())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {} ({e}); set PAVSEG_PYTHON to the project's .venv python", py.display()));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "multiframe.py {args:?} failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

/// dciodvfy's error lines for `path`.
fn dciodvfy_errors(path: &Path) -> Vec<String> {
    let out = Command::new("dciodvfy").arg(path).output().expect("dciodvfy (apt package dicom3tools)");
    let report = String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    report.lines().filter(|l| l.starts_with("Error")).map(str::to_string).collect()
}

#[test]
fn multi_frame_series_segment_like_single_frames_and_malformed_ones_are_rejected() {
    let t = TempDir::new("multiframe");
    let (phantom, ph) = make_phantom(&t.path().join("ph"), selectable_phantom(81));
    let mf = t.path().join("mf");
    let made: Vec<(String, String)> = python(&["make".as_ref(), ph.dicom_dir.as_os_str(), mf.as_os_str()])
        .lines()
        .filter_map(|l| l.split_once(' ').map(|(a, b)| (a.to_string(), b.to_string())))
        .collect();
    let series = |name: &str| made.iter().find(|(n, _)| n == name).map(|(_, s)| s.clone()).unwrap_or_else(|| panic!("no {name} in {made:?}"));
    // The Enhanced CT compressed by dcmtk: one JPEG-LS fragment per frame.
    std::fs::create_dir_all(mf.join("jpegls")).unwrap();
    let st = Command::new("dcmcjpls")
        .arg(mf.join("enhanced/enhanced.dcm"))
        .arg(mf.join("jpegls/enhanced.dcm"))
        .status()
        .expect("dcmcjpls (apt package dcmtk)");
    assert!(st.success(), "dcmcjpls failed");

    let node = Node::start(t.path(), &NodeConfig { plugins: vec![default_plugin()], ..NodeConfig::default() });
    // storescu proposes Legacy Converted Enhanced CT only when asked for the files' classes (-R).
    let sends: [(&str, &[&str]); 7] = [
        ("single", &[]),
        ("one", &["-R"]),
        ("two", &["-R"]),
        ("jpegls", &["-R", "-xt"]),
        ("bad-geometry", &["-R"]),
        ("bad-group", &["-R"]),
        ("bad-count", &["-R"]),
    ];
    for (name, opts) in sends {
        let dir = if name == "single" { ph.dicom_dir.clone() } else { mf.join(name) };
        let out = node.storescu(opts, &[dir]);
        assert!(out.status.success(), "{name}: storescu: {}", String::from_utf8_lossy(&out.stderr));
    }

    let (grid, _) = pavseg::volume::assemble_headers(&files_in(&ph.dicom_dir), &Default::default()).unwrap();
    let labels = |job: &Path| {
        let read = pavseg::seg::read_segmentation(&job.join("seg.dcm"), &grid).expect("read the SEG");
        read.to_label_values(&pavseg::seg::SegConfig::default()).expect("segments map to labels")
    };
    let (area, single) = node.wait_job(&ph.series_instance_uid, WAIT).expect("single-frame job");
    assert_eq!(area, "done", "single-frame: {:?}", std::fs::read_to_string(single.join("reason.txt")));
    let reference = labels(&single);
    assert!(reference.iter().any(|&v| v == 1) && reference.iter().any(|&v| v == 2), "empty single-frame segmentation");

    for (name, uid) in [("one", series("one")), ("two", series("two")), ("jpegls", series("enhanced"))] {
        let (area, job) = node.wait_job(&uid, WAIT).unwrap_or_else(|| panic!("{name}: no job; log:\n{}", node.log_text()));
        assert_eq!(area, "done", "{name}: {:?}", std::fs::read_to_string(job.join("reason.txt")));
        let instances = job_files(&job);
        assert_eq!(instances.len(), if name == "two" { 2 } else { 1 }, "{name}: instances {instances:?}");
        assert_volume_matches(&job, &phantom);
        let got = labels(&job);
        let differ = got.iter().zip(reference.iter()).filter(|(a, b)| a != b).count();
        assert_eq!(differ, 0, "{name}: {differ} voxels differ from the single-frame label map");
        let seg = job.join("seg.dcm");
        let errors = dciodvfy_errors(&seg);
        assert!(errors.is_empty(), "{name}: dciodvfy errors:\n{}", errors.join("\n"));
        let single_seg = single.join("seg.dcm");
        let mut args: Vec<&std::ffi::OsStr> =
            vec!["check".as_ref(), seg.as_os_str(), single_seg.as_os_str(), ph.dicom_dir.as_os_str()];
        args.extend(instances.iter().map(|p| p.as_os_str()));
        let report = python(&args);
        println!("{name}: {}", report.trim());
        assert!(report.contains("PASS"), "{name}: {report}");
    }

    let malformed = [
        ("bad-geometry", vec!["ImageOrientationPatient", "frame 3"]),
        ("bad-group", vec!["PlanePositionSequence", "frame 7"]),
        ("bad-count", vec!["PerFrameFunctionalGroupsSequence has 63 items, NumberOfFrames is 64"]),
    ];
    for (name, expect) in malformed {
        let (area, job) = node.wait_job(&series(name), WAIT).unwrap_or_else(|| panic!("{name}: no job"));
        assert_eq!(area, "rejected", "{name} was not rejected");
        let reason = std::fs::read_to_string(job.join("reason.txt")).unwrap();
        for e in expect {
            assert!(reason.contains(e), "{name}: reason {reason:?} lacks {e:?}");
        }
        assert!(!job_files(&job).is_empty(), "{name}: the instance must be kept");
    }
    assert!(node.echo("ECHOSCU"), "node stopped serving");
}

#[test]
fn a_multi_frame_object_decodes_exactly_in_every_compressed_transfer_syntax() {
    // dcmtk and GDCM compress the Legacy Converted Enhanced CT; a node without plugins
    // assembles each and must give the phantom's voxels.
    let t = TempDir::new("multiframe-ts");
    let (phantom, ph) = make_phantom(&t.path().join("ph"), PhantomParams { slices: 24, ..small_phantom(82) });
    let mf = t.path().join("mf");
    python(&["make".as_ref(), ph.dicom_dir.as_os_str(), mf.as_os_str()]);
    let node = Node::start(t.path(), &NodeConfig::default());
    for (name, tool, propose) in LOSSLESS_COMPRESSORS {
        let dir = t.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        // A new series and instance each time.
        let (series, sop) = (pavseg::uid::generate("2.25"), pavseg::uid::generate("2.25"));
        let renamed = dir.join("renamed.dcm");
        let mut obj = dicom_object::open_file(mf.join("one/mf.dcm")).unwrap();
        obj.put(DataElement::new(tags::SERIES_INSTANCE_UID, VR::UI, PrimitiveValue::from(series.as_str())));
        obj.put(DataElement::new(tags::SOP_INSTANCE_UID, VR::UI, PrimitiveValue::from(sop.as_str())));
        obj.meta_mut().media_storage_sop_instance_uid = sop.clone();
        obj.meta_mut().update_information_group_length();
        obj.write_to_file(&renamed).unwrap();
        let packed = dir.join("mf.dcm");
        let st = Command::new(tool[0])
            .args(&tool[1..])
            .arg(&renamed)
            .arg(&packed)
            .status()
            .unwrap_or_else(|e| panic!("{} (apt packages dcmtk, libgdcm-tools): {e}", tool[0]));
        assert!(st.success(), "{name}: {} failed", tool[0]);
        std::fs::remove_file(&renamed).unwrap();
        let out = node.storescu(&["-R", propose], &[packed.clone()]);
        assert!(out.status.success(), "{name}: storescu: {}", String::from_utf8_lossy(&out.stderr));
        let (area, job) = node.wait_job(&series, WAIT).unwrap_or_else(|| panic!("{name}: no job"));
        assert_eq!(area, "done", "{name}: {:?}", std::fs::read_to_string(job.join("reason.txt")));
        let stored = dicom_object::OpenFileOptions::new().read_until(tags::PIXEL_DATA).open_file(&job_files(&job)[0]).unwrap();
        let ts = stored.meta().transfer_syntax().trim_end_matches('\0').to_string();
        assert_ne!(ts, uids::EXPLICIT_VR_LITTLE_ENDIAN, "{name}: stored uncompressed");
        assert_volume_matches(&job, &phantom);
    }
}
