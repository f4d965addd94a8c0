//! Python's protocols on refs (`repr`, `str`, `len`, `in`, `[]`, `iter`),
//! context managers (`with_python`) and callback-style streaming.

use std::future::Future;

use snakebridge_proto::v1 as pb;

use crate::call::{Call, CallSpec};
use crate::convert::IntoValue;
use crate::error::{Error, Result};
use crate::stream::Stream;
use crate::value::Ref;
use crate::value::Value;

impl Ref {
    /// `module.function(*args)` in this ref's session, on its worker.
    fn builtin(&self, module: &str, function: &str, args: Vec<Value>) -> Call {
        self.call_on(
            CallSpec::module(pb::CallKind::Function, module, function, args)
                .with_near(self.inner.slot),
        )
    }

    /// `repr(obj)`, asked of Python now (the `Display` of a ref uses the
    /// short repr captured at creation instead).
    pub async fn repr(&self) -> Result<String> {
        self.builtin("builtins", "repr", vec![Value::Ref(self.clone())])
            .await?
            .extract()
    }

    /// `str(obj)`.
    pub async fn str_(&self) -> Result<String> {
        self.builtin("builtins", "str", vec![Value::Ref(self.clone())])
            .await?
            .extract()
    }

    /// `len(obj)`.
    pub async fn len(&self) -> Result<usize> {
        self.builtin("builtins", "len", vec![Value::Ref(self.clone())])
            .await?
            .extract()
    }

    /// `item in obj`.
    pub async fn contains(&self, item: impl IntoValue) -> Result<bool> {
        self.builtin(
            "operator",
            "contains",
            vec![Value::Ref(self.clone()), item.into_value()],
        )
        .await?
        .extract()
    }

    /// `obj[key]`.
    pub async fn getitem(&self, key: impl IntoValue) -> Result<Value> {
        self.builtin(
            "operator",
            "getitem",
            vec![Value::Ref(self.clone()), key.into_value()],
        )
        .await
    }

    /// `obj[key] = value`.
    pub async fn setitem(&self, key: impl IntoValue, value: impl IntoValue) -> Result<()> {
        self.builtin(
            "operator",
            "setitem",
            vec![
                Value::Ref(self.clone()),
                key.into_value(),
                value.into_value(),
            ],
        )
        .await
        .map(drop)
    }

    /// The items of `iter(obj)` (or of `aiter(obj)` for an async iterable),
    /// pulled lazily with a bounded prefetch window; see [`Stream`]. For a
    /// stream handle (a generator result) this iterates the generator itself.
    pub fn iter(&self) -> Stream {
        Stream::new(self.clone())
    }

    /// Whether `iter(obj)` (or `aiter(obj)`) would work: an object with
    /// `__iter__`, `__getitem__` or `__aiter__`.
    pub async fn is_iterable(&self) -> Result<bool> {
        for name in ["__iter__", "__aiter__", "__getitem__"] {
            let has: bool = self
                .builtin(
                    "builtins",
                    "hasattr",
                    vec![Value::Ref(self.clone()), name.into_value()],
                )
                .await?
                .extract()?;
            if has {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

impl Value {
    /// The value as a [`Stream`]: a stream handle (a generator result) or any
    /// other iterable ref. Exact values (lists, tuples) are already complete;
    /// this is an [`Error::Conversion`] for them.
    pub fn into_stream(self) -> Result<Stream> {
        match &self {
            Value::Stream(s) => Ok(s.iter()),
            Value::Ref(r) => Ok(r.iter()),
            other => Err(Error::Conversion {
                expected: "a stream handle or an iterable ref (exact values arrive complete)"
                    .into(),
                got: other.type_name().into(),
            }),
        }
    }
}

/// Runs `body` inside the Python context manager `cm`: calls `__enter__`,
/// passes its result to `body`, and always calls `__exit__` afterwards,
/// with `(None, None, None)` when the body succeeds and with the exception
/// when it fails.
///
/// When the body fails with a Python exception, `__exit__` gets that
/// exception's class and a new instance built from its message (the original
/// exception object stays in the worker that raised it; its traceback is in
/// the returned error) and `None` as the traceback; if the class cannot be
/// rebuilt that way, a `RuntimeError` with the same message. Any other error
/// becomes a Python `RuntimeError` carrying the error's message. The
/// body's error is returned even if `__exit__` returns true (there is no
/// value to return instead); an error raised by `__exit__` itself replaces it.
///
/// ```no_run
/// # async fn demo(py: &snakebridge::Bridge) -> snakebridge::Result<()> {
/// use snakebridge::{args, with_python};
/// let lock = py.call("threading", "Lock", args![]).await?.into_ref()?;
/// let held: bool = with_python(&lock, |_entered| {
///     let lock = lock.clone();
///     async move { lock.method("locked", args![]).await?.extract() }
/// })
/// .await?;
/// assert!(held);
/// # Ok(()) }
/// ```
pub async fn with_python<T, F, Fut>(cm: &Ref, body: F) -> Result<T>
where
    F: FnOnce(Value) -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let entered = cm.method("__enter__", Vec::new()).await?;
    let result = body(entered).await;
    let (result, exit) = exit(cm, result).await;
    exit?;
    result
}

/// Calls `cm.__exit__` for the body's `result`; answers the result and the
/// outcome of `__exit__`.
pub(crate) async fn exit<T>(cm: &Ref, result: Result<T>) -> (Result<T>, Result<()>) {
    let exit_args = match &result {
        Ok(_) => Ok(vec![Value::None, Value::None, Value::None]),
        Err(e) => exception_for(cm, e).await,
    };
    let exit = match exit_args {
        Ok(args) => cm.method("__exit__", args).await.map(drop),
        Err(e) => Err(e),
    };
    (result, exit)
}

/// `[type, value, None]` for `__exit__`, on the context manager's worker.
async fn exception_for(cm: &Ref, error: &Error) -> Result<Vec<Value>> {
    if let Some(e) = error.python() {
        let class = cm
            .call_on(
                CallSpec::module(
                    pb::CallKind::ModuleAttr,
                    &e.module,
                    &e.type_name,
                    Vec::new(),
                )
                .with_near(cm.inner.slot),
            )
            .await;
        if let Ok(Value::Ref(class)) = &class {
            let value = class
                .method("__call__", vec![Value::Str(e.message.clone())])
                .await;
            if let Ok(value @ Value::Ref(_)) = value {
                return Ok(vec![Value::Ref(class.clone()), value, Value::None]);
            }
        }
    }
    let runtime_error = cm
        .builtin(
            "builtins",
            "RuntimeError",
            vec![Value::Str(error_message(error))],
        )
        .await?;
    let class = cm
        .call_on(
            CallSpec::module(
                pb::CallKind::ModuleAttr,
                "builtins",
                "RuntimeError",
                Vec::new(),
            )
            .with_near(cm.inner.slot),
        )
        .await?;
    Ok(vec![class, runtime_error, Value::None])
}

fn error_message(error: &Error) -> String {
    match error.python() {
        Some(e) => e.message.clone(),
        None => error.to_string(),
    }
}
