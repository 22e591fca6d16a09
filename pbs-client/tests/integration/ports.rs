//! Issue 16 point 1: the client connects to the port the user wrote (`:443` behind a reverse
//! proxy included) and to 8007 only when no port was given. The host names below are never
//! resolved: a CONNECT proxy on 127.0.0.1 records the `host:port` the client asks for and
//! tunnels every connection to the fake, so nothing leaves loopback.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use super::common::fake;

/// A minimal HTTP CONNECT proxy: records each CONNECT target, answers 200 and then copies bytes
/// both ways between the client and `upstream`, whatever target was asked for.
struct ConnectProxy {
    addr: SocketAddr,
    targets: Arc<Mutex<Vec<String>>>,
    task: JoinHandle<()>,
}

impl ConnectProxy {
    async fn start(upstream: SocketAddr) -> ConnectProxy {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let targets = Arc::new(Mutex::new(Vec::new()));
        let seen = targets.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let seen = seen.clone();
                tokio::spawn(async move {
                    // Read the request head (bounded), one CONNECT per connection.
                    let mut head = Vec::new();
                    let mut buf = [0u8; 512];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 8192 {
                        match client.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let text = String::from_utf8_lossy(&head);
                    let Some(target) = text
                        .lines()
                        .next()
                        .and_then(|l| l.strip_prefix("CONNECT "))
                        .and_then(|l| l.split(' ').next())
                    else {
                        let _ = client
                            .write_all(b"HTTP/1.1 405 Method Not Allowed\r\n\r\n")
                            .await;
                        return;
                    };
                    seen.lock().unwrap().push(target.to_owned());
                    let Ok(mut server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    if client
                        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                        .await
                        .is_err()
                    {
                        return;
                    }
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                });
            }
        });
        ConnectProxy {
            addr,
            targets,
            task,
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn targets(&self) -> Vec<String> {
        self.targets.lock().unwrap().clone()
    }
}

impl Drop for ConnectProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[tokio::test]
async fn the_port_written_is_the_port_asked_for() {
    let pbs = fake().await;
    let upstream: SocketAddr = pbs
        .base_url()
        .trim_start_matches("https://")
        .parse()
        .unwrap();
    let proxy = ConnectProxy::start(upstream).await;
    for (url, target) in [
        // PBS behind a reverse proxy on the HTTPS default port.
        ("https://pbs.example:443", "pbs.example:443"),
        // No port: PBS's own port.
        ("https://pbs.example", "pbs.example:8007"),
        ("https://pbs.example:8443", "pbs.example:8443"),
    ] {
        let before = proxy.targets().len();
        let client = pbs
            .client_builder()
            .with_base_url(url)
            .with_proxy(proxy.url())
            .build()
            .unwrap();
        assert_eq!(client.version().await.unwrap().version, "3.2", "{url}");
        let asked = proxy.targets();
        assert_eq!(asked.len(), before + 1, "{url}: {asked:?}");
        assert_eq!(asked[before], target, "{url}");
    }
}
