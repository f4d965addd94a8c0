//! Shared-memory arena regions, shared by host and worker
//! (docs/adr/0010-shared-memory-arena.md).
//!
//! A [`Region`] is a memfd mapped by its creator and, on first use, by its
//! peer. The creator allocates slots in its regions with an [`Allocator`];
//! each slot is preceded by a 64-byte header whose first word is the slot's
//! state and allocation tag: [`Slot`]s are created *held* (sent, unclaimed);
//! the reader *claims* a slot when it resolves its [`ArenaRef`] with a
//! [`Peer`] (which validates it against the mapping before any byte is read)
//! and releases it when its [`Held`] drops. The writer may *take back* a
//! slot nobody claimed ([`Slot::take_back`]: its message was abandoned); a
//! compare-and-swap on the tagged word decides the race, so a late reader is
//! refused instead of reading reused memory. The allocator reclaims released
//! slots lazily.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::v1::value::Kind;
use crate::v1::{ArenaRef, Value};

/// Alignment of every slot's payload (and of its header), in bytes.
pub const ALIGN: u64 = 64;
/// Size of the header before each payload; its first `u32` is the state.
pub const HEADER: u64 = 64;
/// The memfd name of every region; a peer maps only memfds of this name.
pub const MEMFD_NAME: &str = "snakebridge-arena";
/// Default payload size from which bytes travel through the arena.
pub const DEFAULT_THRESHOLD: usize = 64 << 10;
/// Default size of a new region.
pub const DEFAULT_REGION_BYTES: usize = 64 << 20;
/// How long a worker's result slot may stay unclaimed before the worker
/// takes it back: the host claims a result's slots as soon as the answer
/// arrives, so only an answer nobody waited for any more (a call whose
/// caller went away) stays unclaimed. A host that claims later is refused.
pub const UNCLAIMED_RESULT_TTL: std::time::Duration = std::time::Duration::from_secs(30);

/// Default bound of the regions one side creates for one peer.
pub const DEFAULT_MAX_BYTES: usize = 4 << 30;

/// The state word of a slot: `tag << 2 | state`. Released is 0 whatever
/// the tag.
const RELEASED: u32 = 0;
const HELD: u32 = 1;
const CLAIMED: u32 = 2;
const STATE_BITS: u32 = 2;
/// Tags are 30 bits, never 0.
const TAG_MASK: u32 = u32::MAX >> STATE_BITS;

const fn word(tag: u32, state: u32) -> u32 {
    (tag << STATE_BITS) | state
}

/// Large regions are rounded up to this (huge-page friendly) size.
const REGION_ROUND: u64 = 2 << 20;

/// One mapped memfd region.
pub struct Region {
    id: u32,
    /// Kept open by the creator: the peer opens it through `/proc`.
    _fd: Option<OwnedFd>,
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is plain shared memory owned by this value until it
// drops; it is accessed only through raw pointers (headers through atomics,
// payloads while the protocol gives the accessing side the slot).
unsafe impl Send for Region {}
// SAFETY: as above; no interior state besides the mapped memory.
unsafe impl Sync for Region {}

impl std::fmt::Debug for Region {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Region")
            .field("id", &self.id)
            .field("len", &self.len)
            .finish()
    }
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

impl Region {
    /// Creates a region of `len` bytes (a memfd), allocated and pre-faulted.
    pub fn create(len: usize) -> io::Result<Region> {
        let fd = memfd()?;
        rustix::fs::ftruncate(&fd, len as u64)?;
        if len > 0 {
            // Allocates the pages now (the mapping below then maps them).
            rustix::fs::fallocate(&fd, rustix::fs::FallocateFlags::empty(), 0, len as u64)?;
        }
        // Sealed at its size: nobody (the peer, Python code in a worker
        // reaching /proc) can shrink the file under a mapping, which would
        // make every access past the new end a SIGBUS.
        seal(&fd)?;
        let id = u32::try_from(std::os::fd::AsRawFd::as_raw_fd(&fd))
            .map_err(|_| invalid("negative descriptor".into()))?;
        let ptr = map(&fd, len)?;
        Ok(Region {
            id,
            _fd: Some(fd),
            ptr,
            len,
        })
    }

    /// Maps region `id` of process `pid` (its descriptor `id`), after
    /// checking that it is a snakebridge arena memfd.
    pub fn open_peer(pid: u32, id: u32) -> io::Result<Region> {
        let path = format!("/proc/{pid}/fd/{id}");
        let target = std::fs::read_link(&path)?;
        let expected = format!("/memfd:{MEMFD_NAME}");
        if !target.to_string_lossy().starts_with(&expected) {
            return Err(invalid(format!(
                "region {id} of process {pid} is not a snakebridge arena ({})",
                target.display()
            )));
        }
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)?;
        // Only a region sealed at its size is mapped (see `create`).
        if !sealed(&file)? {
            return Err(invalid(format!(
                "region {id} of process {pid} is not sealed against resizing"
            )));
        }
        let len = usize::try_from(file.metadata()?.len())
            .map_err(|_| invalid("region too large".into()))?;
        let fd = OwnedFd::from(file);
        let ptr = map(&fd, len)?;
        // The mapping keeps the memory; the descriptor is not needed.
        drop(fd);
        Ok(Region {
            id,
            _fd: None,
            ptr,
            len,
        })
    }

    /// The region's id: the creator's descriptor number.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The size of the mapping in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True for an empty region.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Checks that a payload of `len` bytes at `offset` (and its header) lies
    /// in this region and is aligned.
    pub fn check(&self, offset: u64, len: u64) -> io::Result<()> {
        let end = offset.checked_add(len);
        if offset < HEADER
            || !offset.is_multiple_of(ALIGN)
            || end.is_none_or(|end| end > self.len as u64)
        {
            return Err(invalid(format!(
                "arena reference out of bounds: {len} bytes at offset {offset} of region {} \
                 ({} bytes)",
                self.id, self.len
            )));
        }
        Ok(())
    }

    /// The state word of the slot whose payload starts at `offset`
    /// (checked by [`Region::check`]).
    fn state(&self, offset: u64) -> &AtomicU32 {
        debug_assert!(offset >= HEADER && offset <= self.len as u64);
        // SAFETY: `offset - HEADER` is within the mapping and 64-aligned
        // (checked), so the pointer is valid and aligned for a u32, and the
        // mapping lives as long as `self`. Both processes access this word
        // only atomically.
        unsafe { AtomicU32::from_ptr(self.ptr.as_ptr().add((offset - HEADER) as usize).cast()) }
    }

    /// A pointer to byte `offset` of the mapping (checked by the caller).
    fn at(&self, offset: u64) -> *mut u8 {
        // SAFETY: callers pass offsets checked against `len`.
        unsafe { self.ptr.as_ptr().add(offset as usize) }
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        if self.len > 0 {
            // SAFETY: `ptr`/`len` are exactly the mapping made in `map`, and
            // nothing borrows it any more (borrowers hold an `Arc<Region>`).
            unsafe {
                let _ = rustix::mm::munmap(self.ptr.as_ptr().cast(), self.len);
            }
        }
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn memfd() -> io::Result<OwnedFd> {
    Ok(rustix::fs::memfd_create(
        MEMFD_NAME,
        rustix::fs::MemfdFlags::CLOEXEC | rustix::fs::MemfdFlags::ALLOW_SEALING,
    )?)
}

/// Fixes a memfd's size for good (no shrinking, no growing, no unsealing).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn seal(fd: &impl AsFd) -> io::Result<()> {
    use rustix::fs::SealFlags;
    Ok(rustix::fs::fcntl_add_seals(
        fd,
        SealFlags::SHRINK | SealFlags::GROW | SealFlags::SEAL,
    )?)
}

/// Whether a memfd is sealed against shrinking.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn sealed(fd: &impl AsFd) -> io::Result<bool> {
    Ok(rustix::fs::fcntl_get_seals(fd)?.contains(rustix::fs::SealFlags::SHRINK))
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn seal(_fd: &impl AsFd) -> io::Result<()> {
    Ok(())
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn sealed(_fd: &impl AsFd) -> io::Result<bool> {
    Ok(false)
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn memfd() -> io::Result<OwnedFd> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "shared-memory arenas need memfd_create (Linux)",
    ))
}

fn map(fd: &impl AsFd, len: usize) -> io::Result<NonNull<u8>> {
    if len == 0 {
        return Ok(NonNull::dangling());
    }
    use rustix::mm::{MapFlags, ProtFlags};
    // SAFETY: a fresh shared mapping of a whole file at an address the
    // kernel chooses; it aliases no Rust object.
    let ptr = unsafe {
        rustix::mm::mmap(
            std::ptr::null_mut(),
            len,
            ProtFlags::READ | ProtFlags::WRITE,
            MapFlags::SHARED | MapFlags::POPULATE,
            fd,
            0,
        )?
    };
    NonNull::new(ptr.cast()).ok_or_else(|| invalid("mmap returned null".into()))
}

/// A slot just allocated by its writer: fill it with [`Slot::as_mut_slice`],
/// then send [`Slot::to_ref`]; the reader ends the hold.
pub struct Slot {
    region: Arc<Region>,
    offset: u64,
    len: usize,
    tag: u32,
}

impl Slot {
    /// The payload, to be written before the reference is sent.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        if self.len == 0 {
            return &mut [];
        }
        // SAFETY: the allocator gave this slot to the writer alone (held, not
        // yet sent), and it lies within the mapping.
        unsafe { std::slice::from_raw_parts_mut(self.region.at(self.offset), self.len) }
    }

    /// A raw pointer to the payload (for writers that copy with numpy).
    pub fn as_mut_ptr(&mut self) -> *mut u8 {
        self.region.at(self.offset)
    }

    /// The payload size in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True for an empty payload.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The wire reference to this slot.
    pub fn to_ref(&self) -> ArenaRef {
        ArenaRef {
            region: self.region.id(),
            offset: self.offset,
            len: self.len as u64,
            tag: self.tag,
        }
    }

    /// Gives the slot back without sending it.
    pub fn abandon(self) {
        self.take_back();
    }

    /// Takes the slot back if its reader has not claimed it (the message
    /// that named it was abandoned): true when it did. A reader that
    /// resolves the reference later is refused.
    pub fn take_back(&self) -> bool {
        self.region
            .state(self.offset)
            .compare_exchange(
                word(self.tag, HELD),
                RELEASED,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_ok()
    }

    /// Whether the slot is still sent and unclaimed.
    pub fn is_unclaimed(&self) -> bool {
        self.region.state(self.offset).load(Ordering::Acquire) == word(self.tag, HELD)
    }
}

/// One region's bookkeeping: free and used extents (header included), by
/// start offset. Local to the writer: the peer never sees it.
struct RegionAlloc {
    region: Arc<Region>,
    free: BTreeMap<u64, u64>,
    used: BTreeMap<u64, u64>,
}

impl RegionAlloc {
    fn new(region: Arc<Region>) -> Self {
        let mut free = BTreeMap::new();
        free.insert(0, region.len() as u64);
        Self {
            region,
            free,
            used: BTreeMap::new(),
        }
    }

    fn take(&mut self, size: u64) -> Option<u64> {
        let (&start, &extent) = self.free.iter().find(|&(_, &extent)| extent >= size)?;
        self.free.remove(&start);
        if extent > size {
            self.free.insert(start + size, extent - size);
        }
        self.used.insert(start, size);
        Some(start)
    }

    fn put(&mut self, start: u64, size: u64) {
        let (mut start, mut size) = (start, size);
        if let Some((&prev, &prev_size)) = self.free.range(..start).next_back()
            && prev + prev_size == start
        {
            self.free.remove(&prev);
            start = prev;
            size += prev_size;
        }
        if let Some(&next_size) = self.free.get(&(start + size)) {
            self.free.remove(&(start + size));
            size += next_size;
        }
        self.free.insert(start, size);
    }

    /// Frees the used slots whose reader has released them.
    fn reclaim(&mut self) {
        let released: Vec<(u64, u64)> = self
            .used
            .iter()
            .filter(|&(&start, _)| {
                self.region.state(start + HEADER).load(Ordering::Acquire) == RELEASED
            })
            .map(|(&s, &z)| (s, z))
            .collect();
        for (start, size) in released {
            self.used.remove(&start);
            self.put(start, size);
        }
    }
}

/// The writer's allocator over the regions it created for one peer.
pub struct Allocator {
    regions: Vec<RegionAlloc>,
    region_bytes: usize,
    max_bytes: usize,
    mapped: usize,
    /// The tag of the last slot allocated.
    tag: u32,
}

impl Allocator {
    /// An allocator that creates regions of `region_bytes` (or of a larger
    /// payload's size) as needed, up to `max_bytes` in all.
    pub fn new(region_bytes: usize, max_bytes: usize) -> Allocator {
        Allocator {
            regions: Vec::new(),
            // At least 1 MiB, at most the bound (which may then be reached
            // by one region).
            region_bytes: region_bytes.clamp(1 << 20, max_bytes.max(1 << 20)),
            max_bytes,
            mapped: 0,
            tag: 0,
        }
    }

    /// Bytes of regions created so far.
    pub fn mapped_bytes(&self) -> usize {
        self.mapped
    }

    /// A held slot of `len` bytes; `Ok(None)` when the arena is full (after
    /// reclaiming released slots and growing up to the bound).
    pub fn alloc(&mut self, len: usize) -> io::Result<Option<Slot>> {
        let size = HEADER + (len as u64).max(1).next_multiple_of(ALIGN);
        // Released slots are reclaimed first, so that first-fit reuses the
        // lowest (most recently used, cache-warm) memory. The scan is over
        // the slots still held, which are few.
        for r in &mut self.regions {
            r.reclaim();
        }
        let found = self.find(size);
        let (index, start) = match found {
            Some(found) => found,
            None => {
                let want = if size <= self.region_bytes as u64 {
                    self.region_bytes as u64
                } else {
                    size.next_multiple_of(REGION_ROUND)
                };
                let Ok(want) = usize::try_from(want) else {
                    return Ok(None);
                };
                if self.mapped.saturating_add(want) > self.max_bytes {
                    return Ok(None);
                }
                let region = Arc::new(Region::create(want)?);
                self.mapped += want;
                self.regions.push(RegionAlloc::new(region));
                let index = self.regions.len() - 1;
                match self.regions[index].take(size) {
                    Some(start) => (index, start),
                    None => return Ok(None),
                }
            }
        };
        let region = self.regions[index].region.clone();
        let offset = start + HEADER;
        self.tag = (self.tag.wrapping_add(1) & TAG_MASK).max(1);
        region
            .state(offset)
            .store(word(self.tag, HELD), Ordering::Release);
        Ok(Some(Slot {
            region,
            offset,
            len,
            tag: self.tag,
        }))
    }

    fn find(&mut self, size: u64) -> Option<(usize, u64)> {
        self.regions
            .iter_mut()
            .enumerate()
            .find_map(|(i, r)| r.take(size).map(|s| (i, s)))
    }

    /// Slots still held by the reader (for tests and diagnostics), after
    /// reclaiming released ones.
    pub fn held_slots(&mut self) -> usize {
        self.regions
            .iter_mut()
            .map(|r| {
                r.reclaim();
                r.used.len()
            })
            .sum()
    }
}

/// Whether this process may open process `pid`'s descriptors through
/// `/proc` (where it cannot, the arena stays off and payloads go inline).
pub fn can_open_peer(pid: u32) -> bool {
    std::fs::read_dir(format!("/proc/{pid}/fd")).is_ok()
}

/// The reader's view of a peer's regions: maps each once, on first use.
pub struct Peer {
    pid: u32,
    regions: std::sync::Mutex<HashMap<u32, Arc<Region>>>,
}

impl Peer {
    /// The regions of process `pid`.
    pub fn new(pid: u32) -> Peer {
        Peer {
            pid,
            regions: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// The peer's pid.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Validates `r` and takes over the slot's hold: the payload stays
    /// valid, and the writer does not reuse it, until the [`Held`] drops.
    pub fn resolve(&self, r: &ArenaRef) -> io::Result<Held> {
        let region = {
            // The map is consistent at every step: a poisoned lock is still usable.
            let mut regions = self
                .regions
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            match regions.get(&r.region) {
                Some(region) => region.clone(),
                None => {
                    let region = Arc::new(Region::open_peer(self.pid, r.region)?);
                    regions.insert(r.region, region.clone());
                    region
                }
            }
        };
        region.check(r.offset, r.len)?;
        let len = usize::try_from(r.len).map_err(|_| invalid("payload too large".into()))?;
        // Claimed only while the writer still holds it for this reader.
        if region
            .state(r.offset)
            .compare_exchange(
                word(r.tag, HELD),
                word(r.tag, CLAIMED),
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_err()
        {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "arena slot at offset {} of region {} is not held for this reader (its \
                     message was abandoned and the writer took it back, or it was claimed \
                     already)",
                    r.offset, r.region
                ),
            ));
        }
        Ok(Held {
            region,
            offset: r.offset,
            len,
        })
    }

    /// Ends the hold of a reference without reading it (a value that could
    /// not be decoded); invalid references are ignored.
    pub fn release(&self, r: &ArenaRef) {
        drop(self.resolve(r));
    }
}

/// A payload the reader holds: its bytes stay put until this drops, which
/// releases the slot to its writer.
pub struct Held {
    region: Arc<Region>,
    offset: u64,
    len: usize,
}

impl Held {
    /// A pointer to the payload (valid while `self` lives).
    pub fn as_ptr(&self) -> *mut u8 {
        self.region.at(self.offset)
    }

    /// The payload size in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True for an empty payload.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl AsRef<[u8]> for Held {
    fn as_ref(&self) -> &[u8] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: checked against the mapping in `Peer::resolve`; the writer
        // does not touch a held slot, and the region stays mapped while
        // `self` holds its `Arc`.
        unsafe { std::slice::from_raw_parts(self.as_ptr(), self.len) }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.region
            .state(self.offset)
            .store(RELEASED, Ordering::Release);
    }
}

/// Calls `f` on every leaf (non-container) kind of `value`, at every depth,
/// without recursion.
pub fn walk<'a>(value: &'a Value, mut f: impl FnMut(&'a Kind)) {
    // A leaf (most values): no stack.
    match &value.kind {
        Some(
            Kind::List(_) | Kind::Tuple(_) | Kind::Set(_) | Kind::Frozenset(_) | Kind::Dict(_),
        ) => {}
        Some(kind) => return f(kind),
        None => return,
    }
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        match &v.kind {
            Some(Kind::List(s) | Kind::Tuple(s) | Kind::Set(s) | Kind::Frozenset(s)) => {
                stack.extend(s.items.iter());
            }
            Some(Kind::Dict(d)) => {
                for e in &d.entries {
                    stack.extend(e.key.as_ref());
                    stack.extend(e.value.as_ref());
                }
            }
            Some(kind) => f(kind),
            None => {}
        }
    }
}

/// Calls `f` on every leaf (non-container) kind of `value`, mutably, at
/// every depth, without recursion.
pub fn walk_mut(value: &mut Value, mut f: impl FnMut(&mut Kind)) {
    // A leaf (most values): no stack.
    match &mut value.kind {
        Some(
            Kind::List(_) | Kind::Tuple(_) | Kind::Set(_) | Kind::Frozenset(_) | Kind::Dict(_),
        ) => {}
        Some(kind) => return f(kind),
        None => return,
    }
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        match &mut v.kind {
            Some(Kind::List(s) | Kind::Tuple(s) | Kind::Set(s) | Kind::Frozenset(s)) => {
                stack.extend(s.items.iter_mut());
            }
            Some(Kind::Dict(d)) => {
                for e in &mut d.entries {
                    stack.extend(e.key.as_mut());
                    stack.extend(e.value.as_mut());
                }
            }
            Some(kind) => f(kind),
            None => {}
        }
    }
}

/// The arena reference of a leaf, if it has one.
pub fn arena_ref(kind: &Kind) -> Option<&ArenaRef> {
    match kind {
        Kind::SharedBytes(r) => Some(r),
        Kind::Ndarray(a) => a.shared.as_ref(),
        _ => None,
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn a_slot_taken_back_before_its_claim_is_refused_to_a_late_reader() {
        let mut alloc = Allocator::new(1 << 20, 1 << 20);
        let peer = Peer::new(std::process::id());
        // Claimed first: taking back fails, the reader keeps it.
        let mut slot = alloc.alloc(100).unwrap().unwrap();
        slot.as_mut_slice().fill(9);
        let held = peer.resolve(&slot.to_ref()).unwrap();
        assert!(!slot.take_back(), "a claimed slot stays the reader's");
        assert!(peer.resolve(&slot.to_ref()).is_err(), "claimed once");
        assert_eq!(held.as_ref()[99], 9);
        drop(held);
        assert_eq!(alloc.held_slots(), 0);
        // Taken back first: the late claim fails, even after the memory
        // was reused for another slot at the same offset (another tag).
        let old = alloc.alloc(100).unwrap().unwrap();
        let stale = old.to_ref();
        assert!(old.is_unclaimed() && old.take_back());
        assert_eq!(alloc.held_slots(), 0);
        let reused = alloc.alloc(100).unwrap().unwrap();
        assert_eq!(reused.to_ref().offset, stale.offset, "the same memory");
        let Err(err) = peer.resolve(&stale) else {
            panic!("a stale reference resolved")
        };
        assert!(err.to_string().contains("took it back"), "{err}");
        assert!(peer.resolve(&reused.to_ref()).is_ok());
    }

    #[test]
    fn regions_cannot_be_resized_under_a_mapping() {
        let region = Region::create(1 << 20).unwrap();
        let path = format!("/proc/{}/fd/{}", std::process::id(), region.id());
        let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        // Shrinking would turn accesses past the new end into SIGBUS.
        assert!(file.set_len(4096).is_err());
        assert!(file.set_len(2 << 20).is_err());
        assert_eq!(file.metadata().unwrap().len(), 1 << 20);
        // An unsealed memfd of the same name is refused as a peer region.
        let unsealed =
            rustix::fs::memfd_create(MEMFD_NAME, rustix::fs::MemfdFlags::empty()).unwrap();
        rustix::fs::ftruncate(&unsealed, 4096).unwrap();
        let id = u32::try_from(std::os::fd::AsRawFd::as_raw_fd(&unsealed)).unwrap();
        let err = Region::open_peer(std::process::id(), id).unwrap_err();
        assert!(err.to_string().contains("sealed"), "{err}");
        assert!(Region::open_peer(std::process::id(), region.id()).is_ok());
    }

    #[test]
    fn slots_are_reused_only_after_release() {
        let mut alloc = Allocator::new(1 << 20, 8 << 20);
        let mut a = alloc.alloc(1000).unwrap().unwrap();
        a.as_mut_slice().fill(7);
        let r = a.to_ref();
        let peer = Peer::new(std::process::id());
        let held = peer.resolve(&r).unwrap();
        assert!(held.as_ref().iter().all(|&b| b == 7));
        let b = alloc.alloc(1000).unwrap().unwrap();
        assert_ne!(b.to_ref().offset, r.offset, "a held slot is not reused");
        b.abandon();
        assert_eq!(alloc.held_slots(), 1);
        drop(held);
        assert_eq!(alloc.held_slots(), 0);
        let c = alloc.alloc(1000).unwrap().unwrap();
        assert_eq!(c.to_ref().offset, r.offset, "released slots are reused");
    }

    #[test]
    fn grows_by_regions_up_to_the_bound() {
        let mut alloc = Allocator::new(1 << 20, 4 << 20);
        let big = alloc.alloc(3 << 20).unwrap().unwrap();
        assert_eq!(alloc.mapped_bytes(), 4 << 20);
        assert!(alloc.alloc(1 << 20).unwrap().is_none(), "full: inline");
        let peer = Peer::new(std::process::id());
        drop(peer.resolve(&big.to_ref()).unwrap());
        assert!(alloc.alloc(1 << 20).unwrap().is_some());
    }

    #[test]
    fn bad_references_are_errors() {
        let mut alloc = Allocator::new(1 << 20, 4 << 20);
        let slot = alloc.alloc(100).unwrap().unwrap();
        let peer = Peer::new(std::process::id());
        let good = slot.to_ref();
        for bad in [
            ArenaRef { offset: 0, ..good },
            ArenaRef {
                offset: good.offset + 1,
                ..good
            },
            ArenaRef {
                len: u64::MAX,
                ..good
            },
            ArenaRef {
                offset: u64::MAX - 63,
                ..good
            },
            ArenaRef { region: 0, ..good },
            ArenaRef {
                region: 987_654,
                ..good
            },
        ] {
            assert!(peer.resolve(&bad).is_err(), "{bad:?}");
        }
        assert!(peer.resolve(&good).is_ok());
    }
}
