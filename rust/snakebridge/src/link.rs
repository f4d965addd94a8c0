//! The link to one place where Python runs: a worker over gRPC, or the
//! executor in this process (ADR 0009).
//!
//! Everything below sessions and admission goes through [`Link`]; its
//! operations are the worker service's, with the `snakebridge.v1` messages
//! as requests and answers, so every backend sees the same inputs and gives
//! the same outputs. Transport failures are mapped here, once, to
//! [`LinkError`], which keeps the `tonic::Status` as its source.

use std::time::Instant;

use futures::stream::BoxStream;
use snakebridge_proto::v1::{self as pb, worker_client::WorkerClient};
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

/// The gRPC client of a worker, local or remote.
pub(crate) type Client = WorkerClient<InterceptedService<Channel, Auth>>;

/// Adds the bearer token of a remote worker to every RPC; nothing for a
/// local worker.
#[derive(Clone, Default)]
pub(crate) struct Auth(Option<MetadataValue<Ascii>>);

impl Auth {
    /// `authorization: Bearer <token>` on every request.
    pub(crate) fn bearer(token: &str) -> crate::Result<Auth> {
        let value = format!("Bearer {token}")
            .parse()
            .map_err(|_| crate::Error::config("the token has characters a header cannot carry"))?;
        Ok(Auth(Some(value)))
    }
}

impl Interceptor for Auth {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert(snakebridge_proto::transport::AUTHORIZATION, value.clone());
        }
        Ok(request)
    }
}

/// The answer of a unary call: the call's outcome, or how the link failed.
pub(crate) type Reply = Result<Option<pb::call_response::Outcome>, LinkError>;

/// An answer stream of a streaming operation.
pub(crate) type Responses<T> = BoxStream<'static, Result<T, LinkError>>;

/// How a link reached, or failed to reach, the other side.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LinkError {
    /// The transport failed (the worker may have crashed; see
    /// `session::status_error`).
    #[error("{}: {}", status_code(.0), .0.message())]
    Status(#[source] tonic::Status),
    /// A message was over the transport's size limit.
    #[error("a message was over the size limit: {}", .0.message())]
    TooLarge(#[source] tonic::Status),
    /// The other side ended an exchange without its final answer.
    #[error("{0}")]
    Ended(&'static str),
    /// A payload taken from the worker did not add up (ADR 0012).
    #[error("taking a payload from the worker: {0}")]
    Payload(#[source] snakebridge_proto::payload::AssemblyError),
    /// An inline in-process call ran past its deadline (it was interrupted,
    /// or returned too late).
    #[cfg_attr(not(feature = "in-process"), allow(dead_code))]
    #[error("the call ran past its deadline")]
    DeadlineExceeded,
}

/// The runtime error of a transport failure that is not a crash; keeps the
/// `tonic::Status` as its source.
pub(crate) fn transport_error(error: LinkError) -> crate::Error {
    let message = error.to_string();
    match error {
        LinkError::Status(status) | LinkError::TooLarge(status) => {
            crate::Error::transport_caused(message, status)
        }
        LinkError::Payload(e) => crate::Error::transport_caused(message, e),
        LinkError::Ended(_) | LinkError::DeadlineExceeded => crate::Error::transport(message),
    }
}

fn status_code(status: &tonic::Status) -> String {
    format!("{:?}", status.code())
}

impl From<tonic::Status> for LinkError {
    fn from(status: tonic::Status) -> Self {
        // tonic reports its own size limits only in the message text.
        if status.message().contains("message length too large") {
            LinkError::TooLarge(status)
        } else {
            LinkError::Status(status)
        }
    }
}

impl LinkError {
    /// Whether the failure may mean that the worker process died.
    pub(crate) fn maybe_crash(&self) -> bool {
        use tonic::Code;
        match self {
            LinkError::Status(s) => matches!(
                s.code(),
                Code::Unavailable | Code::Unknown | Code::Internal | Code::Cancelled
            ),
            LinkError::Ended(_) => true,
            LinkError::TooLarge(_) | LinkError::Payload(_) | LinkError::DeadlineExceeded => false,
        }
    }
}

/// A connection to one incarnation of a place where Python runs.
#[derive(Clone)]
// One per worker connection, inside its `Arc<Conn>`: the size is paid once,
// and a box would cost an indirection per call.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Link {
    /// A worker over HTTP/2: a local process on its Unix socket, or a
    /// remote worker over TCP (TLS) that the host cannot kill (ADR 0011).
    Grpc {
        /// The worker service.
        client: Client,
        /// Whether the worker is remote (not our child process).
        remote: bool,
        /// The message limit: messages over it send their largest
        /// payloads beside them (ADR 0012).
        limit: usize,
        /// Bytes sent and received beside messages (telemetry).
        beside: [metrics::Counter; 2],
    },
    /// The executor of this process (feature `in-process`).
    #[cfg(feature = "in-process")]
    InProcess(crate::inprocess::InProcess),
}

impl Link {
    /// Whether the other side is a process the host may kill.
    pub(crate) fn is_process(&self) -> bool {
        match self {
            Link::Grpc { remote, .. } => !remote,
            #[cfg(feature = "in-process")]
            Link::InProcess(_) => false,
        }
    }

    /// Runs a unary call. `deadline` matters only to calls that run on the
    /// caller's own thread (in-process, inline), which the host's timer
    /// cannot interrupt.
    pub(crate) async fn call(
        &self,
        request: pb::CallRequest,
        deadline: Option<Instant>,
    ) -> Result<Option<pb::call_response::Outcome>, LinkError> {
        let _ = deadline;
        match self {
            // Boxed: tonic's future is large, and the caller's state
            // machine (moved on every call) should not carry it inline.
            Link::Grpc {
                client,
                limit,
                beside: counters,
                ..
            } => {
                let mut client = client.clone();
                let (limit, counters) = (*limit, counters.clone());
                let reply = Box::pin(async move {
                    let mut request = request;
                    let c = &counters;
                    let session = |r: &pb::CallRequest| r.session_id.clone();
                    beside::spill(&client, &mut request, session, limit, &c[0]).await?;
                    let mut reply = client.call(request).await?.into_inner();
                    beside::restore(&client, &mut reply, &c[1]).await?;
                    Ok::<_, LinkError>(reply)
                })
                .await?;
                Ok(reply.outcome)
            }
            #[cfg(feature = "in-process")]
            Link::InProcess(p) => p.call(request, deadline).await,
        }
    }

    /// Whether a unary call made now would run inline, on this thread (an
    /// in-process link, outside any tokio task; ADR 0009): then
    /// [`Link::call_inline`] runs it without a future.
    pub(crate) fn runs_inline(&self) -> bool {
        match self {
            Link::Grpc { .. } => false,
            #[cfg(feature = "in-process")]
            Link::InProcess(p) => p.runs_inline(),
        }
    }

    /// Runs a unary call on this thread when [`Link::runs_inline`] says
    /// so, interrupted at `deadline` (`DeadlineExceeded` then); also
    /// answers when the call ended.
    /// The call runs in `session`, whatever `request.session_id` says.
    pub(crate) fn call_inline(
        &self,
        request: &pb::CallRequest,
        session: &str,
        deadline: Option<Instant>,
    ) -> (Reply, Instant) {
        let _ = (request, session, deadline);
        match self {
            Link::Grpc { .. } => (
                Err(LinkError::Ended("a gRPC link never runs calls inline")),
                Instant::now(),
            ),
            #[cfg(feature = "in-process")]
            Link::InProcess(p) => p.call_inline(request, session, deadline),
        }
    }

    /// Opens a `CallDuplex` exchange: `outgoing` carries the call, then the
    /// results of callback invocations.
    pub(crate) async fn call_duplex(
        &self,
        outgoing: tokio::sync::mpsc::UnboundedReceiver<pb::HostMessage>,
    ) -> Result<Responses<pb::WorkerMessage>, LinkError> {
        match self {
            Link::Grpc {
                client,
                limit,
                beside: counters,
                ..
            } => {
                let mut rx = outgoing;
                let requests = futures::stream::poll_fn(move |cx| rx.poll_recv(cx));
                let requests =
                    beside::spilling(client, requests, *limit, &counters[0], |m| match &m.msg {
                        Some(pb::host_message::Msg::Call(c)) => Some(c.session_id.clone()),
                        _ => None,
                    });
                let responses = client.clone().call_duplex(requests).await?.into_inner();
                Ok(beside::restoring(client, responses, &counters[1]))
            }
            #[cfg(feature = "in-process")]
            Link::InProcess(p) => p.call_duplex(outgoing).await,
        }
    }

    /// Opens an `Iterate` exchange: `outgoing` carries the open request,
    /// then credit and callback results.
    pub(crate) async fn iterate(
        &self,
        outgoing: futures::channel::mpsc::UnboundedReceiver<pb::IterateRequest>,
    ) -> Result<Responses<pb::IterateResponse>, LinkError> {
        match self {
            Link::Grpc {
                client,
                limit,
                beside: counters,
                ..
            } => {
                let requests =
                    beside::spilling(client, outgoing, *limit, &counters[0], |m| match &m.msg {
                        Some(pb::iterate_request::Msg::Open(o)) => Some(o.session_id.clone()),
                        _ => None,
                    });
                let responses = client.clone().iterate(requests).await?.into_inner();
                Ok(beside::restoring(client, responses, &counters[1]))
            }
            #[cfg(feature = "in-process")]
            Link::InProcess(p) => p.iterate(outgoing).await,
        }
    }

    /// Raises `TimeoutError` in the Python thread running call `call_id`.
    pub(crate) async fn interrupt(&self, call_id: u64) -> Result<bool, LinkError> {
        match self {
            Link::Grpc { client, .. } => Ok(client
                .clone()
                .interrupt(pb::InterruptRequest { call_id })
                .await?
                .into_inner()
                .interrupted),
            #[cfg(feature = "in-process")]
            Link::InProcess(p) => Ok(p.interrupt(call_id).await),
        }
    }

    /// Releases refs of a session; answers how many were held.
    pub(crate) async fn release_refs(
        &self,
        request: pb::ReleaseRefsRequest,
    ) -> Result<u64, LinkError> {
        match self {
            Link::Grpc { client, .. } => Ok(client
                .clone()
                .release_refs(request)
                .await?
                .into_inner()
                .released),
            #[cfg(feature = "in-process")]
            Link::InProcess(p) => Ok(p.executor().release_refs(request).await.released),
        }
    }

    /// Releases whole sessions; answers how many refs they held.
    pub(crate) async fn release_session(
        &self,
        request: pb::ReleaseSessionRequest,
    ) -> Result<u64, LinkError> {
        match self {
            Link::Grpc { client, .. } => Ok(client
                .clone()
                .release_session(request)
                .await?
                .into_inner()
                .released),
            #[cfg(feature = "in-process")]
            Link::InProcess(p) => Ok(p.executor().release_session(request).await.released),
        }
    }

    /// Live counts: sessions, refs, calls.
    pub(crate) async fn health(&self) -> Result<pb::HealthResponse, LinkError> {
        match self {
            Link::Grpc { client, .. } => Ok(client
                .clone()
                .health(pb::HealthRequest {})
                .await?
                .into_inner()),
            #[cfg(feature = "in-process")]
            Link::InProcess(p) => Ok(p.executor().health()),
        }
    }
}

/// Payloads beside messages over the limit, on a gRPC link (ADR 0012):
/// uploaded before the message that names them, taken after the message
/// that names them arrived.
mod beside {
    use std::collections::HashMap;
    use std::sync::Arc;

    use bytes::Bytes;
    use futures::StreamExt;
    use futures::stream::Stream;
    use snakebridge_proto::payload::{self, Carrier};
    use snakebridge_proto::v1::{self as pb, PayloadRef};

    use super::{Client, LinkError, Responses};

    /// Moves the largest payloads of `message` out until it fits `limit`,
    /// and uploads them for its session (asked of `session` only then).
    pub(super) async fn spill<M: Carrier>(
        client: &Client,
        message: &mut M,
        session: impl FnOnce(&M) -> String,
        limit: usize,
        sent: &metrics::Counter,
    ) -> Result<(), LinkError> {
        let Some(min_len) = message.cutoff(limit) else {
            return Ok(());
        };
        let session = session(message);
        let mut moved = Vec::new();
        payload::spill(message.values_mut(), min_len, |data| {
            moved.push(data);
            // Numbered for now; the worker's ids replace the numbers.
            PayloadRef {
                id: moved.len() as u64 - 1,
                len: 0,
            }
        });
        let uploads = moved
            .into_iter()
            .map(|data| upload(client.clone(), payload::chunks(data, limit, &session)));
        let stored = futures::future::try_join_all(uploads).await?;
        payload::map_refs(message.values_mut(), |r| *r = stored[r.id as usize]);
        sent.increment(stored.iter().map(|r| r.len).sum());
        Ok(())
    }

    async fn upload(
        mut client: Client,
        chunks: Vec<pb::PayloadChunk>,
    ) -> Result<PayloadRef, LinkError> {
        let stored = client.put_payload(futures::stream::iter(chunks)).await?;
        Ok(stored.into_inner())
    }

    /// Puts the payloads sent beside `message` back in, taking each from
    /// the worker.
    pub(super) async fn restore<M: Carrier>(
        client: &Client,
        message: &mut M,
        received: &metrics::Counter,
    ) -> Result<(), LinkError> {
        let refs = payload::refs(message.values());
        if refs.is_empty() {
            return Ok(());
        }
        received.increment(refs.iter().map(|r| r.len).sum());
        let takes = refs.iter().map(|r| take(client.clone(), *r));
        let mut taken: HashMap<u64, Bytes> = futures::future::try_join_all(takes)
            .await?
            .into_iter()
            .zip(&refs)
            .map(|(data, r)| (r.id, data))
            .collect();
        payload::restore(message.values_mut(), |r| {
            taken
                .remove(&r.id)
                .ok_or(LinkError::Ended("a payload was named twice"))
        })
    }

    async fn take(mut client: Client, r: PayloadRef) -> Result<Bytes, LinkError> {
        // The length is the worker's word: checked before allocating.
        let mut data = payload::Assembly::new(r.len).map_err(LinkError::Payload)?;
        let mut chunks = client.take_payload(r).await?.into_inner();
        while let Some(chunk) = chunks.message().await? {
            data.push(&chunk.data).map_err(LinkError::Payload)?;
        }
        data.finish().map_err(LinkError::Payload)
    }

    /// `requests`, each uploading what it must send beside it first; the
    /// session comes from the exchange's first message (`session_of`).
    pub(super) fn spilling<M, S>(
        client: &Client,
        requests: S,
        limit: usize,
        sent: &metrics::Counter,
        session_of: fn(&M) -> Option<String>,
    ) -> impl Stream<Item = M> + Send + 'static
    where
        M: Carrier + Send + 'static,
        S: Stream<Item = M> + Send + 'static,
    {
        let (client, sent) = (client.clone(), sent.clone());
        let session = Arc::new(parking_lot::Mutex::new(String::new()));
        requests.then(move |mut message| {
            let (client, session, sent) = (client.clone(), Arc::clone(&session), sent.clone());
            async move {
                if let Some(s) = session_of(&message) {
                    *session.lock() = s;
                }
                let session = |_: &M| session.lock().clone();
                if let Err(e) = spill(&client, &mut message, session, limit, &sent).await {
                    // Sent as it is: the transport refuses it as too large.
                    tracing::warn!(error = %e, "snakebridge: a payload could not be uploaded");
                }
                message
            }
        })
    }

    /// `responses`, each with the payloads sent beside it put back in.
    pub(super) fn restoring<M>(
        client: &Client,
        responses: tonic::Streaming<M>,
        received: &metrics::Counter,
    ) -> Responses<M>
    where
        M: Carrier + Send + 'static,
    {
        let (client, received) = (client.clone(), received.clone());
        responses
            .then(move |response| {
                let (client, received) = (client.clone(), received.clone());
                async move {
                    let mut message = response?;
                    restore(&client, &mut message, &received).await?;
                    Ok(message)
                }
            })
            .boxed()
    }
}
