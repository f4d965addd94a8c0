//! The Python side of the two streaming exchanges, `CallDuplex` and
//! `Iterate`, served the same way by a worker process (over gRPC) and by
//! Python in the host's process (over channels): each side only adapts its
//! transport to [`Incoming`] and to an output function.

use std::future::Future;
use std::sync::Arc;

use snakebridge_proto::v1 as pb;
use tokio::sync::mpsc::UnboundedSender;

use crate::stream::{MissingTarget, StreamThreads, on_python};
use crate::{CallbackDelivery, Executor, produce_stream};

/// What the host sends after the first message of an exchange.
#[derive(Debug)]
pub enum HostSignal {
    /// More items the host is ready to take (`Iterate`).
    Credit(u32),
    /// The answer to a callback invocation (boxed: credit is the common
    /// message).
    CallbackResult(Box<pb::CallbackResult>),
}

/// The host's messages after the first, as a transport delivers them.
pub trait Incoming: Send + 'static {
    /// The next message; `None` when the host closed its side or went
    /// away (which cancels the exchange). Messages that carry nothing for
    /// the exchange are skipped by the implementation.
    fn next(&mut self) -> impl Future<Output = Option<HostSignal>> + Send;
}

/// Callback results go to the callables waiting for them; credit to the
/// producer (when there is one). The end of `incoming` closes the channel.
fn route(
    mut incoming: impl Incoming,
    delivery: CallbackDelivery,
    credit: Option<UnboundedSender<u32>>,
) {
    tokio::spawn(async move {
        while let Some(signal) = incoming.next().await {
            match signal {
                HostSignal::CallbackResult(result) => delivery.deliver(*result),
                HostSignal::Credit(n) => {
                    if credit.as_ref().is_some_and(|c| c.send(n).is_err()) {
                        break;
                    }
                }
            }
        }
        delivery.close();
    });
}

/// Serves a `CallDuplex` exchange whose first message was `call`: runs the
/// call (on `threads`) with its callbacks reaching the host through `out`,
/// then sends the `CallResponse` as the last message. Returns at once;
/// the work runs on spawned tasks (a tokio runtime must be current).
pub fn serve_call_duplex(
    executor: &Executor,
    call: pb::CallRequest,
    incoming: impl Incoming,
    threads: StreamThreads,
    out: UnboundedSender<pb::WorkerMessage>,
) {
    let channel = executor.callback_channel(&call.session_id, out.clone());
    route(incoming, channel.delivery(), None);
    let executor = executor.clone();
    tokio::spawn(async move {
        let ex = executor.clone();
        let response = on_python(&executor, threads, move || {
            ex.call_with_callbacks(call, channel)
        })
        .await;
        let _ = out.send(pb::WorkerMessage {
            msg: Some(pb::worker_message::Msg::Response(response)),
        });
    });
}

/// Serves an `Iterate` exchange opened by `open`: produces batches within
/// the host's credit (on `threads`) and hands them, and the callback
/// invocations of Python code the stream runs, to `out` (false: the host
/// is gone). An `open` without a target is `Err(MissingTarget)`, the last
/// thing sent. Returns at once; the work runs on spawned tasks.
pub fn serve_iterate<F>(
    executor: &Executor,
    open: pb::IterateOpen,
    incoming: impl Incoming,
    threads: StreamThreads,
    out: F,
) where
    F: Fn(Result<pb::IterateResponse, MissingTarget>) -> bool + Send + Sync + 'static,
{
    let out = Arc::new(out);
    let invokes = Arc::clone(&out);
    let channel = executor.callback_channel_to(&open.session_id, move |invoke| {
        invokes(Ok(pb::IterateResponse {
            callback_invoke: Some(invoke),
            ..Default::default()
        }))
    });
    let (credit_tx, mut credits) = tokio::sync::mpsc::unbounded_channel();
    route(incoming, channel.delivery(), Some(credit_tx));
    let executor = executor.clone();
    tokio::spawn(async move {
        let items = Arc::clone(&out);
        let produced = produce_stream(
            executor,
            open,
            &mut credits,
            Arc::new(channel),
            threads,
            move |batch| items(Ok(batch)),
        )
        .await;
        if let Err(e) = produced {
            out(Err(e));
        }
    });
}
