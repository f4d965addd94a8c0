//! Runtime policy: affinity modes, timeout profiles, and the defaults a
//! call inherits (per call > task-scoped [`with_runtime`] > process-wide
//! [`set_runtime_defaults`] > the pool's configuration).

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use parking_lot::RwLock;

use crate::config::BridgeConfig;
use crate::error::{Error, Result};

pub use snakebridge_env::{Affinity, StartMode};

/// The timeout profile of calls that name none, unless the pool sets
/// another ([`BridgeConfig::default_profile`](crate::BridgeConfig::default_profile)).
pub const DEFAULT_PROFILE: &str = "default";

/// A named pair of timeouts: for calls, and for streams.
///
/// The built-in profiles (see [`TimeoutProfile::builtins`]):
///
/// | profile | call | stream |
/// |---|---|---|
/// | `default` | 2 min | none |
/// | `streaming` | 2 min | 30 min |
/// | `ml_inference` | 10 min | 30 min |
/// | `batch_job` | none | none |
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeoutProfile {
    /// The profile's name.
    pub name: String,
    /// Longest a call may run; `None` is no limit.
    pub call: Option<Duration>,
    /// Longest a whole stream may run; `None` is no limit.
    pub stream: Option<Duration>,
}

impl TimeoutProfile {
    /// A profile named `name`.
    pub fn new(name: impl Into<String>, call: Option<Duration>, stream: Option<Duration>) -> Self {
        TimeoutProfile {
            name: name.into(),
            call,
            stream,
        }
    }

    /// `default`, `streaming`, `ml_inference` and `batch_job`.
    pub fn builtins() -> Vec<TimeoutProfile> {
        let min = |m: u64| Some(Duration::from_secs(60 * m));
        vec![
            TimeoutProfile::new(DEFAULT_PROFILE, min(2), None),
            TimeoutProfile::new("streaming", min(2), min(30)),
            TimeoutProfile::new("ml_inference", min(10), min(30)),
            TimeoutProfile::new("batch_job", None, None),
        ]
    }
}

/// Options that shape how calls run: pool, timeout profile or timeout,
/// affinity. Every field is optional; unset fields are inherited.
///
/// Used three ways, from most to least specific: on one call
/// ([`Call::runtime`](crate::Call::runtime) and its shortcuts), for
/// everything a task does ([`with_runtime`]), and for the whole process
/// ([`set_runtime_defaults`]). What none of them sets comes from the pool's
/// [`BridgeConfig`] (its per-library profiles, then its default profile).
///
/// ```
/// use std::time::Duration;
/// use snakebridge::{Affinity, RuntimeOptions};
/// let task = RuntimeOptions::new().pool("gpu").timeout(Duration::from_secs(5));
/// let call = RuntimeOptions::new().affinity(Affinity::StrictQueue);
/// let merged = call.merged_over(&task);
/// assert_eq!(merged.pool_name(), Some("gpu"));
/// assert_eq!(merged.timeout_value(), Some(Duration::from_secs(5)));
/// // A profile on the call decides the timeout, over the task's timeout.
/// let call = call.profile("ml_inference");
/// assert_eq!(call.merged_over(&task).timeout_value(), None);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuntimeOptions {
    pool: Option<String>,
    profile: Option<String>,
    timeout: Option<Option<Duration>>,
    affinity: Option<Affinity>,
    scope: Option<TimeoutScope>,
}

/// What a call's timeout covers (see [`RuntimeOptions::timeout_scope`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeoutScope {
    /// The whole call: waiting in the pool's queue, a worker start, and
    /// the run, under one deadline (the default): a caller with a 1 s
    /// timeout has an answer in about 1 s.
    #[default]
    Call,
    /// The run alone, from the moment a worker takes the call: the wait
    /// in the queue is bounded only by the pool's `queue_timeout`, a worker
    /// start by its `startup_timeout`.
    Run,
}

impl RuntimeOptions {
    /// Nothing set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Run in the pool of this name.
    pub fn pool(mut self, name: impl Into<String>) -> Self {
        self.pool = Some(name.into());
        self
    }

    /// Use this timeout profile.
    pub fn profile(mut self, name: impl Into<String>) -> Self {
        self.profile = Some(name.into());
        self
    }

    /// An explicit call timeout (wins over any profile at the same level).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(Some(timeout));
        self
    }

    /// No call timeout at all (wins over any profile at the same level).
    pub fn no_timeout(mut self) -> Self {
        self.timeout = Some(None);
        self
    }

    /// The affinity mode.
    pub fn affinity(mut self, affinity: Affinity) -> Self {
        self.affinity = Some(affinity);
        self
    }

    /// What the timeout covers: the whole call (the default) or the run
    /// alone.
    pub fn timeout_scope(mut self, scope: TimeoutScope) -> Self {
        self.scope = Some(scope);
        self
    }

    /// The scope of the timeout ([`TimeoutScope::Call`] unless set).
    pub fn timeout_scope_value(&self) -> TimeoutScope {
        self.scope.unwrap_or_default()
    }

    /// The pool name set here, if any.
    pub fn pool_name(&self) -> Option<&str> {
        self.pool.as_deref()
    }

    /// The affinity set here, if any.
    pub fn affinity_value(&self) -> Option<Affinity> {
        self.affinity
    }

    /// The explicit timeout set here, if any.
    pub fn timeout_value(&self) -> Option<Duration> {
        self.timeout.flatten()
    }

    /// These options, with what they leave unset taken from `under`.
    /// A level that sets a profile or a timeout decides the timeout as a
    /// whole: a more specific profile wins over a less specific timeout.
    pub fn merged_over(&self, under: &RuntimeOptions) -> RuntimeOptions {
        let decides_timeout = self.profile.is_some() || self.timeout.is_some();
        RuntimeOptions {
            pool: self.pool.clone().or_else(|| under.pool.clone()),
            profile: if decides_timeout {
                self.profile.clone()
            } else {
                under.profile.clone()
            },
            timeout: if decides_timeout {
                self.timeout
            } else {
                under.timeout
            },
            affinity: self.affinity.or(under.affinity),
            scope: self.scope.or(under.scope),
        }
    }

    /// This call's options over the task's and the process's defaults.
    pub(crate) fn effective(&self) -> RuntimeOptions {
        self.clone().into_effective()
    }

    /// [`RuntimeOptions::effective`], consuming these options. Without a
    /// task scope or process defaults (the common case) they are the
    /// answer as they are: no lock, no copy (a merge over nothing changes
    /// nothing).
    pub(crate) fn into_effective(self) -> RuntimeOptions {
        let task = TASK_DEFAULTS.try_with(Arc::clone).ok();
        let process = PROCESS_DEFAULTS_SET
            .load(Ordering::Acquire)
            .then(|| PROCESS_DEFAULTS.read().clone());
        match (task, process) {
            (None, None) => self,
            (Some(task), None) => self.merged_over(&task),
            (None, Some(process)) => self.merged_over(&process),
            (Some(task), Some(process)) => self.merged_over(&task.merged_over(&process)),
        }
    }
}

/// Whether [`set_runtime_defaults`] was ever called (until then the
/// process defaults are empty, and calls skip their lock).
static PROCESS_DEFAULTS_SET: AtomicBool = AtomicBool::new(false);

static PROCESS_DEFAULTS: RwLock<RuntimeOptions> = RwLock::new(RuntimeOptions {
    pool: None,
    profile: None,
    timeout: None,
    affinity: None,
    scope: None,
});

tokio::task_local! {
    static TASK_DEFAULTS: Arc<RuntimeOptions>;
}

/// Sets the process-wide defaults (under task-scoped and per-call options).
/// Replaces the previous ones; `RuntimeOptions::new()` clears them.
pub fn set_runtime_defaults(options: RuntimeOptions) {
    *PROCESS_DEFAULTS.write() = options;
    PROCESS_DEFAULTS_SET.store(true, Ordering::Release);
}

/// Runs `future` with `options` as the defaults of every call it makes
/// (the Rust counterpart of `with_runtime`/`RuntimeContext` in Snakepit, the
/// Elixir runtime this project ports).
/// Nested scopes merge: inner options win, unset ones come from outer
/// scopes. Tasks spawned inside do not inherit the scope.
///
/// ```no_run
/// use snakebridge::{args, with_runtime, Bridge, RuntimeOptions};
/// # async fn demo(py: Bridge) -> snakebridge::Result<()> {
/// let opts = RuntimeOptions::new().pool("gpu").profile("ml_inference");
/// let out = with_runtime(opts, async {
///     py.call("math", "sqrt", args![2]).await // runs in pool `gpu`, 10 min timeout
/// })
/// .await?;
/// # Ok(()) }
/// ```
pub async fn with_runtime<F: Future>(options: RuntimeOptions, future: F) -> F::Output {
    let outer = TASK_DEFAULTS
        .try_with(|t| (**t).clone())
        .unwrap_or_default();
    TASK_DEFAULTS
        .scope(Arc::new(options.merged_over(&outer)), future)
        .await
}

/// The timeout a call gets, and the profile it came from (borrowed from
/// the pool's profiles: resolving costs no allocation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ResolvedTimeout<'a> {
    pub(crate) limit: Option<Duration>,
    pub(crate) profile: Option<&'a str>,
}

/// The pool-level part of the policy: profiles by name, per-library
/// profiles, the default profile.
#[derive(Clone, Debug)]
pub(crate) struct Profiles {
    by_name: BTreeMap<String, TimeoutProfile>,
    libraries: BTreeMap<String, String>,
    default: String,
    /// The default profile's call timeout, when no library has a profile
    /// (then every call that names none gets it): resolved once, not per
    /// call. `None` when it does not apply or the default is unknown.
    /// Kept current by the setters below.
    plain_default: Option<Option<Duration>>,
}

impl Default for Profiles {
    fn default() -> Self {
        let mut profiles = Profiles {
            by_name: TimeoutProfile::builtins()
                .into_iter()
                .map(|p| (p.name.clone(), p))
                .collect(),
            libraries: BTreeMap::new(),
            default: DEFAULT_PROFILE.into(),
            plain_default: None,
        };
        profiles.settle();
        profiles
    }
}

impl Profiles {
    /// Adds `profile`, or replaces the one of its name.
    pub(crate) fn insert(&mut self, profile: TimeoutProfile) {
        self.by_name.insert(profile.name.clone(), profile);
        self.settle();
    }

    /// The profile of calls that name none.
    pub(crate) fn set_default(&mut self, name: String) {
        self.default = name;
        self.settle();
    }

    /// The profile of calls into `module` and its submodules.
    pub(crate) fn set_library(&mut self, module: String, profile: String) {
        self.libraries.insert(module, profile);
        self.settle();
    }

    fn settle(&mut self) {
        self.plain_default = if self.libraries.is_empty() {
            self.by_name.get(&self.default).map(|p| p.call)
        } else {
            None
        };
    }

    pub(crate) fn get(&self, name: &str) -> Result<&TimeoutProfile> {
        self.by_name.get(name).ok_or_else(|| Error::UnknownProfile {
            name: name.to_string(),
            known: self.by_name.keys().cloned().collect(),
        })
    }

    /// The profile for a call of `module` when the options name none: the
    /// library's (longest matching dotted prefix), else the default.
    fn for_module(&self, module: &str) -> &str {
        let mut prefix = module;
        loop {
            if let Some(p) = self.libraries.get(prefix) {
                return p;
            }
            match prefix.rfind('.') {
                Some(i) => prefix = &prefix[..i],
                None => return &self.default,
            }
        }
    }

    /// The call timeout for `options` (already merged) and `module`.
    pub(crate) fn call_timeout(
        &self,
        options: &RuntimeOptions,
        module: &str,
    ) -> Result<ResolvedTimeout<'_>> {
        if let Some(limit) = options.timeout {
            return Ok(ResolvedTimeout {
                limit,
                profile: None,
            });
        }
        let name = match (&options.profile, self.plain_default) {
            (Some(name), _) => name.as_str(),
            (None, Some(limit)) => {
                return Ok(ResolvedTimeout {
                    limit,
                    profile: Some(&self.default),
                });
            }
            (None, None) => self.for_module(module),
        };
        let profile = self.get(name)?;
        Ok(ResolvedTimeout {
            limit: profile.call,
            profile: Some(&profile.name),
        })
    }

    /// The total stream timeout for `options` and `module`: the profile's
    /// stream timeout (a profile named nowhere gives the `streaming`
    /// profile's, as in Snakepit).
    pub(crate) fn stream_timeout(
        &self,
        options: &RuntimeOptions,
        module: &str,
    ) -> Result<Option<Duration>> {
        let name = match &options.profile {
            Some(name) => name.as_str(),
            None => match self.for_module(module) {
                d if d == self.default && self.by_name.contains_key("streaming") => "streaming",
                other => other,
            },
        };
        Ok(self.get(name)?.stream)
    }
}

impl BridgeConfig {
    pub(crate) fn validate_policy(&self) -> Result<()> {
        self.profiles.get(&self.profiles.default)?;
        for profile in self.profiles.libraries.values() {
            self.profiles.get(profile)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(n: u64) -> Option<Duration> {
        Some(Duration::from_secs(n))
    }

    #[test]
    fn builtin_profiles_match_the_original() {
        let p = Profiles::default();
        let call = |name: &str| p.get(name).unwrap().call;
        let stream = |name: &str| p.get(name).unwrap().stream;
        assert_eq!(call("default"), secs(120));
        assert_eq!(
            (call("streaming"), stream("streaming")),
            (secs(120), secs(1800))
        );
        assert_eq!(
            (call("ml_inference"), stream("ml_inference")),
            (secs(600), secs(1800))
        );
        assert_eq!((call("batch_job"), stream("batch_job")), (None, None));
        assert!(matches!(p.get("fast"), Err(Error::UnknownProfile { .. })));
    }

    #[test]
    fn timeout_priority_call_then_profile_then_library_then_default() {
        let mut p = Profiles::default();
        p.set_library("torch".into(), "batch_job".into());
        let none = RuntimeOptions::new();
        let r = p.call_timeout(&none, "torch.nn.functional").unwrap();
        assert_eq!((r.limit, r.profile), (None, Some("batch_job")));
        let r = p.call_timeout(&none, "math").unwrap();
        assert_eq!((r.limit, r.profile), (secs(120), Some("default")));
        let r = p
            .call_timeout(&RuntimeOptions::new().profile("ml_inference"), "torch")
            .unwrap();
        assert_eq!(r.limit, secs(600));
        let explicit = RuntimeOptions::new()
            .profile("ml_inference")
            .timeout(Duration::from_secs(1));
        let r = p.call_timeout(&explicit, "torch").unwrap();
        assert_eq!((r.limit, r.profile), (secs(1), None));
    }

    #[test]
    fn the_default_profile_follows_every_change() {
        let none = RuntimeOptions::new();
        let mut p = Profiles::default();
        let r = p.call_timeout(&none, "math").unwrap();
        assert_eq!((r.limit, r.profile), (secs(120), Some("default")));
        p.insert(TimeoutProfile::new("default", secs(7), None));
        let r = p.call_timeout(&none, "math").unwrap();
        assert_eq!((r.limit, r.profile), (secs(7), Some("default")));
        p.set_default("batch_job".into());
        let r = p.call_timeout(&none, "math").unwrap();
        assert_eq!((r.limit, r.profile), (None, Some("batch_job")));
        p.set_default("nowhere".into());
        assert!(matches!(
            p.call_timeout(&none, "math"),
            Err(Error::UnknownProfile { .. })
        ));
    }

    #[test]
    fn a_more_specific_profile_beats_a_less_specific_timeout() {
        let task = RuntimeOptions::new()
            .timeout(Duration::from_secs(1))
            .pool("gpu");
        let call = RuntimeOptions::new().profile("batch_job");
        let merged = call.merged_over(&task);
        assert_eq!(merged.timeout, None);
        assert_eq!(merged.profile.as_deref(), Some("batch_job"));
        assert_eq!(merged.pool.as_deref(), Some("gpu"));
    }

    #[test]
    fn with_runtime_scopes_nest_and_end() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let outer = RuntimeOptions::new()
                .pool("gpu")
                .affinity(Affinity::StrictQueue);
            with_runtime(outer, async {
                with_runtime(RuntimeOptions::new().profile("batch_job"), async {
                    let e = RuntimeOptions::new().effective();
                    assert_eq!(e.pool.as_deref(), Some("gpu"));
                    assert_eq!(e.profile.as_deref(), Some("batch_job"));
                    assert_eq!(e.affinity, Some(Affinity::StrictQueue));
                })
                .await;
                assert_eq!(RuntimeOptions::new().effective().profile, None);
            })
            .await;
            assert_eq!(RuntimeOptions::new().effective().pool, None);
        });
    }

    #[test]
    fn affinity_names_round_trip() {
        for a in [
            Affinity::Hint,
            Affinity::StrictQueue,
            Affinity::StrictFailFast,
        ] {
            assert_eq!(a.as_str().parse::<Affinity>().unwrap(), a);
        }
        assert!("sticky".parse::<Affinity>().is_err());
    }
}
