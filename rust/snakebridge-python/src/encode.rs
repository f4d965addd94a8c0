//! Python -> wire: results, encoded "gracefully".
//!
//! Objects of an exact builtin (or datetime, Decimal, plain numpy) type become
//! `Value`s; everything else becomes a ref. New refs are only *pending* while
//! encoding: the caller commits them to the registry once the whole response
//! is known to be acceptable, so any rollback is just dropping them.

use std::collections::{HashMap, HashSet};

use rustc_hash::FxBuildHasher;

use bytes::Bytes;
use num_bigint::BigInt;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{
    PyBool, PyBytes, PyComplex, PyDate, PyDateAccess, PyDateTime, PyDelta, PyDeltaAccess, PyDict,
    PyFloat, PyFrozenSet, PyInt, PyList, PySet, PyString, PyTime, PyTimeAccess, PyTuple,
    PyTzInfoAccess,
};
use snakebridge_proto::v1::{self as pb, value::Kind};

use crate::types::{Numpy, Types};

/// The numpy dtype kinds that travel as raw buffers.
const PLAIN_DTYPE_KINDS: &str = "biufcSUmMV";

/// Why encoding stopped early.
#[derive(Debug)]
pub(crate) enum Abort {
    /// The container at this address was met again while being encoded.
    Cycle(usize),
    /// Nesting deeper than the limit.
    Depth,
    /// The session would hold more refs than allowed.
    RefLimit,
    /// The result is already larger than allowed (a lower bound, in bytes).
    TooLarge(usize),
    /// Python raised while the value was read.
    Python(PyErr),
}

impl From<PyErr> for Abort {
    fn from(e: PyErr) -> Self {
        Abort::Python(e)
    }
}

/// What one encode needs to know besides the object.
pub(crate) struct EncodeContext<'a> {
    pub(crate) types: &'a Types,
    pub(crate) registry: &'a crate::registry::Registry,
    pub(crate) session: &'a str,
    pub(crate) instance: u64,
    pub(crate) max_depth: usize,
    pub(crate) repr_limit: usize,
    /// How many refs the session may hold (what it holds now is counted
    /// when the encode makes its first ref: most results make none).
    pub(crate) max_refs: usize,
    pub(crate) max_bytes: usize,
    /// The worker's arena, when large payloads of this result may go there
    /// (ADR 0010).
    pub(crate) arena: Option<&'a crate::arena::WorkerArena>,
}

/// Bytes that frame one item of a list, tuple or set (its tag and length).
const ITEM_FRAMING: usize = 2;

/// Bytes that frame one dict entry: the entry's, its key's and its value's.
const ENTRY_FRAMING: usize = 6;

/// A ref created by this encode, not yet in the registry.
struct Pending {
    addr: usize,
    id: u64,
    obj: Py<PyAny>,
}

/// One encode of one result: memo, current path, created refs and depth.
pub(crate) struct Encoder<'a, 'py> {
    py: Python<'py>,
    ctx: EncodeContext<'a>,
    /// Objects that became refs (or stream handles) in this encode, by
    /// address.
    memo: HashMap<usize, Kind, FxBuildHasher>,
    /// Containers being encoded (the current path), by address.
    path: HashSet<usize, FxBuildHasher>,
    created: Vec<Pending>,
    depth: usize,
    /// A lower bound of the encoded size so far. Containers count the
    /// framing of all their items before encoding any (two bytes each, six
    /// for a dict entry), so that a result far over the limit is refused
    /// before it is built (issue 13: `list(range(30_000_000))` took 4.7 GB).
    approx_bytes: usize,
    /// Arena slots this encode filled (held for the host once sent).
    slots: Vec<snakebridge_proto::arena::Slot>,
    /// How many more refs the session may take, once the first ref asks.
    refs_left: Option<usize>,
}

/// A finished encode: the value, the refs to commit and the arena slots it
/// names.
pub(crate) struct Encoded {
    pub(crate) value: pb::Value,
    pub(crate) refs: crate::registry::NewRefs,
    pub(crate) slots: Vec<snakebridge_proto::arena::Slot>,
}

impl Encoded {
    /// Gives the arena slots back: the value will not be sent.
    pub(crate) fn abandon_slots(&mut self) {
        for slot in self.slots.drain(..) {
            slot.abandon();
        }
    }
}

impl<'a, 'py> Encoder<'a, 'py> {
    pub(crate) fn new(py: Python<'py>, ctx: EncodeContext<'a>) -> Self {
        Self {
            py,
            ctx,
            memo: HashMap::default(),
            path: HashSet::default(),
            created: Vec::new(),
            depth: 0,
            approx_bytes: 0,
            slots: Vec::new(),
            refs_left: None,
        }
    }

    /// Encodes `obj`; a result nested too deeply becomes one ref as a whole.
    pub(crate) fn encode(mut self, obj: &Bound<'py, PyAny>) -> Result<Encoded, Abort> {
        let mut value = pb::Value::default();
        match self.value(obj, &mut value) {
            Ok(()) => {}
            Err(Abort::Depth | Abort::Cycle(_)) => {
                self.rollback(0);
                for slot in self.slots.drain(..) {
                    slot.abandon();
                }
                self.path.clear();
                self.depth = 0;
                value = self.new_ref(obj)?;
            }
            Err(e) => {
                for slot in self.slots.drain(..) {
                    slot.abandon();
                }
                return Err(e);
            }
        }
        let refs = if self.created.is_empty() {
            crate::registry::NewRefs::default()
        } else {
            self.created.into_iter().map(|p| (p.id, p.obj)).collect()
        };
        Ok(Encoded {
            value,
            refs,
            slots: self.slots,
        })
    }

    fn add_bytes(&mut self, n: usize) -> Result<(), Abort> {
        self.approx_bytes = self.approx_bytes.saturating_add(n);
        if self.approx_bytes > self.ctx.max_bytes {
            Err(Abort::TooLarge(self.approx_bytes))
        } else {
            Ok(())
        }
    }

    /// Counts a payload of `len` bytes: one that may travel beside the
    /// message (ADR 0012) counts as the reference that replaces it.
    fn add_payload(&mut self, len: usize) -> Result<(), Abort> {
        if len >= snakebridge_proto::payload::BESIDE_MIN {
            self.add_bytes(32)
        } else {
            self.add_bytes(len)
        }
    }

    /// Encodes one object into `out`.
    ///
    /// The recursive path (`value` -> `container` -> `list`/`tuple`/`dict`/
    /// `set` -> `value`) writes into output slots and returns only small
    /// results, so that deep results fit a 2 MiB thread stack even in debug
    /// builds (big `Kind` temporaries on that path cost kilobytes a level).
    fn value(&mut self, obj: &Bound<'py, PyAny>, out: &mut pb::Value) -> Result<(), Abort> {
        if let Ok(list) = obj.cast_exact::<PyList>() {
            self.container(obj, out, |enc, out| enc.list(list, out))
        } else if let Ok(tuple) = obj.cast_exact::<PyTuple>() {
            self.container(obj, out, |enc, out| enc.tuple(tuple, out))
        } else if let Ok(dict) = obj.cast_exact::<PyDict>() {
            self.container(obj, out, |enc, out| enc.dict(dict, out))
        } else if obj.is_exact_instance_of::<PySet>() || obj.is_exact_instance_of::<PyFrozenSet>() {
            self.container(obj, out, |enc, out| enc.set(obj, out))
        } else {
            self.leaf(obj, out)
        }
    }

    fn list(&mut self, list: &Bound<'py, PyList>, out: &mut pb::Value) -> Result<(), Abort> {
        self.add_bytes(ITEM_FRAMING.saturating_mul(list.len()))?;
        let mut items = Vec::with_capacity(list.len());
        for item in list.iter() {
            self.push(&item, &mut items)?;
        }
        set_kind(out, Kind::List(pb::Sequence { items }));
        Ok(())
    }

    fn tuple(&mut self, tuple: &Bound<'py, PyTuple>, out: &mut pb::Value) -> Result<(), Abort> {
        self.add_bytes(ITEM_FRAMING.saturating_mul(tuple.len()))?;
        let mut items = Vec::with_capacity(tuple.len());
        for item in tuple.iter() {
            self.push(&item, &mut items)?;
        }
        set_kind(out, Kind::Tuple(pb::Sequence { items }));
        Ok(())
    }

    fn dict(&mut self, dict: &Bound<'py, PyDict>, out: &mut pb::Value) -> Result<(), Abort> {
        // `items()` is a snapshot: encoding may run Python code (repr) that
        // lets another thread mutate the dict.
        self.add_bytes(ENTRY_FRAMING.saturating_mul(dict.len()))?;
        let pairs = dict.items();
        let mut entries = Vec::with_capacity(pairs.len());
        for pair in pairs.iter() {
            let pair = pair.cast_into::<PyTuple>().map_err(PyErr::from)?;
            entries.push(pb::DictEntry {
                key: Some(pb::Value::default()),
                value: Some(pb::Value::default()),
            });
            let entry = entries.last_mut().map(|e| (&mut e.key, &mut e.value));
            let Some((Some(key), Some(value))) = entry else {
                unreachable!("an entry was just pushed");
            };
            self.value(&pair.get_item(0)?, key)?;
            self.value(&pair.get_item(1)?, value)?;
        }
        set_kind(out, Kind::Dict(pb::Dict { entries }));
        Ok(())
    }

    /// A set or frozenset (iterated from a snapshot, as dicts are).
    fn set(&mut self, set: &Bound<'py, PyAny>, out: &mut pb::Value) -> Result<(), Abort> {
        self.add_bytes(ITEM_FRAMING.saturating_mul(set.len()?))?;
        let members = set.try_iter()?.collect::<PyResult<Vec<_>>>()?;
        let mut items = Vec::with_capacity(members.len());
        for item in &members {
            self.push(item, &mut items)?;
        }
        let seq = pb::Sequence { items };
        let kind = if set.is_exact_instance_of::<PyFrozenSet>() {
            Kind::Frozenset(seq)
        } else {
            Kind::Set(seq)
        };
        set_kind(out, kind);
        Ok(())
    }

    /// Encodes `item` into a new last element of `items`.
    fn push(&mut self, item: &Bound<'py, PyAny>, items: &mut Vec<pb::Value>) -> Result<(), Abort> {
        items.push(pb::Value::default());
        match items.last_mut() {
            Some(slot) => self.value(item, slot),
            None => unreachable!("an item was just pushed"),
        }
    }

    /// Encodes an object that is not a container (or a memoized one).
    #[inline(never)]
    fn leaf(&mut self, obj: &Bound<'py, PyAny>, out: &mut pb::Value) -> Result<(), Abort> {
        let addr = obj.as_ptr() as usize;
        if let Some(kind) = self.memo.get(&addr) {
            let kind = kind.clone();
            if let Kind::Ref(h) = &kind {
                self.add_bytes(h.encoded_len_hint())?;
            } else if let Kind::Stream(s) = &kind
                && let Some(h) = &s.r#ref
            {
                self.add_bytes(h.encoded_len_hint())?;
            }
            out.kind = Some(kind);
            return Ok(());
        }
        self.add_bytes(2)?;
        out.kind = Some(self.leaf_kind(obj)?);
        Ok(())
    }

    fn leaf_kind(&mut self, obj: &Bound<'py, PyAny>) -> Result<Kind, Abort> {
        if obj.is_none() {
            return Ok(Kind::None(pb::NoneValue {}));
        }
        if let Ok(b) = obj.cast_exact::<PyBool>() {
            return Ok(Kind::Bool(b.is_true()));
        }
        if obj.is_exact_instance_of::<PyInt>() {
            return self.int(obj);
        }
        if let Ok(f) = obj.cast_exact::<PyFloat>() {
            // Eight bytes after its tag (`leaf` counted two).
            self.add_bytes(7)?;
            return Ok(Kind::Float(f.value()));
        }
        if let Ok(s) = obj.cast_exact::<PyString>() {
            return match s.to_str() {
                Ok(s) => {
                    self.add_bytes(s.len())?;
                    Ok(Kind::Str(s.to_owned()))
                }
                // Lone surrogates: no UTF-8 form.
                Err(_) => self.new_ref(obj).map(kind_of),
            };
        }
        if let Ok(b) = obj.cast_exact::<PyBytes>() {
            let data = b.as_bytes();
            if let Some(r) = self.write_to_arena(data.len(), |slot| {
                slot.as_mut_slice().copy_from_slice(data);
                Ok(())
            })? {
                self.add_bytes(16)?;
                return Ok(Kind::SharedBytes(r));
            }
            self.add_payload(data.len())?;
            return Ok(Kind::Bytes(Bytes::copy_from_slice(data)));
        }
        if let Ok(c) = obj.cast_exact::<PyComplex>() {
            return Ok(Kind::Complex(pb::Complex {
                real: Some(c.real()),
                imag: Some(c.imag()),
            }));
        }
        if let Some(kind) = self.datetime_like(obj)? {
            return Ok(kind);
        }
        if obj.get_type().is(self.ctx.types.decimal.bind(self.py)) {
            let s = obj.str()?.to_str()?.to_owned();
            self.add_bytes(s.len())?;
            return Ok(Kind::Decimal(s));
        }
        if let Some(np) = self.ctx.types.numpy_if_loaded(self.py)
            && let Some(kind) = self.ndarray(np, obj)?
        {
            return Ok(kind);
        }
        self.new_ref(obj).map(kind_of)
    }

    fn int(&mut self, obj: &Bound<'py, PyAny>) -> Result<Kind, Abort> {
        if let Ok(i) = obj.extract::<i64>() {
            // A zigzag varint after its tag (`leaf` counted one byte of it).
            let zigzag = ((i << 1) ^ (i >> 63)) as u64;
            self.add_bytes(prost::encoding::encoded_len_varint(zigzag) - 1)?;
            return Ok(Kind::Int(i));
        }
        let big: BigInt = obj.extract()?;
        let le_bytes = big.to_signed_bytes_le();
        self.add_bytes(le_bytes.len())?;
        Ok(Kind::BigInt(pb::BigInt {
            le_bytes: Bytes::from(le_bytes),
        }))
    }

    /// Encodes a container: detects cycles (the re-entered container becomes
    /// one ref as a whole) and enforces the depth limit.
    fn container(
        &mut self,
        obj: &Bound<'py, PyAny>,
        out: &mut pb::Value,
        body: impl FnOnce(&mut Self, &mut pb::Value) -> Result<(), Abort>,
    ) -> Result<(), Abort> {
        let addr = obj.as_ptr() as usize;
        if self.memo.contains_key(&addr) {
            return self.leaf(obj, out);
        }
        if self.path.contains(&addr) {
            return Err(Abort::Cycle(addr));
        }
        if self.depth >= self.ctx.max_depth {
            return Err(Abort::Depth);
        }
        self.add_bytes(2)?;
        self.depth += 1;
        self.path.insert(addr);
        let mark = self.created.len();
        let result = body(self, out);
        self.path.remove(&addr);
        self.depth -= 1;
        match result {
            Err(Abort::Cycle(at)) if at == addr => self.cycle_ref(obj, mark, out),
            other => other,
        }
    }

    /// Replaces the aborted encoding of a re-entered container by one ref.
    #[inline(never)]
    fn cycle_ref(
        &mut self,
        obj: &Bound<'py, PyAny>,
        mark: usize,
        out: &mut pb::Value,
    ) -> Result<(), Abort> {
        self.rollback(mark);
        *out = self.new_ref(obj)?;
        Ok(())
    }

    /// Forgets the refs created after the first `mark`.
    fn rollback(&mut self, mark: usize) {
        for p in self.created.drain(mark..) {
            self.memo.remove(&p.addr);
        }
    }

    /// Makes `obj` a (pending) ref of the session.
    fn new_ref(&mut self, obj: &Bound<'py, PyAny>) -> Result<pb::Value, Abort> {
        let ctx = &self.ctx;
        let refs_left = *self
            .refs_left
            .get_or_insert_with(|| ctx.max_refs.saturating_sub(ctx.registry.count(ctx.session)));
        if self.created.len() >= refs_left {
            return Err(Abort::RefLimit);
        }
        let ty = obj.get_type();
        let type_name = ty.qualname().map_or_else(|_| "?".to_owned(), py_string);
        let type_module = ty.module().map_or_else(|_| "?".to_owned(), py_string);
        let repr = match self.ctx.repr_limit {
            0 => String::new(),
            limit => match obj.repr() {
                Ok(r) => truncate(&r.to_string_lossy(), limit),
                Err(_) => format!("<{type_name} object>"),
            },
        };
        let id = self.ctx.registry.next_id();
        let handle = pb::RefHandle {
            id,
            session_id: self.ctx.session.to_owned(),
            worker_instance: self.ctx.instance,
            type_name,
            type_module,
            repr,
        };
        self.add_bytes(handle.encoded_len_hint())?;
        let addr = obj.as_ptr() as usize;
        let kind = match stream_kind(obj) {
            Some(is_async) => Kind::Stream(Box::new(pb::StreamHandle {
                r#ref: Some(handle),
                is_async,
            })),
            None => Kind::Ref(Box::new(handle)),
        };
        self.memo.insert(addr, kind.clone());
        self.created.push(Pending {
            addr,
            id,
            obj: obj.clone().unbind(),
        });
        Ok(pb::Value { kind: Some(kind) })
    }

    /// datetime, date, time, timedelta of the exact types; `None` for other
    /// objects. An aware value whose tzinfo has no exact form becomes a ref.
    fn datetime_like(&mut self, obj: &Bound<'py, PyAny>) -> Result<Option<Kind>, Abort> {
        if let Ok(dt) = obj.cast_exact::<PyDateTime>() {
            let Some(tz) = self.tz(dt.get_tzinfo())? else {
                return self.new_ref(obj).map(kind_of).map(Some);
            };
            let utc_offset_us = if tz.is_some() {
                let off = obj.call_method0(pyo3::intern!(self.py, "utcoffset"))?;
                Some(delta_us(off.cast::<PyDelta>().map_err(PyErr::from)?))
            } else {
                None
            };
            return Ok(Some(Kind::Datetime(Box::new(pb::DateTime {
                date: Some(pb::Date {
                    year: dt.get_year(),
                    month: dt.get_month().into(),
                    day: dt.get_day().into(),
                }),
                time: Some(pb::Time {
                    hour: dt.get_hour().into(),
                    minute: dt.get_minute().into(),
                    second: dt.get_second().into(),
                    microsecond: dt.get_microsecond(),
                    tz,
                    fold: dt.get_fold().into(),
                }),
                utc_offset_us,
            }))));
        }
        if let Ok(d) = obj.cast_exact::<PyDate>() {
            return Ok(Some(Kind::Date(pb::Date {
                year: d.get_year(),
                month: d.get_month().into(),
                day: d.get_day().into(),
            })));
        }
        if let Ok(t) = obj.cast_exact::<PyTime>() {
            let Some(tz) = self.tz(t.get_tzinfo())? else {
                return self.new_ref(obj).map(kind_of).map(Some);
            };
            return Ok(Some(Kind::Time(Box::new(pb::Time {
                hour: t.get_hour().into(),
                minute: t.get_minute().into(),
                second: t.get_second().into(),
                microsecond: t.get_microsecond(),
                tz,
                fold: t.get_fold().into(),
            }))));
        }
        if let Ok(d) = obj.cast_exact::<PyDelta>() {
            return Ok(Some(Kind::Timedelta(pb::TimeDelta {
                days: d.get_days().into(),
                seconds: d.get_seconds(),
                microseconds: d.get_microseconds(),
            })));
        }
        Ok(None)
    }

    /// The wire form of a tzinfo: `Some(None)` when naive, `Some(Some(_))`
    /// for `datetime.timezone` and `zoneinfo.ZoneInfo`, `None` for any other.
    #[allow(clippy::option_option)]
    fn tz(
        &mut self,
        tz: Option<Bound<'py, pyo3::types::PyTzInfo>>,
    ) -> Result<Option<Option<pb::TzInfo>>, Abort> {
        use pb::tz_info::Kind as Tz;
        let Some(tz) = tz else {
            return Ok(Some(None));
        };
        let py = self.py;
        let ty = tz.get_type();
        let kind = if ty.is(self.ctx.types.timezone.bind(py)) {
            let args = tz
                .call_method0(pyo3::intern!(py, "__getinitargs__"))?
                .cast_into::<PyTuple>()
                .map_err(PyErr::from)?;
            let offset = args.get_item(0)?;
            let offset_us = delta_us(offset.cast::<PyDelta>().map_err(PyErr::from)?);
            let name = if args.len() >= 2 {
                Some(args.get_item(1)?.extract::<String>()?)
            } else {
                None
            };
            Tz::Fixed(pb::FixedOffset { offset_us, name })
        } else if ty.is(self.ctx.types.zoneinfo.bind(py)) {
            match tz
                .getattr(pyo3::intern!(py, "key"))?
                .extract::<Option<String>>()?
            {
                Some(key) => Tz::Zone(key),
                // A ZoneInfo made from a file has no key to rebuild it from.
                None => return Ok(None),
            }
        } else {
            return Ok(None);
        };
        Ok(Some(Some(pb::TzInfo { kind: Some(kind) })))
    }

    /// A plain numpy array or scalar as an `NdArray`; `None` for anything else.
    fn ndarray(&mut self, np: &Numpy, obj: &Bound<'py, PyAny>) -> Result<Option<Kind>, Abort> {
        let py = self.py;
        let ty = obj.get_type();
        let is_array = ty.is(np.ndarray.bind(py));
        if !is_array && !obj.is_instance(np.generic.bind(py))? {
            return Ok(None);
        }
        let dtype = obj.getattr(pyo3::intern!(py, "dtype"))?;
        let structured = !dtype.getattr(pyo3::intern!(py, "fields"))?.is_none();
        if structured {
            // Records travel when no field holds Python objects.
            if dtype.getattr(pyo3::intern!(py, "hasobject"))?.is_truthy()? {
                return Ok(None);
            }
        } else {
            let kind: String = dtype.getattr(pyo3::intern!(py, "kind"))?.extract()?;
            if kind.len() != 1 || !PLAIN_DTYPE_KINDS.contains(kind.as_str()) {
                return Ok(None);
            }
        }
        // A scalar of a subclass of numpy's own scalar type has no exact form.
        if !is_array && !ty.is(&dtype.getattr(pyo3::intern!(py, "type"))?) {
            return Ok(None);
        }
        let dtype_str: String = if structured {
            // The .npy format's description: fields, offsets (padding as
            // unnamed void fields), byte orders and sub-arrays, exactly.
            let descr = py
                .import(pyo3::intern!(py, "numpy.lib.format"))?
                .call_method1(pyo3::intern!(py, "dtype_to_descr"), (&dtype,))?;
            descr.repr()?.extract()?
        } else {
            dtype.getattr(pyo3::intern!(py, "str"))?.extract()?
        };
        if is_array {
            let nbytes: usize = obj.getattr(pyo3::intern!(py, "nbytes"))?.extract()?;
            let shape = obj.getattr(pyo3::intern!(py, "shape"))?;
            let module = np.module.bind(py);
            let written = self.write_to_arena(nbytes, |slot| {
                // One pass from any layout (Fortran, strided, other byte
                // order kept) into a C-ordered array over the slot.
                let writer = Bound::new(py, crate::arena::SlotWriter::new(slot))?;
                let target = module
                    .getattr(pyo3::intern!(py, "ndarray"))?
                    .call1((&shape, &dtype, writer))?;
                module.call_method1(pyo3::intern!(py, "copyto"), (&target, obj))?;
                Ok(())
            })?;
            if let Some(r) = written {
                self.add_bytes(dtype_str.len() + 32)?;
                return Ok(Some(Kind::Ndarray(Box::new(pb::NdArray {
                    dtype: dtype_str,
                    shape: shape.extract()?,
                    data: Bytes::new(),
                    scalar: false,
                    shared: Some(r),
                    spilled: None,
                }))));
            }
        }
        let array = np
            .module
            .bind(py)
            .call_method1(pyo3::intern!(py, "ascontiguousarray"), (obj,))?;
        let shape: Vec<u64> = if is_array {
            obj.getattr(pyo3::intern!(py, "shape"))?.extract()?
        } else {
            Vec::new()
        };
        let nbytes: usize = array.getattr(pyo3::intern!(py, "nbytes"))?.extract()?;
        self.add_payload(nbytes)?;
        self.add_bytes(dtype_str.len())?;
        let data = contiguous_bytes(&array)?;
        Ok(Some(Kind::Ndarray(Box::new(pb::NdArray {
            dtype: dtype_str,
            shape,
            data,
            scalar: !is_array,
            shared: None,
            spilled: None,
        }))))
    }

    /// Copies a payload of `len` bytes into a slot of the worker's arena
    /// with `fill`, when the arena is on for this encode, the payload
    /// reaches its threshold and it has room; `None` otherwise (inline).
    fn write_to_arena(
        &mut self,
        len: usize,
        fill: impl FnOnce(&mut snakebridge_proto::arena::Slot) -> PyResult<()>,
    ) -> Result<Option<pb::ArenaRef>, Abort> {
        let Some(arena) = self.ctx.arena else {
            return Ok(None);
        };
        if len < arena.threshold {
            return Ok(None);
        }
        let Some(mut slot) = arena.alloc(len) else {
            return Ok(None);
        };
        match fill(&mut slot) {
            Ok(()) => {
                let r = slot.to_ref();
                self.slots.push(slot);
                Ok(Some(r))
            }
            Err(e) => {
                slot.abandon();
                Err(Abort::Python(e))
            }
        }
    }
}

/// The raw bytes of a C-contiguous numpy array, copied once through the
/// buffer protocol; arrays that refuse a plain buffer (datetime64) go through
/// `tobytes()`.
fn contiguous_bytes(array: &Bound<'_, PyAny>) -> PyResult<Bytes> {
    let mut view = std::mem::MaybeUninit::<ffi::Py_buffer>::zeroed();
    // SAFETY: `view` is a valid out-pointer; on success it is released below
    // exactly once, and `buf`/`len` describe memory owned by `array`, which
    // is alive (and the GIL held) for the whole copy.
    unsafe {
        if ffi::PyObject_GetBuffer(array.as_ptr(), view.as_mut_ptr(), ffi::PyBUF_SIMPLE) == 0 {
            let mut view = view.assume_init();
            let len = usize::try_from(view.len).unwrap_or(0);
            let data = if len == 0 || view.buf.is_null() {
                Bytes::new()
            } else {
                Bytes::copy_from_slice(std::slice::from_raw_parts(view.buf.cast::<u8>(), len))
            };
            ffi::PyBuffer_Release(&mut view);
            return Ok(data);
        }
        // Clear the BufferError and fall back.
        drop(PyErr::take(array.py()));
    }
    let bytes = array.call_method0(pyo3::intern!(array.py(), "tobytes"))?;
    let bytes = bytes.cast::<PyBytes>().map_err(PyErr::from)?;
    Ok(Bytes::copy_from_slice(bytes.as_bytes()))
}

/// Whether `obj` travels as a stream handle: `Some(false)` for a sync
/// iterator (a generator, `map`, `itertools.count`...), `Some(true)` for an
/// async iterator (an async generator), `None` for anything else. Iterators
/// that are also context managers (files, sockets) or containers (they have
/// `__len__`) stay plain refs: their other protocols matter more.
pub(crate) fn stream_kind(obj: &Bound<'_, PyAny>) -> Option<bool> {
    let py = obj.py();
    let ty = obj.get_type();
    let has = |name: &Bound<'_, PyString>| ty.hasattr(name).unwrap_or(false);
    // SAFETY: PyIter_Check only reads the type's tp_iternext slot.
    let sync = unsafe { ffi::PyIter_Check(obj.as_ptr()) } != 0;
    if sync {
        if has(pyo3::intern!(py, "__enter__")) || has(pyo3::intern!(py, "__len__")) {
            return None;
        }
        return Some(false);
    }
    if has(pyo3::intern!(py, "__anext__")) && !has(pyo3::intern!(py, "__aenter__")) {
        return Some(true);
    }
    None
}

#[inline(never)]
fn set_kind(out: &mut pb::Value, kind: Kind) {
    out.kind = Some(kind);
}

fn kind_of(v: pb::Value) -> Kind {
    v.kind.unwrap_or(Kind::None(pb::NoneValue {}))
}

fn py_string(s: Bound<'_, PyString>) -> String {
    s.to_string_lossy().into_owned()
}

/// A timedelta in microseconds.
fn delta_us(d: &Bound<'_, PyDelta>) -> i64 {
    i64::from(d.get_days()) * 86_400_000_000
        + i64::from(d.get_seconds()) * 1_000_000
        + i64::from(d.get_microseconds())
}

/// `s` cut to at most `limit` characters (on a char boundary), with "…"
/// appended when cut.
pub(crate) fn truncate(s: &str, limit: usize) -> String {
    match s.char_indices().nth(limit) {
        None => s.to_owned(),
        Some((at, _)) => format!("{}…", &s[..at]),
    }
}

/// A rough size of a message on the wire, for the early size check.
trait EncodedLenHint {
    fn encoded_len_hint(&self) -> usize;
}

impl EncodedLenHint for pb::RefHandle {
    fn encoded_len_hint(&self) -> usize {
        24 + self.session_id.len() + self.type_name.len() + self.type_module.len() + self.repr.len()
    }
}
