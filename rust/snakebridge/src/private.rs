//! Support for generated wrappers (`snakebridge-codegen`); the
//! process-wide default bridge they use is in `default_bridge.rs`.
//!
//! Generated code names only `::snakebridge::__private::*`, so users of
//! generated bindings depend on `snakebridge` alone. Nothing in
//! [`__private`] is a stable API for hand-written code.

/// The runtime-option methods of a generated call builder (a newtype over
/// `Pending` or `PendingStream`): `timeout`, `profile`, `pool` and
/// `affinity`, plus `session` for calls without a receiver. One line per
/// builder in generated code instead of forty.
#[doc(hidden)]
#[macro_export]
macro_rules! __wrapper_call_options {
    ($builder:ident) => {
        impl $builder {
            /// Stops the call after `timeout`, as `snakebridge::Call::timeout`
            /// (a Python parameter named `timeout` is `py_timeout`).
            pub fn timeout(mut self, timeout: ::core::time::Duration) -> Self {
                self.0.timeout(timeout);
                self
            }
            /// Uses the named timeout profile, as `snakebridge::Call::profile`.
            pub fn profile(
                mut self,
                name: impl ::core::convert::Into<::std::string::String>,
            ) -> Self {
                self.0.profile(name.into());
                self
            }
            /// Runs the call in the named pool, as `snakebridge::Call::pool`.
            pub fn pool(mut self, name: impl ::core::convert::Into<::std::string::String>) -> Self {
                self.0.pool(name.into());
                self
            }
            /// The affinity mode of this call, as `snakebridge::Call::affinity`.
            pub fn affinity(mut self, affinity: $crate::Affinity) -> Self {
                self.0.affinity(affinity);
                self
            }
        }
    };
    ($builder:ident, session) => {
        $crate::__wrapper_call_options!($builder);
        impl $builder {
            /// Runs the call in `session` (an explicit session of any bridge)
            /// instead of the default bridge's default session.
            pub fn session(mut self, session: &$crate::Session) -> Self {
                self.0.session(session);
                self
            }
        }
    };
}

/// What generated code uses. Not a stable API.
#[doc(hidden)]
pub mod __private {
    use std::future::{Future, IntoFuture};
    use std::marker::PhantomData;
    use std::pin::Pin;
    use std::time::Duration;

    pub use crate::__wrapper_call_options as call_options;
    pub use crate::default_bridge::default_bridge;
    pub use crate::{
        Affinity, Bytes, Call, Error, FromValue, IntoValue, Kwargs, Ref, Result, Session, Stream,
        TypedStream, Value,
    };

    /// The future of a generated call.
    pub type BoxFuture<T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'static>>;

    enum Target {
        Module(ModuleOp, &'static str, &'static str),
        Ref(RefOp, Ref, &'static str),
    }

    enum ModuleOp {
        Call,
        Construct,
        Get,
    }

    enum RefOp {
        Method,
        Attr,
        SetAttr(Value),
    }

    /// An optional positional parameter: its name and its default, when
    /// the default has a value form (needed to fill gaps before later ones).
    struct OptionalArg {
        name: &'static str,
        default: Option<Value>,
        value: Option<Value>,
    }

    /// Per-call runtime options, applied as [`Call`]'s methods.
    #[derive(Default)]
    struct Options {
        timeout: Option<Duration>,
        profile: Option<String>,
        pool: Option<String>,
        affinity: Option<Affinity>,
    }

    impl Options {
        fn apply(self, mut call: Call) -> Call {
            if let Some(timeout) = self.timeout {
                call = call.timeout(timeout);
            }
            if let Some(profile) = self.profile {
                call = call.profile(profile);
            }
            if let Some(pool) = self.pool {
                call = call.pool(pool);
            }
            if let Some(affinity) = self.affinity {
                call = call.affinity(affinity);
            }
            call
        }
    }

    /// A call being built by a generated wrapper; resolves to `T`.
    #[must_use = "a call does nothing until it is awaited"]
    pub struct Pending<T> {
        target: Target,
        args: Vec<Value>,
        optionals: Vec<OptionalArg>,
        extra_args: Vec<Value>,
        kwargs: Kwargs,
        session: Option<Session>,
        options: Options,
        output: PhantomData<fn() -> T>,
    }

    impl<T> Pending<T> {
        fn new(target: Target, args: Vec<Value>) -> Self {
            Pending {
                target,
                args,
                optionals: Vec::new(),
                extra_args: Vec::new(),
                kwargs: Kwargs::new(),
                session: None,
                options: Options::default(),
                output: PhantomData,
            }
        }

        /// `module.name(*args)`; `name` may be dotted (`Class.method`).
        pub fn function(module: &'static str, name: &'static str, args: Vec<Value>) -> Self {
            Pending::new(Target::Module(ModuleOp::Call, module, name), args)
        }

        /// `module.Class(*args)`.
        pub fn construct(module: &'static str, class: &'static str, args: Vec<Value>) -> Self {
            Pending::new(Target::Module(ModuleOp::Construct, module, class), args)
        }

        /// `module.name`.
        pub fn get(module: &'static str, name: &'static str) -> Self {
            Pending::new(Target::Module(ModuleOp::Get, module, name), Vec::new())
        }

        /// `target.name(*args)`.
        pub fn method(target: &Ref, name: &'static str, args: Vec<Value>) -> Self {
            Pending::new(Target::Ref(RefOp::Method, target.clone(), name), args)
        }

        /// `target.name`.
        pub fn attr(target: &Ref, name: &'static str) -> Self {
            Pending::new(Target::Ref(RefOp::Attr, target.clone(), name), Vec::new())
        }

        /// `target.name = value`.
        pub fn set_attr(target: &Ref, name: &'static str, value: Value) -> Self {
            Pending::new(
                Target::Ref(RefOp::SetAttr(value), target.clone(), name),
                Vec::new(),
            )
        }

        /// Declares the optional positional parameters, in order.
        pub fn optionals(mut self, optionals: Vec<(&'static str, Option<Value>)>) -> Self {
            self.optionals = optionals
                .into_iter()
                .map(|(name, default)| OptionalArg {
                    name,
                    default,
                    value: None,
                })
                .collect();
            self
        }

        /// Sets optional positional parameter `index`.
        pub fn set_optional(&mut self, index: usize, value: impl IntoValue) {
            self.optionals[index].value = Some(value.into_value());
        }

        /// Adds a keyword argument.
        pub fn kwarg(&mut self, name: &str, value: impl IntoValue) {
            self.kwargs.push(name, value);
        }

        /// Adds keyword arguments (`**kwargs`).
        pub fn extend_kwargs(&mut self, kwargs: Kwargs) {
            for (name, value) in kwargs {
                self.kwargs.push(name, value);
            }
        }

        /// Adds extra positional arguments (`*args`).
        pub fn extend_args<V: IntoValue>(&mut self, values: impl IntoIterator<Item = V>) {
            self.extra_args
                .extend(values.into_iter().map(IntoValue::into_value));
        }

        /// Runs the call in `session` instead of the default bridge's.
        pub fn session(&mut self, session: &Session) {
            self.session = Some(session.clone());
        }

        /// See [`Call::timeout`].
        pub fn timeout(&mut self, timeout: Duration) {
            self.options.timeout = Some(timeout);
        }

        /// See [`Call::profile`].
        pub fn profile(&mut self, name: String) {
            self.options.profile = Some(name);
        }

        /// See [`Call::pool`].
        pub fn pool(&mut self, name: String) {
            self.options.pool = Some(name);
        }

        /// See [`Call::affinity`].
        pub fn affinity(&mut self, affinity: Affinity) {
            self.options.affinity = Some(affinity);
        }

        /// The positional arguments: required ones, the optional ones up to
        /// the last one set (gaps filled with defaults), then `*args`.
        fn positional(&mut self) -> Result<Vec<Value>> {
            let mut args = std::mem::take(&mut self.args);
            let last = if self.extra_args.is_empty() {
                self.optionals.iter().rposition(|s| s.value.is_some())
            } else {
                self.optionals.len().checked_sub(1)
            };
            if let Some(last) = last {
                for optional in self.optionals.drain(..=last) {
                    match optional.value.or(optional.default) {
                        Some(v) => args.push(v),
                        None => {
                            return Err(Error::InvalidRequest(format!(
                                "positional parameter `{}` has a default without a value form; \
                                 set it explicitly to pass later positional arguments",
                                optional.name
                            )));
                        }
                    }
                }
            }
            args.append(&mut self.extra_args);
            Ok(args)
        }

        fn into_call(mut self) -> Result<Call> {
            let args = self.positional()?;
            let call = match self.target {
                Target::Ref(RefOp::Method, r, n) => r.method(n, args),
                Target::Ref(RefOp::Attr, r, n) => r.attr(n),
                Target::Ref(RefOp::SetAttr(v), r, n) => r.set_attr(n, v),
                Target::Module(op, m, n) => {
                    let session = match self.session.take() {
                        Some(session) => session,
                        None => default_bridge()?.default_session().clone(),
                    };
                    match op {
                        ModuleOp::Call => session.call(m, n, args),
                        ModuleOp::Construct => session.construct(m, n, args),
                        ModuleOp::Get => session.get(m, n),
                    }
                }
            };
            Ok(self.options.apply(call.kwargs(self.kwargs)))
        }
    }

    impl<T: FromValue + Send + 'static> IntoFuture for Pending<T> {
        type Output = Result<T>;
        type IntoFuture = BoxFuture<T>;

        fn into_future(self) -> Self::IntoFuture {
            Box::pin(async move { self.into_call()?.await?.extract::<T>() })
        }
    }

    /// The pending call of a generated `_stream` wrapper (a function listed
    /// under `streaming` in snakebridge.toml): the same arguments as
    /// [`Pending`], plus the prefetch window; resolves to the
    /// [`TypedStream`] of the result's items (converted to `T`, the element
    /// type of the function's return annotation, else [`Value`]), delivered
    /// the way [`Bridge::stream`](crate::Bridge::stream) delivers them: a
    /// generator or any other iterable object lazily, a list, tuple, set or
    /// frozenset its elements, any other result (a number, a str, a dict, a
    /// non-iterable object) as one item.
    #[must_use = "a call does nothing until it is awaited"]
    pub struct PendingStream<T = Value> {
        call: Pending<Value>,
        window: Option<usize>,
        item: PhantomData<fn() -> T>,
    }

    impl<T> PendingStream<T> {
        /// `module.name(*args)`, streamed.
        pub fn function(module: &'static str, name: &'static str, args: Vec<Value>) -> Self {
            PendingStream {
                call: Pending::function(module, name, args),
                window: None,
                item: PhantomData,
            }
        }
        /// See [`Pending::optionals`].
        pub fn optionals(mut self, optionals: Vec<(&'static str, Option<Value>)>) -> Self {
            self.call = self.call.optionals(optionals);
            self
        }

        /// See [`Pending::set_optional`].
        pub fn set_optional(&mut self, index: usize, value: impl IntoValue) {
            self.call.set_optional(index, value);
        }

        /// See [`Pending::kwarg`].
        pub fn kwarg(&mut self, name: &str, value: impl IntoValue) {
            self.call.kwarg(name, value);
        }

        /// See [`Pending::extend_kwargs`].
        pub fn extend_kwargs(&mut self, kwargs: Kwargs) {
            self.call.extend_kwargs(kwargs);
        }

        /// See [`Pending::extend_args`].
        pub fn extend_args<V: IntoValue>(&mut self, values: impl IntoIterator<Item = V>) {
            self.call.extend_args(values);
        }

        /// See [`Pending::session`].
        pub fn session(&mut self, session: &Session) {
            self.call.session(session);
        }

        /// See [`Call::timeout`].
        pub fn timeout(&mut self, timeout: Duration) {
            self.call.timeout(timeout);
        }

        /// See [`Call::profile`].
        pub fn profile(&mut self, name: String) {
            self.call.profile(name);
        }

        /// See [`Call::pool`].
        pub fn pool(&mut self, name: String) {
            self.call.pool(name);
        }

        /// See [`Call::affinity`].
        pub fn affinity(&mut self, affinity: Affinity) {
            self.call.affinity(affinity);
        }

        /// The prefetch window of the stream (see [`Stream::window`]).
        pub fn window(&mut self, items: usize) {
            self.window = Some(items);
        }
    }

    impl<T: FromValue + Send + 'static> IntoFuture for PendingStream<T> {
        type Output = Result<TypedStream<T>>;
        type IntoFuture = BoxFuture<TypedStream<T>>;

        fn into_future(self) -> Self::IntoFuture {
            let window = self.window;
            Box::pin(async move {
                let value = self.call.into_call()?.await?;
                let items = TypedStream::of_result(value).await?;
                Ok(match window {
                    Some(items_ahead) => items.window(items_ahead),
                    None => items,
                })
            })
        }
    }

    /// One search result of a generated module's `search`.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct SearchHit {
        /// The Python name.
        pub name: &'static str,
        /// `"function"` or `"class"`.
        pub kind: &'static str,
        /// The first line of its docstring.
        pub summary: &'static str,
        /// 3 exact, 2 prefix, 1 substring (case-insensitive).
        pub rank: u8,
    }

    /// Ranks names against `query`: exact > prefix > substring, then by name.
    pub fn search(
        functions: &'static [(&'static str, &'static str)],
        classes: &'static [(&'static str, &'static str)],
        query: &str,
    ) -> Vec<SearchHit> {
        let query = query.to_lowercase();
        let all = functions
            .iter()
            .map(|e| (e, "function"))
            .chain(classes.iter().map(|e| (e, "class")));
        let mut hits: Vec<SearchHit> = all
            .filter_map(|(&(name, summary), kind)| {
                let lower = name.to_lowercase();
                let rank = if lower == query {
                    3
                } else if lower.starts_with(&query) {
                    2
                } else if lower.contains(&query) {
                    1
                } else {
                    return None;
                };
                Some(SearchHit {
                    name,
                    kind,
                    summary,
                    rank,
                })
            })
            .collect();
        hits.sort_by(|a, b| b.rank.cmp(&a.rank).then(a.name.cmp(b.name)));
        hits
    }
}
