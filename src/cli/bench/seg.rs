//! `pavseg bench seg` and its worker `pavseg bench seg-write`.

use super::default_reference_dir;
use crate::bench;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct SegArgs {
    /// Folder of the reference scripts (seg_highdicom.py, seg_dcmqi.sh).
    #[arg(long, default_value_os_t = default_reference_dir())]
    pub reference: PathBuf,
    /// Scratch folder (default: a new folder under the system temp dir, removed afterwards).
    #[arg(long)]
    pub work: Option<PathBuf>,
    #[command(flatten)]
    pub ct: super::CtSize,
    /// Runs per tool (the median is reported).
    #[arg(long, default_value_t = 3)]
    pub repeat: usize,
    #[arg(long)]
    pub keep_empty_frames: bool,
}

#[derive(Debug, clap::Args)]
pub struct SegWriteArgs {
    #[arg(long)]
    pub dicom: PathBuf,
    #[arg(long)]
    pub labels: PathBuf,
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long)]
    pub keep_empty_frames: bool,
}

pub fn seg_write(a: SegWriteArgs) -> anyhow::Result<()> {
    let w = bench::seg::write_once(&a.dicom, &a.labels, &a.out, a.keep_empty_frames)?;
    println!(
        "RESULT pavseg build+write={:.4} s build={:.4} s write={:.4} s read={:.3} s frames={} bytes={} work_kb={}",
        w.build_seconds + w.write_seconds,
        w.build_seconds,
        w.write_seconds,
        w.read_seconds,
        w.frames,
        w.bytes,
        w.work_kb.map(|k| k.to_string()).unwrap_or_else(|| "unknown".into())
    );
    Ok(())
}

pub fn seg(a: SegArgs) -> anyhow::Result<()> {
    anyhow::ensure!(a.ct.slices >= 2 && a.ct.rows >= 16 && a.ct.cols >= 16, "at least 2 slices of 16 x 16 pixels");
    let (work, temporary) = match a.work {
        Some(w) => (w, false),
        None => (std::env::temp_dir().join(format!("pavseg-bench-seg-{}", std::process::id())), true),
    };
    let params = bench::seg::SegBenchParams {
        reference: a.reference,
        work: work.clone(),
        slices: a.ct.slices,
        rows: a.ct.rows,
        cols: a.ct.cols,
        repeat: a.repeat,
        keep_empty_frames: a.keep_empty_frames,
        exe: std::env::current_exe()?,
    };
    let result = bench::seg::run(&params);
    if temporary {
        let _ = std::fs::remove_dir_all(&work);
    }
    println!("{}", result?);
    Ok(())
}
