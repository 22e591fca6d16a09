//! No public handle prints a secret in its `Debug` output (issue 14, item 1).

use futures::TryStreamExt as _;
use restic_remote::{BackupOptions, Repository, Restic, RestoreOptions, SshTransport, Transport};
use secrecy::SecretString;

fn canary() -> String {
    format!(
        "CANARY{}x{}",
        std::process::id(),
        jiff::Timestamp::now().as_nanosecond()
    )
}

/// Asserts `text` holds no canary-derived secret.
fn clean(what: &str, text: &str, canary: &str) {
    assert!(
        !text.contains(canary),
        "{what} Debug output leaks a secret: {text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_public_handle_type_debug_prints_a_secret() {
    let canary = canary();
    let work = tempfile::tempdir().unwrap();
    // A repository location with the canary in it (restic echoes a missing repository's
    // location on stderr: it ends up in the handle's buffers), a canary password and AWS keys.
    let uri = format!("{}/repo-{canary}-uri", work.path().display());
    let repo = Repository::new(uri, SecretString::from(format!("{canary}-password")))
        .with_s3_credentials(
            SecretString::from(format!("GK{canary}")),
            SecretString::from(format!("{canary}-aws-secret")),
            "garage",
        )
        .with_env(
            "AWS_SESSION_TOKEN",
            SecretString::from(format!("{canary}-token")),
        );
    let builder = Restic::builder()
        .with_repository(repo.clone())
        .with_cache_dir(work.path().join("cache").display().to_string());
    clean("ResticBuilder", &format!("{builder:?}"), &canary);
    let restic = builder.build().unwrap();
    clean("Restic", &format!("{restic:?}"), &canary);
    clean("Repository", &format!("{repo:?}"), &canary);
    clean("Transport", &format!("{:?}", Transport::local()), &canary);

    // Each running handle, once while running and once after restic exited (its stderr, with
    // the repository location, is then buffered inside).
    let mut backup = restic
        .backup(&BackupOptions::new([work.path().display().to_string()]))
        .await
        .unwrap();
    clean("BackupRun", &format!("{backup:?}"), &canary);
    while let Ok(Some(_)) = backup.events().try_next().await {}
    clean("BackupRun (exited)", &format!("{backup:?}"), &canary);
    let err = backup.finish().await.unwrap_err();
    assert!(err.is_no_repository(), "{err:?}");
    clean("Error", &format!("{err:?} {err}"), &canary);

    let mut restore = restic
        .restore(&RestoreOptions::new(
            "latest",
            work.path().join("t").display().to_string(),
        ))
        .await
        .unwrap();
    clean("RestoreRun", &format!("{restore:?}"), &canary);
    while let Ok(Some(_)) = restore.events().try_next().await {}
    clean("RestoreRun (exited)", &format!("{restore:?}"), &canary);

    // ls is a plain stream (no Debug); its failure, with restic's stderr, must be clean.
    let err = restic
        .ls("latest", &[])
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert!(err.is_no_repository(), "{err:?}");
    clean("ls error", &format!("{err:?} {err}"), &canary);

    // SSH builder with an in-memory key and a passphrase (no connection needed).
    let ssh = SshTransport::builder("127.0.0.1")
        .with_key(SecretString::from(format!("-----BEGIN {canary} KEY-----")))
        .with_key_passphrase(SecretString::from(format!("{canary}-passphrase")));
    clean("SshTransportBuilder", &format!("{ssh:?}"), &canary);
}
