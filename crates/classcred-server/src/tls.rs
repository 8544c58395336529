//! TLS built in: the rustls acceptor. Handshakes run in each connection's own task (see
//! `Application::run_until`), within the header timeout and under the connection cap, so a slow
//! client cannot hold up others.

use std::sync::Arc;

use anyhow::Context;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::TlsAcceptor;

use crate::TlsFiles;

/// Build an acceptor from PEM files (certificate chain and private key).
pub fn acceptor(files: &TlsFiles) -> anyhow::Result<TlsAcceptor> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.cert)
        .with_context(|| format!("tls_cert_file {}: cannot read", files.cert.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| {
            format!(
                "tls_cert_file {}: not a PEM certificate chain",
                files.cert.display()
            )
        })?;
    anyhow::ensure!(
        !certs.is_empty(),
        "tls_cert_file {}: no certificate found",
        files.cert.display()
    );
    let key = PrivateKeyDer::from_pem_file(&files.key).with_context(|| {
        format!(
            "tls_key_file {}: not a PEM private key",
            files.key.display()
        )
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("tls_cert_file and tls_key_file do not form a valid pair")?;
    // The server speaks HTTP/1.1 only: never offer h2.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
