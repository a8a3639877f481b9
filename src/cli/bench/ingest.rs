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
    /// Series sent at once, one association each: copies of the series with their own
    /// Study, Series and SOP Instance UIDs.
    #[arg(long, default_value_t = 1)]
    pub associations: usize,
    /// Then run the whole pipeline with this plugin on the same series at once (a `pavseg
    /// serve` process; SEGs back to a storescp): time to the last SEG and the node's peak RSS.
    #[arg(long)]
    pub pipeline: Option<PathBuf>,
    /// `pipeline.workers` of that node.
    #[arg(long, default_value_t = 2)]
    pub workers: usize,
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
    let all = bench::ingest::copies(&series, &a.work.join("ingest-series"), a.associations)?;
    let o = bench::ingest::Options {
        reference: a.reference,
        series: all.clone(),
        work: a.work.join("ingest"),
        rounds: a.rounds,
    };
    let r = bench::ingest::run(&o)?;
    let median = |v: &[f64]| bench::median(v.to_vec());
    println!(
        "ingest benchmark: {} x {} ({} files, {:.1} MB), dcmtk storescu, one association per series, all at once, {} rounds",
        all.len(),
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
    if let Some(plugin) = a.pipeline {
        let p = bench::ingest_pipeline::run(&all, &plugin, &a.work, a.workers)?;
        println!(
            "RESULT pipeline series={} ingest_seconds={:.1} seconds_to_last_seg={:.1} peak_rss_mib={:.0} workers={}",
            p.series, p.ingest_seconds, p.seconds, p.peak_rss_mib, p.workers
        );
    }
    Ok(())
}
