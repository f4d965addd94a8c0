//! Running one `CallRequest`: resolve, decode, call, encode.

use std::sync::Arc;

use prost::Message;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyModule, PyString, PyTuple, PyType};
use snakebridge_proto::v1::{self as pb, CallKind, ErrorCode, call_response::Outcome};

use crate::callback::CallLink;
use crate::decode::{DecodeContext, Decoder};
use crate::encode::{Abort, EncodeContext, Encoder};
use crate::executor::Shared;
use crate::pyerror::{Failure, bridge, python_error, serialization};

/// Runs `req` on the current (attached) thread, under the call frame
/// (`crate::frame`): all of it, from resolving the callee to encoding the
/// result, so everything Python runs for the call has a caller frame.
/// The call runs in `session` (the request's `session_id`, or the one an
/// in-process host lends without copying it into the request).
pub(crate) fn run_call(
    shared: &Shared,
    py: Python<'_>,
    req: &pb::CallRequest,
    session: &str,
    callbacks: Option<&Arc<CallLink>>,
) -> pb::CallResponse {
    let max_bytes = shared.limits.max_message_bytes();
    let framed = shared.types.frame.run(py, || {
        if let Some(ttl) = shared.limits.ttl() {
            drop(shared.registry.sweep(session, ttl));
        }
        call(shared, py, req, session, callbacks)
    });
    match framed {
        Ok(Ok(response)) => response,
        Ok(Err(failure)) => fit(failure, max_bytes).into_response(),
        // The frame raised before the call started (an interrupt already
        // scheduled for it): that is the call's exception.
        Err(e) => fit(python_error(py, &shared.types, e), max_bytes).into_response(),
    }
}

/// Shortens the message and traceback of a Python error whose response
/// would exceed `max_bytes` (an exception can carry a huge message).
fn fit(failure: Failure, max_bytes: usize) -> Failure {
    let Failure::Python(mut e) = failure else {
        return failure;
    };
    if e.encoded_len() + 16 > max_bytes {
        let budget = max_bytes / 4;
        e.message = truncate_bytes(&e.message, budget);
        e.traceback = truncate_bytes(&e.traceback, budget);
    }
    Failure::Python(e)
}

/// `s` cut to at most `max` bytes on a char boundary, marked when cut.
fn truncate_bytes(s: &str, max: usize) -> String {
    const MARK: &str = "… (truncated)";
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max.saturating_sub(MARK.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{MARK}", &s[..end])
}

fn call(
    shared: &Shared,
    py: Python<'_>,
    req: &pb::CallRequest,
    session: &str,
    callbacks: Option<&Arc<CallLink>>,
) -> Result<pb::CallResponse, Failure> {
    let kind = CallKind::try_from(req.kind).unwrap_or(CallKind::Unspecified);
    // Arguments in the host's arena are held from here: those the decoder
    // does not turn into Python objects go back when this call ends.
    let held = match shared.arena.get() {
        Some(arena) => arena.hold_all(req).map_err(|e| {
            bridge(
                ErrorCode::Serialization,
                format!("bad arena reference: {e}"),
            )
        })?,
        None => crate::arena::HeldArgs::default(),
    };
    let mut decoder = Decoder::new(
        py,
        DecodeContext {
            types: &shared.types,
            registry: &shared.registry,
            session,
            instance: shared.instance,
            ttl: shared.limits.ttl(),
            max_depth: shared.limits.max_depth,
            callbacks,
            held,
        },
    );
    let py_err = |e: PyErr| python_error(py, &shared.types, e);
    let result = match kind {
        CallKind::Unspecified => {
            return Err(bridge(
                ErrorCode::InvalidRequest,
                format!("call kind {} is not supported", req.kind),
            ));
        }
        CallKind::Function | CallKind::Construct => {
            require_name(req)?;
            let callee = resolve(shared, py, req).map_err(py_err)?;
            if kind == CallKind::Construct && !callee.is_instance_of::<PyType>() {
                return Err(bridge(
                    ErrorCode::NotAClass,
                    format!(
                        "{}.{} is not a class (it is a {}); call it as a function instead",
                        req.module,
                        req.name,
                        type_name(&callee)
                    ),
                ));
            }
            let (args, kwargs) = arguments(&mut decoder, req)?;
            callee.call(args, kwargs.as_ref()).map_err(py_err)?
        }
        CallKind::ModuleAttr => {
            no_arguments(req)?;
            resolve(shared, py, req).map_err(py_err)?
        }
        CallKind::Method => {
            require_name(req)?;
            let target = target(&decoder, req)?;
            let (args, kwargs) = arguments(&mut decoder, req)?;
            target
                .getattr(req.name.as_str())
                .and_then(|m| m.call(args, kwargs.as_ref()))
                .map_err(py_err)?
        }
        CallKind::GetAttr => {
            require_name(req)?;
            no_arguments(req)?;
            let target = target(&decoder, req)?;
            target.getattr(req.name.as_str()).map_err(py_err)?
        }
        CallKind::SetAttr => {
            require_name(req)?;
            let [value] = req.args.as_slice() else {
                return Err(bridge(
                    ErrorCode::InvalidRequest,
                    format!(
                        "SET_ATTR takes exactly one argument, got {}",
                        req.args.len()
                    ),
                ));
            };
            if !req.kwargs.is_empty() {
                return Err(bridge(
                    ErrorCode::InvalidRequest,
                    "SET_ATTR takes no keyword arguments",
                ));
            }
            let target = target(&decoder, req)?;
            let value = decoder.value(value)?;
            target.setattr(req.name.as_str(), value).map_err(py_err)?;
            py.None().into_bound(py)
        }
    };
    drop(decoder);
    // Results go to the worker's arena only when the host maps it (a plain
    // call to a local worker).
    let arena = shared
        .arena
        .get()
        .filter(|_| req.arena_results && callbacks.is_none());
    respond(shared, py, session, &result, arena)
}

/// Encodes `result`, checks the size, and commits the new refs.
fn respond(
    shared: &Shared,
    py: Python<'_>,
    session: &str,
    result: &Bound<'_, PyAny>,
    arena: Option<&crate::arena::WorkerArena>,
) -> Result<pb::CallResponse, Failure> {
    // A CallResponse is the value as field 1: tag, length, then the value.
    let value = encode_committed(shared, py, session, result, arena, |v| {
        prost::encoding::message::encoded_len(1, v)
    })?;
    Ok(pb::CallResponse {
        outcome: Some(Outcome::Value(value)),
    })
}

/// Encodes `result` gracefully, checks that `framed_len(&value)` fits the
/// message limit, and commits the new refs to `session`.
pub(crate) fn encode_committed(
    shared: &Shared,
    py: Python<'_>,
    session: &str,
    result: &Bound<'_, PyAny>,
    arena: Option<&crate::arena::WorkerArena>,
    framed_len: impl FnOnce(&pb::Value) -> usize,
) -> Result<pb::Value, Failure> {
    let max_refs = shared.limits.max_refs();
    let max_bytes = shared.limits.max_message_bytes();
    let encoder = Encoder::new(
        py,
        EncodeContext {
            types: &shared.types,
            registry: &shared.registry,
            session,
            instance: shared.instance,
            max_depth: shared.limits.max_depth,
            repr_limit: shared.limits.repr_limit,
            max_refs,
            max_bytes,
            arena,
        },
    );
    let mut encoded = match encoder.encode(result) {
        Ok(encoded) => encoded,
        Err(Abort::RefLimit) => {
            let held = shared.registry.count(session);
            return Err(ref_limit(session, max_refs, held));
        }
        Err(Abort::TooLarge(at_least)) => {
            return Err(too_large(at_least, max_bytes, "at least "));
        }
        Err(Abort::Python(e)) => {
            return Err(serialization(py, "cannot encode the result", &e));
        }
        Err(Abort::Depth | Abort::Cycle(_)) => {
            return Err(bridge(
                ErrorCode::Serialization,
                "internal error: an encode abort escaped the encoder",
            ));
        }
    };
    // Large payloads may travel beside the message (ADR 0012): only the
    // rest counts.
    let size = framed_len(&encoded.value)
        .saturating_sub(snakebridge_proto::payload::beside_len([&encoded.value]));
    if size > max_bytes {
        // `encoded.refs` is dropped here, attached: nothing was committed.
        encoded.abandon_slots();
        return Err(too_large(size, max_bytes, ""));
    }
    match shared.registry.commit(session, encoded.refs, max_refs) {
        Ok(()) => {
            if let Some(arena) = arena {
                arena.sent(encoded.slots);
            }
            Ok(encoded.value)
        }
        Err((refs, held)) => {
            drop(refs);
            for slot in encoded.slots {
                slot.abandon();
            }
            Err(ref_limit(session, max_refs, held))
        }
    }
}

fn ref_limit(session: &str, max: usize, held: usize) -> Failure {
    bridge(
        ErrorCode::RefLimit,
        format!(
            "session {session:?} would hold more than {max} refs ({held} held now): release refs \
             you no longer need (or drop their handles), release the session, or raise \
             max_refs_per_session"
        ),
    )
}

fn too_large(size: usize, limit: usize, qualifier: &str) -> Failure {
    Failure::Bridge(pb::BridgeError {
        code: ErrorCode::MessageTooLarge as i32,
        message: format!(
            "result of {qualifier}{size} bytes exceeds the maximum of {limit} bytes; return a \
             smaller value, keep the object in Python as a ref, or raise max_message_bytes"
        ),
        size: size as u64,
        limit: limit as u64,
        ..Default::default()
    })
}

fn require_name(req: &pb::CallRequest) -> Result<(), Failure> {
    if req.name.is_empty() {
        return Err(bridge(ErrorCode::InvalidRequest, "the call has no name"));
    }
    Ok(())
}

fn no_arguments(req: &pb::CallRequest) -> Result<(), Failure> {
    if req.args.is_empty() && req.kwargs.is_empty() {
        Ok(())
    } else {
        Err(bridge(
            ErrorCode::InvalidRequest,
            "an attribute read takes no arguments",
        ))
    }
}

fn target<'py>(
    decoder: &Decoder<'_, 'py>,
    req: &pb::CallRequest,
) -> Result<Bound<'py, PyAny>, Failure> {
    match &req.target {
        Some(handle) => decoder.resolve_ref(handle),
        None => Err(bridge(
            ErrorCode::InvalidRequest,
            "a method or attribute call needs a target ref",
        )),
    }
}

/// Decodes the positional and keyword arguments (keyword order kept).
fn arguments<'py>(
    decoder: &mut Decoder<'_, 'py>,
    req: &pb::CallRequest,
) -> Result<(Bound<'py, PyTuple>, Option<Bound<'py, PyDict>>), Failure> {
    let py = decoder.py();
    // One or two arguments (most calls) go straight into the tuple,
    // without a vector in between.
    let args = match req.args.as_slice() {
        [] => Ok(PyTuple::empty(py)),
        [a] => PyTuple::new(py, [decoder.value(a)?]),
        [a, b] => PyTuple::new(py, [decoder.value(a)?, decoder.value(b)?]),
        many => PyTuple::new(
            py,
            many.iter()
                .map(|v| decoder.value(v))
                .collect::<Result<Vec<_>, _>>()?,
        ),
    }
    .map_err(|e| serialization(py, "cannot build arguments", &e))?;
    if req.kwargs.is_empty() {
        return Ok((args, None));
    }
    let kwargs = PyDict::new(py);
    for kw in &req.kwargs {
        let Some(value) = &kw.value else {
            return Err(bridge(
                ErrorCode::Serialization,
                format!("keyword argument {:?} has no value", kw.name),
            ));
        };
        let value = decoder.value(value)?;
        kwargs
            .set_item(kw.name.as_str(), value)
            .map_err(|e| serialization(py, "cannot build keyword arguments", &e))?;
    }
    Ok((args, Some(kwargs)))
}

/// `module.name`, with `name` a dotted attribute path; an empty name is the
/// module itself.
fn resolve<'py>(
    shared: &Shared,
    py: Python<'py>,
    req: &pb::CallRequest,
) -> PyResult<Bound<'py, PyAny>> {
    // One name (the usual `module.function`): its interned string, found
    // with the module under one lock, or this thread's last lookup.
    let single = !req.name.is_empty() && !req.name.contains('.');
    if single && let Some((module, name)) = Last::get(shared, py, req) {
        return attribute(module.bind(py), &req.name, name.bind(py));
    }
    let (module, name) = {
        let lookups = shared.modules.lock();
        let module = lookups.modules.get(&req.module).map(|m| m.clone_ref(py));
        let name = single
            .then(|| lookups.names.get(&req.name).map(|n| n.clone_ref(py)))
            .flatten();
        (module, name)
    };
    let mut obj = match module {
        Some(module) => module.into_bound(py),
        None => import(shared, py, &req.module)?,
    };
    if req.name.is_empty() {
        return Ok(obj);
    }
    if single {
        let name = match name {
            Some(name) => {
                Last::set(shared, py, req, &obj, &name);
                name.into_bound(py)
            }
            None => intern(shared, py, &req.name),
        };
        return attribute(&obj, &req.name, &name);
    }
    for part in req.name.split('.') {
        obj = attribute(&obj, part, part)?;
    }
    Ok(obj)
}

thread_local! {
    /// This thread's last module and interned name found in an executor's
    /// [`Lookups`](crate::executor::Lookups): a loop calling one function
    /// skips the lock and the two hash lookups. It holds the same objects
    /// the lookups do, under the executor's `instance`; one entry, so what
    /// outlives the executor is one module and one name, until the thread
    /// resolves a call of another.
    static LAST: std::cell::RefCell<Option<Last>> = const { std::cell::RefCell::new(None) };
}

struct Last {
    instance: u64,
    module: String,
    name: String,
    module_obj: Py<PyAny>,
    name_obj: Py<PyString>,
}

impl Last {
    fn get(
        shared: &Shared,
        py: Python<'_>,
        req: &pb::CallRequest,
    ) -> Option<(Py<PyAny>, Py<PyString>)> {
        LAST.try_with(|last| {
            let last = last.borrow();
            let last = last.as_ref()?;
            (last.instance == shared.instance && last.name == req.name && last.module == req.module)
                .then(|| (last.module_obj.clone_ref(py), last.name_obj.clone_ref(py)))
        })
        .ok()
        .flatten()
    }

    fn set(
        shared: &Shared,
        py: Python<'_>,
        req: &pb::CallRequest,
        module: &Bound<'_, PyAny>,
        name: &Py<PyString>,
    ) {
        let module_obj = module.clone().unbind();
        let name_obj = name.clone_ref(py);
        // What this replaces is dropped after the borrow: a decref may run
        // Python code, which may resolve a call on this thread.
        let replaced = LAST.try_with(|last| {
            let mut last = last.borrow_mut();
            match last.as_mut() {
                Some(last) => {
                    last.instance = shared.instance;
                    last.module.clone_from(&req.module);
                    last.name.clone_from(&req.name);
                    Some((
                        std::mem::replace(&mut last.module_obj, module_obj),
                        std::mem::replace(&mut last.name_obj, name_obj),
                    ))
                }
                None => {
                    *last = Some(Last {
                        instance: shared.instance,
                        module: req.module.clone(),
                        name: req.name.clone(),
                        module_obj,
                        name_obj,
                    });
                    None
                }
            }
        });
        drop(replaced);
    }
}

/// `name` as an interned Python string, kept for the next calls (up to
/// `Lookups::MAX_NAMES` names).
fn intern<'py>(shared: &Shared, py: Python<'py>, name: &str) -> Bound<'py, PyString> {
    let interned = PyString::intern(py, name);
    let mut lookups = shared.modules.lock();
    if lookups.names.len() < crate::executor::Lookups::MAX_NAMES {
        let previous = lookups
            .names
            .insert(name.to_owned(), interned.clone().unbind());
        drop(lookups);
        drop(previous);
    }
    interned
}

/// `getattr(obj, key)`, `name` being `key` as text. For a plain module
/// (`type(obj) is ModuleType`) and a name that is not a dunder, the
/// module's dict is read first: what is there is what `getattr` answers
/// (only dunders of `ModuleType` and `object` could shadow it), without
/// the type's attribute lookup (which, for a name that is not interned,
/// misses CPython's type cache and walks the MRO: perf showed it,
/// docs/performance.md). Anything else, and a name not in the dict (a
/// module `__getattr__`, the error), goes through `getattr`.
fn attribute<'py, N>(obj: &Bound<'py, PyAny>, name: &str, key: N) -> PyResult<Bound<'py, PyAny>>
where
    N: IntoPyObject<'py, Target = PyString> + Copy,
{
    if !name.starts_with("__")
        && let Ok(module) = obj.cast_exact::<PyModule>()
        && let Some(found) = module.dict().get_item(key)?
    {
        return Ok(found);
    }
    obj.getattr(key)
}

/// `importlib.import_module(name)`, cached.
fn import<'py>(shared: &Shared, py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
    if let Some(module) = shared.modules.lock().modules.get(name) {
        return Ok(module.clone_ref(py).into_bound(py));
    }
    let module = shared.types.import_module.bind(py).call1((name,))?;
    let previous = shared
        .modules
        .lock()
        .modules
        .insert(name.to_owned(), module.clone().unbind());
    drop(previous);
    Ok(module)
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .qualname()
        .map_or_else(|_| "?".to_owned(), |s| s.to_string_lossy().into_owned())
}
