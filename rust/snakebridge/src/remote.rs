//! Remote workers: pools whose workers run elsewhere and are reached over
//! TCP, with TLS and a bearer token (ADR 0011).
//!
//! A remote pool has one slot per endpoint. With `discover`, it has
//! `max_endpoints` slots, vacant until a resolution assigns them an address;
//! an address keeps its slot for the pool's life, so refs always go back to
//! the worker that holds their objects. The host never starts or kills a
//! remote worker: it connects, shakes hands (the worker's incarnation id
//! tells a restarted worker from a reconnection), watches its health, and
//! takes it out of rotation while it cannot be reached.

use std::collections::HashSet;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::RwLock;
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};

use crate::error::{Error, Result};
use crate::link::{Auth, Client};

/// Where a pool finds its remote workers, and how it authenticates to them.
///
/// ```no_run
/// # async fn demo() -> snakebridge::Result<()> {
/// use snakebridge::{args, Bridge, BridgeConfig, RemoteWorkers};
/// let workers = RemoteWorkers::endpoints(["https://w0.example:7000", "https://w1.example:7000"])
///     .tls_ca("certs/ca.pem")
///     .token_file("secrets/token");
/// let py = Bridge::new(BridgeConfig::remote(workers))?;
/// let x: f64 = py.call("math", "sqrt", args![16]).await?.extract()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RemoteWorkers {
    pub(crate) source: Source,
    pub(crate) tls_ca: Option<PathBuf>,
    pub(crate) client_identity: Option<(PathBuf, PathBuf)>,
    pub(crate) tls_domain: Option<String>,
    pub(crate) token: TokenSource,
    pub(crate) discover_interval: Duration,
    pub(crate) max_endpoints: usize,
    pub(crate) connect_timeout: Duration,
}

/// The endpoints, or how to find them.
#[derive(Clone, Debug)]
pub(crate) enum Source {
    Endpoints(Vec<String>),
    Discover(Discover),
}

/// A name that resolves to workers.
#[derive(Clone, Debug)]
pub(crate) enum Discover {
    /// Every address of `host` is a worker on `port`; TLS checks `host`.
    Dns { host: String, port: u16 },
    /// Each non-empty line of the file (not starting with `#`) is an
    /// endpoint URL.
    File(PathBuf),
}

#[derive(Clone, Default)]
pub(crate) enum TokenSource {
    /// `$SNAKEBRIDGE_TOKEN` if set, else none.
    #[default]
    Env,
    File(PathBuf),
    Value(String),
}

impl fmt::Debug for RemoteWorkers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let token = match &self.token {
            TokenSource::Env => "$SNAKEBRIDGE_TOKEN".to_string(),
            TokenSource::File(p) => format!("file {}", p.display()),
            TokenSource::Value(_) => "(given)".to_string(),
        };
        f.debug_struct("RemoteWorkers")
            .field("source", &self.source)
            .field("tls_ca", &self.tls_ca)
            .field("client_identity", &self.client_identity)
            .field("tls_domain", &self.tls_domain)
            .field("token", &token)
            .field("discover_interval", &self.discover_interval)
            .field("max_endpoints", &self.max_endpoints)
            .finish()
    }
}

impl RemoteWorkers {
    fn with_source(source: Source) -> Self {
        RemoteWorkers {
            source,
            tls_ca: None,
            client_identity: None,
            tls_domain: None,
            token: TokenSource::Env,
            discover_interval: Duration::from_secs(10),
            max_endpoints: 64,
            connect_timeout: Duration::from_secs(5),
        }
    }

    /// Workers at these URLs, one slot each: `https://HOST:PORT`, or
    /// `http://` for a plaintext worker (`--insecure`, loopback only).
    pub fn endpoints<I, S>(urls: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::with_source(Source::Endpoints(
            urls.into_iter().map(Into::into).collect(),
        ))
    }

    /// Workers found by name, resolved again every
    /// [`discover_interval`](Self::discover_interval): `dns:HOST:PORT` (each
    /// address of `HOST` is a worker, reached over TLS with `HOST` as the
    /// server name; a Kubernetes headless Service) or `file:PATH` (one
    /// endpoint URL per line, `#` comments). Addresses that appear later
    /// join the pool; one that disappears keeps its slot, and is out of
    /// rotation while it cannot be reached.
    pub fn discover(target: impl AsRef<str>) -> Result<Self> {
        Ok(Self::with_source(Source::Discover(parse_discover(
            target.as_ref(),
        )?)))
    }

    /// The CA certificate (PEM file) the workers' certificates must chain
    /// to. Required for `https://` endpoints.
    pub fn tls_ca(mut self, path: impl Into<PathBuf>) -> Self {
        self.tls_ca = Some(path.into());
        self
    }

    /// A client certificate and key (PEM files), for workers that require
    /// mutual TLS (`--client-ca`).
    pub fn client_identity(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.client_identity = Some((cert.into(), key.into()));
        self
    }

    /// The server name the workers' certificates must carry, when it is
    /// not the endpoints' host.
    pub fn tls_domain(mut self, name: impl Into<String>) -> Self {
        self.tls_domain = Some(name.into());
        self
    }

    /// Reads the token from this file (surrounding whitespace trimmed).
    /// Default: `$SNAKEBRIDGE_TOKEN`, else no token.
    pub fn token_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.token = TokenSource::File(path.into());
        self
    }

    /// The token itself (it never appears in `Debug` output or logs).
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = TokenSource::Value(token.into());
        self
    }

    /// How often `discover` resolves again (default 10 s).
    pub fn discover_interval(mut self, every: Duration) -> Self {
        self.discover_interval = every.max(Duration::from_millis(10));
        self
    }

    /// Most workers `discover` may add (default 64).
    pub fn max_endpoints(mut self, n: usize) -> Self {
        self.max_endpoints = n.max(1);
        self
    }

    /// Longest wait for a TCP connection and TLS handshake (default 5 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Resolves relative file names against `dir` (the config's directory).
    pub(crate) fn relative_to(mut self, dir: &Path) -> Self {
        let fix = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = dir.join(&*p);
            }
        };
        if let Some(p) = self.tls_ca.as_mut() {
            fix(p);
        }
        if let Some((c, k)) = self.client_identity.as_mut() {
            fix(c);
            fix(k);
        }
        if let TokenSource::File(p) = &mut self.token {
            fix(p);
        }
        if let Source::Discover(Discover::File(p)) = &mut self.source {
            fix(p);
        }
        self
    }

    /// How many slots the pool gets.
    pub(crate) fn slots(&self) -> usize {
        match &self.source {
            Source::Endpoints(list) => list.len(),
            Source::Discover(_) => self.max_endpoints,
        }
    }
}

fn parse_discover(target: &str) -> Result<Discover> {
    if let Some(path) = target.strip_prefix("file:") {
        return Ok(Discover::File(PathBuf::from(path)));
    }
    let Some(rest) = target.strip_prefix("dns:") else {
        return Err(Error::config(format!(
            "discover = {target:?}: expected dns:HOST:PORT or file:PATH"
        )));
    };
    let rest = rest.trim_start_matches("//");
    let (host, port) = rest
        .rsplit_once(':')
        .ok_or_else(|| Error::config(format!("discover = {target:?}: expected dns:HOST:PORT")))?;
    let port = port
        .parse()
        .map_err(|_| Error::config(format!("discover = {target:?}: {port:?} is not a port")))?;
    Ok(Discover::Dns {
        host: host.trim_matches(['[', ']']).to_string(),
        port,
    })
}

/// A remote pool's live state: the address of each slot, and what every
/// connection needs.
pub(crate) struct Remote {
    pub(crate) config: RemoteWorkers,
    /// Becomes true once `discover` was resolved the first time (at once
    /// for fixed endpoints): calls wait for it instead of failing.
    resolved: tokio::sync::watch::Sender<bool>,
    /// The endpoint URL of each slot; `None`: vacant (not discovered yet).
    addresses: Vec<RwLock<Option<String>>>,
    tls: Option<ClientTlsConfig>,
    auth: Auth,
}

impl Remote {
    /// Checks the settings and reads the CA, identity and token files.
    pub(crate) fn new(config: RemoteWorkers) -> Result<Arc<Remote>> {
        let read = |path: &Path, what: &str| {
            std::fs::read(path)
                .map_err(|e| Error::io(format!("reading {what} {}", path.display()), e))
        };
        let mut tls = None;
        if let Some(ca) = &config.tls_ca {
            let mut t = ClientTlsConfig::new()
                .ca_certificate(Certificate::from_pem(read(ca, "the CA certificate")?));
            if let Some((cert, key)) = &config.client_identity {
                t = t.identity(Identity::from_pem(
                    read(cert, "the client certificate")?,
                    read(key, "the client key")?,
                ));
            }
            if let Some(domain) = &config.tls_domain {
                t = t.domain_name(domain.clone());
            } else if let Source::Discover(Discover::Dns { host, .. }) = &config.source {
                t = t.domain_name(host.clone());
            }
            tls = Some(t);
        } else if config.client_identity.is_some() {
            return Err(Error::config("a client identity needs tls_ca (mutual TLS)"));
        }
        let token = match &config.token {
            TokenSource::Env => std::env::var(snakebridge_proto::transport::TOKEN_ENV).ok(),
            TokenSource::File(path) => Some(
                String::from_utf8(read(path, "the token file")?).map_err(|_| {
                    Error::config(format!("the token file {} is not UTF-8", path.display()))
                })?,
            ),
            TokenSource::Value(t) => Some(t.clone()),
        };
        let auth = match token.as_deref().map(str::trim) {
            None => Auth::default(),
            Some("") => return Err(Error::config("the remote workers' token is empty")),
            Some(t) => Auth::bearer(t)?,
        };
        let addresses = match &config.source {
            Source::Endpoints(list) => {
                if list.is_empty() {
                    return Err(Error::config("a remote pool needs at least one endpoint"));
                }
                for url in list {
                    check_url(url, tls.is_some())?;
                }
                list.iter().map(|u| RwLock::new(Some(u.clone()))).collect()
            }
            Source::Discover(Discover::Dns { .. }) if tls.is_none() => {
                return Err(Error::config(
                    "discover = \"dns:...\" reaches workers over TLS: set tls_ca",
                ));
            }
            Source::Discover(_) => (0..config.max_endpoints)
                .map(|_| RwLock::new(None))
                .collect(),
        };
        let fixed = matches!(config.source, Source::Endpoints(_));
        Ok(Arc::new(Remote {
            resolved: tokio::sync::watch::Sender::new(fixed),
            config,
            addresses,
            tls,
            auth,
        }))
    }

    /// Waits (at most `limit`) until `discover` was resolved once.
    pub(crate) async fn first_round(&self, limit: Duration) {
        // Every call of a remote pool passes here: no receiver once done.
        if *self.resolved.borrow() {
            return;
        }
        let mut resolved = self.resolved.subscribe();
        let _ = tokio::time::timeout(limit, resolved.wait_for(|done| *done)).await;
    }

    /// The endpoint of slot `index`, if it has one yet.
    pub(crate) fn address(&self, index: usize) -> Option<String> {
        self.addresses.get(index).and_then(|a| a.read().clone())
    }

    /// Whether slot `index` waits for discovery to give it an address.
    pub(crate) fn vacant(&self, index: usize) -> bool {
        self.address(index).is_none()
    }

    /// Connects to slot `index`'s worker (TCP, TLS) within the connect
    /// timeout.
    pub(crate) async fn connect(&self, index: usize, max_message_bytes: usize) -> Result<Client> {
        let url = self
            .address(index)
            .ok_or_else(|| Error::transport(format!("worker {index} has no address yet")))?;
        let unreachable = |detail: String| Error::WorkerUnreachable {
            worker: index,
            endpoint: url.clone(),
            detail,
        };
        let mut endpoint = Endpoint::from_shared(url.clone())
            .map_err(|e| unreachable(format!("not a valid endpoint URL: {e}")))?
            .connect_timeout(self.config.connect_timeout)
            .tcp_nodelay(true)
            .http2_keep_alive_interval(Duration::from_secs(10))
            .keep_alive_timeout(Duration::from_secs(10))
            .initial_stream_window_size(Some(snakebridge_proto::transport::STREAM_WINDOW))
            .initial_connection_window_size(Some(snakebridge_proto::transport::CONNECTION_WINDOW));
        if url.starts_with("https://") {
            let tls = self.tls.clone().ok_or_else(|| {
                Error::config(format!(
                    "{url} is https: set tls_ca (the workers' CA certificate)"
                ))
            })?;
            endpoint = endpoint
                .tls_config(tls)
                .map_err(|e| unreachable(format!("TLS settings: {e}")))?;
        }
        let channel = endpoint.connect().await.map_err(|e| {
            if is_tls_failure(&e) {
                Error::WorkerRefused {
                    worker: index,
                    endpoint: url.clone(),
                    detail: format!("TLS: {}", error_chain(&e)),
                }
            } else {
                unreachable(error_chain(&e))
            }
        })?;
        Ok(crate::process::client(
            channel,
            self.auth.clone(),
            max_message_bytes,
        ))
    }

    /// Resolves `discover` once and gives each new address a vacant slot;
    /// answers the slots that got one.
    pub(crate) async fn discover(&self) -> Vec<usize> {
        let Source::Discover(how) = &self.config.source else {
            return Vec::new();
        };
        let found: Vec<String> = match how {
            Discover::Dns { host, port } => {
                match tokio::net::lookup_host((host.as_str(), *port)).await {
                    Ok(addrs) => {
                        let mut addrs: Vec<SocketAddr> = addrs.collect();
                        addrs.sort();
                        addrs.dedup();
                        addrs.into_iter().map(|a| format!("https://{a}")).collect()
                    }
                    Err(e) => {
                        tracing::warn!(host = %host, error = %e, "resolving remote workers failed");
                        return Vec::new();
                    }
                }
            }
            // Small, and read once per interval: no need for a blocking pool.
            Discover::File(path) => match std::fs::read_to_string(path) {
                Ok(text) => text
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .map(str::to_string)
                    .collect(),
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "reading the endpoints file failed");
                    return Vec::new();
                }
            },
        };
        let known: HashSet<String> = self
            .addresses
            .iter()
            .filter_map(|a| a.read().clone())
            .collect();
        let mut added = Vec::new();
        for url in found.into_iter().filter(|u| !known.contains(u.as_str())) {
            if let Err(e) = check_url(&url, self.tls.is_some()) {
                tracing::warn!(%url, error = %e, "ignoring a discovered endpoint");
                continue;
            }
            let Some(index) = self.addresses.iter().position(|a| a.read().is_none()) else {
                tracing::warn!(%url, max = self.addresses.len(), "max_endpoints reached; ignoring a discovered worker");
                break;
            };
            tracing::info!(%url, slot = index, "discovered a remote worker");
            *self.addresses[index].write() = Some(url);
            added.push(index);
        }
        added
    }
}

/// Resolves `discover` now and then every `discover_interval`, adding the
/// new addresses to the rotation, until the pool shuts down.
pub(crate) async fn discover_loop(
    remote: Arc<Remote>,
    slots: Vec<Arc<crate::slot::Slot>>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    if !matches!(remote.config.source, Source::Discover(_)) {
        return;
    }
    loop {
        for index in remote.discover().await {
            let slot = &slots[index];
            slot.address_assigned();
            if slot.eager() {
                // `start = "eager"`: connect to a new worker at once, as to
                // those known when the pool was made.
                let slot = slot.clone();
                tokio::spawn(async move { slot.conn().await.map(drop) });
            }
        }
        remote.resolved.send_replace(true);
        tokio::select! {
            () = tokio::time::sleep(remote.config.discover_interval) => {}
            _ = shutdown.wait_for(|down| *down) => return,
        }
    }
}

fn check_url(url: &str, tls: bool) -> Result<()> {
    if url.starts_with("https://") {
        if !tls {
            return Err(Error::config(format!(
                "{url} is https: set tls_ca (the workers' CA certificate)"
            )));
        }
        Ok(())
    } else if url.starts_with("http://") {
        Ok(())
    } else {
        Err(Error::config(format!(
            "endpoint {url:?}: expected https://HOST:PORT (or http:// for a plaintext worker on loopback)"
        )))
    }
}

/// An error and its causes on one line (tonic's transport errors say little
/// at the top: "transport error"), without the repetitions of causes that
/// include their own source's text.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if let Some(last) = parts.last_mut()
            && let Some(head) = last.strip_suffix(&text)
        {
            // "tcp connect error: X" followed by "X": keep the longer one.
            let head = head.trim_end_matches(": ").to_string();
            *last = head;
        }
        parts.push(text);
        source = s.source();
    }
    parts.retain(|p| !p.is_empty());
    parts.dedup();
    parts.join(": ")
}

/// Whether a connection failed in TLS (certificate, name, protocol).
pub(crate) fn is_tls_failure(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(e);
    while let Some(err) = current {
        if err.downcast_ref::<rustls::Error>().is_some() {
            return true;
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
        {
            // tokio-rustls passes the rustls error on; hyper passes on only
            // its text, as an `InvalidData` error (rustls's wording).
            if inner.downcast_ref::<rustls::Error>().is_some()
                || (io.kind() == std::io::ErrorKind::InvalidData
                    && inner.to_string().starts_with("received fatal alert"))
            {
                return true;
            }
        }
        current = err.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discover_targets_parse() {
        match parse_discover("dns:workers.ns.svc.cluster.local:7000").unwrap() {
            Discover::Dns { host, port } => {
                assert_eq!(
                    (host.as_str(), port),
                    ("workers.ns.svc.cluster.local", 7000)
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(
            matches!(parse_discover("file:/etc/w").unwrap(), Discover::File(p) if p == Path::new("/etc/w"))
        );
        for bad in ["workers:7000", "dns:workers", "dns:workers:http"] {
            assert!(parse_discover(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bad_settings_are_config_errors() {
        let err = |w: RemoteWorkers| {
            Remote::new(w)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        assert!(err(RemoteWorkers::endpoints(["https://w0:7000"]).token("t")).contains("tls_ca"));
        assert!(err(RemoteWorkers::endpoints(["w0:7000"]).token("t")).contains("expected https"));
        assert!(err(RemoteWorkers::endpoints(Vec::<String>::new())).contains("at least one"));
        assert!(err(RemoteWorkers::endpoints(["http://127.0.0.1:1"]).token(" ")).contains("empty"));
        assert!(err(RemoteWorkers::discover("dns:w:7000").unwrap().token("t")).contains("tls_ca"));
    }

    #[test]
    fn the_token_stays_out_of_debug_output() {
        let w = RemoteWorkers::endpoints(["http://127.0.0.1:1"]).token("s3cret");
        assert!(!format!("{w:?}").contains("s3cret"));
    }
}
