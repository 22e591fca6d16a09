use std::time::Duration;

use pbs_client::{Fingerprint, TlsVerification};

use pbs_client::testing::FakePbs;

use super::common::{fake, fast_config};

#[tokio::test]
async fn right_pin_connects() {
    let pbs = fake().await;
    let client = pbs.client_builder().build().unwrap();
    assert_eq!(client.version().await.unwrap().version, "3.2");
}

#[tokio::test]
async fn pin_parsed_from_pbs_text_connects() {
    let pbs = fake().await;
    // As printed by `proxmox-backup-manager cert info`, and uppercased as PVE stores it.
    let text = pbs.fingerprint().to_string().to_uppercase();
    assert_eq!(text.len(), 95);
    let fp: Fingerprint = text.parse().unwrap();
    let client = pbs.client_builder().with_fingerprint(fp).build().unwrap();
    client.version().await.unwrap();
}

#[tokio::test]
async fn wrong_pin_is_refused_with_a_clear_error() {
    let pbs = fake().await;
    let wrong = Fingerprint::from_bytes([0xab; 32]);
    let client = pbs
        .client_builder()
        .with_fingerprint(wrong)
        .build()
        .unwrap();
    let err = client.version().await.unwrap_err();
    assert!(err.is_tls(), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("fingerprint does not match"), "{msg}");
    assert!(msg.contains(&wrong.to_string()), "{msg}");
    assert!(msg.contains(&pbs.fingerprint().to_string()), "{msg}");
    // No request reached the server.
    assert_eq!(pbs.requests(), 0);
    wait_for_handshake_failure(&pbs).await;
}

#[tokio::test]
async fn no_pin_against_self_signed_is_refused() {
    let pbs = fake().await;
    let client = pbs
        .client_builder()
        .with_tls(TlsVerification::SystemRoots)
        .build()
        .unwrap();
    let err = client.datastores().await.unwrap_err();
    assert!(err.is_tls(), "{err:?}");
    // The message says what to do about a self-signed PBS certificate.
    assert!(err.to_string().contains("fingerprint"), "{err}");
    assert!(err.to_string().contains("GET /admin/datastore"), "{err}");
    assert_eq!(pbs.requests(), 0);
    wait_for_handshake_failure(&pbs).await;
}

#[tokio::test]
async fn insecure_needs_explicit_opt_in_and_then_connects() {
    let pbs = fake().await;
    let client = pbs
        .client_builder()
        .danger_accept_invalid_certs()
        .build()
        .unwrap();
    client.version().await.unwrap();
}

#[tokio::test]
async fn replayed_certificate_without_its_key_is_refused() {
    // The pin alone is public: a server presenting the pinned certificate but signing the
    // handshake with another key must be refused, so the verifier checks the signature.
    let real = fake().await;
    let impostor = FakePbs::start_with(fast_config().with_impersonate(real.certificate_der()))
        .await
        .unwrap();
    assert_eq!(impostor.fingerprint(), real.fingerprint());
    let client = impostor.client_builder().build().unwrap();
    let err = client.version().await.unwrap_err();
    assert!(err.is_tls(), "{err:?}");
    assert!(err.to_string().contains("BadSignature"), "{err}");
    assert_eq!(impostor.requests(), 0);
    // The same pin against the real server works.
    real.client_builder()
        .build()
        .unwrap()
        .version()
        .await
        .unwrap();
    // This test exercises TLS 1.3 (CertificateVerify); the TLS 1.2 one is below.
    assert_eq!(real.tls_versions(), ["TLSv1_3"]);
}

async fn wait_for_handshake_failure(pbs: &FakePbs) {
    for _ in 0..100 {
        if pbs.handshake_failures() > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the server never saw the refused handshake");
}

#[tokio::test]
async fn pinned_verifier_checks_the_tls12_handshake_signature() {
    // TLS 1.2 signs the ServerKeyExchange (`verify_tls12_signature`), TLS 1.3 the
    // CertificateVerify: the impostor test above only exercises the latter.
    let real = FakePbs::start_with(fast_config().with_tls12_only())
        .await
        .unwrap();
    real.client_builder()
        .build()
        .unwrap()
        .version()
        .await
        .unwrap();
    assert_eq!(real.tls_versions(), ["TLSv1_2"]);
    let impostor = FakePbs::start_with(
        fast_config()
            .with_tls12_only()
            .with_impersonate(real.certificate_der()),
    )
    .await
    .unwrap();
    assert_eq!(impostor.fingerprint(), real.fingerprint());
    let err = impostor
        .client_builder()
        .build()
        .unwrap()
        .version()
        .await
        .unwrap_err();
    assert!(err.is_tls(), "{err:?}");
    assert!(err.to_string().contains("BadSignature"), "{err}");
    assert_eq!(impostor.requests(), 0);
    assert!(impostor.tls_versions().is_empty());
    wait_for_handshake_failure(&impostor).await;
}
