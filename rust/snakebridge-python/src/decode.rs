//! wire -> Python: arguments, the exact inverse of [`crate::encode`].

use std::time::Duration;

use num_bigint::BigInt;
use pyo3::IntoPyObjectExt;
use pyo3::prelude::*;
use pyo3::types::{
    PyByteArray, PyBytes, PyComplex, PyDate, PyDateTime, PyDelta, PyDict, PyFrozenSet, PyList,
    PySet, PyString, PyTime, PyTuple,
};
use snakebridge_proto::v1::{self as pb, ErrorCode, value::Kind};

use crate::pyerror::{Failure, bridge, ref_error, serialization};
use crate::registry::{Lookup, Registry};
use crate::types::Types;

/// What decoding the arguments of one call needs.
pub(crate) struct DecodeContext<'a> {
    pub(crate) types: &'a Types,
    pub(crate) registry: &'a Registry,
    /// The session of the call: refs must belong to it.
    pub(crate) session: &'a str,
    pub(crate) instance: u64,
    pub(crate) ttl: Option<Duration>,
    pub(crate) max_depth: usize,
    /// The callback link of a `CallDuplex` call; `None` for plain calls,
    /// where a callback handle is an error.
    pub(crate) callbacks: Option<&'a std::sync::Arc<crate::callback::CallLink>>,
    /// The request's payloads in the host's arena (ADR 0010), held.
    pub(crate) held: crate::arena::HeldArgs,
}

/// Decodes the values of one call.
pub(crate) struct Decoder<'a, 'py> {
    py: Python<'py>,
    ctx: DecodeContext<'a>,
    depth: usize,
}

type Decoded<'py> = Result<Bound<'py, PyAny>, Failure>;

impl<'a, 'py> Decoder<'a, 'py> {
    pub(crate) fn new(py: Python<'py>, ctx: DecodeContext<'a>) -> Self {
        Self { py, ctx, depth: 0 }
    }

    pub(crate) fn py(&self) -> Python<'py> {
        self.py
    }

    /// The live object of a ref handle, checked against this worker instance
    /// and the call's session.
    pub(crate) fn resolve_ref(&self, handle: &pb::RefHandle) -> Decoded<'py> {
        let ctx = &self.ctx;
        if handle.worker_instance != ctx.instance {
            return Err(ref_error(
                ErrorCode::StaleRef,
                format!(
                    "ref {} was created by another worker instance (the worker restarted); \
                     the object is gone",
                    handle.id
                ),
                handle.id,
                &handle.session_id,
            ));
        }
        if handle.session_id != ctx.session {
            return Err(ref_error(
                ErrorCode::SessionMismatch,
                format!(
                    "ref {} belongs to session {:?} but the call runs in session {:?}; \
                     refs can only be used in the session that created them",
                    handle.id, handle.session_id, ctx.session
                ),
                handle.id,
                &handle.session_id,
            ));
        }
        match ctx
            .registry
            .get(self.py, &handle.session_id, handle.id, ctx.ttl)
        {
            Ok(obj) => Ok(obj.into_bound(self.py)),
            Err(Lookup::NotFound) => Err(ref_error(
                ErrorCode::RefNotFound,
                format!(
                    "ref {} not found in session {:?}: it was released, expired, or never \
                     created in this session",
                    handle.id, handle.session_id
                ),
                handle.id,
                &handle.session_id,
            )),
        }
    }

    /// Decodes one value.
    ///
    /// The recursive path (`value` -> `sequence`/`dict` -> `value`) is kept
    /// to small functions: deep arguments must not overflow a 2 MiB thread
    /// stack even in debug builds.
    pub(crate) fn value(&mut self, v: &pb::Value) -> Decoded<'py> {
        match &v.kind {
            Some(Kind::List(seq)) => self.sequence(Seq::List, &seq.items),
            Some(Kind::Tuple(seq)) => self.sequence(Seq::Tuple, &seq.items),
            Some(Kind::Set(seq)) => self.sequence(Seq::Set, &seq.items),
            Some(Kind::Frozenset(seq)) => self.sequence(Seq::Frozenset, &seq.items),
            Some(Kind::Dict(dict)) => self.dict(dict),
            Some(kind) => self.leaf(kind),
            None => Err(bridge(
                ErrorCode::Serialization,
                "a Value has no kind set (sent by a newer or broken host?)",
            )),
        }
    }

    /// Decodes a value that holds no other values.
    #[inline(never)]
    fn leaf(&mut self, kind: &Kind) -> Decoded<'py> {
        let py = self.py;
        let obj = match kind {
            Kind::None(_) => py.None().into_bound(py),
            Kind::Bool(b) => wrap(py, *b)?,
            Kind::Int(i) => wrap(py, *i)?,
            Kind::BigInt(b) => wrap(py, BigInt::from_signed_bytes_le(&b.le_bytes))?,
            Kind::Float(f) => wrap(py, *f)?,
            Kind::Str(s) => PyString::new(py, s).into_any(),
            Kind::Bytes(b) => PyBytes::new(py, b).into_any(),
            // Python's bytes own their storage: copied, and the slot released.
            Kind::SharedBytes(r) => PyBytes::new(py, self.held(r)?.as_ref()).into_any(),
            // The transport puts payloads sent beside a message back in
            // before it decodes (ADR 0012).
            Kind::SpilledBytes(_) => return Err(not_restored()),
            // Absent parts (from a peer that left out zeros) are 0.0.
            Kind::Complex(c) => {
                PyComplex::from_doubles(py, c.real.unwrap_or(0.0), c.imag.unwrap_or(0.0)).into_any()
            }
            Kind::Datetime(dt) => self.datetime(dt)?,
            Kind::Date(d) => date(py, d)?,
            Kind::Time(t) => {
                let tz = self.tz(t.tz.as_ref())?;
                time(py, t, tz.as_ref())?
            }
            Kind::Timedelta(td) => timedelta(py, td)?,
            Kind::Decimal(s) => self
                .ctx
                .types
                .decimal
                .bind(py)
                .call1((s.as_str(),))
                .map_err(|e| serialization(py, "invalid decimal", &e))?,
            Kind::Ndarray(a) => self.ndarray(a)?,
            Kind::Ref(handle) => self.resolve_ref(handle)?,
            Kind::Stream(stream) => match &stream.r#ref {
                Some(handle) => self.resolve_ref(handle)?,
                None => {
                    return Err(bridge(
                        ErrorCode::Serialization,
                        "a stream handle without its ref",
                    ));
                }
            },
            Kind::Callback(cb) => match self.ctx.callbacks {
                Some(link) => Bound::new(py, crate::callback::RustCallback::new(cb.id, link))
                    .map(Bound::into_any)
                    .map_err(|e| serialization(py, "cannot build a callback", &e))?,
                None => {
                    return Err(bridge(
                        ErrorCode::InvalidRequest,
                        "a callback handle is only valid in a CallDuplex call",
                    ));
                }
            },
            Kind::List(_) | Kind::Tuple(_) | Kind::Set(_) | Kind::Frozenset(_) | Kind::Dict(_) => {
                return Err(bridge(
                    ErrorCode::Serialization,
                    "internal error: a container reached the leaf decoder",
                ));
            }
        };
        Ok(obj)
    }

    /// Enters one nesting level, enforcing the depth limit.
    fn enter(&mut self) -> Result<(), Failure> {
        if self.depth >= self.ctx.max_depth {
            return Err(bridge(
                ErrorCode::Serialization,
                format!(
                    "argument nested deeper than the maximum of {} levels",
                    self.ctx.max_depth
                ),
            ));
        }
        self.depth += 1;
        Ok(())
    }

    fn sequence(&mut self, seq: Seq, items: &[pb::Value]) -> Decoded<'py> {
        self.enter()?;
        let decoded = self.items(items);
        self.depth -= 1;
        build_sequence(self.py, seq, decoded?)
    }

    fn items(&mut self, items: &[pb::Value]) -> Result<Vec<Bound<'py, PyAny>>, Failure> {
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            out.push(self.value(item)?);
        }
        Ok(out)
    }

    fn dict(&mut self, dict: &pb::Dict) -> Decoded<'py> {
        self.enter()?;
        let out = PyDict::new(self.py);
        let result = self.entries(&out, &dict.entries);
        self.depth -= 1;
        result.map(|()| out.into_any())
    }

    fn entries(
        &mut self,
        out: &Bound<'py, PyDict>,
        entries: &[pb::DictEntry],
    ) -> Result<(), Failure> {
        for entry in entries {
            let key = self.entry_part(entry.key.as_ref(), "key")?;
            let value = self.entry_part(entry.value.as_ref(), "value")?;
            set_entry(out, key, value)?;
        }
        Ok(())
    }

    fn entry_part(&mut self, v: Option<&pb::Value>, what: &str) -> Decoded<'py> {
        match v {
            Some(v) => self.value(v),
            None => Err(bridge(
                ErrorCode::Serialization,
                format!("a dict entry has no {what}"),
            )),
        }
    }

    fn datetime(&mut self, dt: &pb::DateTime) -> Decoded<'py> {
        let py = self.py;
        let missing = |what| {
            bridge(
                ErrorCode::Serialization,
                format!("a datetime has no {what}"),
            )
        };
        let d = dt.date.as_ref().ok_or_else(|| missing("date"))?;
        let t = dt.time.as_ref().ok_or_else(|| missing("time"))?;
        let tz = self.tz(t.tz.as_ref())?;
        PyDateTime::new_with_fold(
            py,
            d.year,
            narrow(d.month, "month")?,
            narrow(d.day, "day")?,
            narrow(t.hour, "hour")?,
            narrow(t.minute, "minute")?,
            narrow(t.second, "second")?,
            t.microsecond,
            tz.as_ref()
                .map(|tz| tz.cast::<pyo3::types::PyTzInfo>())
                .transpose()
                .map_err(|e| bridge(ErrorCode::Serialization, format!("invalid tzinfo: {e}")))?,
            t.fold != 0,
        )
        .map(Bound::into_any)
        .map_err(|e| serialization(py, "invalid datetime", &e))
    }

    /// The tzinfo object of a wire tz (`None` when naive).
    fn tz(&mut self, tz: Option<&pb::TzInfo>) -> Result<Option<Bound<'py, PyAny>>, Failure> {
        use pb::tz_info::Kind as Tz;
        let py = self.py;
        let Some(tz) = tz else { return Ok(None) };
        let obj = match &tz.kind {
            None => {
                return Err(bridge(ErrorCode::Serialization, "a TzInfo has no kind set"));
            }
            Some(Tz::Fixed(f)) => {
                let offset = delta_from_us(py, f.offset_us)?;
                let timezone = self.ctx.types.timezone.bind(py);
                match &f.name {
                    Some(name) => timezone.call1((offset, name.as_str())),
                    None => timezone.call1((offset,)),
                }
                .map_err(|e| serialization(py, "invalid fixed offset", &e))?
            }
            Some(Tz::Zone(key)) => self
                .ctx
                .types
                .zoneinfo
                .bind(py)
                .call1((key.as_str(),))
                .map_err(|e| serialization(py, "unknown time zone", &e))?,
        };
        Ok(Some(obj))
    }

    /// The held payload of an arena reference of this request.
    fn held(&mut self, r: &pb::ArenaRef) -> Result<snakebridge_proto::arena::Held, Failure> {
        self.ctx.held.take(r).ok_or_else(|| {
            bridge(
                ErrorCode::Serialization,
                "an arena reference this worker does not hold (no arena, or named twice)",
            )
        })
    }

    fn ndarray(&mut self, a: &pb::NdArray) -> Decoded<'py> {
        let py = self.py;
        let np = self.ctx.types.numpy_import(py).map_err(|_| {
            bridge(
                ErrorCode::Serialization,
                "numpy is not installed in the worker's Python environment",
            )
        })?;
        let module = np.module.bind(py);
        if a.spilled.is_some() {
            return Err(not_restored());
        }
        let shared = match &a.shared {
            Some(r) => Some(crate::arena::ArenaView::new(self.held(r)?)),
            None => None,
        };
        let build = || -> PyResult<Bound<'py, PyAny>> {
            let dtype = if a.dtype.starts_with('[') {
                // A structured dtype, as the .npy format describes it.
                let descr = py
                    .import(pyo3::intern!(py, "ast"))?
                    .call_method1(pyo3::intern!(py, "literal_eval"), (a.dtype.as_str(),))?;
                py.import(pyo3::intern!(py, "numpy.lib.format"))?
                    .call_method1(pyo3::intern!(py, "descr_to_dtype"), (descr,))?
            } else {
                module.call_method1(pyo3::intern!(py, "dtype"), (a.dtype.as_str(),))?
            };
            let shape = PyTuple::new(py, &a.shape)?;
            let array = if let Some(view) = shared {
                // A writable view of the host's slot, whose base releases
                // the slot when Python frees the last view (ADR 0010).
                let view = Bound::new(py, view)?;
                module
                    .getattr(pyo3::intern!(py, "ndarray"))?
                    .call1((shape, dtype, view))?
            } else if a.data.is_empty() {
                module.call_method1(pyo3::intern!(py, "zeros"), (shape, dtype))?
            } else {
                let buffer = PyByteArray::new(py, &a.data);
                module
                    .call_method1(pyo3::intern!(py, "frombuffer"), (buffer, dtype))?
                    .call_method1(pyo3::intern!(py, "reshape"), (shape,))?
            };
            if a.scalar {
                array.get_item(PyTuple::empty(py))
            } else {
                Ok(array)
            }
        };
        build().map_err(|e| serialization(py, "invalid ndarray", &e))
    }
}

/// The container kinds of `Sequence` values.
#[derive(Clone, Copy)]
enum Seq {
    List,
    Tuple,
    Set,
    Frozenset,
}

#[inline(never)]
/// A payload reference that the transport should have resolved.
fn not_restored() -> Failure {
    bridge(
        ErrorCode::Serialization,
        "a payload sent beside the message was not put back in",
    )
}

fn build_sequence<'py>(py: Python<'py>, seq: Seq, items: Vec<Bound<'py, PyAny>>) -> Decoded<'py> {
    let built = match seq {
        Seq::List => PyList::new(py, items).map(Bound::into_any),
        Seq::Tuple => PyTuple::new(py, items).map(Bound::into_any),
        Seq::Set => PySet::new(py, items).map(Bound::into_any),
        Seq::Frozenset => PyFrozenSet::new(py, items).map(Bound::into_any),
    };
    built.map_err(|e| {
        let what = match seq {
            Seq::List => "cannot build a list",
            Seq::Tuple => "cannot build a tuple",
            Seq::Set => "cannot build a set",
            Seq::Frozenset => "cannot build a frozenset",
        };
        serialization(py, what, &e)
    })
}

#[inline(never)]
fn set_entry<'py>(
    out: &Bound<'py, PyDict>,
    key: Bound<'py, PyAny>,
    value: Bound<'py, PyAny>,
) -> Result<(), Failure> {
    out.set_item(key, value)
        .map_err(|e| serialization(out.py(), "cannot build a dict", &e))
}

fn timedelta<'py>(py: Python<'py>, td: &pb::TimeDelta) -> Decoded<'py> {
    let days = i32::try_from(td.days).map_err(|_| {
        bridge(
            ErrorCode::Serialization,
            format!("timedelta of {} days is out of range", td.days),
        )
    })?;
    PyDelta::new(py, days, td.seconds, td.microseconds, true)
        .map(Bound::into_any)
        .map_err(|e| serialization(py, "invalid timedelta", &e))
}

fn wrap<'py, T: IntoPyObjectExt<'py>>(py: Python<'py>, v: T) -> Decoded<'py> {
    v.into_bound_py_any(py).map_err(|e| ser(py, &e))
}

fn ser(py: Python<'_>, e: &PyErr) -> Failure {
    serialization(py, "cannot build an argument", e)
}

fn narrow(v: u32, what: &str) -> Result<u8, Failure> {
    u8::try_from(v).map_err(|_| bridge(ErrorCode::Serialization, format!("invalid {what} {v}")))
}

fn date<'py>(py: Python<'py>, d: &pb::Date) -> Decoded<'py> {
    PyDate::new(py, d.year, narrow(d.month, "month")?, narrow(d.day, "day")?)
        .map(Bound::into_any)
        .map_err(|e| serialization(py, "invalid date", &e))
}

fn time<'py>(py: Python<'py>, t: &pb::Time, tz: Option<&Bound<'py, PyAny>>) -> Decoded<'py> {
    let tz = tz
        .map(|tz| tz.cast::<pyo3::types::PyTzInfo>())
        .transpose()
        .map_err(|e| bridge(ErrorCode::Serialization, format!("invalid tzinfo: {e}")))?;
    PyTime::new_with_fold(
        py,
        narrow(t.hour, "hour")?,
        narrow(t.minute, "minute")?,
        narrow(t.second, "second")?,
        t.microsecond,
        tz,
        t.fold != 0,
    )
    .map(Bound::into_any)
    .map_err(|e| serialization(py, "invalid time", &e))
}

/// `timedelta(microseconds=us)`.
fn delta_from_us(py: Python<'_>, us: i64) -> Result<Bound<'_, PyDelta>, Failure> {
    let days = us.div_euclid(86_400_000_000);
    let rest = us.rem_euclid(86_400_000_000);
    let days = i32::try_from(days).map_err(|_| {
        bridge(
            ErrorCode::Serialization,
            format!("offset of {us} µs is out of range"),
        )
    })?;
    // rest < 86_400_000_000, so both parts fit in i32.
    let seconds = i32::try_from(rest / 1_000_000).unwrap_or(0);
    let micros = i32::try_from(rest % 1_000_000).unwrap_or(0);
    PyDelta::new(py, days, seconds, micros, true)
        .map_err(|e| serialization(py, "invalid offset", &e))
}
