//! Server certificate verification: system CAs, a pinned SHA-256 fingerprint, or (explicitly)
//! nothing.

use std::fmt;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};

use crate::error::{Error, Result};
use crate::fingerprint::Fingerprint;

/// How the client checks the server's certificate.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsVerification {
    /// Normal validation against the system's CA roots, including the host name.
    #[default]
    SystemRoots,
    /// Accept exactly the certificate whose DER SHA-256 is this fingerprint (PBS's default
    /// certificate is self-signed and its SAN does not cover the address users connect to, so
    /// neither the issuer nor the host name is checked). The handshake signature is still
    /// verified, so only the holder of the certificate's private key can connect.
    Pinned(Fingerprint),
    /// Accept any certificate. Anyone on the path can read the credentials; only for labs.
    DangerAcceptInvalidCerts,
}

/// The verifier error carried inside `rustls::Error` when the pin does not match.
#[derive(Debug)]
pub(crate) struct PinMismatch {
    expected: Fingerprint,
    got: Fingerprint,
}

impl fmt::Display for PinMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "certificate fingerprint does not match the pinned one (pinned {}, server sent {})",
            self.expected, self.got
        )
    }
}

impl std::error::Error for PinMismatch {}

/// Certificate verifier comparing the leaf certificate's SHA-256 with a pin.
#[derive(Debug)]
struct PinVerifier {
    pin: Option<Fingerprint>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for PinVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(expected) = self.pin else {
            return Ok(ServerCertVerified::assertion());
        };
        let got = Fingerprint::of_der(end_entity.as_ref());
        if got == expected {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(CertificateError::Other(
                rustls::OtherError(Arc::new(PinMismatch { expected, got })),
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Configures `builder` for `mode`. System roots use reqwest's own verifier; the other modes use a
/// rustls config built with the aws-lc-rs provider (no process-wide default is installed).
pub(crate) fn configure(
    builder: reqwest::ClientBuilder,
    mode: &TlsVerification,
) -> Result<reqwest::ClientBuilder> {
    let pin = match mode {
        TlsVerification::SystemRoots => return Ok(builder),
        TlsVerification::Pinned(fp) => Some(*fp),
        TlsVerification::DangerAcceptInvalidCerts => None,
    };
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::config(format!("TLS setup: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(PinVerifier { pin, provider }))
        .with_no_client_auth();
    Ok(builder.tls_backend_preconfigured(config))
}

/// Finds a TLS handshake failure in an error chain and describes it.
pub(crate) fn tls_failure(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(describe(tls));
        }
        // `io::Error::source()` skips the wrapped error itself, so unwrap io errors by hand
        // (hyper and tokio-rustls nest them).
        if let Some(inner) = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            cur = Some(inner);
            continue;
        }
        cur = e.source();
    }
    None
}

fn describe(err: &rustls::Error) -> String {
    match err {
        rustls::Error::InvalidCertificate(CertificateError::Other(other)) => {
            if let Some(pin) = other.0.downcast_ref::<PinMismatch>() {
                return pin.to_string();
            }
            format!("invalid server certificate: {err}")
        }
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) => format!(
            "{err}; the certificate is not signed by a trusted CA (PBS's default certificate \
             is self-signed: pin its SHA-256 fingerprint, see `proxmox-backup-manager cert info`)"
        ),
        rustls::Error::InvalidCertificate(CertificateError::BadSignature) => {
            format!("{err}; the handshake was not signed with the key of the presented certificate")
        }
        rustls::Error::InvalidCertificate(_) => format!("invalid server certificate: {err}"),
        other => other.to_string(),
    }
}
