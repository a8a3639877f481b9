//! Readiness: the node takes work only when its plugins are loaded on their device, start-up
//! recovery is over, it is not shutting down, and the spool is writable with free space above
//! the reserve. Each check says why when it fails.

use crate::spool::Spool;
use serde::Serialize;
use std::sync::atomic::{AtomicBool, Ordering};

pub struct Readiness {
    /// `name (device)` of each loaded plugin.
    pub plugins: Vec<String>,
    started: AtomicBool,
    stopping: AtomicBool,
}

#[derive(Debug, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
    pub detail: String,
}

#[derive(Debug, Serialize)]
pub struct ReadyReport {
    pub ready: bool,
    pub checks: Vec<Check>,
}

impl Readiness {
    pub fn new(plugins: Vec<String>) -> Readiness {
        Readiness {
            plugins,
            started: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
        }
    }

    /// Recovery is done and the listeners accept associations.
    pub fn set_started(&self) {
        self.started.store(true, Ordering::SeqCst);
    }

    pub fn set_stopping(&self) {
        self.stopping.store(true, Ordering::SeqCst);
    }

    pub fn check(&self, spool: &Spool) -> ReadyReport {
        let mut checks = Vec::new();
        let started = self.started.load(Ordering::SeqCst);
        let stopping = self.stopping.load(Ordering::SeqCst);
        checks.push(Check {
            name: "node",
            ok: started && !stopping,
            detail: if stopping {
                "shutting down".into()
            } else if started {
                "accepting associations".into()
            } else {
                "starting (recovering the spool)".into()
            },
        });
        checks.push(Check {
            name: "plugins",
            ok: true,
            detail: if self.plugins.is_empty() {
                "none configured (series are only assembled)".into()
            } else {
                self.plugins.join(", ")
            },
        });
        checks.push(match spool.check_writable() {
            Ok(()) => Check {
                name: "spool_writable",
                ok: true,
                detail: spool.root().display().to_string(),
            },
            Err(e) => Check {
                name: "spool_writable",
                ok: false,
                detail: e.to_string(),
            },
        });
        let reserve = spool.min_free_bytes();
        checks.push(match crate::spool::free_bytes(spool.root()) {
            Some(free) if free > reserve => Check {
                name: "disk_space",
                ok: true,
                detail: format!("{free} bytes free, reserve {reserve}"),
            },
            Some(free) => Check {
                name: "disk_space",
                ok: false,
                detail: format!(
                    "{free} bytes free on the spool's disk, below the reserve of {reserve} (spool.min_free_bytes)"
                ),
            },
            None => Check {
                name: "disk_space",
                ok: false,
                detail: format!("cannot read the free space of {}", spool.root().display()),
            },
        });
        ReadyReport {
            ready: checks.iter().all(|c| c.ok),
            checks,
        }
    }
}
