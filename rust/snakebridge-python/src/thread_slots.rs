//! Per-thread slots that other threads scan.
//!
//! A call writes its state (its id, its deadline) into a slot of its own
//! thread, with atomic stores and no lock; whoever acts on calls (an
//! interrupt, the in-process deadline thread) scans the slots its owner
//! lists. The executor's run slots and the in-process backend's deadline
//! slots work this way.
//!
//! Each thread keeps its slots in one thread-local [`ThreadSlots`] list per
//! kind of slot, one entry per owner it served (more only while calls nest
//! on the thread). The list never shrinks, so a [`Held`] slot is an index
//! into it rather than a reference count (one atomic increment and one
//! decrement fewer per call); the entry of an owner that is gone is reused
//! in place, so a thread that serves owner after owner (a program that
//! starts and drops in-process bridges) does not grow its list.

use std::cell::RefCell;
use std::sync::{Arc, Weak};
use std::thread::LocalKey;

/// One thread's slots of one kind (the value of a `thread_local!`).
pub struct ThreadSlots<T: 'static> {
    entries: Vec<Entry<T>>,
}

struct Entry<T> {
    owner: u64,
    /// The owner's liveness token: gone with the owner.
    alive: Weak<()>,
    slot: Arc<T>,
}

impl<T> ThreadSlots<T> {
    /// An empty list.
    pub const fn new() -> Self {
        ThreadSlots {
            entries: Vec::new(),
        }
    }

    /// How many entries the list has.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the list has no entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl<T> Default for ThreadSlots<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// A slot of the current thread, held by one call.
pub enum Held<T: 'static> {
    /// An entry of the thread's list.
    Listed(&'static LocalKey<RefCell<ThreadSlots<T>>>, usize),
    /// A slot of the call's own, when the thread's list is gone (the
    /// thread is being torn down).
    Own(Arc<T>),
}

impl<T> Held<T> {
    /// A free slot of `owner` (one `free` accepts) in the current thread's
    /// `list`, else a new one from `make`, listed in place of an owner that
    /// is gone or appended; `start` runs on it before it is returned.
    /// `alive` is the owner's liveness token, held by the owner alone.
    ///
    /// An entry is reused only once its owner is gone, so no call of that
    /// owner may still hold it: a call must keep its owner alive.
    pub fn claim(
        list: &'static LocalKey<RefCell<ThreadSlots<T>>>,
        owner: u64,
        alive: &Arc<()>,
        free: impl Fn(&T) -> bool,
        make: impl Fn() -> Arc<T>,
        start: impl FnOnce(&T),
    ) -> Held<T> {
        let mut start = Some(start);
        let listed = list.try_with(|slots| {
            let entries = &mut slots.borrow_mut().entries;
            let index = match entries
                .iter()
                .position(|e| e.owner == owner && free(&e.slot))
            {
                Some(index) => index,
                None => {
                    let entry = Entry {
                        owner,
                        alive: Arc::downgrade(alive),
                        slot: make(),
                    };
                    match entries.iter().position(|e| e.alive.strong_count() == 0) {
                        Some(gone) => {
                            entries[gone] = entry;
                            gone
                        }
                        None => {
                            entries.push(entry);
                            entries.len() - 1
                        }
                    }
                }
            };
            if let Some(start) = start.take() {
                start(&entries[index].slot);
            }
            index
        });
        match listed {
            Ok(index) => Held::Listed(list, index),
            Err(_) => {
                let slot = make();
                if let Some(start) = start.take() {
                    start(&slot);
                }
                Held::Own(slot)
            }
        }
    }

    /// `f` of the slot (`None` only if the thread's list is gone).
    pub fn with<R>(&self, f: impl FnOnce(&T) -> R) -> Option<R> {
        match self {
            Held::Own(slot) => Some(f(slot)),
            Held::Listed(list, index) => list
                .try_with(|slots| slots.borrow().entries.get(*index).map(|e| f(&e.slot)))
                .ok()
                .flatten(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    thread_local! {
        static LIST: RefCell<ThreadSlots<AtomicU64>> = const { RefCell::new(ThreadSlots::new()) };
    }

    fn claim(owner: u64, alive: &Arc<()>, call: u64) -> Held<AtomicU64> {
        Held::claim(
            &LIST,
            owner,
            alive,
            |s| s.load(Ordering::Relaxed) == 0,
            || Arc::new(AtomicU64::new(0)),
            |s| s.store(call, Ordering::Relaxed),
        )
    }

    fn end(held: &Held<AtomicU64>) {
        held.with(|s| s.store(0, Ordering::Relaxed));
    }

    #[test]
    fn an_owner_reuses_its_free_slot_and_nested_calls_get_their_own() {
        std::thread::spawn(|| {
            let alive = Arc::new(());
            let outer = claim(1, &alive, 10);
            let inner = claim(1, &alive, 11);
            assert!(matches!(
                (&outer, &inner),
                (Held::Listed(_, 0), Held::Listed(_, 1))
            ));
            assert_eq!(inner.with(|s| s.load(Ordering::Relaxed)), Some(11));
            assert_eq!(outer.with(|s| s.load(Ordering::Relaxed)), Some(10));
            end(&inner);
            end(&outer);
            let again = claim(1, &alive, 12);
            assert!(matches!(again, Held::Listed(_, 0)));
            assert_eq!(LIST.with(|l| l.borrow().len()), 2);
        })
        .join()
        .expect("the thread");
    }

    #[test]
    fn the_entry_of_an_owner_that_is_gone_is_reused_in_place() {
        std::thread::spawn(|| {
            let kept = Arc::new(());
            end(&claim(1, &kept, 10));
            for owner in 2..6 {
                let alive = Arc::new(());
                let held = claim(owner, &alive, 20);
                assert!(matches!(held, Held::Listed(_, 1)));
                end(&held);
                drop(alive);
            }
            // The live owner's entry was never taken.
            assert!(matches!(claim(1, &kept, 30), Held::Listed(_, 0)));
            assert_eq!(LIST.with(|l| l.borrow().len()), 2);
        })
        .join()
        .expect("the thread");
    }
}
