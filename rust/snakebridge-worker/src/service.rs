//! The gRPC service: handshake gate, then calls handed to the executor.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::Context;
use snakebridge_proto::PROTOCOL_VERSIONS;
use snakebridge_proto::v1::{self as pb, worker_server::WorkerServer};
use snakebridge_python::{Executor, HostSignal, Incoming};
use tokio::net::UnixListener;
use tokio_stream::wrappers::UnixListenerStream;
use tonic::service::interceptor::InterceptedService;
use tonic::{Request, Response, Status, Streaming};

use crate::listen::Listen;
use crate::payloads::PayloadStore;

use snakebridge_proto::transport;

/// Serves until SIGTERM or SIGINT.
pub(crate) async fn serve(
    executor: Executor,
    listen: Listen,
    max_message_bytes: usize,
    slot: usize,
) -> anyhow::Result<()> {
    let info = executor.python_info();
    let payloads = Arc::new(PayloadStore::new(
        executor.instance(),
        snakebridge_proto::payload::STORE_MAX_BYTES,
    ));
    let service = WorkerService {
        payloads,
        transport_limit: max_message_bytes,
        executor,
        ready: AtomicBool::new(false),
        agreed: Mutex::new(None),
        local: matches!(listen, Listen::Unix(_)),
    };
    let ceiling = transport::message_ceiling(max_message_bytes);
    let server = WorkerServer::new(service)
        .max_decoding_message_size(ceiling)
        .max_encoding_message_size(ceiling);
    let python = info
        .version
        .split_whitespace()
        .next()
        .unwrap_or("?")
        .to_string();
    let builder = tonic::transport::Server::builder()
        .initial_stream_window_size(Some(transport::STREAM_WINDOW))
        .initial_connection_window_size(Some(transport::CONNECTION_WINDOW));
    match listen {
        Listen::Unix(socket) => {
            let _ = std::fs::remove_file(&socket);
            let listener = UnixListener::bind(&socket)?;
            ready_line(&format!("slot={slot} python={python}"))?;
            let mut builder = builder;
            builder
                .add_service(server)
                .serve_with_incoming_shutdown(UnixListenerStream::new(listener), shutdown_signal())
                .await?;
            let _ = std::fs::remove_file(&socket);
        }
        Listen::Tcp(tcp) => {
            let listener = tokio::net::TcpListener::bind(tcp.addr)
                .await
                .with_context(|| format!("listening on {}", tcp.addr))?;
            let addr = listener.local_addr()?;
            let mut builder = builder;
            let tls = tcp.tls.is_some();
            if let Some(config) = tcp.tls {
                builder = builder.tls_config(config).context("the TLS settings")?;
            }
            // Probes need no token: the standard health service answers
            // for the whole server and for the worker service.
            let (reporter, health) = tonic_health::server::health_reporter();
            reporter.set_serving::<WorkerServer<WorkerService>>().await;
            let mut probes_at = String::new();
            if let Some(health_addr) = tcp.health {
                let probes = tokio::net::TcpListener::bind(health_addr)
                    .await
                    .with_context(|| format!("--health-listen on {health_addr}"))?;
                probes_at = format!(" health=http://{}", probes.local_addr()?);
                let health = health.clone();
                tokio::spawn(async move {
                    let served = tonic::transport::Server::builder()
                        .add_service(health)
                        .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(probes))
                        .await;
                    if let Err(e) = served {
                        tracing::error!(error = %e, "the health probe server stopped");
                    }
                });
            }
            let worker = InterceptedService::new(server, crate::listen::authenticate(tcp.token));
            let scheme = if tls { "https" } else { "http" };
            tracing::info!(%addr, scheme, "serving remote hosts");
            ready_line(&format!(
                "addr={scheme}://{addr}{probes_at} python={python}"
            ))?;
            // No Nagle: a large message's last segment would wait for the
            // peer's delayed ACK (40 ms per 8 MiB round trip, measured).
            let incoming = tonic::transport::server::TcpIncoming::from(listener)
                .with_nodelay(Some(true))
                .with_keepalive(Some(std::time::Duration::from_secs(30)));
            builder
                .add_service(health)
                .add_service(worker)
                .serve_with_incoming_shutdown(incoming, shutdown_signal())
                .await?;
        }
    }
    Ok(())
}

/// Prints the ready line the host (or a script) waits for.
fn ready_line(rest: &str) -> anyhow::Result<()> {
    use std::io::Write;
    println!(
        "{} pid={} {rest}",
        transport::READY_LINE,
        std::process::id()
    );
    std::io::stdout().flush()?;
    Ok(())
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

struct WorkerService {
    executor: Executor,
    /// Payloads beside messages (ADR 0012).
    payloads: Arc<PayloadStore>,
    /// This worker's own message limit (`--max-message-bytes`).
    transport_limit: usize,
    ready: AtomicBool,
    /// What the first successful handshake fixed for the worker's life.
    agreed: Mutex<Option<Agreement>>,
    /// Serving its host on a Unix socket: only then may the host's
    /// settings turn on the shared-memory arena (ADR 0010); a remote host
    /// cannot share memory, and must not name local processes.
    local: bool,
}

/// The protocol version and settings of the first successful handshake.
/// The settings apply to the whole worker, so a later handshake (another
/// connection, a retry) is accepted only when it repeats them: the same
/// version, and the same settings or none.
struct Agreement {
    version: u32,
    settings: Option<pb::WorkerSettings>,
}

impl Agreement {
    fn admits(&self, version: u32, settings: Option<&pb::WorkerSettings>) -> bool {
        self.version == version && settings.is_none_or(|s| Some(s) == self.settings.as_ref())
    }
}

impl WorkerService {
    /// The size over which a message sends payloads beside it: the
    /// smaller of this worker's limit and its host's.
    fn message_limit(&self) -> usize {
        self.executor.max_message_bytes().min(self.transport_limit)
    }

    fn check_ready(&self) -> Result<(), Status> {
        if self.ready.load(Ordering::Acquire) {
            Ok(())
        } else {
            Err(Status::failed_precondition(
                "handshake required: call Handshake with a supported protocol version first",
            ))
        }
    }
}

type DuplexStream =
    Pin<Box<dyn tokio_stream::Stream<Item = Result<pb::WorkerMessage, Status>> + Send>>;

type IterateStream =
    Pin<Box<dyn tokio_stream::Stream<Item = Result<pb::IterateResponse, Status>> + Send>>;

type PayloadStream =
    Pin<Box<dyn tokio_stream::Stream<Item = Result<pb::PayloadChunk, Status>> + Send>>;

/// The host's messages of a `CallDuplex` or `Iterate` exchange after the
/// first, with the payloads sent beside them put back in.
struct FromHost<M> {
    requests: Streaming<M>,
    payloads: Arc<PayloadStore>,
}

impl<M> FromHost<M> {
    /// A callback result with its payloads; one whose payloads could not be
    /// restored is raised in Python as a `RuntimeError` naming the cause.
    fn restored(&self, mut result: pb::CallbackResult) -> HostSignal {
        if let Err(status) = self.payloads.restore(&mut result) {
            result.outcome = Some(pb::callback_result::Outcome::Error(pb::PythonError {
                type_name: "RuntimeError".into(),
                module: "builtins".into(),
                message: format!("the callback's result was lost: {}", status.message()),
                ..Default::default()
            }));
        }
        HostSignal::CallbackResult(Box::new(result))
    }
}

impl Incoming for FromHost<pb::HostMessage> {
    async fn next(&mut self) -> Option<HostSignal> {
        use pb::host_message::Msg;
        loop {
            match self.requests.message().await {
                Ok(Some(pb::HostMessage {
                    msg: Some(Msg::CallbackResult(result)),
                })) => return Some(self.restored(result)),
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => return None,
            }
        }
    }
}

impl Incoming for FromHost<pb::IterateRequest> {
    async fn next(&mut self) -> Option<HostSignal> {
        use pb::iterate_request::Msg;
        loop {
            match self.requests.message().await {
                Ok(Some(pb::IterateRequest {
                    msg: Some(Msg::Credit(n)),
                })) => return Some(HostSignal::Credit(n)),
                Ok(Some(pb::IterateRequest {
                    msg: Some(Msg::CallbackResult(result)),
                })) => return Some(self.restored(result)),
                Ok(Some(_)) => {}
                // The host closed its side or went away: cancelled.
                Ok(None) | Err(_) => return None,
            }
        }
    }
}

#[tonic::async_trait]
impl pb::worker_server::Worker for WorkerService {
    type IterateStream = IterateStream;
    type CallDuplexStream = DuplexStream;
    type TakePayloadStream = PayloadStream;

    async fn put_payload(
        &self,
        request: Request<Streaming<pb::PayloadChunk>>,
    ) -> Result<Response<pb::PayloadRef>, Status> {
        self.check_ready()?;
        Ok(Response::new(
            self.payloads.upload(request.into_inner()).await?,
        ))
    }

    async fn take_payload(
        &self,
        request: Request<pb::PayloadRef>,
    ) -> Result<Response<PayloadStream>, Status> {
        self.check_ready()?;
        let data = self.payloads.take(request.get_ref())?;
        let chunks = snakebridge_proto::payload::chunks(data, self.message_limit(), "");
        Ok(Response::new(Box::pin(tokio_stream::iter(
            chunks.into_iter().map(Ok),
        ))))
    }

    async fn call_duplex(
        &self,
        request: Request<Streaming<pb::HostMessage>>,
    ) -> Result<Response<DuplexStream>, Status> {
        use pb::host_message::Msg;
        use tokio_stream::StreamExt;
        self.check_ready()?;
        let mut requests = request.into_inner();
        let mut call = match requests.message().await? {
            Some(pb::HostMessage {
                msg: Some(Msg::Call(call)),
            }) => call,
            _ => {
                return Err(Status::invalid_argument(
                    "the first CallDuplex message must be the call",
                ));
            }
        };
        self.payloads.restore(&mut call)?;
        let session = call.session_id.clone();
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        // The call runs inline on a runtime thread (which holds a Python
        // thread state), under block_in_place.
        snakebridge_python::serve_call_duplex(
            &self.executor,
            call,
            FromHost {
                requests,
                payloads: Arc::clone(&self.payloads),
            },
            snakebridge_python::StreamThreads::Inline,
            tx,
        );
        let (payloads, limit) = (Arc::clone(&self.payloads), self.message_limit());
        let stream =
            tokio_stream::wrappers::UnboundedReceiverStream::new(rx).map(move |mut message| {
                if let Err(full) = payloads.spill(&mut message, &session, limit) {
                    match &mut message.msg {
                        Some(pb::worker_message::Msg::Response(response)) => {
                            response.outcome = Some(pb::call_response::Outcome::BridgeError(
                                Box::new(full.to_bridge_error()),
                            ));
                        }
                        // A callback's arguments: the exchange cannot go on.
                        _ => {
                            return Err(Status::resource_exhausted(full.to_bridge_error().message));
                        }
                    }
                }
                Ok(message)
            });
        Ok(Response::new(Box::pin(stream)))
    }

    async fn iterate(
        &self,
        request: Request<Streaming<pb::IterateRequest>>,
    ) -> Result<Response<IterateStream>, Status> {
        use tokio_stream::StreamExt;
        self.check_ready()?;
        let mut requests = request.into_inner();
        let open = match requests.message().await? {
            Some(pb::IterateRequest {
                msg: Some(pb::iterate_request::Msg::Open(open)),
            }) => open,
            _ => {
                return Err(Status::invalid_argument(
                    "the first Iterate message must open the stream",
                ));
            }
        };
        let session = open.session_id.clone();
        // Unbounded: production is bounded by the host's credit, and
        // callback invocations are sent from Python code (no await there).
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        // Inline on runtime threads, which keep a Python thread state of
        // their own (streams take no capacity on the host, so they could
        // occupy every runtime thread; block_in_place hands the thread's
        // scheduler core on meanwhile).
        snakebridge_python::serve_iterate(
            &self.executor,
            open,
            FromHost {
                requests,
                payloads: Arc::clone(&self.payloads),
            },
            snakebridge_python::StreamThreads::Inline,
            move |item| {
                tx.send(item.map_err(|e| Status::invalid_argument(e.to_string())))
                    .is_ok()
            },
        );
        let (payloads, limit) = (Arc::clone(&self.payloads), self.message_limit());
        let stream = tokio_stream::wrappers::UnboundedReceiverStream::new(rx).map(move |item| {
            item.map(
                |mut response| match payloads.spill(&mut response, &session, limit) {
                    Ok(()) => response,
                    // The stream ends with the error, as after a failed item.
                    Err(full) => pb::IterateResponse {
                        bridge_error: Some(full.to_bridge_error()),
                        ..Default::default()
                    },
                },
            )
        });
        Ok(Response::new(Box::pin(stream)))
    }

    async fn handshake(
        &self,
        request: Request<pb::HandshakeRequest>,
    ) -> Result<Response<pb::HandshakeResponse>, Status> {
        let req = request.into_inner();
        let (ours_min, ours_max) = (*PROTOCOL_VERSIONS.start(), *PROTOCOL_VERSIONS.end());
        let chosen = req.max_version.min(ours_max);
        let version = if chosen >= req.min_version.max(ours_min) {
            chosen
        } else {
            0
        };
        if version != 0 {
            let mut agreed = self.agreed.lock().unwrap_or_else(|e| e.into_inner());
            match &*agreed {
                None => {
                    if let Some(settings) = &req.settings {
                        let mut settings = *settings;
                        if !self.local {
                            settings.arena_host_pid = 0;
                            settings.arena_threshold = 0;
                        }
                        self.executor.apply_settings(&settings);
                    }
                    *agreed = Some(Agreement {
                        version,
                        settings: req.settings,
                    });
                    self.ready.store(true, Ordering::Release);
                }
                Some(first) if first.admits(version, req.settings.as_ref()) => {}
                Some(first) => {
                    return Err(Status::failed_precondition(format!(
                        "this worker's protocol version ({}) and settings ({:?}) were fixed by \
                         its first handshake; a later handshake may only repeat them \
                         (asked for version {version}, settings {:?})",
                        first.version, first.settings, req.settings
                    )));
                }
            }
        }
        let info = self.executor.python_info();
        Ok(Response::new(pb::HandshakeResponse {
            version,
            min_version: ours_min,
            max_version: ours_max,
            worker_instance: self.executor.instance(),
            pid: std::process::id(),
            python_version: info.version,
            python_executable: info.executable,
            python_prefix: info.prefix,
            platform: info.platform,
            arena: self.executor.arena_enabled(),
            max_message_bytes: self.transport_limit as u64,
        }))
    }

    async fn call(
        &self,
        request: Request<pb::CallRequest>,
    ) -> Result<Response<pb::CallResponse>, Status> {
        self.check_ready()?;
        // Inline on this runtime thread, which holds a Python thread state;
        // the watchdog keeps I/O going if it runs long (watchdog.rs).
        let mut req = request.into_inner();
        self.payloads.restore(&mut req)?;
        let session = req.session_id.clone();
        let mut response = crate::watchdog::inline(|| self.executor.call_blocking(req));
        if let Err(full) = self
            .payloads
            .spill(&mut response, &session, self.message_limit())
        {
            response.outcome = Some(pb::call_response::Outcome::BridgeError(Box::new(
                full.to_bridge_error(),
            )));
        }
        Ok(Response::new(response))
    }

    async fn release_refs(
        &self,
        request: Request<pb::ReleaseRefsRequest>,
    ) -> Result<Response<pb::ReleaseRefsResponse>, Status> {
        self.check_ready()?;
        Ok(Response::new(
            self.executor.release_refs(request.into_inner()).await,
        ))
    }

    async fn release_session(
        &self,
        request: Request<pb::ReleaseSessionRequest>,
    ) -> Result<Response<pb::ReleaseSessionResponse>, Status> {
        self.check_ready()?;
        let request = request.into_inner();
        let sessions = std::iter::once(&request.session_id).chain(&request.session_ids);
        self.payloads.release_sessions(sessions);
        Ok(Response::new(self.executor.release_session(request).await))
    }

    async fn interrupt(
        &self,
        request: Request<pb::InterruptRequest>,
    ) -> Result<Response<pb::InterruptResponse>, Status> {
        self.check_ready()?;
        let call_id = request.into_inner().call_id;
        let executor = self.executor.clone();
        // Waits for the GIL, which the call being stopped may hold.
        let interrupted = tokio::task::spawn_blocking(move || executor.interrupt(call_id))
            .await
            .map_err(|e| Status::internal(format!("interrupt failed: {e}")))?;
        Ok(Response::new(pb::InterruptResponse { interrupted }))
    }

    async fn health(
        &self,
        _request: Request<pb::HealthRequest>,
    ) -> Result<Response<pb::HealthResponse>, Status> {
        let mut health = self.executor.health();
        health.payload_bytes = self.payloads.held() as u64;
        Ok(Response::new(health))
    }
}
