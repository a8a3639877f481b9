//! Who gets in: bounds on connections that have not yet associated (in all and per peer
//! address) and on associations served at once.
//!
//! A connection takes no association slot until its A-ASSOCIATE exchange is done, so sockets
//! that connect and say nothing cannot shut real senders out; they only use up their own
//! address's share of the pending connections, and are dropped after the associate timeout.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tracing::warn;

/// Why a new connection was closed at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `node.max_pending_connections` connections are still negotiating.
    PendingLimit,
    /// This peer address already has `node.max_pending_per_address` of them.
    AddressLimit,
}

impl Refusal {
    /// Label of the refused-associations counter.
    pub fn label(self) -> &'static str {
        match self {
            Refusal::PendingLimit => "pending_limit",
            Refusal::AddressLimit => "address_limit",
        }
    }
}

pub struct Admission {
    pending: Arc<Semaphore>,
    per_address: Mutex<HashMap<IpAddr, usize>>,
    per_address_limit: usize,
    associations: Arc<Semaphore>,
    /// Refusals are logged at most once per `LOG_EVERY`, with the count since the last line,
    /// so that a flood of connections cannot flood the log.
    log: Mutex<(Instant, u64)>,
}

const LOG_EVERY: Duration = Duration::from_secs(10);

/// A connection that is still negotiating; dropping it frees its place.
pub struct Pending {
    _permit: OwnedSemaphorePermit,
    admission: Arc<Admission>,
    address: IpAddr,
}

impl Drop for Pending {
    fn drop(&mut self) {
        let mut m = self.admission.lock_addresses();
        if let Some(n) = m.get_mut(&self.address) {
            *n -= 1;
            if *n == 0 {
                m.remove(&self.address);
            }
        }
    }
}

impl Admission {
    pub fn new(max_pending: usize, max_pending_per_address: usize, max_associations: usize) -> Arc<Admission> {
        Arc::new(Admission {
            pending: Arc::new(Semaphore::new(max_pending)),
            per_address: Mutex::new(HashMap::new()),
            per_address_limit: max_pending_per_address,
            associations: Arc::new(Semaphore::new(max_associations)),
            log: Mutex::new((Instant::now() - LOG_EVERY, 0)),
        })
    }

    fn lock_addresses(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, usize>> {
        self.per_address.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Admits a new connection from `address` as pending, or says why not.
    pub fn admit(self: &Arc<Self>, address: IpAddr) -> Result<Pending, Refusal> {
        let mut m = self.lock_addresses();
        let n = m.get(&address).copied().unwrap_or(0);
        if n >= self.per_address_limit {
            return Err(Refusal::AddressLimit);
        }
        let permit = self.pending.clone().try_acquire_owned().map_err(|_| Refusal::PendingLimit)?;
        m.insert(address, n + 1);
        Ok(Pending { _permit: permit, admission: self.clone(), address })
    }

    /// Waits up to `limit` for a free association slot.
    pub async fn slot(&self, limit: Duration) -> Option<OwnedSemaphorePermit> {
        tokio::time::timeout(limit, self.associations.clone().acquire_owned()).await.ok()?.ok()
    }

    /// Connections still negotiating.
    pub fn pending(&self) -> usize {
        self.lock_addresses().values().sum()
    }

    /// Logs a refusal, throttled.
    pub fn log_refusal(&self, address: IpAddr, why: Refusal) {
        let mut g = self.log.lock().unwrap_or_else(|p| p.into_inner());
        g.1 += 1;
        if g.0.elapsed() >= LOG_EVERY {
            warn!(peer = %address, reason = why.label(), refused_since_last_report = g.1, pending = self.pending(), "connection closed at once: too many connections still negotiating");
            *g = (Instant::now(), 0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_address_cannot_take_every_pending_place() {
        let a = Admission::new(4, 2, 1);
        let x: IpAddr = "127.0.0.2".parse().unwrap();
        let y: IpAddr = "127.0.0.1".parse().unwrap();
        let p1 = a.admit(x).unwrap();
        let _p2 = a.admit(x).unwrap();
        assert_eq!(a.admit(x).err(), Some(Refusal::AddressLimit));
        let _p3 = a.admit(y).unwrap();
        let _p4 = a.admit(y).unwrap();
        assert_eq!(a.admit("127.0.0.3".parse().unwrap()).err(), Some(Refusal::PendingLimit));
        drop(p1);
        assert_eq!(a.pending(), 3);
        let _p5 = a.admit(x).unwrap();
    }

    #[tokio::test]
    async fn a_busy_node_gives_no_slot_within_the_limit() {
        let a = Admission::new(4, 4, 1);
        let held = a.slot(Duration::from_millis(10)).await;
        assert!(held.is_some());
        assert!(a.slot(Duration::from_millis(50)).await.is_none());
        drop(held);
        assert!(a.slot(Duration::from_millis(10)).await.is_some());
    }
}
