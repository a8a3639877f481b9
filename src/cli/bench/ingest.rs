//! `pavseg bench ingest`.

use super::default_reference_dir;
use crate::bench;
use crate::phantom::PhantomParams;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct IngestArgs {
    /// Folder of the reference scripts (ingest_dcmtk.sh).
    #[arg(long, default_value_os_t = default_reference_dir())]
    pub reference: PathBuf,
    /// Send this series folder instead of a generated phantom.
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// Where the generated phantom (reused by later runs) and the node's spools go.
    #[arg(long, default_value_os_t = std::env::temp_dir().join("pavseg-bench"))]
    pub work: PathBuf,
    #[command(flatten)]
    pub ct: super::CtSize,
    /// Alternations of the node and storescp; medians are compared.
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
}

pub fn ingest(a: IngestArgs) -> anyhow::Result<()> {
    let series = match a.input {
        Some(p) => p,
        None => {
            let params = PhantomParams {
                slices: a.ct.slices,
                rows: a.ct.rows,
                cols: a.ct.cols,
                pixel_spacing: 0.7,
                slice_spacing: 1.0,
                ..Default::default()
            };
            bench::phantom_under(&a.work, &params)?.join("dicom")
        }
    };
    let o = bench::ingest::Options {
        reference: a.reference,
        series: series.clone(),
        work: a.work.join("ingest"),
        rounds: a.rounds,
    };
    let r = bench::ingest::run(&o)?;
    let median = |v: &[f64]| bench::median(v.to_vec());
    println!(
        "ingest benchmark: {} ({} files, {:.1} MB), dcmtk storescu over one association, {} rounds",
        series.display(),
        r.files,
        r.bytes as f64 / 1e6,
        o.rounds.max(1)
    );
    println!("{:<36} {:>10} {:>10}", "receiver", "median s", "MB/s");
    println!(
        "{:<36} {:>10.3} {:>10.1}",
        "pavseg node (fsync before ack)",
        median(&r.node_s),
        r.mb_per_s(&r.node_s)
    );
    println!(
        "{:<36} {:>10.3} {:>10.1}",
        "dcmtk storescp (TCP_NODELAY, no fsync)",
        median(&r.dcmtk_s),
        r.mb_per_s(&r.dcmtk_s)
    );
    println!(
        "throughput ratio pavseg/storescp {:.2}",
        r.mb_per_s(&r.node_s) / r.mb_per_s(&r.dcmtk_s)
    );
    Ok(())
}
