//! The `pavseg` command line: one file per subcommand, each a thin shell over the library.

mod bench;
mod embed;
mod eval;
mod evaluate;
mod export_nnunet;
pub mod logging;
mod phantom;
mod preprocess;
mod phantom_dataset;
mod seg_from_labels;
mod segment;
mod send;
mod serve;
mod status;
mod prepare;
mod train;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(name = "pavseg", version = crate::VERSION, about = "Pulmonary artery and vein segmentation node for chest CT")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate a synthetic chest CT phantom with artery/vein ground truth.
    Phantom(phantom::Args),
    /// Preprocess a CT (series folder or NIfTI) and write the network's two input channels.
    Preprocess(preprocess::Args),
    /// Send DICOM files or folders to a peer (C-STORE SCU).
    Send(send::Args),
    /// Run the DICOM node.
    Serve(serve::Args),
    /// Show queue, jobs, failures and pending deliveries from the spool.
    Status(status::StatusArgs),
    /// Check that the running node answers C-ECHO (exit status 0), for systemd or containers.
    Health(status::HealthArgs),
    /// Segment one CT series folder offline (the node's pipeline): SEG + NIfTI + PNG.
    Segment(segment::Args),
    /// Write a DICOM-SEG (plus NIfTI and PNG preview) from a CT series and a label map on its grid.
    SegFromLabels(seg_from_labels::Args),
    /// Encode the plugin's prompts into the prompt-embeddings file (MiniLM or CLIP).
    Embed(embed::Args),
    /// Write a reproducible dataset of phantoms (fully and half-labelled) with its manifest.
    PhantomDataset(phantom_dataset::Args),
    /// Prepare a training recipe's cases into its cache, in parallel (done by `train` too).
    Prepare(prepare::Args),
    /// Train the network on fully and half-labelled CTs.
    Train(train::Args),
    /// Score a label map (NIfTI or DICOM-SEG) against a reference: DSC, Jaccard, NSD, HD95.
    Eval(eval::Args),
    /// Run a model on a dataset split and report the paper's Table IV metrics.
    Evaluate(evaluate::Args),
    /// Write a dataset in nnU-Net v2's raw layout (half-labelled cases: the other side ignored).
    ExportNnunet(export_nnunet::Args),
    /// Benchmarks against reference tools, measured in the same run.
    #[command(subcommand)]
    Bench(bench::Bench),
}

/// Parses the command line, runs the subcommand and turns its error into a message and exit
/// code 1 (2 for usage errors, from clap).
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // The node sets up logging from its settings; every other command logs text to stderr.
    if !matches!(cli.command, Command::Serve(_)) {
        logging::init_default();
    }
    let result = match cli.command {
        Command::Phantom(args) => phantom::run(args),
        Command::Preprocess(args) => preprocess::run(args),
        Command::Send(args) => send::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Status(args) => status::status(args),
        Command::Health(args) => status::health(args),
        Command::Segment(args) => segment::run(args),
        Command::SegFromLabels(args) => seg_from_labels::run(args),
        Command::Embed(args) => embed::run(args),
        Command::PhantomDataset(args) => phantom_dataset::run(args),
        Command::Prepare(args) => prepare::run(args),
        Command::Train(args) => train::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Evaluate(args) => evaluate::run(args),
        Command::ExportNnunet(args) => export_nnunet::run(args),
        Command::Bench(b) => bench::run(b),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
