//! Where the worker listens: its host's Unix socket (the default), or a TCP
//! address for remote hosts, with TLS (optionally mutual) and a bearer token
//! on every RPC (ADR 0011).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use snakebridge_proto::transport;
use subtle::ConstantTimeEq;
use tonic::transport::{Certificate, Identity, ServerTlsConfig};
use tonic::{Request, Status};

/// The listening side, decided from the command line.
pub(crate) enum Listen {
    /// The host's private Unix socket (the host spawned us).
    Unix(PathBuf),
    /// A TCP address, for hosts on other machines.
    Tcp(Tcp),
}

/// A TCP listener's settings.
pub(crate) struct Tcp {
    pub(crate) addr: SocketAddr,
    /// `None` only with `--insecure` (plaintext, loopback only).
    pub(crate) tls: Option<ServerTlsConfig>,
    /// The token every RPC of the worker service must carry.
    pub(crate) token: Option<Token>,
}

/// What the command line says about TCP serving.
pub(crate) struct TcpArgs<'a> {
    pub(crate) listen: &'a str,
    pub(crate) tls_cert: Option<&'a Path>,
    pub(crate) tls_key: Option<&'a Path>,
    pub(crate) client_ca: Option<&'a Path>,
    pub(crate) token_file: Option<&'a Path>,
    pub(crate) insecure: bool,
}

impl TcpArgs<'_> {
    /// Checks the combination and reads the files.
    pub(crate) fn resolve(&self) -> anyhow::Result<Tcp> {
        let addr: SocketAddr = self.listen.parse().with_context(|| {
            format!(
                "--listen {:?}: expected HOST:PORT with an IP address, e.g. 0.0.0.0:7000",
                self.listen
            )
        })?;
        let token = read_token(self.token_file)?;
        let tls = match (self.tls_cert, self.tls_key, self.insecure) {
            (Some(cert), Some(key), false) => {
                let cert = read(cert, "--tls-cert")?;
                let key = read(key, "--tls-key")?;
                let mut tls = ServerTlsConfig::new().identity(Identity::from_pem(cert, key));
                if let Some(ca) = self.client_ca {
                    // Mutual TLS: only clients with a certificate this CA
                    // signed get through the handshake.
                    tls = tls.client_ca_root(Certificate::from_pem(read(ca, "--client-ca")?));
                }
                Some(tls)
            }
            (None, None, true) => {
                if !addr.ip().is_loopback() {
                    bail!(
                        "--insecure serves plaintext, which is allowed only on a loopback address \
                         (127.0.0.0/8 or ::1), not {addr}; give --tls-cert and --tls-key instead"
                    );
                }
                if self.client_ca.is_some() {
                    bail!("--client-ca needs TLS (--tls-cert, --tls-key), not --insecure");
                }
                None
            }
            (_, _, true) => bail!("--insecure cannot be combined with --tls-cert/--tls-key"),
            _ => bail!(
                "--listen needs --tls-cert and --tls-key (or --insecure, for plaintext on a \
                 loopback address)"
            ),
        };
        if tls.is_some() && token.is_none() {
            bail!(
                "--listen with TLS needs a token: --token-file FILE or ${}",
                transport::TOKEN_ENV
            );
        }
        Ok(Tcp { addr, tls, token })
    }
}

fn read(path: &Path, flag: &str) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("{flag}: reading {}", path.display()))
}

/// A bearer token, compared in constant time and never printed.
#[derive(Clone)]
pub(crate) struct Token(Vec<u8>);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(..)")
    }
}

/// The token from `--token-file` (surrounding whitespace trimmed) or from
/// `$SNAKEBRIDGE_TOKEN`; an empty one is an error.
fn read_token(file: Option<&Path>) -> anyhow::Result<Option<Token>> {
    let text = match file {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .with_context(|| format!("--token-file: reading {}", path.display()))?,
        ),
        None => std::env::var(transport::TOKEN_ENV).ok(),
    };
    match text.map(|t| t.trim().to_string()) {
        None => Ok(None),
        Some(t) if t.is_empty() => bail!("the token is empty"),
        Some(t) => Ok(Some(Token(t.into_bytes()))),
    }
}

impl Token {
    /// Whether `request` carries this token (`authorization: Bearer <token>`).
    fn admits<T>(&self, request: &Request<T>) -> bool {
        let Some(value) = request.metadata().get(transport::AUTHORIZATION) else {
            return false;
        };
        let Some(given) = value.as_bytes().strip_prefix(b"Bearer ") else {
            return false;
        };
        given.ct_eq(&self.0).into()
    }
}

/// The interceptor of the worker service: refuses an RPC without the right
/// token as `UNAUTHENTICATED` (logged with the peer's address, never the
/// token).
pub(crate) fn authenticate(
    token: Option<Token>,
) -> impl FnMut(Request<()>) -> Result<Request<()>, Status> + Clone {
    move |request: Request<()>| match &token {
        None => Ok(request),
        Some(token) if token.admits(&request) => Ok(request),
        Some(_) => {
            let peer = request
                .remote_addr()
                .map_or_else(|| "an unknown peer".to_string(), |a| a.to_string());
            tracing::warn!(%peer, "refused an RPC without a valid token");
            Err(Status::unauthenticated(
                "a valid token is required (authorization: Bearer <token>)",
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(header: Option<&str>) -> Request<()> {
        let mut r = Request::new(());
        if let Some(h) = header {
            r.metadata_mut()
                .insert(transport::AUTHORIZATION, h.parse().unwrap());
        }
        r
    }

    #[test]
    fn only_the_exact_bearer_token_passes() {
        let mut check = authenticate(Some(Token(b"s3cret".to_vec())));
        assert!(check(request(Some("Bearer s3cret"))).is_ok());
        for bad in [
            None,
            Some("Bearer s3cre"),
            Some("Bearer s3cret2"),
            Some("s3cret"),
            Some("Basic s3cret"),
        ] {
            let err = check(request(bad)).unwrap_err();
            assert_eq!(err.code(), tonic::Code::Unauthenticated, "{bad:?}");
            assert!(!err.message().contains("s3cret"));
        }
        let mut open = authenticate(None);
        assert!(open(request(None)).is_ok());
    }

    #[test]
    fn the_token_never_shows_in_debug_output() {
        assert_eq!(format!("{:?}", Token(b"s3cret".to_vec())), "Token(..)");
    }

    fn args(listen: &str) -> TcpArgs<'_> {
        TcpArgs {
            listen,
            tls_cert: None,
            tls_key: None,
            client_ca: None,
            token_file: None,
            insecure: false,
        }
    }

    #[test]
    fn plaintext_is_refused_off_loopback_and_without_the_flag() {
        let err = |a: TcpArgs<'_>| a.resolve().err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            err(TcpArgs {
                insecure: true,
                ..args("0.0.0.0:7000")
            })
            .contains("loopback")
        );
        assert!(
            err(TcpArgs {
                insecure: true,
                ..args("10.1.2.3:7000")
            })
            .contains("loopback")
        );
        assert!(err(args("127.0.0.1:7000")).contains("--tls-cert"));
        assert!(err(args("localhost:7000")).contains("HOST:PORT"));
        let ok = TcpArgs {
            insecure: true,
            ..args("127.0.0.2:0")
        }
        .resolve()
        .unwrap();
        assert!(ok.tls.is_none());
        let ok = TcpArgs {
            insecure: true,
            ..args("[::1]:0")
        }
        .resolve()
        .unwrap();
        assert!(ok.addr.ip().is_loopback());
    }
}
