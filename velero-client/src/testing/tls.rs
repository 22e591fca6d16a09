//! TLS for the fake: a private CA per role (the apiserver's, as in a kubeconfig's
//! `certificate-authority-data`; the object store's, as in a BackupStorageLocation's `caCert`),
//! server certificates for 127.0.0.1, and an accept loop that serves an axum router over TLS.

use std::sync::Arc;

use axum::Router;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

fn io_err(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

/// A private certificate authority and one server certificate it signed for 127.0.0.1.
pub(crate) struct TestCa {
    /// The CA certificate (PEM): what a client must trust.
    pub(crate) ca_pem: String,
    /// The server configuration presenting the signed certificate.
    pub(crate) server: Arc<rustls::ServerConfig>,
}

impl TestCa {
    /// A new CA named `name` and a server certificate for `127.0.0.1` and `localhost`.
    pub(crate) fn new(name: &str) -> std::io::Result<Self> {
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(io_err)?;
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        ca_params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let ca_key = rcgen::KeyPair::generate().map_err(io_err)?;
        let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).map_err(io_err)?;

        let mut leaf_params =
            rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
                .map_err(io_err)?;
        leaf_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, format!("{name} server"));
        leaf_params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let leaf_key = rcgen::KeyPair::generate().map_err(io_err)?;
        let leaf = leaf_params.signed_by(&leaf_key, &ca).map_err(io_err)?;

        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(
            rustls::pki_types::PrivatePkcs8KeyDer::from(leaf_key.serialize_der()),
        );
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut server = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(io_err)?
            .with_no_client_auth()
            .with_single_cert(vec![leaf.der().clone(), ca.der().clone()], key)
            .map_err(io_err)?;
        server.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            ca_pem: ca.pem(),
            server: Arc::new(server),
        })
    }
}

/// Serves `router` over TLS on `listener` until the task is aborted.
pub(crate) fn serve(
    listener: TcpListener,
    server: Arc<rustls::ServerConfig>,
    router: Router,
) -> tokio::task::JoinHandle<()> {
    let acceptor = TlsAcceptor::from(server);
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let acceptor = acceptor.clone();
            let router = router.clone();
            tokio::spawn(async move {
                // A client that does not trust the CA aborts the handshake: nothing to serve.
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), TowerToHyperService::new(router))
                    .await;
            });
        }
    })
}
