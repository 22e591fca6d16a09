//! Rate limits and retries: 429 honours Retry-After within bounds; 5xx retried for reads only.

use crate::{backoff, builder, client, fake, retry};
use infisical_client::Error;
use infisical_client::RetryConfig;
use std::time::{Duration, Instant};

#[tokio::test]
async fn rate_limited_read_waits_for_retry_after() {
    let fake = fake().await;
    fake.with_secret("prod", "/app", "A", "1")
        .with_rate_limit(1, Duration::from_secs(1));
    let c = client(&fake);
    c.list_secrets("/app").await.unwrap();
    let t0 = Instant::now();
    c.list_secrets("/app").await.unwrap();
    let waited = t0.elapsed();
    assert!(
        waited >= Duration::from_millis(500),
        "waited only {waited:?}"
    );
    let statuses: Vec<u16> = fake
        .requests()
        .iter()
        .filter(|r| r.path == "/api/v4/secrets")
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [200, 429, 200]);
}

#[tokio::test]
async fn retry_after_beyond_the_cap_fails_at_once() {
    let fake = fake().await;
    fake.with_secret("prod", "/app", "A", "1")
        .with_rate_limit(1, Duration::from_secs(30));
    let c = builder(&fake)
        .with_retry(retry().with_backoff(backoff().with_max_backoff(Duration::from_secs(2))))
        .build()
        .unwrap();
    c.list_secrets("/app").await.unwrap();
    let t0 = Instant::now();
    let err = c.list_secrets("/app").await.unwrap_err();
    assert!(t0.elapsed() < Duration::from_secs(2));
    match &err {
        Error::RateLimited { retry_after, .. } => {
            let ra = retry_after.expect("fake sends Retry-After");
            assert!(
                ra > Duration::from_secs(25) && ra <= Duration::from_secs(30),
                "{ra:?}"
            );
        }
        other => panic!("expected RateLimited, got {other}"),
    }
    assert!(err.is_retryable());
    assert_eq!(err.status(), Some(429));
}

#[tokio::test]
async fn retries_are_bounded() {
    let fake = fake().await;
    fake.with_secret("prod", "/app", "A", "1");
    let c = builder(&fake)
        .with_retry(retry().with_max_retries(2))
        .build()
        .unwrap();
    c.login().await.unwrap();
    fake.clear_requests().fail_next(100, 429);
    let err = c.list_secrets("/app").await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::RateLimited {
                retry_after: None,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(fake.count("/api/v4/secrets"), 3);
}

#[tokio::test]
async fn server_errors_are_retried_for_reads() {
    let fake = fake().await;
    fake.with_secret("prod", "/app", "A", "1");
    let c = client(&fake);
    c.login().await.unwrap();
    fake.clear_requests().fail_next(2, 503);
    assert_eq!(c.list_secrets("/app").await.unwrap().len(), 1);
    let statuses: Vec<u16> = fake.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [503, 503, 200]);
    // 500 is not transient: no retry.
    fake.clear_requests().fail_next(1, 500);
    let err = c.list_secrets("/app").await.unwrap_err();
    assert_eq!(err.status(), Some(500));
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn login_is_not_retried_on_server_errors_but_is_on_429() {
    let fake = fake().await;
    fake.fail_next(1, 503);
    let err = client(&fake).login().await.unwrap_err();
    assert_eq!(err.status(), Some(503), "{err}");
    assert_eq!(fake.count("/api/v1/auth/universal-auth/login"), 1);

    fake.clear_requests()
        .with_auth_rate_limit(1, Duration::from_secs(1));
    client(&fake).login().await.unwrap();
    client(&fake).login().await.unwrap();
    let statuses: Vec<u16> = fake.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 429, 200]);
}

#[tokio::test]
async fn retry_after_on_503_is_honoured_for_reads() {
    let fake = fake().await;
    fake.with_secret("prod", "/app", "A", "1");
    let c = client(&fake);
    c.login().await.unwrap();
    fake.clear_requests()
        .fail_next_with_retry_after(1, 503, Duration::from_secs(1));
    let t0 = Instant::now();
    c.list_secrets("/app").await.unwrap();
    assert!(
        t0.elapsed() >= Duration::from_millis(900),
        "{:?}",
        t0.elapsed()
    );
    let statuses: Vec<u16> = fake.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [503, 200]);
}

#[tokio::test]
async fn retry_timeout_bounds_the_waits() {
    let fake = fake().await;
    fake.with_secret("prod", "/app", "A", "1")
        .with_rate_limit(1, Duration::from_secs(1));
    let c = builder(&fake)
        .with_retry(retry().with_retry_timeout(Duration::from_millis(500)))
        .build()
        .unwrap();
    c.list_secrets("/app").await.unwrap();
    let t0 = Instant::now();
    let err = c.list_secrets("/app").await.unwrap_err();
    assert!(
        t0.elapsed() < Duration::from_millis(500),
        "{:?}",
        t0.elapsed()
    );
    assert!(
        matches!(
            err,
            Error::RateLimited {
                retry_after: Some(_),
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn disabled_retries_send_once() {
    let fake = fake().await;
    fake.with_secret("prod", "/app", "A", "1");
    let c = builder(&fake)
        .with_retry(RetryConfig::disabled())
        .build()
        .unwrap();
    c.login().await.unwrap();
    fake.clear_requests().fail_next(1, 429);
    let err = c.list_secrets("/app").await.unwrap_err();
    assert!(matches!(err, Error::RateLimited { .. }), "{err}");
    fake.clear_requests().fail_next(1, 503);
    let err = c.list_secrets("/app").await.unwrap_err();
    assert_eq!(err.status(), Some(503), "{err}");
    assert_eq!(fake.count("/api/v4/secrets"), 1);
}

#[tokio::test]
async fn retry_timeout_counts_from_the_first_attempt() {
    let fake = fake().await;
    fake.with_secret("prod", "/app", "A", "1");
    // Ten retries are allowed and every `Retry-After` (1 s) is within the cap, but the budget
    // counts from the first attempt: after one wait of 1 s a second retry would start after
    // 1.4 s, so it is not made.
    let c = builder(&fake)
        .with_retry(
            retry()
                .with_max_retries(10)
                .with_retry_timeout(Duration::from_millis(1400)),
        )
        .build()
        .unwrap();
    c.login().await.unwrap();
    fake.clear_requests()
        .fail_next_with_retry_after(100, 503, Duration::from_secs(1));
    let t0 = Instant::now();
    let err = c.list_secrets("/app").await.unwrap_err();
    let took = t0.elapsed();
    assert_eq!(err.status(), Some(503), "{err}");
    assert_eq!(fake.count("/api/v4/secrets"), 2);
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_millis(1400),
        "{took:?}"
    );
}
