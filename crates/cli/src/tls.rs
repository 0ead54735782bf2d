//! HTTPS for `jiuzhu serve` with rustls (ring provider): the certificate chain and key from PEM
//! files, and a listener that completes the TLS handshake before handing a connection to the
//! web application. A client that fails its handshake is dropped; others are not held up
//! longer than the handshake timeout.

use anyhow::{Context as _, bail};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// How long a client may take to complete its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The server's TLS configuration.
#[derive(Clone)]
pub struct Config(Arc<ServerConfig>);

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("tls::Config")
    }
}

impl Config {
    /// Reads the certificate chain and the private key (PEM).
    pub fn load(cert: &Path, key: &Path) -> anyhow::Result<Config> {
        let chain = CertificateDer::pem_file_iter(cert)
            .with_context(|| format!("reading the TLS certificate {}", cert.display()))?
            .collect::<Result<Vec<_>, _>>()
            .with_context(|| format!("reading the TLS certificate {}", cert.display()))?;
        if chain.is_empty() {
            bail!("{} holds no certificate", cert.display());
        }
        let key = PrivateKeyDer::from_pem_file(key)
            .with_context(|| format!("reading the TLS key {}", key.display()))?;
        let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .context("choosing TLS versions")?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .context("the TLS certificate and key do not fit together")?;
        Ok(Config(Arc::new(config)))
    }
}

/// A TCP listener whose connections speak TLS.
pub struct Listener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
}

impl Listener {
    /// Serves TLS with `config` on `tcp`.
    pub fn new(tcp: TcpListener, config: Config) -> Listener {
        Listener {
            tcp,
            acceptor: TlsAcceptor::from(config.0),
        }
    }
}

impl axum::serve::Listener for Listener {
    type Io = tokio_rustls::server::TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let (stream, address) = axum::serve::Listener::accept(&mut self.tcp).await;
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, self.acceptor.accept(stream)).await {
                Ok(Ok(tls)) => return (tls, address),
                Ok(Err(error)) => tracing::debug!(%error, "TLS handshake failed"),
                Err(_) => tracing::debug!("TLS handshake timed out"),
            }
        }
    }

    fn local_addr(&self) -> tokio::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}
