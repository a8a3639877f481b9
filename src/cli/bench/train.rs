//! `pavseg bench train`.

use super::reference_net::ReferenceNetArgs;
use crate::bench;
use crate::infer::DeviceChoice;

#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    #[command(flatten)]
    pub net: ReferenceNetArgs,
    /// Patch side in voxels.
    #[arg(long, default_value_t = 96)]
    pub size: usize,
    #[arg(long, default_value_t = 2)]
    pub batch: usize,
    /// Timed steps per round after one warm-up (median reported); a step of the paper's network
    /// takes minutes on 2 CPU cores.
    #[arg(long, default_value_t = 1)]
    pub reps: usize,
    /// Alternate pavseg and the reference this many times.
    #[arg(long, default_value_t = 2)]
    pub rounds: usize,
    #[arg(long)]
    pub no_reference: bool,
    /// auto | cpu | cuda | cuda:N (the PyTorch reference runs on the same kind of device).
    #[arg(long, default_value = "cpu")]
    pub device: DeviceChoice,
}

pub fn train(a: TrainArgs) -> anyhow::Result<()> {
    let python = a.net.python();
    let net = a.net.net(4);
    let o = bench::train::Options { reference: a.net.reference.clone(), python, net, size: a.size, batch: a.batch, threads: a.net.threads, reps: a.reps, rounds: a.rounds, no_reference: a.no_reference, device: a.device };
    let r = bench::train::run(&o)?;
    println!("parameters {}  batch {}  patch {}^3  threads {}  device {}", r.params, o.batch, o.size, o.threads, r.device);
    println!("pavseg  {:.3} s per training step (median over {} rounds)", r.ours_step_s, o.rounds);
    if let Some(t) = r.reference_step_s {
        println!("PyTorch eager {:.3} s per step  ratio pavseg/PyTorch {:.3}", t, r.ours_step_s / t);
    }
    Ok(())
}
