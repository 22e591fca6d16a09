use std::time::{Duration, Instant};

use pbs_client::testing::{AUDIT_TOKEN_ID, FakePbs, USER};
use pbs_client::{BackupType, GroupRef, KeepOptions, SecretString};

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
    assert!(err.is_auth(), "{err:?}");
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
    let err = client.start_gc("store1").await.unwrap_err();
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
        .prune_group(
            "store1",
            &GroupRef::new(BackupType::Ct, "200"),
            &KeepOptions::new().with_last(2),
            true,
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
    let err = client.version().await.unwrap_err();
    assert!(err.is_auth(), "{err:?}");
    assert!(err.to_string().contains("/access/ticket"), "{err}");
}

#[tokio::test]
async fn ticket_is_renewed_before_it_expires() {
    let pbs = FakePbs::start_with(fast_config().with_ticket_lifetime(Duration::from_millis(1500)))
        .await
        .unwrap();
    let client = pbs
        .client_builder()
        .with_password(USER, pbs.password())
        .with_ticket_renew_after(Duration::from_millis(500))
        .build()
        .unwrap();
    client.version().await.unwrap();
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(700)).await;
        client.version().await.unwrap();
        // A write (CSRF header) on the renewed ticket.
        client.start_gc("store1").await.unwrap();
    }
    // 2.1 s after the first login every request still worked on renewed tickets: the
    // first ticket (1.5 s lifetime) was never needed after it expired.
    assert_eq!(pbs.logins(), 1);
    assert_eq!(pbs.renewals(), 3);
}

#[tokio::test]
async fn expired_ticket_triggers_a_new_login() {
    let pbs = FakePbs::start_with(fast_config().with_ticket_lifetime(Duration::from_millis(300)))
        .await
        .unwrap();
    let client = pbs
        .client_builder()
        .with_password(USER, pbs.password())
        .build()
        .unwrap();
    client.version().await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    client.version().await.unwrap();
    assert_eq!(pbs.logins(), 2);
}
