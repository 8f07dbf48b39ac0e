//! Where the store lives, and connecting to PostgreSQL: the URL, the password (`password_file`
//! or `PGPASSWORD`, never shown), and TLS as the URL's `sslmode` asks, with libpq's meanings:
//! `disable` none; `prefer` (the default) and `require` encrypted without checking the
//! certificate; `verify-ca` checked against `sslrootcert` (or the system's roots); `verify-full`
//! that and the host name too.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use super::StoreError;

/// The configured database.
#[derive(Debug, Clone)]
pub enum StoreLocation {
    /// The embedded database file (`var/kravflyt.db`).
    Sqlite(PathBuf),
    Postgres(PostgresSettings),
}

/// How to reach the PostgreSQL store.
#[derive(Clone)]
pub struct PostgresSettings {
    /// `postgresql://user@host:port/database?sslmode=…` as configured.
    pub url: String,
    /// A file holding the password (its first line), read at each connection.
    pub password_file: Option<PathBuf>,
    /// Shown to the server as the connection's `application_name` (the node's name).
    pub application_name: String,
}

/// Never prints the password, whichever way it was given.
impl std::fmt::Debug for PostgresSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresSettings")
            .field("url", &mask_url(&self.url))
            .field("password_file", &self.password_file)
            .field("application_name", &self.application_name)
            .finish()
    }
}

use crate::config::mask_password as mask_url;

/// libpq's `sslmode` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl FromStr for SslMode {
    type Err = String;
    fn from_str(s: &str) -> Result<SslMode, String> {
        Ok(match s {
            "disable" => SslMode::Disable,
            "allow" | "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => {
                return Err(format!(
                    "sslmode {other:?} is not one of disable, allow, prefer, require, verify-ca, verify-full"
                ));
            }
        })
    }
}

/// The URL split into what the client library reads and the TLS settings it does not know.
struct ParsedUrl {
    config: postgres::Config,
    ssl_mode: SslMode,
    root_cert: Option<PathBuf>,
}

fn parse_url(url: &str) -> Result<ParsedUrl, String> {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let mut ssl_mode = SslMode::Prefer;
    let mut root_cert = None;
    let mut kept = Vec::new();
    for pair in query.into_iter().flat_map(|q| q.split('&')) {
        match pair.split_once('=') {
            Some(("sslmode", value)) => ssl_mode = value.parse()?,
            Some(("sslrootcert", value)) => root_cert = Some(PathBuf::from(percent_decode(value))),
            _ if pair.is_empty() => {}
            _ => kept.push(pair),
        }
    }
    let rebuilt = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    let mut config = postgres::Config::from_str(&rebuilt).map_err(|e| e.to_string())?;
    config.ssl_mode(match ssl_mode {
        SslMode::Disable => postgres::config::SslMode::Disable,
        SslMode::Prefer => postgres::config::SslMode::Prefer,
        SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
            postgres::config::SslMode::Require
        }
    });
    Ok(ParsedUrl {
        config,
        ssl_mode,
        root_cert,
    })
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len() + 1
            && let Some(byte) = text
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl StoreLocation {
    /// The database `config` names for the workspace under `var_dir`.
    pub fn from_config(config: &crate::config::Config) -> StoreLocation {
        match &config.store.url {
            None => {
                StoreLocation::Sqlite(crate::workspace::Workspace::new(&config.var_dir).database())
            }
            Some(url) => StoreLocation::Postgres(PostgresSettings {
                url: url.clone(),
                password_file: config.store.password_file.clone(),
                application_name: format!("kravflyt {}", config.node.name),
            }),
        }
    }

    /// What an operator is shown: the file, or the URL without a password.
    pub fn shown(&self) -> String {
        match self {
            StoreLocation::Sqlite(path) => path.display().to_string(),
            StoreLocation::Postgres(settings) => settings.shown_url(),
        }
    }
}

impl PostgresSettings {
    /// The URL as an operator is shown it.
    pub fn shown_url(&self) -> String {
        mask_url(&self.url)
    }

    /// Checks the URL without connecting (for `config check`).
    pub fn check(&self) -> Result<(), String> {
        parse_url(&self.url).map(|_| ())
    }

    /// A new connection with the password and TLS this configuration asks for.
    pub fn connect(&self) -> Result<postgres::Client, StoreError> {
        let failed = |detail: String| StoreError::Connect {
            url: self.shown_url(),
            detail,
        };
        let ParsedUrl {
            mut config,
            ssl_mode,
            root_cert,
        } = parse_url(&self.url).map_err(failed)?;
        if config.get_password().is_none() {
            if let Some(file) = &self.password_file {
                let text = std::fs::read_to_string(file).map_err(|e| {
                    failed(format!(
                        "cannot read the password file {}: {e}",
                        file.display()
                    ))
                })?;
                config.password(text.lines().next().unwrap_or("").as_bytes());
            } else if let Some(password) = std::env::var_os("PGPASSWORD") {
                config.password(password.as_encoded_bytes());
            }
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        config.application_name(&self.application_name);
        let connected = if ssl_mode == SslMode::Disable {
            config.connect(postgres::NoTls)
        } else {
            let tls = tls_config(ssl_mode, root_cert.as_deref()).map_err(failed)?;
            config.connect(tokio_postgres_rustls::MakeRustlsConnect::new(tls))
        };
        let mut client = connected.map_err(|e| {
            if e.as_db_error().is_some() {
                // The server's own words (a wrong password, an unknown database).
                return failed(super::db::DbError::from(e).to_string());
            }
            // The client's message ("error performing TLS handshake") leaves out why; the
            // causes under it say (an unknown issuer, a name that does not match, …).
            let mut detail = e.to_string();
            let mut cause = std::error::Error::source(&e);
            while let Some(inner) = cause {
                detail.push_str(": ");
                detail.push_str(&inner.to_string());
                cause = inner.source();
            }
            failed(detail)
        })?;
        // Notices ("relation … already exists, skipping") are not news to an operator. The
        // reconciliation of a busy day sorts and joins a few million rows: with the server's
        // default 4 MB of `work_mem` they spill to temporary files (12–15 % of a
        // million-record day); kravflyt runs one query at a time per connection, so 64 MB is
        // what one connection may use at most per sort. An operator's own
        // `options=-c work_mem=…` in the URL wins.
        let mut session = String::from("SET client_min_messages = warning;");
        if !self.url.contains("work_mem") {
            session.push_str(" SET work_mem = '64MB';");
        }
        client
            .batch_execute(&session)
            .map_err(|e| failed(super::db::DbError::from(e).to_string()))?;
        Ok(client)
    }
}

fn tls_config(
    mode: SslMode,
    root_cert: Option<&std::path::Path>,
) -> Result<rustls::ClientConfig, String> {
    // ring, not aws-lc-rs: it builds with the C compiler cargo uses anyway, where aws-lc-rs
    // needs cmake on the machine. (rustls marks ring's provider deprecated for lacking the
    // post-quantum key exchange, which PostgreSQL servers do not offer.)
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    if matches!(mode, SslMode::Prefer | SslMode::Require) {
        // libpq's `prefer` and `require` encrypt without checking who answers.
        return Ok(builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(UncheckedCertificate(provider)))
            .with_no_client_auth());
    }
    let mut roots = rustls::RootCertStore::empty();
    match root_cert {
        Some(path) => {
            use rustls::pki_types::pem::PemObject;
            let certs = rustls::pki_types::CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("cannot read sslrootcert {}: {e}", path.display()))?;
            for cert in certs {
                let cert = cert.map_err(|e| format!("sslrootcert {}: {e}", path.display()))?;
                roots
                    .add(cert)
                    .map_err(|e| format!("sslrootcert {}: {e}", path.display()))?;
            }
        }
        None => {
            for cert in rustls_native_certs::load_native_certs().certs {
                // A system certificate rustls cannot use is skipped, as libpq would.
                let _ = roots.add(cert);
            }
        }
    }
    let verifier =
        rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .map_err(|e| e.to_string())?;
    if mode == SslMode::VerifyCa {
        return Ok(builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(ChainOnly(verifier)))
            .with_no_client_auth());
    }
    Ok(builder.with_webpki_verifier(verifier).with_no_client_auth())
}

/// `prefer` / `require`: any certificate (the handshake's signatures are still checked).
#[derive(Debug)]
struct UncheckedCertificate(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for UncheckedCertificate {
    fn verify_server_cert(
        &self,
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &[rustls::pki_types::CertificateDer<'_>],
        _: &rustls::pki_types::ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: the chain must lead to a trusted root; the name in it is not compared.
#[derive(Debug)]
struct ChainOnly(Arc<rustls::client::WebPkiServerVerifier>);

impl rustls::client::danger::ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &rustls::pki_types::CertificateDer<'_>,
        intermediates: &[rustls::pki_types::CertificateDer<'_>],
        server_name: &rustls::pki_types::ServerName<'_>,
        ocsp: &[u8],
        now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForName
                | rustls::CertificateError::NotValidForNameContext { .. },
            )) => Ok(rustls::client::danger::ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_in_a_url_are_masked_when_shown() {
        assert_eq!(
            mask_url("postgresql://kravflyt:s3cret@db.example/kravflyt?sslmode=require"),
            "postgresql://kravflyt:****@db.example/kravflyt?sslmode=require"
        );
        assert_eq!(
            mask_url("postgresql://kravflyt@db/k?password=s3cret&sslmode=disable"),
            "postgresql://kravflyt@db/k?password=****&sslmode=disable"
        );
        assert_eq!(
            mask_url("postgresql://kravflyt@db/k"),
            "postgresql://kravflyt@db/k"
        );
    }

    #[test]
    fn sslmode_and_sslrootcert_are_read_here_and_the_rest_by_the_client() {
        let parsed =
            parse_url("postgresql://k@db.example:5433/ledger?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&connect_timeout=3")
                .unwrap();
        assert_eq!(parsed.ssl_mode, SslMode::VerifyFull);
        assert_eq!(parsed.root_cert, Some(PathBuf::from("/etc/ca.pem")));
        assert_eq!(parsed.config.get_dbname(), Some("ledger"));
        assert_eq!(parsed.config.get_ports(), &[5433]);
        assert_eq!(
            parsed.config.get_connect_timeout(),
            Some(&Duration::from_secs(3))
        );
        assert_eq!(
            parse_url("postgresql://k@db/x").unwrap().ssl_mode,
            SslMode::Prefer
        );
        let err = parse_url("postgresql://k@db/x?sslmode=sometimes")
            .err()
            .unwrap();
        assert!(err.contains("verify-full"), "{err}");
    }
}
