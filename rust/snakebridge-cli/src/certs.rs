//! `snakebridge certs --out DIR [--host NAME ...] [--days N] [--keep-ca] [--force]`:
//! a development certificate authority, a server certificate and a client
//! certificate, enough to try remote workers over TLS (docs/deploy.md).
//!
//! Writes, into DIR:
//!
//! | file         | what                                                      |
//! |--------------|-----------------------------------------------------------|
//! | `ca.pem`     | the CA certificate: `tls_ca` / `--tls-ca` / `--client-ca` |
//! | `ca.key`     | the CA's private key (signs more certificates with `--keep-ca`) |
//! | `server.pem` | the worker's certificate, SANs = the `--host` values      |
//! | `server.key` | its key                                                   |
//! | `client.pem` | a client certificate (client-auth EKU) for mutual TLS     |
//! | `client.key` | its key                                                   |
//!
//! Keys are ECDSA P-256 (PKCS#8 PEM), written with mode 0600; certificates
//! 0644. Nothing is overwritten without `--force`, and nothing is written
//! when any target exists. These are development certificates: a production
//! fleet gets its certificates from its own PKI (cert-manager, a vault), and
//! `ca.key` should not be copied anywhere the workers run.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::net::IpAddr;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};

/// Arguments of `snakebridge certs`.
#[derive(clap::Args)]
pub(crate) struct CertsArgs {
    /// Directory to write into (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// A name the server certificate is valid for: a DNS name, or an IP
    /// address when it parses as one. Repeat for several (a worker's
    /// Service name, its pod names, 127.0.0.2, ...). Default: `localhost`
    /// and `127.0.0.1`.
    #[arg(long = "host", value_name = "NAME")]
    hosts: Vec<String>,
    /// Validity of the certificates, in days from now.
    #[arg(long, default_value_t = 365)]
    days: u32,
    /// Keep DIR/ca.pem and DIR/ca.key and sign new server and client
    /// certificates with them (e.g. to add a host without redistributing
    /// the CA). Only for a CA this command made.
    #[arg(long)]
    keep_ca: bool,
    /// Overwrite files that exist.
    #[arg(long)]
    force: bool,
}

/// One file to write: name in DIR, contents, whether it is a private key.
struct Output {
    name: &'static str,
    contents: String,
    secret: bool,
}

/// The CA's subject, derived from its key alone so that `--keep-ca` can
/// rebuild the issuer from `ca.key` (the issuer name in new certificates
/// must equal the subject of `ca.pem`), and different for every CA: two CAs
/// with one name make verifiers pick the wrong one (`BadSignature` instead
/// of `UnknownIssuer`).
fn ca_name(key: &KeyPair) -> DistinguishedName {
    let id: String = CertificateParams::default()
        .key_identifier(key)
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut name = DistinguishedName::new();
    name.push(DnType::OrganizationName, "SnakeBridge");
    name.push(
        DnType::CommonName,
        format!("SnakeBridge development CA {id}"),
    );
    name
}

fn ca_params(key: &KeyPair) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = ca_name(key);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params
}

/// A SAN for `host`: an IP address when it parses as one, else a DNS name.
fn san(host: &str) -> anyhow::Result<SanType> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    Ok(match host.parse::<IpAddr>() {
        Ok(ip) => SanType::IpAddress(ip),
        Err(_) if is_dns_name(host) => SanType::DnsName(
            host.to_string()
                .try_into()
                .with_context(|| format!("`{host}` is not a DNS name"))?,
        ),
        Err(_) => bail!("`{host}` is neither an IP address nor a DNS name"),
    })
}

/// Letters, digits and hyphens in dot-separated labels of 1 to 63
/// characters, no hyphen at either end of a label; a leading `*.` wildcard.
fn is_dns_name(name: &str) -> bool {
    let name = name.strip_prefix("*.").unwrap_or(name);
    let name = name.strip_suffix('.').unwrap_or(name);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

fn leaf_params(
    common_name: &str,
    sans: Vec<SanType>,
    usage: ExtendedKeyUsagePurpose,
    days: u32,
) -> CertificateParams {
    let mut params = CertificateParams::default();
    params
        .distinguished_name
        .push(DnType::OrganizationName, "SnakeBridge");
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params.subject_alt_names = sans;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![usage];
    params.use_authority_key_identifier_extension = true;
    set_validity(&mut params, days);
    params
}

fn set_validity(params: &mut CertificateParams, days: u32) {
    let now = time::OffsetDateTime::now_utc();
    // A day of slack for clocks that lag the machine that made the certificate.
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(i64::from(days));
}

/// Makes the files of `snakebridge certs` (no I/O except reading the kept CA).
fn generate(args: &CertsArgs) -> anyhow::Result<(Vec<String>, Vec<Output>)> {
    if args.days == 0 {
        bail!("--days must be at least 1");
    }
    let hosts = if args.hosts.is_empty() {
        vec!["localhost".to_string(), "127.0.0.1".to_string()]
    } else {
        args.hosts.clone()
    };
    let sans = hosts
        .iter()
        .map(|h| san(h))
        .collect::<anyhow::Result<Vec<_>>>()?;

    let mut outputs = Vec::new();
    let ca_key = if args.keep_ca {
        let path = args.out.join("ca.key");
        let pem = fs::read_to_string(&path)
            .with_context(|| format!("--keep-ca: reading {}", path.display()))?;
        let ca_pem = args.out.join("ca.pem");
        if !ca_pem.exists() {
            bail!("--keep-ca: {} is missing", ca_pem.display());
        }
        KeyPair::from_pem(&pem).with_context(|| format!("--keep-ca: parsing {}", path.display()))?
    } else {
        let key = KeyPair::generate().context("generating the CA key")?;
        let mut params = ca_params(&key);
        set_validity(&mut params, args.days);
        let cert = params
            .self_signed(&key)
            .context("signing the CA certificate")?;
        outputs.push(Output {
            name: "ca.pem",
            contents: cert.pem(),
            secret: false,
        });
        outputs.push(Output {
            name: "ca.key",
            contents: key.serialize_pem(),
            secret: true,
        });
        key
    };
    let issuer = Issuer::new(ca_params(&ca_key), &ca_key);

    let leaves = [
        (
            "server",
            "snakebridge-worker",
            sans,
            ExtendedKeyUsagePurpose::ServerAuth,
        ),
        (
            "client",
            "snakebridge-client",
            Vec::new(),
            ExtendedKeyUsagePurpose::ClientAuth,
        ),
    ];
    for (stem, common_name, sans, usage) in leaves {
        let key = KeyPair::generate().with_context(|| format!("generating the {stem} key"))?;
        let cert = leaf_params(common_name, sans, usage, args.days)
            .signed_by(&key, &issuer)
            .with_context(|| format!("signing the {stem} certificate"))?;
        let (pem_name, key_name) = match stem {
            "server" => ("server.pem", "server.key"),
            _ => ("client.pem", "client.key"),
        };
        outputs.push(Output {
            name: pem_name,
            contents: cert.pem(),
            secret: false,
        });
        outputs.push(Output {
            name: key_name,
            contents: key.serialize_pem(),
            secret: true,
        });
    }
    Ok((hosts, outputs))
}

/// Writes `outputs` into `dir`: all or nothing as far as existing files go.
fn write_all(dir: &Path, outputs: &[Output], force: bool) -> anyhow::Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    if !force {
        let existing: Vec<String> = outputs
            .iter()
            .map(|o| dir.join(o.name))
            .filter(|p| p.exists())
            .map(|p| p.display().to_string())
            .collect();
        if !existing.is_empty() {
            bail!(
                "{} already exist{}; pass --force to overwrite (or --keep-ca to sign new \
                 server and client certificates with the existing CA)",
                existing.join(", "),
                if existing.len() == 1 { "s" } else { "" }
            );
        }
    }
    for output in outputs {
        let path = dir.join(output.name);
        let mode = if output.secret { 0o600 } else { 0o644 };
        let mut options = OpenOptions::new();
        options.write(true).mode(mode);
        if force {
            options.create(true).truncate(true);
        } else {
            options.create_new(true);
        }
        let mut file = options
            .open(&path)
            .with_context(|| format!("creating {}", path.display()))?;
        // `mode` applies only to a new file: narrow an overwritten one too.
        file.set_permissions(fs::Permissions::from_mode(mode))
            .with_context(|| format!("setting the mode of {}", path.display()))?;
        file.write_all(output.contents.as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

pub(crate) fn run(args: CertsArgs) -> anyhow::Result<ExitCode> {
    // With --keep-ca, `outputs` holds the server and client files only.
    let (hosts, outputs) = generate(&args)?;
    write_all(&args.out, &outputs, args.force)?;
    if args.keep_ca {
        println!("kept      {}", args.out.join("ca.pem").display());
    }
    print_written(&args.out, &outputs, &hosts);
    Ok(ExitCode::SUCCESS)
}

fn print_written(dir: &Path, outputs: &[Output], hosts: &[String]) {
    for output in outputs {
        let what = match output.name {
            "ca.pem" => "CA certificate (tls_ca, --tls-ca, --client-ca)".to_string(),
            "ca.key" => "CA key (0600; keep it off the workers)".to_string(),
            "server.pem" => format!("server certificate for {}", hosts.join(", ")),
            "server.key" => "server key (0600)".to_string(),
            "client.pem" => "client certificate (mutual TLS)".to_string(),
            _ => "client key (0600)".to_string(),
        };
        println!("wrote     {}  {what}", dir.join(output.name).display());
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
    use rustls::server::WebPkiClientVerifier;
    use rustls::{
        ClientConfig, ClientConnection, Connection, RootCertStore, ServerConfig, ServerConnection,
    };

    use super::*;

    fn args(out: &Path, hosts: &[&str]) -> CertsArgs {
        CertsArgs {
            out: out.to_path_buf(),
            hosts: hosts.iter().map(|h| h.to_string()).collect(),
            days: 30,
            keep_ca: false,
            force: false,
        }
    }

    fn provider() -> Arc<rustls::crypto::CryptoProvider> {
        Arc::new(rustls::crypto::ring::default_provider())
    }

    fn cert(dir: &Path, name: &str) -> CertificateDer<'static> {
        CertificateDer::from_pem_file(dir.join(name)).unwrap()
    }

    fn key(dir: &Path, name: &str) -> PrivateKeyDer<'static> {
        PrivateKeyDer::from_pem_file(dir.join(name)).unwrap()
    }

    /// Runs a TLS 1.3 handshake in memory: a server with `server_dir`'s
    /// server.pem that requires a client certificate signed by
    /// `server_dir`'s CA, and a client that trusts `client_dir`'s CA,
    /// presents its client.pem and connects to `name`.
    fn handshake(server_dir: &Path, client_dir: &Path, name: &str) -> Result<(), rustls::Error> {
        let mut client_roots = RootCertStore::empty();
        client_roots.add(cert(client_dir, "ca.pem")).unwrap();
        let mut server_roots = RootCertStore::empty();
        server_roots.add(cert(server_dir, "ca.pem")).unwrap();

        let verifier =
            WebPkiClientVerifier::builder_with_provider(Arc::new(server_roots), provider())
                .build()
                .unwrap();
        let server_config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_client_cert_verifier(verifier)
            .with_single_cert(
                vec![cert(server_dir, "server.pem")],
                key(server_dir, "server.key"),
            )?;
        let client_config = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(client_roots)
            .with_client_auth_cert(
                vec![cert(client_dir, "client.pem")],
                key(client_dir, "client.key"),
            )?;

        let server_name = ServerName::try_from(name.to_string()).unwrap();
        let mut client =
            Connection::from(ClientConnection::new(Arc::new(client_config), server_name)?);
        let mut server = Connection::from(ServerConnection::new(Arc::new(server_config))?);
        for _ in 0..10 {
            if !client.is_handshaking() && !server.is_handshaking() {
                // Application data both ways proves the keys agree.
                client.writer().write_all(b"ping").unwrap();
                transfer(&mut client, &mut server)?;
                let mut got = [0u8; 4];
                std::io::Read::read_exact(&mut server.reader(), &mut got).unwrap();
                assert_eq!(&got, b"ping");
                return Ok(());
            }
            transfer(&mut client, &mut server)?;
            transfer(&mut server, &mut client)?;
        }
        panic!("the handshake did not finish");
    }

    fn transfer(from: &mut Connection, to: &mut Connection) -> Result<(), rustls::Error> {
        let mut buf = Vec::new();
        while from.wants_write() {
            from.write_tls(&mut buf).unwrap();
        }
        let mut reader = &buf[..];
        while !reader.is_empty() {
            to.read_tls(&mut reader).unwrap();
            to.process_new_packets()?;
        }
        Ok(())
    }

    #[test]
    fn mutual_tls_handshake_for_every_host() {
        let dir = tempfile::tempdir().unwrap();
        let hosts = ["127.0.0.2", "worker-0.workers.default.svc", "::1"];
        run(args(dir.path(), &hosts)).unwrap();
        for host in hosts {
            handshake(dir.path(), dir.path(), host).unwrap();
        }
        // A name the certificate was not made for is refused.
        let err = handshake(dir.path(), dir.path(), "127.0.0.3").unwrap_err();
        assert!(
            matches!(
                err,
                rustls::Error::InvalidCertificate(
                    rustls::CertificateError::NotValidForNameContext { .. }
                        | rustls::CertificateError::NotValidForName
                )
            ),
            "{err:?}"
        );
    }

    #[test]
    fn default_hosts_are_localhost_and_loopback() {
        let dir = tempfile::tempdir().unwrap();
        run(args(dir.path(), &[])).unwrap();
        handshake(dir.path(), dir.path(), "localhost").unwrap();
        handshake(dir.path(), dir.path(), "127.0.0.1").unwrap();
        assert!(handshake(dir.path(), dir.path(), "example.com").is_err());
    }

    #[test]
    fn another_ca_is_refused_both_ways() {
        let ours = tempfile::tempdir().unwrap();
        let theirs = tempfile::tempdir().unwrap();
        run(args(ours.path(), &[])).unwrap();
        run(args(theirs.path(), &[])).unwrap();
        // Client trusts another CA (and presents a certificate of it).
        let err = handshake(ours.path(), theirs.path(), "localhost").unwrap_err();
        assert!(
            matches!(
                err,
                rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)
            ),
            "{err:?}"
        );
    }

    #[test]
    fn client_certificate_cannot_serve() {
        // The client certificate has the client-auth EKU only: a server
        // presenting it is refused.
        let dir = tempfile::tempdir().unwrap();
        run(args(dir.path(), &[])).unwrap();
        let swapped = tempfile::tempdir().unwrap();
        fs::copy(dir.path().join("ca.pem"), swapped.path().join("ca.pem")).unwrap();
        for (from, to) in [
            ("client.pem", "server.pem"),
            ("client.key", "server.key"),
            ("client.pem", "client.pem"),
            ("client.key", "client.key"),
        ] {
            fs::copy(dir.path().join(from), swapped.path().join(to)).unwrap();
        }
        let err = handshake(swapped.path(), swapped.path(), "localhost").unwrap_err();
        assert!(
            matches!(
                err,
                rustls::Error::InvalidCertificate(
                    rustls::CertificateError::InvalidPurpose
                        | rustls::CertificateError::InvalidPurposeContext { .. }
                )
            ),
            "{err:?}"
        );
    }

    #[test]
    fn keys_are_private_and_nothing_is_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        run(args(dir.path(), &[])).unwrap();
        for name in ["ca.key", "server.key", "client.key"] {
            let mode = fs::metadata(dir.path().join(name))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{name}");
        }
        for name in ["ca.pem", "server.pem", "client.pem"] {
            let mode = fs::metadata(dir.path().join(name))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o644, "{name}");
        }
        let before = fs::read(dir.path().join("ca.pem")).unwrap();
        let err = run(args(dir.path(), &[])).unwrap_err().to_string();
        assert!(err.contains("--force"), "{err}");
        assert_eq!(fs::read(dir.path().join("ca.pem")).unwrap(), before);

        // --force replaces everything, and narrows a key widened meanwhile.
        fs::set_permissions(
            dir.path().join("server.key"),
            fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        let mut forced = args(dir.path(), &[]);
        forced.force = true;
        run(forced).unwrap();
        assert_ne!(fs::read(dir.path().join("ca.pem")).unwrap(), before);
        let mode = fs::metadata(dir.path().join("server.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        handshake(dir.path(), dir.path(), "localhost").unwrap();
    }

    #[test]
    fn only_one_existing_file_blocks_and_nothing_is_written() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("client.key"), "mine").unwrap();
        assert!(run(args(dir.path(), &[])).is_err());
        assert!(!dir.path().join("ca.pem").exists());
        assert_eq!(
            fs::read_to_string(dir.path().join("client.key")).unwrap(),
            "mine"
        );
    }

    #[test]
    fn keep_ca_signs_new_leaves_that_the_old_ca_pem_verifies() {
        let dir = tempfile::tempdir().unwrap();
        run(args(dir.path(), &["127.0.0.2"])).unwrap();
        let old = tempfile::tempdir().unwrap();
        for name in ["ca.pem", "client.pem", "client.key"] {
            fs::copy(dir.path().join(name), old.path().join(name)).unwrap();
        }
        let ca = fs::read(dir.path().join("ca.pem")).unwrap();

        let mut keep = args(dir.path(), &["127.0.0.2", "127.0.0.3"]);
        keep.keep_ca = true;
        // The leaves exist: without --force this refuses.
        assert!(run(keep).is_err());
        let mut keep = args(dir.path(), &["127.0.0.2", "127.0.0.3"]);
        keep.keep_ca = true;
        keep.force = true;
        run(keep).unwrap();
        assert_eq!(fs::read(dir.path().join("ca.pem")).unwrap(), ca);
        // A client holding only the old CA (and an old client certificate)
        // accepts the new server certificate for the new host, and the
        // server accepts it.
        handshake(dir.path(), old.path(), "127.0.0.3").unwrap();
        handshake(dir.path(), dir.path(), "127.0.0.2").unwrap();
    }

    #[test]
    fn keep_ca_without_a_ca_fails() {
        let dir = tempfile::tempdir().unwrap();
        let mut keep = args(dir.path(), &[]);
        keep.keep_ca = true;
        let err = format!("{:#}", run(keep).unwrap_err());
        assert!(err.contains("ca.key"), "{err}");
    }

    #[test]
    fn bad_host_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(run(args(dir.path(), &["not a host"])).is_err());
        assert!(run(args(dir.path(), &["-bad.example"])).is_err());
        assert!(!dir.path().join("ca.pem").exists());
    }
}
