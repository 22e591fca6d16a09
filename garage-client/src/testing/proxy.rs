//! A loopback HTTP/1.1 proxy in front of a real server that injects faults into chosen
//! exchanges: answer an error instead of forwarding, forward and then answer an error (the
//! server acted, the client hears it failed), cut a response body after some bytes, or never
//! answer.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use garage_client::testing::{Fault, FaultProxy};
//! let garage = garage_client::testing::GarageServer::start().await?;
//! let mut first = true;
//! let proxy = FaultProxy::start(garage.ports().s3, move |req| {
//!     if req.method == "POST" && req.target.contains("uploadId=") && std::mem::take(&mut first) {
//!         Fault::ForwardThenRespond(503)
//!     } else {
//!         Fault::None
//!     }
//! })
//! .await?;
//! let s3 = proxy.client_builder(&garage).build()?;
//! # let _ = s3;
//! # Ok(()) }
//! ```

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use super::GarageServer;
use crate::s3::S3ClientBuilder;

/// What the proxy does with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Forward the request and relay the answer.
    None,
    /// Answer this status (empty body) without forwarding; the connection is closed.
    Respond(u16),
    /// Answer this status and XML body without forwarding (e.g. an S3 `<Error>` document);
    /// the connection is closed.
    RespondXml(u16, &'static str),
    /// Forward the request, discard the server's answer and answer this status instead.
    ForwardThenRespond(u16),
    /// Forward, relay the response head and the first `n` bytes of the body, then reset the
    /// connection.
    CutBodyAfter(u64),
    /// Read the request and never answer, as a stalled server or a lost response would: the
    /// connection stays open until the client gives up.
    Stall,
}

/// The request line and headers of one proxied request.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RequestHead {
    /// Method, e.g. `POST`.
    pub method: String,
    /// Request target as sent (path and query), e.g. `/bucket/key?uploadId=…`.
    pub target: String,
    /// Headers, names lower-case.
    pub headers: Vec<(String, String)>,
}

impl RequestHead {
    /// The first value of a header (name in lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

type Rule = Arc<Mutex<dyn FnMut(&RequestHead) -> Fault + Send>>;

/// A running fault-injecting proxy (stops when dropped).
pub struct FaultProxy {
    port: u16,
    seen: Arc<Mutex<Vec<(RequestHead, Fault)>>>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for FaultProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultProxy")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl FaultProxy {
    /// Listens on a random loopback port and forwards to `127.0.0.1:upstream_port`, asking
    /// `rule` what to do with each request.
    ///
    /// # Errors
    ///
    /// The loopback listener could not be bound.
    ///
    /// ```no_run
    /// # async fn demo(garage: &garage_client::testing::GarageServer) -> std::io::Result<()> {
    /// use garage_client::testing::{Fault, FaultProxy};
    /// // Every PUT answered 503 without reaching Garage.
    /// let proxy = FaultProxy::start(garage.ports().s3, |req| {
    ///     if req.method == "PUT" { Fault::Respond(503) } else { Fault::None }
    /// })
    /// .await?;
    /// # let _ = proxy;
    /// # Ok(()) }
    /// ```
    pub async fn start(
        upstream_port: u16,
        rule: impl FnMut(&RequestHead) -> Fault + Send + 'static,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let port = listener.local_addr()?.port();
        let upstream = SocketAddr::from((Ipv4Addr::LOCALHOST, upstream_port));
        let rule: Rule = Arc::new(Mutex::new(rule));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let seen2 = seen.clone();
        let task = tokio::spawn(async move {
            let mut conns = JoinSet::new();
            while let Ok((sock, _)) = listener.accept().await {
                let (rule, seen) = (rule.clone(), seen2.clone());
                conns.spawn(async move {
                    if let Err(e) = serve(sock, upstream, rule, seen).await {
                        tracing::debug!(error = %e, "fault proxy connection ended");
                    }
                });
                while conns.try_join_next().is_some() {}
            }
        });
        Ok(FaultProxy { port, seen, task })
    }

    /// The S3 client builder of `garage` ([`GarageServer::client_builder`]) pointed at this
    /// proxy instead, for a proxy started in front of `garage`'s S3 port.
    pub fn client_builder(&self, garage: &GarageServer) -> S3ClientBuilder {
        garage.client_builder().with_endpoint(self.endpoint())
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The proxy's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Every request seen so far with the fault applied to it.
    pub fn requests(&self) -> Vec<(RequestHead, Fault)> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        // Dropping the accept task drops its JoinSet, which aborts every connection.
        self.task.abort();
    }
}

fn invalid(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned())
}

/// Reads a header block (up to the empty line); `None` on a clean EOF before it.
async fn read_head<R: AsyncRead + Unpin>(
    r: &mut BufReader<R>,
) -> std::io::Result<Option<(Vec<u8>, Vec<String>)>> {
    let mut raw = Vec::new();
    let mut lines = Vec::new();
    loop {
        let mut line = Vec::new();
        if r.read_until(b'\n', &mut line).await? == 0 {
            return if raw.is_empty() {
                Ok(None)
            } else {
                Err(invalid("EOF inside a header block"))
            };
        }
        raw.extend_from_slice(&line);
        if raw.len() > 64 << 10 {
            return Err(invalid("header block over 64 KiB"));
        }
        let text = String::from_utf8_lossy(&line).trim_end().to_owned();
        if text.is_empty() {
            return Ok(Some((raw, lines)));
        }
        lines.push(text);
    }
}

fn headers(lines: &[String]) -> Vec<(String, String)> {
    lines
        .iter()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect()
}

fn find<'a>(h: &'a [(String, String)], name: &str) -> Option<&'a str> {
    h.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

/// How a response body is framed.
enum Framing {
    None,
    Length(u64),
    Chunked,
    UntilClose,
}

async fn serve(
    client: TcpStream,
    upstream: SocketAddr,
    rule: Rule,
    seen: Arc<Mutex<Vec<(RequestHead, Fault)>>>,
) -> std::io::Result<()> {
    let mut client = BufReader::new(client);
    let mut up: Option<BufReader<TcpStream>> = None;
    loop {
        let Some((raw_head, lines)) = read_head(&mut client).await? else {
            return Ok(());
        };
        let mut request_line = lines[0].split(' ');
        let head = RequestHead {
            method: request_line.next().unwrap_or_default().to_owned(),
            target: request_line.next().unwrap_or_default().to_owned(),
            headers: headers(&lines),
        };
        if head.header("transfer-encoding").is_some() {
            return Err(invalid("chunked request bodies are not supported"));
        }
        let len: u64 = head
            .header("content-length")
            .map(|v| v.parse().map_err(|_| invalid("bad content-length")))
            .transpose()?
            .unwrap_or(0);
        let fault = {
            let mut rule = rule.lock().map_err(|_| invalid("rule panicked"))?;
            (*rule)(&head)
        };
        if let Ok(mut s) = seen.lock() {
            s.push((head.clone(), fault));
        }
        if let Fault::Respond(status) | Fault::RespondXml(status, _) = fault {
            // Read the body so the client is not reset while still sending it.
            tokio::io::copy(&mut (&mut client).take(len), &mut tokio::io::sink()).await?;
            let body = match fault {
                Fault::RespondXml(_, xml) => xml,
                _ => "",
            };
            return respond(client.get_mut(), status, body).await;
        }
        if fault == Fault::Stall {
            tokio::io::copy(&mut (&mut client).take(len), &mut tokio::io::sink()).await?;
            // Until the client closes (its timeout), then end without a word.
            tokio::io::copy(&mut client, &mut tokio::io::sink()).await?;
            return Ok(());
        }
        let mut u = match up.take() {
            Some(u) => u,
            None => BufReader::new(TcpStream::connect(upstream).await?),
        };
        u.get_mut().write_all(&raw_head).await?;
        tokio::io::copy(&mut (&mut client).take(len), u.get_mut()).await?;
        let Some((resp_raw, resp_lines)) = read_head(&mut u).await? else {
            return Err(invalid("upstream closed without answering"));
        };
        let status: u16 = resp_lines[0]
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| invalid("bad status line"))?;
        let resp_headers = headers(&resp_lines);
        let framing = if head.method == "HEAD" || status == 204 || status == 304 || status < 200 {
            Framing::None
        } else if find(&resp_headers, "transfer-encoding").is_some() {
            Framing::Chunked
        } else if let Some(n) = find(&resp_headers, "content-length") {
            Framing::Length(n.parse().map_err(|_| invalid("bad content-length"))?)
        } else {
            Framing::UntilClose
        };
        let close = matches!(framing, Framing::UntilClose)
            || find(&resp_headers, "connection").is_some_and(|v| v.eq_ignore_ascii_case("close"));
        match fault {
            Fault::ForwardThenRespond(status) => {
                relay_body(&mut u, &mut tokio::io::sink(), framing, u64::MAX).await?;
                return respond(client.get_mut(), status, "").await;
            }
            Fault::CutBodyAfter(n) => {
                client.get_mut().write_all(&resp_raw).await?;
                relay_body(&mut u, client.get_mut(), framing, n).await?;
                client.get_mut().flush().await?;
                // Linger 0: closing sends a reset, as a dropped connection would.
                let sock = client.into_inner();
                let _ = sock.set_zero_linger();
                drop(sock);
                return Ok(());
            }
            Fault::None | Fault::Respond(_) | Fault::RespondXml(..) | Fault::Stall => {
                client.get_mut().write_all(&resp_raw).await?;
                relay_body(&mut u, client.get_mut(), framing, u64::MAX).await?;
            }
        }
        if !close {
            up = Some(u);
        }
    }
}

async fn respond(client: &mut TcpStream, status: u16, body: &str) -> std::io::Result<()> {
    let content_type = if body.is_empty() {
        ""
    } else {
        "content-type: application/xml\r\n"
    };
    let msg = format!(
        "HTTP/1.1 {status} Injected Fault\r\n{content_type}content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    client.write_all(msg.as_bytes()).await?;
    client.shutdown().await
}

/// Copies a response body (at most `limit` bytes of its framed content) from `from` to `to`.
async fn relay_body<W: AsyncWrite + Unpin>(
    from: &mut BufReader<TcpStream>,
    to: &mut W,
    framing: Framing,
    limit: u64,
) -> std::io::Result<()> {
    match framing {
        Framing::None => Ok(()),
        Framing::Length(n) => {
            let copied = tokio::io::copy(&mut (&mut *from).take(n.min(limit)), to).await?;
            if copied < n.min(limit) {
                return Err(invalid("upstream body ended early"));
            }
            Ok(())
        }
        Framing::UntilClose => {
            tokio::io::copy(&mut (&mut *from).take(limit), to).await?;
            Ok(())
        }
        Framing::Chunked => {
            let mut sent = 0u64;
            loop {
                let mut size_line = Vec::new();
                from.read_until(b'\n', &mut size_line).await?;
                let text = String::from_utf8_lossy(&size_line);
                let size = u64::from_str_radix(text.trim().split(';').next().unwrap_or(""), 16)
                    .map_err(|_| invalid("bad chunk size"))?;
                if sent + size_line.len() as u64 > limit {
                    return Ok(());
                }
                to.write_all(&size_line).await?;
                sent += size_line.len() as u64;
                if size == 0 {
                    // Trailers up to the empty line.
                    loop {
                        let mut line = Vec::new();
                        from.read_until(b'\n', &mut line).await?;
                        to.write_all(&line).await?;
                        if line == b"\r\n" || line.is_empty() {
                            return Ok(());
                        }
                    }
                }
                let take = (size + 2).min(limit - sent);
                let copied = tokio::io::copy(&mut (&mut *from).take(take), to).await?;
                sent += copied;
                if copied < size + 2 {
                    return Ok(());
                }
            }
        }
    }
}
