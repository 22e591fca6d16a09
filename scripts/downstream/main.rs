//! A downstream tool as the homelab's other tools are built: a crate outside the workspace that
//! took garage-client, restic-remote, backup-policy and infisical-client with
//! `cargo add --registry homelab` and makes one real call with each against the test bed.
//! Run by scripts/registry-roundtrip.sh; exits non-zero on the first failure.

use std::error::Error;
use std::time::Duration;

use garage_client::s3::{GetOptions, PutOptions};
use garage_client::testing::GarageServer;
use infisical_client::Client as Infisical;
use infisical_client::testing::FakeInfisical;
use restic_remote::{BackupOptions, Repository, Restic, SnapshotFilter, Transport};
use secrecy::{ExposeSecret, SecretString};

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    // garage-client: a real Garage (the published `testing` feature), one object round trip.
    let garage = GarageServer::start().await?;
    let s3 = garage.client_builder().build()?;
    let key = "downstream/hello.txt";
    s3.put_object(garage.bucket(), key, "hello from downstream".into(), PutOptions::default())
        .await?;
    let body = s3.get_object(garage.bucket(), key, GetOptions::default()).await?.bytes().await?;
    assert_eq!(&body[..], b"hello from downstream");
    println!("garage-client: put and got {} bytes back", body.len());

    // restic-remote: a local restic backs a directory up into that Garage.
    let work = std::env::temp_dir().join(format!("downstream-{}", std::process::id()));
    std::fs::create_dir_all(work.join("data"))?;
    std::fs::write(work.join("data/file.txt"), b"restic from downstream")?;
    let repo = Repository::new(
        format!("s3:{}/{}/downstream-repo", garage.s3_endpoint(), garage.bucket()),
        SecretString::from("downstream-password"),
    )
    .with_s3_credentials(
        SecretString::from(garage.access_key_id().to_owned()),
        SecretString::from(garage.secret_access_key().expose_secret().to_owned()),
        garage.region(),
    );
    let restic = Restic::builder()
        .with_transport(Transport::local())
        .with_repository(repo)
        .with_cache_dir(work.join("cache").display().to_string())
        .with_request_timeout(Duration::from_secs(120))
        .build()?;
    restic.init().await?;
    let data = work.join("data").display().to_string();
    restic.backup(&BackupOptions::new([data.as_str()])).await?.finish().await?;
    let snapshots = restic.snapshots(&SnapshotFilter::new()).await?;
    assert_eq!(snapshots.len(), 1);
    println!("restic-remote: {} snapshot in Garage", snapshots.len());
    std::fs::remove_dir_all(&work)?;

    // backup-policy: the seed matrix, linted at a fixed instant.
    let matrix = backup_policy::Matrix::homelab()?;
    let findings = backup_policy::lint(&matrix, "2026-11-27T12:00:00Z".parse()?);
    assert!(!findings.is_empty());
    println!("backup-policy: {} findings on the seed matrix", findings.len());

    // infisical-client: universal auth and one secret from the published fake.
    let fake = FakeInfisical::start().await?;
    fake.with_identity("downstream-id", "downstream-secret")
        .with_secret("prod", "/backups/restic", "RESTIC_PASSWORD", "from-infisical");
    let infisical = Infisical::builder()
        .with_base_url(fake.base_url())
        .with_universal_auth("downstream-id", SecretString::from("downstream-secret"))
        .with_project_id(fake.project_id())
        .with_environment("prod")
        .build()?;
    let secret = infisical.get_secret("/backups/restic", "RESTIC_PASSWORD").await?;
    assert_eq!(secret.value.expose_secret(), "from-infisical");
    println!("infisical-client: read {} from {}", secret.key, secret.path);
    Ok(())
}
