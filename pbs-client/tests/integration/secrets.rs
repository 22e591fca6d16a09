//! Issue 14 item 5: no token secret, password, ticket or CSRF token in any error (Display,
//! Debug, `{:#}`, every `source()`), in `Debug` of the client types, or in any tracing or `log`
//! line at TRACE level (ours, reqwest's, hyper's, rustls's and the fake's), across logins,
//! renewals, re-logins after a 401, wrong credentials, TLS refusals, transport and decode
//! failures.

use std::io::Write;
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use pbs_client::testing::{FakePbs, TOKEN_ID, USER};
use pbs_client::{Client, Error, Fingerprint, RetryConfig, SecretString, VerifyOptions};
use secrecy::ExposeSecret;

use super::common::fast_config;

/// Collects every formatted log line of this thread.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Capture {
        self.clone()
    }
}

/// Every rendering of an error a program might print.
fn renderings(e: &Error) -> Vec<String> {
    let mut out = vec![
        format!("{e}"),
        format!("{e:?}"),
        format!("{e:#}"),
        format!("{e:#?}"),
    ];
    let mut cur: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = cur {
        out.push(format!("{s}"));
        out.push(format!("{s:?}"));
        cur = s.source();
    }
    out
}

#[tokio::test]
async fn no_secret_in_errors_debug_or_logs() {
    static LOG_BRIDGE: Once = Once::new();
    // `log` records (reqwest, rustls) become tracing events of the current thread's subscriber.
    LOG_BRIDGE.call_once(|| tracing_log::LogTracer::init().expect("log bridge"));
    let capture = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(capture.clone())
        .finish();
    // The test runs on a current-thread runtime: the client and the fake log here.
    let _guard = tracing::subscriber::set_default(subscriber);

    let pbs = FakePbs::start_with(fast_config()).await.unwrap();
    let wrong_token = SecretString::from("WRONG-token-secret-canary-5f1e");
    let wrong_password = SecretString::from("WRONG-password-canary-77ab");
    let mut errors: Vec<Error> = Vec::new();
    let mut debugs: Vec<String> = Vec::new();

    // Token: success, then a wrong secret (401).
    let token = pbs.client_builder().build().unwrap();
    token.version().await.unwrap();
    debugs.push(format!("{token:?}"));
    debugs.push(format!("{:?}", pbs.client_builder()));
    let bad = pbs
        .client_builder()
        .with_token(TOKEN_ID, wrong_token.clone())
        .build()
        .unwrap();
    errors.push(bad.version().await.unwrap_err());

    // Password: login, a write (CSRF), renewal on every request, a forced re-login after a
    // 401, a login answer that does not decode, and a wrong password.
    let password = pbs
        .client_builder()
        .with_password(USER, pbs.password())
        .with_ticket_renew_after(Duration::ZERO)
        .build()
        .unwrap();
    debugs.push(format!("{password:?}"));
    password.datastores().await.unwrap();
    password
        .datastore("store1")
        .verify(&VerifyOptions::new())
        .await
        .unwrap();
    pbs.inject_response(
        "/admin/datastore",
        401,
        "authentication failed - invalid ticket",
        None,
    );
    password.datastores().await.unwrap();
    pbs.inject_response(
        "/access/ticket",
        200,
        r#"{"data":{"ticket":17,"CSRFPreventionToken":"x"}}"#,
        None,
    );
    pbs.inject_response(
        "/access/ticket",
        200,
        r#"{"data":{"ticket":17,"CSRFPreventionToken":"x"}}"#,
        None,
    );
    errors.push(password.datastores().await.unwrap_err());
    let wrong = pbs
        .client_builder()
        .with_password(USER, wrong_password.clone())
        .build()
        .unwrap();
    errors.push(wrong.version().await.unwrap_err());

    // A failing task, a wrong pin, and a server that is gone (after a login).
    let upid = password
        .datastore("store1")
        .verify(&VerifyOptions::new())
        .await
        .unwrap();
    errors.push(
        password
            .wait_task(&upid, Duration::from_secs(10))
            .await
            .unwrap_err(),
    );
    let pinned_wrong = pbs
        .client_builder()
        .with_password(USER, pbs.password())
        .with_fingerprint(Fingerprint::from_bytes([7; 32]))
        .build()
        .unwrap();
    errors.push(pinned_wrong.version().await.unwrap_err());
    let base = pbs.base_url();
    let tickets = pbs.issued_tickets();
    let token_secret = pbs.token_secret();
    let the_password = pbs.password();
    drop(pbs);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let gone: Client = Client::builder()
        .with_base_url(base.clone())
        .danger_accept_invalid_certs()
        .with_token(TOKEN_ID, token_secret.clone())
        .with_retry(RetryConfig::disabled())
        .build()
        .unwrap();
    errors.push(gone.version().await.unwrap_err());
    let gone_login = Client::builder()
        .with_base_url(base)
        .danger_accept_invalid_certs()
        .with_password(USER, the_password.clone())
        .with_retry(RetryConfig::disabled())
        .build()
        .unwrap();
    errors.push(gone_login.datastores().await.unwrap_err());

    let mut secrets: Vec<(&str, String)> = vec![
        ("token secret", token_secret.expose_secret().to_owned()),
        ("wrong token secret", wrong_token.expose_secret().to_owned()),
        ("password", the_password.expose_secret().to_owned()),
        ("wrong password", wrong_password.expose_secret().to_owned()),
    ];
    assert!(
        tickets.len() >= 3,
        "logins, renewals and a re-login: {}",
        tickets.len()
    );
    for (ticket, csrf) in &tickets {
        secrets.push(("ticket", ticket.expose_secret().to_owned()));
        // The ticket's signature part alone is secret too.
        let sig = ticket
            .expose_secret()
            .rsplit("::")
            .next()
            .unwrap()
            .to_owned();
        secrets.push(("ticket signature", sig));
        secrets.push(("CSRF token", csrf.expose_secret().to_owned()));
    }
    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    // The capture saw our own spans, the re-login and the bridged `log` records.
    assert!(logs.contains("pbs_request"), "no request spans captured");
    assert!(
        logs.contains("ticket rejected, logging in again"),
        "no re-login captured"
    );
    assert!(
        logs.lines().count() > 50,
        "too few log lines captured:\n{logs}"
    );
    // `log` records bridged from rustls (the fake's side and the client's).
    assert!(logs.contains("rustls::"), "no bridged log records captured");
    let kinds: Vec<String> = errors.iter().map(|e| format!("{e:?}")).collect();
    assert_eq!(errors.len(), 7, "{kinds:#?}");
    for (what, secret) in &secrets {
        for e in &errors {
            for text in renderings(e) {
                assert!(
                    !text.contains(secret.as_str()),
                    "{what} in an error: {text}"
                );
            }
        }
        for d in &debugs {
            assert!(!d.contains(secret.as_str()), "{what} in Debug: {d}");
        }
        if let Some(line) = logs.lines().find(|l| l.contains(secret.as_str())) {
            panic!("{what} in a log line: {line}");
        }
    }
}
