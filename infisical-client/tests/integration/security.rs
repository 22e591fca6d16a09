//! Where credentials may travel: no redirect is followed, plain http only to loopback.

use crate::{CLIENT_ID, CLIENT_SECRET, fake};
use infisical_client::{Client, Error};
use secrecy::SecretString;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

/// A loopback server that answers every request with `status` and a `Location` pointing at
/// `target`, and records what it received.
fn redirector(status: u16, target: String) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        // Bounded: a handful of connections at most, then the thread ends.
        for stream in listener.incoming().take(8) {
            let Ok(mut stream) = stream else { return };
            let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(2)));
            let mut buf = vec![0u8; 64 * 1024];
            let n = stream.read(&mut buf).unwrap_or(0);
            let req = String::from_utf8_lossy(&buf[..n]).into_owned();
            let path = req
                .lines()
                .next()
                .and_then(|l| l.split(' ').nth(1))
                .unwrap_or("/")
                .to_owned();
            log.lock().unwrap().push(req);
            let resp = format!(
                "HTTP/1.1 {status} Redirect\r\nLocation: {target}{path}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            let _ = stream.write_all(resp.as_bytes());
        }
    });
    (format!("http://{addr}"), seen)
}

#[tokio::test]
async fn redirects_are_never_followed_with_credentials() {
    let fake = fake().await;
    fake.with_secret("prod", "/app", "A", "1");
    for status in [301, 302, 307, 308] {
        let (url, seen) = redirector(status, fake.base_url());
        let c = Client::builder()
            .with_base_url(url)
            .with_universal_auth(CLIENT_ID, SecretString::from(CLIENT_SECRET))
            .with_project_id(fake.project_id())
            .with_environment("prod")
            .build()
            .unwrap();
        let err = c.list_secrets("/app").await.unwrap_err();
        assert!(
            matches!(err, Error::Redirected { status: s, .. } if s == status),
            "{status}: {err:?}"
        );
        assert!(!err.to_string().contains(&fake.base_url()), "{err}");
        // The login body (with the client secret) reached the redirector only, never the
        // target; and nothing was sent twice.
        assert_eq!(fake.count("/api"), 0, "{status}: the redirect was followed");
        assert_eq!(seen.lock().unwrap().len(), 1);
    }
    // A bearer token is not carried across a redirect either.
    let (url, _) = redirector(307, fake.base_url());
    fake.with_token("tok-static-redirect");
    let c = Client::builder()
        .with_base_url(url)
        .with_token(SecretString::from("tok-static-redirect"))
        .with_project_id(fake.project_id())
        .with_environment("prod")
        .build()
        .unwrap();
    assert!(matches!(
        c.list_secrets("/app").await.unwrap_err(),
        Error::Redirected { .. }
    ));
    assert_eq!(fake.count("/api"), 0);
}

#[test]
fn plain_http_is_refused_except_loopback_unless_opted_in() {
    let b = || {
        Client::builder()
            .with_universal_auth(CLIENT_ID, SecretString::from(CLIENT_SECRET))
            .with_project_id("p")
            .with_environment("prod")
    };
    let err = b()
        .with_base_url("http://infisical.lan/api")
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::Config { .. }), "{err}");
    assert!(!err.to_string().contains(CLIENT_SECRET));
    assert!(
        b().with_base_url("http://infisical.lan/api")
            .with_plain_http(infisical_client::PlainHttp::AnyHost)
            .build()
            .is_ok()
    );
    assert!(b().with_base_url("http://127.0.0.1:1").build().is_ok());
    // From the CLI's variables too.
    let err = infisical_client::ClientBuilder::from_vars([
        ("INFISICAL_API_URL", "http://192.0.2.9:8080/api"),
        ("INFISICAL_TOKEN", "t"),
    ])
    .unwrap()
    .build()
    .unwrap_err();
    assert!(matches!(err, Error::Config { .. }), "{err}");
}
