//! The host's side of the shared-memory arena of one local worker
//! (docs/adr/0010-shared-memory-arena.md): large arguments are copied once
//! into slots of the host's regions, large results are borrowed from the
//! worker's regions without a copy.

use bytes::Bytes;
use parking_lot::Mutex;
use snakebridge_proto::arena::{self, Allocator, Peer, Slot};
use snakebridge_proto::v1::{self as pb, value::Kind};

use crate::error::{Error, Result};

/// The arena settings of a pool (from [`BridgeConfig`](crate::BridgeConfig)).
#[derive(Clone, Copy, Debug)]
pub(crate) struct ArenaSettings {
    pub(crate) enabled: bool,
    pub(crate) threshold: usize,
    pub(crate) region_bytes: usize,
    pub(crate) max_bytes: usize,
}

impl ArenaSettings {
    /// The part of the worker's settings that turns its arena on.
    pub(crate) fn worker_settings(&self, s: &mut pb::WorkerSettings) {
        if self.enabled && cfg!(target_os = "linux") {
            s.arena_host_pid = std::process::id();
            s.arena_threshold = self.threshold.max(1) as u64;
            s.arena_region_bytes = self.region_bytes as u64;
            s.arena_max_bytes = self.max_bytes as u64;
        }
    }
}

/// Payload bytes of one message by route (for telemetry).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Traffic {
    /// Through the arena.
    pub(crate) arena: u64,
    /// At least the threshold, but inline (the arena was full).
    pub(crate) inline: u64,
}

/// The arena of one worker incarnation: dies with its `Conn`.
pub(crate) struct HostArena {
    alloc: Mutex<Allocator>,
    worker: Peer,
    threshold: usize,
}

/// Argument slots of a request: kept until its call ends (answered, failed,
/// timed out or dropped), then the slots the worker did not claim are taken
/// back. The worker claims every slot of a request before it runs it, so
/// only a request it never ran leaves any; a worker that gets such a
/// request late finds its slots gone and refuses it.
#[derive(Default)]
pub(crate) struct Exported {
    slots: Vec<Slot>,
    pub(crate) traffic: Traffic,
}

impl Drop for Exported {
    fn drop(&mut self) {
        for slot in &self.slots {
            slot.take_back();
        }
    }
}

impl HostArena {
    pub(crate) fn new(settings: &ArenaSettings, worker_pid: u32) -> HostArena {
        HostArena {
            alloc: Mutex::new(Allocator::new(settings.region_bytes, settings.max_bytes)),
            worker: Peer::new(worker_pid),
            threshold: settings.threshold.max(1),
        }
    }

    fn slot(&self, len: usize) -> Option<Slot> {
        match self.alloc.lock().alloc(len) {
            Ok(slot) => slot,
            Err(e) => {
                tracing::warn!(error = %e, "snakebridge: could not grow the shared-memory arena");
                None
            }
        }
    }

    /// Moves the payloads of at least the threshold in the request's
    /// arguments into the arena (one copy each) and lets the worker answer
    /// through its arena.
    pub(crate) fn export(&self, request: &mut pb::CallRequest) -> Exported {
        let mut out = Exported::default();
        request.arena_results = true;
        let values = request
            .args
            .iter_mut()
            .chain(request.kwargs.iter_mut().filter_map(|k| k.value.as_mut()));
        for value in values {
            arena::walk_mut(value, |kind| {
                let data = match kind {
                    Kind::Bytes(b) => b,
                    Kind::Ndarray(a) if a.shared.is_none() => &mut a.data,
                    _ => return,
                };
                if data.len() < self.threshold {
                    return;
                }
                let Some(mut slot) = self.slot(data.len()) else {
                    out.traffic.inline += data.len() as u64;
                    return;
                };
                slot.as_mut_slice().copy_from_slice(data);
                out.traffic.arena += data.len() as u64;
                let r = slot.to_ref();
                out.slots.push(slot);
                match kind {
                    Kind::Ndarray(a) => {
                        a.data = Bytes::new();
                        a.shared = Some(r);
                    }
                    _ => *kind = Kind::SharedBytes(r),
                }
            });
        }
        out
    }

    /// Replaces the arena references of a result by bytes that borrow the
    /// worker's mapping (no copy); each slot goes back to the worker when
    /// the last clone of its bytes drops. A reference that does not check
    /// out against the mapping is a [`Error::Serialization`].
    pub(crate) fn import(&self, value: &mut pb::Value) -> Result<Traffic> {
        let mut traffic = Traffic::default();
        let mut error = None;
        arena::walk_mut(value, |kind| {
            let r = match kind {
                Kind::SharedBytes(r) => *r,
                Kind::Ndarray(a) => match a.shared {
                    Some(r) => r,
                    None => {
                        if a.data.len() >= self.threshold {
                            traffic.inline += a.data.len() as u64;
                        }
                        return;
                    }
                },
                Kind::Bytes(b) => {
                    if b.len() >= self.threshold {
                        traffic.inline += b.len() as u64;
                    }
                    return;
                }
                _ => return,
            };
            match self.worker.resolve(&r) {
                Ok(held) => {
                    traffic.arena += held.len() as u64;
                    let data = Bytes::from_owner(held);
                    match kind {
                        Kind::Ndarray(a) => {
                            a.data = data;
                            a.shared = None;
                        }
                        _ => *kind = Kind::Bytes(data),
                    }
                }
                Err(e) => {
                    error.get_or_insert(e);
                }
            }
        });
        match error {
            None => Ok(traffic),
            Some(e) => Err(Error::serialization(format!(
                "the worker sent a bad shared-memory reference: {e}"
            ))),
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    fn request(len: usize) -> pb::CallRequest {
        pb::CallRequest {
            args: vec![pb::Value {
                kind: Some(Kind::Bytes(Bytes::from(vec![1u8; len]))),
            }],
            ..Default::default()
        }
    }

    fn arena() -> HostArena {
        let settings = ArenaSettings {
            enabled: true,
            threshold: 1024,
            region_bytes: 1 << 20,
            max_bytes: 1 << 20,
        };
        HostArena::new(&settings, std::process::id())
    }

    #[test]
    fn slots_of_a_call_that_ended_unclaimed_go_back() {
        let arena = arena();
        let mut req = request(100_000);
        let exported = arena.export(&mut req);
        assert_eq!(exported.traffic.arena, 100_000);
        assert_eq!(arena.alloc.lock().held_slots(), 1);
        // The call ended (or was dropped) before the worker ran it.
        drop(exported);
        assert_eq!(arena.alloc.lock().held_slots(), 0);
    }

    #[test]
    fn slots_the_worker_claimed_stay_its_until_it_lets_go() {
        let arena = arena();
        let mut req = request(100_000);
        let exported = arena.export(&mut req);
        let Some(Kind::SharedBytes(r)) = &req.args[0].kind else {
            panic!("exported")
        };
        // This process plays the worker.
        let held = Peer::new(std::process::id()).resolve(r).unwrap();
        drop(exported);
        assert_eq!(
            arena.alloc.lock().held_slots(),
            1,
            "Python may still view it"
        );
        drop(held);
        assert_eq!(arena.alloc.lock().held_slots(), 0);
    }
}
