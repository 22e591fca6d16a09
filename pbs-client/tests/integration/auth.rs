use std::time::{Duration, Instant};

use pbs_client::testing::{AUDIT_TOKEN_ID, FakePbs, USER};
use pbs_client::{BackupType, GroupRef, KeepOptions, PruneMode, SecretString};

use super::common::{fake, fast_config};

#[tokio::test]
async fn bad_token_is_an_auth_error_after_the_server_delay() {
    let pbs = fake().await;
    let client = pbs
        .client_builder()
        .with_token("root@pam!test", SecretString::from("wrong"))
        .build()
        .unwrap();
    let t = Instant::now();
    let err = client.version().await.unwrap_err();
    assert!(err.is_unauthenticated(), "{err:?}");
    assert!(err.to_string().contains("authentication failed"), "{err}");
    assert!(t.elapsed() >= Duration::from_millis(300));
    // Secrets never end up in errors.
    assert!(!format!("{err:?}").contains("wrong\""));
}

#[tokio::test]
async fn audit_token_can_read_but_not_write() {
    let pbs = fake().await;
    let client = pbs
        .client_builder()
        .with_token(AUDIT_TOKEN_ID, pbs.audit_token_secret())
        .build()
        .unwrap();
    assert!(!client.datastores().await.unwrap().is_empty());
    let err = client.datastore("store1").start_gc().await.unwrap_err();
    assert!(err.is_permission_denied(), "{err:?}");
    assert_eq!(err.status(), Some(403));
}

#[tokio::test]
async fn password_login_ticket_and_csrf_on_writes() {
    let pbs = fake().await;
    let client = pbs
        .client_builder()
        .with_password(USER, pbs.password())
        .build()
        .unwrap();
    client.version().await.unwrap();
    // A write needs the CSRF header next to the cookie.
    let plan = client
        .datastore("store1")
        .prune_group(
            &GroupRef::new(BackupType::Ct, "200"),
            &KeepOptions::new().keep_last(2),
            PruneMode::DryRun,
        )
        .await
        .unwrap();
    assert_eq!(plan.iter().filter(|p| p.keep).count(), 2);
    client.datastores().await.unwrap();
    assert_eq!(pbs.logins(), 1, "one login serves all requests");
    assert_eq!(pbs.renewals(), 0);
}

#[tokio::test]
async fn wrong_password_is_an_auth_error() {
    let pbs = fake().await;
    let client = pbs
        .client_builder()
        .with_password(USER, SecretString::from("nope"))
        .build()
        .unwrap();
    let before = pbs.requests();
    let err = client.version().await.unwrap_err();
    assert!(err.is_unauthenticated(), "{err:?}");
    assert!(err.to_string().contains("/access/ticket"), "{err}");
    // One failed login, no pointless second attempt (each costs PBS's 401 delay).
    assert_eq!(pbs.requests() - before, 1);
}

#[tokio::test]
async fn ticket_is_renewed_before_it_expires() {
    let pbs = FakePbs::start_with(fast_config().with_ticket_lifetime(Duration::from_secs(2)))
        .await
        .unwrap();
    let client = pbs
        .client_builder()
        .with_password(USER, pbs.password())
        .with_ticket_renew_after(Duration::from_millis(500))
        .build()
        .unwrap();
    client.version().await.unwrap();
    for round in 0..4 {
        tokio::time::sleep(Duration::from_millis(700)).await;
        client.version().await.unwrap();
        // A write (CSRF header) on the renewed ticket.
        client
            .datastore("store1")
            .prune_group(
                &GroupRef::new(BackupType::Ct, "200"),
                &KeepOptions::new().keep_last(1),
                PruneMode::DryRun,
            )
            .await
            .unwrap();
        assert!(pbs.renewals() > round, "renewed in round {round}");
    }
    // 2.8 s after the only password login, past the first ticket's 2 s lifetime, every request
    // worked on renewed tickets.
    assert_eq!(pbs.logins(), 1);
}

#[tokio::test]
async fn expired_ticket_triggers_a_new_login() {
    let pbs = FakePbs::start_with(fast_config().with_ticket_lifetime(Duration::from_secs(1)))
        .await
        .unwrap();
    let client = pbs
        .client_builder()
        .with_password(USER, pbs.password())
        .build()
        .unwrap();
    client.version().await.unwrap();
    assert_eq!(pbs.logins(), 1);
    tokio::time::sleep(Duration::from_millis(1300)).await;
    // The server answers 401 for the expired ticket; the client logs in again and retries.
    client.version().await.unwrap();
    assert_eq!(pbs.logins(), 2);
    assert_eq!(pbs.renewals(), 0);
}
