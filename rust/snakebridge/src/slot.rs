//! One worker slot of the pool: lazy start, handshake, supervision, restart.
//!
//! A slot holds at most one live worker process at a time. Each start bumps
//! the slot's *generation*; refs remember the generation that created them,
//! so a ref from a crashed worker reports that it died with it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use parking_lot::RwLock;
use snakebridge_proto::v1 as pb;
use tokio::sync::{Mutex, Notify, Semaphore, watch};

use crate::error::{Error, Result};
use crate::link::Link;
use crate::pool::{PoolBackend, Shared};
use crate::process::{Launch, connect, tail_text};

/// A live connection to one incarnation of a worker.
pub(crate) struct Conn {
    pub(crate) link: Link,
    pub(crate) generation: u64,
    pub(crate) instance: u64,
    pub(crate) pid: u32,
    pub(crate) info: pb::HandshakeResponse,
    /// The message limit on this connection: the smaller of the pool's
    /// `max_message_bytes` and the worker's own (ADR 0012).
    pub(crate) limit: usize,
    /// The shared-memory arena of a local worker that turned it on (ADR 0010).
    pub(crate) arena: Option<Arc<crate::arena::HostArena>>,
    /// `Some(description)` once the process has exited.
    exit: watch::Receiver<Option<String>>,
    /// Notified to stop the worker on purpose (recycling): its supervisor
    /// terminates it and does not count a crash. For a remote worker: the
    /// connection is lost, for the reason in `lost`.
    retire: Arc<Notify>,
    /// A remote worker's endpoint URL.
    pub(crate) endpoint: Option<String>,
    /// Why a remote worker's connection was reported lost.
    lost: Arc<parking_lot::Mutex<String>>,
}

impl Conn {
    pub(crate) fn alive(&self) -> bool {
        // Whatever is sent on `exit` is an exit (always `Some`), so a new
        // version means a dead connection: reading the version takes no
        // lock, unlike `borrow` (this runs on every call).
        match self.exit.has_changed() {
            Ok(changed) => !changed,
            Err(_) => self.exit.borrow().is_none(),
        }
    }

    /// SIGKILLs the worker process (if it still runs); the supervisor then
    /// restarts the slot. Does nothing to an in-process link.
    pub(crate) fn kill(&self) {
        if let Link::Grpc { remote: true, .. } = self.link {
            // The host cannot kill a remote worker: the connection ends and
            // the worker leaves the rotation until it answers again.
            self.lost();
            return;
        }
        if self.alive() && self.pid != 0 && self.link.is_process() {
            // SAFETY: plain syscall on the pid of our child, which the
            // supervisor has not reaped yet (it is alive).
            unsafe {
                libc::kill(self.pid as libc::pid_t, libc::SIGKILL);
            }
        }
    }

    /// Ends a remote worker's connection (it cannot be reached, or did not
    /// stop after an interrupt): its watcher reports the exit and takes it
    /// out of rotation.
    pub(crate) fn lost(&self) {
        self.lost_because(
            "it did not stop after an interrupt (the host cannot kill a remote worker)".into(),
        );
    }

    /// [`Conn::lost`], saying why.
    pub(crate) fn lost_because(&self, why: String) {
        *self.lost.lock() = why;
        self.retire.notify_one();
    }

    /// Waits briefly for the process to be reported dead; returns how it died.
    pub(crate) async fn exited_within(&self, wait: Duration) -> Option<String> {
        let mut exit = self.exit.clone();
        let result = tokio::time::timeout(wait, exit.wait_for(Option::is_some)).await;
        match result {
            Ok(Ok(status)) => status.clone(),
            _ => None,
        }
    }
}

impl Conn {
    /// The connection of an in-process link, which reports an exit on
    /// `exit` only when its pool shuts down.
    #[cfg(feature = "in-process")]
    pub(crate) fn in_process(
        link: Link,
        generation: u64,
        info: pb::HandshakeResponse,
        exit: watch::Receiver<Option<String>>,
    ) -> Conn {
        Conn {
            link,
            generation,
            instance: info.worker_instance,
            pid: info.pid,
            limit: info.max_message_bytes as usize,
            info,
            arena: None,
            exit,
            retire: Arc::new(Notify::new()),
            endpoint: None,
            lost: Arc::default(),
        }
    }
}

/// The message limit of a connection: the pool's, or the worker's own
/// when it announced a smaller one in the handshake.
fn message_limit(configured: usize, info: &pb::HandshakeResponse) -> usize {
    match usize::try_from(info.max_message_bytes) {
        Ok(0) | Err(_) => configured,
        Ok(worker) => configured.min(worker),
    }
}

/// How often a worker's resident memory is compared with `max_rss_mib`.
const RSS_CHECK: Duration = Duration::from_secs(1);

/// The resident memory of process `pid` in MiB (Linux; `None` elsewhere or
/// once it is gone).
fn rss_mib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}

/// How often the host checks a remote worker's health.
const HEALTH_INTERVAL: Duration = Duration::from_secs(1);

/// How long a recycling waits for streams open on the old worker to end.
const STREAM_DRAIN: Duration = Duration::from_secs(30);

/// A worker that ran this long since the previous crash was healthy: the
/// restart backoff starts over.
const HEALTHY: Duration = Duration::from_secs(60);

#[derive(Default)]
struct StartState {
    generation: u64,
    /// The incarnation id and generation of the last remote connection: a
    /// reconnection to the same incarnation keeps the generation, so its
    /// refs stay valid.
    remote_incarnation: Option<(u64, u64)>,
    recent_crashes: u32,
    last_crash: Option<Instant>,
}

impl StartState {
    /// Counts a crash at `now` towards the backoff, unless the previous one
    /// was more than [`HEALTHY`] ago.
    fn record_crash(&mut self, now: Instant) {
        let recent = self
            .last_crash
            .is_some_and(|t| now.saturating_duration_since(t) < HEALTHY);
        self.recent_crashes = if recent { self.recent_crashes + 1 } else { 1 };
        self.last_crash = Some(now);
    }
}

/// See [`Slot::enter`].
pub(crate) struct Inflight(Arc<Slot>);

impl Drop for Inflight {
    fn drop(&mut self) {
        self.0.left();
    }
}

/// [`Inflight`] borrowing its slot, for a call that runs to the end while
/// the slot is borrowed anyway (an inline call): no reference count.
pub(crate) struct InflightHere<'a>(&'a Arc<Slot>);

impl Drop for InflightHere<'_> {
    fn drop(&mut self) {
        self.0.left();
    }
}

pub(crate) struct Slot {
    pub(crate) index: usize,
    pub(crate) inflight: AtomicUsize,
    /// One permit per Python thread of the worker: the calls it can run at
    /// once. Calls wait for a permit in the pool's queue (see `Pool::admit`).
    pub(crate) permits: Arc<Semaphore>,
    conn: RwLock<Option<Arc<Conn>>>,
    start: Mutex<StartState>,
    shared: Arc<Shared>,
    /// Calls and streams finished on the current worker (`max_calls`).
    served: AtomicU64,
    /// A recycling of this slot's worker is under way.
    recycling: AtomicBool,
    /// Whether calls may be routed here: false for a remote worker that
    /// cannot be reached, or a discovery slot with no address yet.
    in_rotation: AtomicBool,
    /// Why a remote worker is out of rotation (and whether it refused us).
    unreachable: parking_lot::Mutex<(bool, String)>,
}

impl Slot {
    pub(crate) fn new(index: usize, shared: Arc<Shared>) -> Slot {
        let vacant = matches!(&shared.backend, PoolBackend::Remote(r) if r.vacant(index));
        Slot {
            in_rotation: AtomicBool::new(!vacant),
            unreachable: parking_lot::Mutex::new((false, "no address yet".into())),
            index,
            inflight: AtomicUsize::new(0),
            permits: Arc::new(Semaphore::new(shared.config.threads_per_worker)),
            conn: RwLock::new(None),
            start: Mutex::new(StartState::default()),
            shared,
            served: AtomicU64::new(0),
            recycling: AtomicBool::new(false),
        }
    }

    /// Whether calls may be routed to this slot (see `in_rotation`).
    pub(crate) fn in_rotation(&self) -> bool {
        self.in_rotation.load(Ordering::Acquire)
    }

    /// Whether the pool starts (connects) its workers eagerly.
    pub(crate) fn eager(&self) -> bool {
        self.shared.config.start_mode == crate::policy::StartMode::Eager
    }

    /// Whether this is a discovery slot with no address yet.
    pub(crate) fn vacant(&self) -> bool {
        matches!(&self.shared.backend, PoolBackend::Remote(r) if r.vacant(self.index))
    }

    /// A remote slot's endpoint URL (`None` for local and vacant slots).
    pub(crate) fn address(&self) -> Option<String> {
        match &self.shared.backend {
            PoolBackend::Remote(remote) => remote.address(self.index),
            _ => None,
        }
    }

    /// The error of a call that must run on this slot while it is out of
    /// rotation.
    pub(crate) fn unreachable_error(&self) -> Error {
        let (refused, detail) = self.unreachable.lock().clone();
        let (worker, endpoint) = (self.index, self.address().unwrap_or_default());
        if refused {
            Error::WorkerRefused {
                worker,
                endpoint,
                detail,
            }
        } else {
            Error::WorkerUnreachable {
                worker,
                endpoint,
                detail,
            }
        }
    }

    /// A discovered address was given to this vacant slot: it joins the
    /// rotation (its worker connects on the first call).
    pub(crate) fn address_assigned(&self) {
        self.in_rotation.store(true, Ordering::Release);
    }

    /// Takes this remote worker out of rotation (`why`) and reconnects in
    /// the background, with backoff, until it answers again or the pool
    /// shuts down. Only the first of concurrent reports starts a loop.
    pub(crate) fn out_of_rotation(self: &Arc<Self>, refused: bool, why: String) {
        *self.unreachable.lock() = (refused, why.clone());
        if !self.in_rotation.swap(false, Ordering::AcqRel) {
            return;
        }
        tracing::warn!(slot = self.index, endpoint = ?self.address(), reason = %why, "remote worker out of rotation");
        let slot = self.clone();
        tokio::spawn(async move {
            let mut delay = Duration::from_millis(100);
            let mut shutdown = slot.shared.shutdown_rx.clone();
            loop {
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    _ = shutdown.wait_for(|down| *down) => return,
                }
                if slot.shared.is_shut_down() {
                    return;
                }
                match slot.conn().await {
                    Ok(conn) => {
                        tracing::info!(
                            slot = slot.index,
                            generation = conn.generation,
                            "remote worker back in rotation"
                        );
                        slot.in_rotation.store(true, Ordering::Release);
                        return;
                    }
                    Err(Error::WorkerRefused { detail, .. }) => {
                        *slot.unreachable.lock() = (true, detail)
                    }
                    Err(Error::WorkerUnreachable { detail, .. }) => {
                        *slot.unreachable.lock() = (false, detail)
                    }
                    Err(e) => *slot.unreachable.lock() = (false, e.to_string()),
                }
                delay = (delay * 2).min(slot.shared.config.restart_backoff_max);
            }
        });
    }

    /// Counts one call or stream as in flight on this worker until the
    /// guard drops, even when the caller's future is cancelled.
    pub(crate) fn enter(self: &Arc<Self>) -> Inflight {
        self.inflight.fetch_add(1, Ordering::Relaxed);
        Inflight(self.clone())
    }

    /// [`Slot::enter`] for a call that ends before the borrow does.
    pub(crate) fn enter_here(self: &Arc<Self>) -> InflightHere<'_> {
        self.inflight.fetch_add(1, Ordering::Relaxed);
        InflightHere(self)
    }

    /// A call or stream counted by [`Slot::enter`] ended.
    fn left(self: &Arc<Self>) {
        self.inflight.fetch_sub(1, Ordering::Relaxed);
        if let Some(max) = self.shared.config.max_calls
            && self.served.fetch_add(1, Ordering::Relaxed) + 1 >= max
        {
            self.recycle("max_calls");
        }
    }

    /// Replaces the worker (`max_calls`, `max_rss_mib`): takes every permit
    /// of the slot, so calls in flight finish and new ones wait in the queue
    /// or go to other workers; waits (a bounded time) for open streams;
    /// stops the worker, starts the next generation and lets the waiting
    /// calls in. Refs of the old worker report `RefWorkerGone`.
    pub(crate) fn recycle(self: &Arc<Self>, why: &'static str) {
        if self.recycling.swap(true, Ordering::AcqRel) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            self.recycling.store(false, Ordering::Release);
            return;
        };
        let slot = self.clone();
        runtime.spawn(async move {
            let all = u32::try_from(slot.shared.config.threads_per_worker).unwrap_or(u32::MAX);
            let permits = slot.permits.clone().acquire_many_owned(all).await;
            let streams_done = Instant::now() + STREAM_DRAIN;
            while slot.inflight.load(Ordering::Relaxed) > 0 && Instant::now() < streams_done {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            if let Some(conn) = slot.current() {
                tracing::info!(slot = slot.index, generation = conn.generation, why, "recycling worker");
                conn.retire.notify_one();
                conn.exited_within(Duration::from_secs(10)).await;
            }
            slot.served.store(0, Ordering::Relaxed);
            // A shutdown meanwhile is not a failure (and must not print
            // after the program's last line).
            if !slot.shared.is_shut_down()
                && let Err(e) = slot.conn().await
                && !matches!(e, Error::Shutdown)
            {
                tracing::error!(slot = slot.index, error = %e, "starting the recycled worker's successor failed");
            }
            slot.recycling.store(false, Ordering::Release);
            drop(permits);
        });
    }

    /// Waits until no start of a worker is under way (after a shutdown,
    /// none begins).
    pub(crate) async fn settle(&self) {
        drop(self.start.lock().await);
    }

    /// The live connection, if the worker is up (never starts one).
    pub(crate) fn current(&self) -> Option<Arc<Conn>> {
        self.conn.read().clone().filter(|c| c.alive())
    }

    /// The generation of the live worker, or of the last one started.
    pub(crate) fn generation(&self) -> Option<u64> {
        self.conn.read().as_ref().map(|c| c.generation)
    }

    /// The live connection, starting the worker if needed.
    pub(crate) async fn conn(self: &Arc<Self>) -> Result<Arc<Conn>> {
        if let Some(conn) = self.current() {
            return Ok(conn);
        }
        let mut state = self.start.lock().await;
        if let Some(conn) = self.current() {
            return Ok(conn);
        }
        if self.shared.is_shut_down() {
            return Err(Error::Shutdown);
        }
        if let Some(last) = state.last_crash {
            let delay = backoff(state.recent_crashes, self.shared.config.restart_backoff_max);
            let ready_at = last + delay;
            let now = Instant::now();
            if ready_at > now {
                tracing::info!(slot = self.index, ?delay, "delaying worker restart");
                let mut shutdown = self.shared.shutdown_rx.clone();
                tokio::select! {
                    () = tokio::time::sleep(ready_at - now) => {}
                    _ = shutdown.wait_for(|down| *down) => {}
                }
                if self.shared.is_shut_down() {
                    return Err(Error::Shutdown);
                }
            }
        }
        if let PoolBackend::Remote(remote) = &self.shared.backend {
            let conn = match self.connect_remote(remote, &mut state).await {
                Ok(conn) => conn,
                Err(e) => {
                    match &e {
                        Error::WorkerUnreachable { detail, .. } => {
                            self.out_of_rotation(false, detail.clone())
                        }
                        Error::WorkerRefused { detail, .. } => {
                            self.out_of_rotation(true, detail.clone())
                        }
                        _ => {}
                    }
                    return Err(e);
                }
            };
            *self.conn.write() = Some(conn.clone());
            return Ok(conn);
        }
        state.generation += 1;
        if state.generation > 1 {
            crate::telemetry::worker_restart(&self.shared.name, self.index, state.generation);
        }
        let conn = self.launch(state.generation).await?;
        self.served.store(0, Ordering::Relaxed);
        *self.conn.write() = Some(conn.clone());
        Ok(conn)
    }

    async fn launch(self: &Arc<Self>, generation: u64) -> Result<Arc<Conn>> {
        let shared = &self.shared;
        let config = &shared.config;
        let (env, program, venv_python, socket_dir) = match &shared.backend {
            PoolBackend::Workers {
                env,
                program,
                venv_python,
                socket_dir,
            } => (env, program, venv_python, socket_dir),
            #[cfg(feature = "in-process")]
            PoolBackend::InProcess(p) => {
                let conn = p.conn(generation, shared.shutdown_rx.clone());
                crate::telemetry::worker_spawn(
                    &shared.name,
                    self.index,
                    generation,
                    conn.pid,
                    &conn.info.python_version,
                    Duration::ZERO,
                );
                return Ok(Arc::new(conn));
            }
            PoolBackend::Remote(_) => {
                return Err(Error::transport(
                    "remote workers connect, they are not launched",
                ));
            }
        };
        let socket = socket_dir
            .path()
            .join(format!("w{}-{generation}.sock", self.index));
        let launch = Launch {
            pool: &shared.name,
            program,
            venv_python: venv_python.as_deref(),
            socket: &socket,
            slot: self.index,
            threads: config.threads_per_worker,
            max_message_bytes: config.max_message_bytes,
            env,
            startup_timeout: config.startup_timeout,
        };
        let started = Instant::now();
        let mut process = launch.spawn().await?;
        let handshake = async {
            let client = connect(&socket, config.max_message_bytes).await?;
            let info = self.handshake(&client).await?;
            Ok((client, info))
        };
        let (client, info) = match handshake.await {
            Ok(ok) => ok,
            Err(e) => {
                let _ = process.child.start_kill();
                let _ = process.child.wait().await;
                if let Error::Transport {
                    message: detail, ..
                } = e
                {
                    return Err(Error::WorkerStart {
                        worker: self.index,
                        detail: format!("{detail}\n{}", tail_text(&process.stderr_tail)),
                    });
                }
                return Err(e);
            }
        };
        crate::telemetry::worker_spawn(
            &shared.name,
            self.index,
            generation,
            process.pid,
            &info.python_version,
            started.elapsed(),
        );
        let (exit_tx, exit_rx) = watch::channel(None);
        let retire = Arc::new(Notify::new());
        let arena = (info.arena && snakebridge_proto::arena::can_open_peer(info.pid))
            .then(|| Arc::new(crate::arena::HostArena::new(&config.arena, info.pid)));
        let limit = message_limit(config.max_message_bytes, &info);
        let conn = Arc::new(Conn {
            link: Link::Grpc {
                client,
                remote: false,
                limit,
                beside: crate::telemetry::PoolMetrics::beside(&self.shared.name),
            },
            generation,
            instance: info.worker_instance,
            pid: process.pid,
            info,
            limit,
            arena,
            exit: exit_rx,
            retire: retire.clone(),
            endpoint: None,
            lost: Arc::default(),
        });
        self.supervise(process, generation, exit_tx, socket, retire);
        Ok(conn)
    }

    /// Agrees on a protocol version and the settings with a worker.
    async fn handshake(&self, client: &crate::link::Client) -> Result<pb::HandshakeResponse> {
        let config = &self.shared.config;
        let info = client
            .clone()
            .handshake(pb::HandshakeRequest {
                min_version: *config.protocol_versions.start(),
                max_version: *config.protocol_versions.end(),
                client: format!("snakebridge-rs/{}", env!("CARGO_PKG_VERSION")),
                settings: Some({
                    let mut s = pb::WorkerSettings {
                        ref_ttl_ms: config.ref_ttl.map_or(0, |t| t.as_millis().max(1) as u64),
                        max_refs_per_session: config.max_refs_per_session as u64,
                        max_message_bytes: config.max_message_bytes as u64,
                        ..Default::default()
                    };
                    // The shared-memory arena: local workers only (ADR 0010).
                    if self.address().is_none() {
                        config.arena.worker_settings(&mut s);
                    }
                    s
                }),
            })
            .await
            .map_err(|s| {
                // The handshake is the first RPC on a connection whose TLS
                // was just set up. With TLS 1.3 a worker that refuses the
                // client's certificate (or its absence) says so after the
                // client finished its side: the connection then ends under
                // this RPC (an alert, "connection closed", a broken pipe,
                // depending on timing), so a transport failure here on an
                // https endpoint is that refusal.
                let after_tls = self.address().is_some_and(|a| a.starts_with("https://"))
                    && std::error::Error::source(&s)
                        .is_some_and(|e| e.is::<tonic::transport::Error>());
                let tls = after_tls || crate::remote::is_tls_failure(&s);
                let detail = if !after_tls && tls {
                    format!("handshake failed: TLS: {}", crate::remote::error_chain(&s))
                } else if tls {
                    format!(
                        "handshake failed: TLS: the worker closed the connection after the TLS \
                         handshake: it requires a client certificate this host did not \
                         present, or does not accept the one presented (mutual TLS: \
                         tls_client_cert, tls_client_key); {}",
                        crate::remote::error_chain(&s)
                    )
                } else {
                    format!("handshake failed: {}", s.message())
                };
                match self.address() {
                    Some(endpoint) if tls || s.code() == tonic::Code::Unauthenticated => {
                        Error::WorkerRefused {
                            worker: self.index,
                            endpoint,
                            detail,
                        }
                    }
                    Some(endpoint) => Error::WorkerUnreachable {
                        worker: self.index,
                        endpoint,
                        detail,
                    },
                    None => Error::WorkerStart {
                        worker: self.index,
                        detail,
                    },
                }
            })?
            .into_inner();
        if info.version == 0 {
            return Err(Error::ProtocolMismatch {
                host_min: *config.protocol_versions.start(),
                host_max: *config.protocol_versions.end(),
                worker_min: info.min_version,
                worker_max: info.max_version,
            });
        }
        Ok(info)
    }

    /// Connects to a remote worker and shakes hands. A new incarnation
    /// (the worker restarted) gets a new generation, so refs of the old one
    /// report `RefWorkerGone`; a reconnection to the same one keeps it.
    async fn connect_remote(
        self: &Arc<Self>,
        remote: &crate::remote::Remote,
        state: &mut StartState,
    ) -> Result<Arc<Conn>> {
        let config = &self.shared.config;
        let started = Instant::now();
        let client = remote.connect(self.index, config.max_message_bytes).await?;
        let info = self.handshake(&client).await?;
        let generation = match state.remote_incarnation {
            Some((instance, generation)) if instance == info.worker_instance => generation,
            previous => {
                state.generation += 1;
                if previous.is_some() {
                    crate::telemetry::worker_restart(
                        &self.shared.name,
                        self.index,
                        state.generation,
                    );
                }
                state.generation
            }
        };
        state.remote_incarnation = Some((info.worker_instance, generation));
        crate::telemetry::worker_spawn(
            &self.shared.name,
            self.index,
            generation,
            info.pid,
            &info.python_version,
            started.elapsed(),
        );
        let (exit_tx, exit_rx) = watch::channel(None);
        let retire = Arc::new(Notify::new());
        let limit = message_limit(config.max_message_bytes, &info);
        let conn = Arc::new(Conn {
            link: Link::Grpc {
                client,
                remote: true,
                limit,
                beside: crate::telemetry::PoolMetrics::beside(&self.shared.name),
            },
            generation,
            instance: info.worker_instance,
            pid: info.pid,
            info,
            limit,
            // Remote workers cannot map this host's memory (ADR 0010).
            arena: None,
            exit: exit_rx,
            retire: retire.clone(),
            endpoint: remote.address(self.index),
            lost: Arc::default(),
        });
        self.watch_remote(conn.clone(), exit_tx, retire);
        Ok(conn)
    }

    /// Checks a remote worker's health every [`HEALTH_INTERVAL`]; when it
    /// fails twice in a row (or the connection is reported lost through
    /// `retire`), the connection ends and the worker goes out of rotation.
    fn watch_remote(
        self: &Arc<Self>,
        conn: Arc<Conn>,
        exit_tx: watch::Sender<Option<String>>,
        retire: Arc<Notify>,
    ) {
        let slot = self.clone();
        let mut shutdown = self.shared.shutdown_rx.clone();
        let weak = Arc::downgrade(&conn);
        let link = conn.link.clone();
        let generation = conn.generation;
        let pid = conn.pid;
        let lost = conn.lost.clone();
        drop(conn);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(HEALTH_INTERVAL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut failures = 0;
            let why = loop {
                tokio::select! {
                    _ = async { shutdown.wait_for(|down| *down).await.map(drop) } => {
                        let _ = exit_tx.send(Some("shut down".into()));
                        return;
                    }
                    () = retire.notified() => break lost.lock().clone(),
                    _ = tick.tick() => {
                        if weak.strong_count() == 0 {
                            return;
                        }
                        match tokio::time::timeout(HEALTH_INTERVAL, link.health()).await {
                            Ok(Ok(_)) => failures = 0,
                            Ok(Err(e)) => {
                                failures += 1;
                                if failures >= 2 { break format!("health check failed: {e}"); }
                            }
                            Err(_) => {
                                failures += 1;
                                if failures >= 2 { break "health check timed out".to_string(); }
                            }
                        }
                    }
                }
            };
            crate::telemetry::worker_exit(
                &slot.shared.name,
                slot.index,
                generation,
                pid,
                &why,
                true,
            );
            let _ = exit_tx.send(Some(why.clone()));
            slot.out_of_rotation(false, why);
        });
    }

    /// Watches the process: reports its exit, and restarts it after a crash.
    fn supervise(
        self: &Arc<Self>,
        process: crate::process::Process,
        generation: u64,
        exit_tx: watch::Sender<Option<String>>,
        socket: std::path::PathBuf,
        retire: Arc<Notify>,
    ) {
        let slot = self.clone();
        let mut shutdown = self.shared.shutdown_rx.clone();
        let max_rss_mib = self.shared.config.max_rss_mib;
        tokio::spawn(async move {
            let crate::process::Process {
                mut child,
                stdin,
                pid,
                ..
            } = process;
            let mut rss_check = tokio::time::interval(RSS_CHECK);
            let crashed = loop {
                tokio::select! {
                    status = child.wait() => {
                        let status = status.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string());
                        crate::telemetry::worker_exit(&slot.shared.name, slot.index, generation, pid, &status, true);
                        let _ = exit_tx.send(Some(status.clone()));
                        break true;
                    }
                    // Also fires when the pool is dropped (the sender closes).
                    _ = async { shutdown.wait_for(|down| *down).await.map(drop) } => {
                        terminate(&mut child, pid).await;
                        crate::telemetry::worker_exit(&slot.shared.name, slot.index, generation, pid, "shut down", false);
                        let _ = exit_tx.send(Some("shut down".into()));
                        break false;
                    }
                    () = retire.notified() => {
                        terminate(&mut child, pid).await;
                        crate::telemetry::worker_exit(&slot.shared.name, slot.index, generation, pid, "recycled", false);
                        let _ = exit_tx.send(Some("recycled".into()));
                        break false;
                    }
                    _ = rss_check.tick(), if max_rss_mib.is_some() => {
                        if let (Some(max), Some(rss)) = (max_rss_mib, rss_mib(pid))
                            && rss > max
                        {
                            slot.recycle("max_rss_mib");
                        }
                    }
                }
            };
            drop(stdin);
            // A crashed worker leaves its socket behind.
            let _ = std::fs::remove_file(&socket);
            if crashed {
                slot.on_crash(generation).await;
            }
        });
    }

    async fn on_crash(self: Arc<Self>, generation: u64) {
        self.start.lock().await.record_crash(Instant::now());
        if self.generation() == Some(generation)
            && !self.shared.is_shut_down()
            && let Err(e) = self.conn().await
            // The bridge shut down meanwhile: nothing to restart, nothing failed.
            && !matches!(e, Error::Shutdown)
        {
            tracing::error!(slot = self.index, error = %e, "restarting worker failed");
        }
    }
}

/// SIGTERM, then SIGKILL if the worker has not exited within a grace period.
async fn terminate(child: &mut tokio::process::Child, pid: u32) {
    if pid != 0 {
        // SAFETY: plain syscall on a pid we spawned and have not reaped.
        unsafe {
            libc::kill(pid as libc::pid_t, libc::SIGTERM);
        }
    }
    if tokio::time::timeout(Duration::from_secs(2), child.wait())
        .await
        .is_err()
    {
        let _ = child.start_kill();
        let _ = child.wait().await;
    }
}

/// 0 for a first crash, then 250 ms doubling up to `max`.
fn backoff(recent_crashes: u32, max: Duration) -> Duration {
    if recent_crashes <= 1 {
        return Duration::ZERO;
    }
    let exp = (recent_crashes - 2).min(10);
    (Duration::from_millis(250) * 2u32.pow(exp)).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_caps() {
        let max = Duration::from_secs(5);
        let got: Vec<_> = (1..=8).map(|n| backoff(n, max).as_millis()).collect();
        assert_eq!(got, vec![0, 250, 500, 1000, 2000, 4000, 5000, 5000]);
    }

    #[test]
    fn the_backoff_starts_over_after_a_healthy_period() {
        let max = Duration::from_secs(5);
        let mut state = StartState::default();
        let start = Instant::now();
        for i in 0..8 {
            state.record_crash(start + Duration::from_secs(i));
        }
        assert_eq!(backoff(state.recent_crashes, max), max);
        // Hours later: a first crash again, restarted at once.
        state.record_crash(start + Duration::from_secs(3 * 3600));
        assert_eq!(backoff(state.recent_crashes, max), Duration::ZERO);
        // Just past the healthy period counts as healthy too.
        state.record_crash(start + Duration::from_secs(3 * 3600 + 1));
        state.record_crash(start + Duration::from_secs(3 * 3600 + 1) + HEALTHY);
        assert_eq!(backoff(state.recent_crashes, max), Duration::ZERO);
    }
}
