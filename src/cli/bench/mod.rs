//! `pavseg bench <name>`: benchmarks against the reference tools, measured in one run and
//! reported as ratios. One file per benchmark.

mod fuzz;
mod infer;
mod ingest;
mod reference_net;
mod resolution;
mod scale;
mod seg;
mod vesselness;
mod vesselness_backends;
mod train;

use std::path::PathBuf;

#[derive(Debug, clap::Subcommand)]
pub enum Bench {
    /// Seconds per window of the fusion network vs PyTorch eager (lacaf_torch.py), window count
    /// and estimated time of a whole CT; --whole runs the whole CT (on a GPU) vs MONAI.
    Infer(infer::InferArgs),
    /// C-STORE ingest into the node vs dcmtk storescp, the same storescu sending the same
    /// series (512x512x300 phantom, or --input) over loopback.
    Ingest(ingest::IngestArgs),
    /// DICOM-SEG build + write against highdicom and dcmqi (512x512x300, two segments).
    Seg(seg::SegArgs),
    /// One SEG build + write in this process (the pavseg side of `bench seg`).
    SegWrite(seg::SegWriteArgs),
    /// CPU Hessian vesselness against SimpleITK's multi-scale objectness on one volume
    /// (512x512x300 phantom, or --tubes, or --input), scales 1, 2, 3 mm.
    Vesselness(vesselness::VesselnessArgs),
    /// One timed run of the CPU vesselness filter (the pavseg side of `bench vesselness`).
    #[command(hide = true)]
    VesselnessWorker(vesselness::WorkerArgs),
    /// The libtorch vesselness on --device against the CPU filter: time and agreement
    /// (512x512x300 phantom).
    VesselnessBackends(vesselness_backends::VesselnessBackendsArgs),
    /// Seconds per training step (batch 2, 96^3, on --device) vs PyTorch eager (lacaf_torch.py train).
    Train(train::TrainArgs),
    /// Training at clinical scale: 24 phantoms of 512x512x300 at 0.7x0.7x1 mm prepared by
    /// parallel workers, then steps of the demo recipe (with and without a loader thread) and
    /// of the paper's: preparation time, cache size, steps/s, data wait, peak RSS.
    Scale(scale::ScaleArgs),
    /// Model grid spacing x network width: whole-CT CPU seconds of the node's pipeline per
    /// stage (512x512x300 phantom), FLOPs per window and an H100 estimate from them.
    Resolution(resolution::ResolutionArgs),
    /// Mutation fuzzing of every parser that sees outside bytes (DICOM files and data sets,
    /// PDUs, NIfTI, DICOM-SEG, settings and plugin TOML); nonzero exit on findings.
    Fuzz(fuzz::FuzzArgs),
    /// One fuzzing worker (started by `bench fuzz`).
    #[command(hide = true)]
    FuzzWorker(fuzz::FuzzWorkerArgs),
}

/// The repository's `bench/reference/`: the scripts that run the reference tools.
fn default_reference_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("bench/reference")
}

/// The size of a generated benchmark CT: 512 x 512 x 300, like a clinical chest CT.
#[derive(Debug, Clone, clap::Args)]
pub struct CtSize {
    #[arg(long, default_value_t = 300)]
    pub slices: usize,
    #[arg(long, default_value_t = 512)]
    pub rows: usize,
    #[arg(long, default_value_t = 512)]
    pub cols: usize,
}

pub fn run(b: Bench) -> anyhow::Result<()> {
    match b {
        Bench::Infer(a) => infer::infer(a),
        Bench::Ingest(a) => ingest::ingest(a),
        Bench::Seg(a) => seg::seg(a),
        Bench::SegWrite(a) => seg::seg_write(a),
        Bench::Vesselness(a) => vesselness::vesselness(a),
        Bench::VesselnessWorker(a) => vesselness::worker(a),
        Bench::VesselnessBackends(a) => vesselness_backends::run(a),
        Bench::Train(a) => train::train(a),
        Bench::Scale(a) => scale::run(a),
        Bench::Resolution(a) => resolution::run(a),
        Bench::Fuzz(a) => fuzz::fuzz(a),
        Bench::FuzzWorker(a) => fuzz::worker(a),
    }
}
