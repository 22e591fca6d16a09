//! PUT: single request up to the threshold, else multipart with concurrent parts, bounded
//! memory (`part_size × concurrency`), CRC32C on every body and a full-object CRC32C checked by
//! the server at completion; aborted on failure or drop.

use std::io::Read;
use std::path::PathBuf;

use bytes::{Bytes, BytesMut};
use futures_util::stream::{BoxStream, StreamExt};
use http::{HeaderMap, HeaderValue, Method};
use tokio::task::JoinSet;

use super::parts::PartPlan;
use super::xml::{self, CompletedPart};
use super::{Call, PutOptions, PutPayload, PutResult, S3Client, encode_crc32c, header_value, text};
use crate::error::{Error, Result};

/// Sequential source of parts.
enum Reader {
    Bytes(Bytes),
    File {
        file: Option<std::fs::File>,
        path: PathBuf,
        remaining: u64,
        /// Buffers of finished parts, reused so memory pages stay mapped (no page faults).
        pool: Vec<BytesMut>,
    },
    Stream {
        stream: BoxStream<'static, std::io::Result<Bytes>>,
        pending: Bytes,
        eof: bool,
    },
}

impl Reader {
    /// Total size, if known up front.
    fn known_size(&self) -> Option<u64> {
        match self {
            Reader::Bytes(b) => Some(b.len() as u64),
            Reader::File { remaining, .. } => Some(*remaining),
            Reader::Stream { .. } => None,
        }
    }

    /// The next chunk of at most `n` bytes (exactly `n` unless the source ends), `None` at the end.
    async fn next_part(&mut self, n: usize) -> Result<Option<Bytes>> {
        match self {
            Reader::Bytes(b) => {
                if b.is_empty() {
                    return Ok(None);
                }
                let take = n.min(b.len());
                Ok(Some(b.split_to(take)))
            }
            Reader::File {
                file,
                path,
                remaining,
                pool,
            } => {
                if *remaining == 0 {
                    return Ok(None);
                }
                let want = (n as u64).min(*remaining) as usize;
                let f = file.take().ok_or_else(|| {
                    Error::io(Some(path.clone()), std::io::Error::other("file lost"))
                })?;
                let mut buf = pool.pop().unwrap_or_default();
                // One large read per part; a recycled buffer already has this length, so
                // `resize` neither allocates nor zeroes then.
                buf.resize(want, 0);
                let (f, res) = tokio::task::spawn_blocking(move || {
                    let res = (&f).read_exact(&mut buf[..]).map(|_| buf);
                    (f, res)
                })
                .await
                .map_err(|e| Error::io(Some(path.clone()), std::io::Error::other(e)))?;
                *file = Some(f);
                let buf = res.map_err(|e| Error::io(Some(path.clone()), e))?;
                *remaining -= want as u64;
                Ok(Some(buf.freeze()))
            }
            Reader::Stream {
                stream,
                pending,
                eof,
            } => {
                if pending.len() >= n {
                    return Ok(Some(pending.split_to(n)));
                }
                let mut buf = BytesMut::with_capacity(n);
                buf.extend_from_slice(pending);
                *pending = Bytes::new();
                while buf.len() < n && !*eof {
                    match stream.next().await {
                        Some(Ok(mut chunk)) => {
                            let room = n - buf.len();
                            if chunk.len() > room {
                                *pending = chunk.split_off(room);
                            }
                            buf.extend_from_slice(&chunk);
                        }
                        Some(Err(e)) => return Err(Error::io(None, e)),
                        None => *eof = true,
                    }
                }
                Ok(if buf.is_empty() {
                    None
                } else {
                    Some(buf.freeze())
                })
            }
        }
    }

    /// Takes back the buffer of an uploaded part for reuse (file sources only).
    fn recycle(&mut self, data: Bytes) {
        if let Reader::File { pool, .. } = self
            && pool.len() < 16
            && let Ok(buf) = data.try_into_mut()
        {
            pool.push(buf);
        }
    }

    /// Puts a chunk back in front (streams and bytes only).
    fn unread(&mut self, chunk: Bytes) {
        match self {
            Reader::Bytes(b) => {
                let mut m = BytesMut::from(chunk);
                m.extend_from_slice(b);
                *b = m.freeze();
            }
            Reader::Stream { pending, .. } => {
                let mut m = BytesMut::from(chunk);
                m.extend_from_slice(pending);
                *pending = m.freeze();
            }
            Reader::File { .. } => {}
        }
    }
}

/// Why a metadata value would not come back as sent, if it would not. Garage stores the
/// header's UTF-8 bytes as they arrive (`garage_api_s3-2.5.0:put.rs`,
/// `extract_metadata_headers`), but HTTP parsers trim a value's ends, and the signature
/// canonicalises whitespace differently on each side (Garage collapses every Unicode whitespace
/// run, `garage_api_common-2.5.0:signature/payload.rs`; aws-sigv4 only runs of spaces), so only a
/// single space may separate words.
fn metadata_value_problem(v: &str) -> Option<&'static str> {
    if v.chars().any(|c| c.is_control()) {
        Some("control characters cannot be sent in a header")
    } else if v.starts_with(' ') || v.ends_with(' ') {
        Some("leading or trailing spaces are trimmed by HTTP")
    } else if v.contains("  ") || v.chars().any(|c| c.is_whitespace() && c != ' ') {
        Some("only single spaces may separate words (other whitespace is not signed identically)")
    } else {
        None
    }
}

/// Content type and user metadata as headers; values are sent as raw UTF-8 (Garage stores and
/// returns them so), anything that would not round-trip is refused with
/// [`Error::InvalidMetadata`].
pub(super) fn object_headers(options: &PutOptions) -> Result<HeaderMap> {
    let invalid = |name: &str, reason: &'static str| Error::InvalidMetadata {
        name: name.to_owned(),
        reason,
    };
    let mut h = HeaderMap::new();
    if let Some(ct) = &options.content_type {
        if let Some(reason) = metadata_value_problem(ct) {
            return Err(invalid("content-type", reason));
        }
        h.insert(http::header::CONTENT_TYPE, header_value(ct)?);
    }
    for (k, v) in &options.metadata {
        let name = http::HeaderName::from_bytes(
            format!("x-amz-meta-{}", k.to_ascii_lowercase()).as_bytes(),
        )
        .map_err(|_| invalid(k, "not a valid header name"))?;
        if h.contains_key(&name) {
            return Err(invalid(
                k,
                "names differing only in case collide (sent lower-case)",
            ));
        }
        if let Some(reason) = metadata_value_problem(v) {
            return Err(invalid(k, reason));
        }
        let value = HeaderValue::from_str(v).map_err(|_| invalid(k, "not a valid header value"))?;
        h.insert(name, value);
    }
    Ok(h)
}

pub(super) async fn put(
    client: &S3Client,
    bucket: &str,
    key: &str,
    payload: PutPayload,
    options: &PutOptions,
) -> Result<PutResult> {
    let mp = client.inner.multipart;
    let mut reader = match payload {
        PutPayload::Bytes(b) => Reader::Bytes(b),
        PutPayload::File(path) => {
            let p = path.clone();
            let (file, size) = tokio::task::spawn_blocking(move || {
                let f = std::fs::File::open(&p)?;
                let size = f.metadata()?.len();
                Ok::<_, std::io::Error>((f, size))
            })
            .await
            .map_err(|e| Error::io(Some(path.clone()), std::io::Error::other(e)))?
            .map_err(|e| Error::io(Some(path.clone()), e))?;
            Reader::File {
                file: Some(file),
                path,
                remaining: size,
                pool: Vec::new(),
            }
        }
        PutPayload::Stream(stream) => Reader::Stream {
            stream,
            pending: Bytes::new(),
            eof: false,
        },
    };
    tracing::debug!(bucket, key, "put_object");
    // Checked before the payload is touched.
    let headers = object_headers(options)?;
    // Sizes S3 cannot hold are refused here, before any request.
    let plan = match reader.known_size() {
        Some(size) => PartPlan::known(size, &mp)?,
        None => PartPlan::stream(&mp),
    };
    let single = match reader.known_size() {
        Some(size) => size <= mp.threshold,
        None => {
            // Look ahead up to the threshold (+1 byte) to decide.
            let head = reader
                .next_part(mp.threshold as usize + 1)
                .await?
                .unwrap_or_default();
            let small = head.len() as u64 <= mp.threshold;
            reader.unread(head);
            small
        }
    };
    if single {
        let body = reader
            .next_part(mp.threshold as usize + 1)
            .await?
            .unwrap_or_default();
        return put_single(client, bucket, key, body, headers).await;
    }
    put_multipart(client, bucket, key, reader, plan, headers).await
}

async fn put_single(
    client: &S3Client,
    bucket: &str,
    key: &str,
    body: Bytes,
    mut h: HeaderMap,
) -> Result<PutResult> {
    let crc = encode_crc32c(crc32c::crc32c(&body));
    h.insert("x-amz-checksum-crc32c", header_value(&crc)?);
    let size = body.len() as u64;
    let url = client.url(bucket, Some(key), &[])?;
    let resp = client
        .call(
            Call::new(Method::PUT, url)
                .headers(h)
                .body(body)
                .timeout(client.body_timeout(size)),
        )
        .await?;
    let etag = etag_of(&resp.headers);
    Ok(PutResult {
        etag,
        size,
        parts: 0,
        checksum_crc32c: crc,
    })
}

fn etag_of(h: &HeaderMap) -> String {
    h.get(http::header::ETAG)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .trim_matches('"')
        .to_owned()
}

/// Aborts the multipart upload when dropped while armed (e.g. the future was cancelled).
struct AbortGuard {
    client: S3Client,
    bucket: String,
    key: String,
    upload_id: String,
    armed: bool,
}

impl Drop for AbortGuard {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            let (c, b, k, u) = (
                self.client.clone(),
                self.bucket.clone(),
                self.key.clone(),
                self.upload_id.clone(),
            );
            handle.spawn(async move {
                if let Err(e) = c.abort_multipart(&b, &k, &u).await {
                    tracing::warn!(error = %e, bucket = %b, key = %k, "could not abort multipart upload");
                }
            });
        }
    }
}

async fn put_multipart(
    client: &S3Client,
    bucket: &str,
    key: &str,
    mut reader: Reader,
    plan: PartPlan,
    mut h: HeaderMap,
) -> Result<PutResult> {
    h.insert(
        "x-amz-checksum-algorithm",
        HeaderValue::from_static("CRC32C"),
    );
    h.insert(
        "x-amz-checksum-type",
        HeaderValue::from_static("FULL_OBJECT"),
    );
    let url = client.url(bucket, Some(key), &[("uploads", "")])?;
    let resp = client
        .call(Call::new(Method::POST, url).headers(h).not_idempotent())
        .await?;
    let upload_id = xml::parse_upload_id(&text(resp).await?)?;
    let mut guard = AbortGuard {
        client: client.clone(),
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        upload_id: upload_id.clone(),
        armed: true,
    };
    let result = upload_parts(client, bucket, key, &upload_id, &mut reader, plan).await;
    let result = match result {
        Ok((parts, full_crc, size)) => {
            complete(client, bucket, key, &upload_id, &parts, full_crc, size)
                .await
                .map(|etag| PutResult {
                    etag,
                    size,
                    parts: parts.len() as u32,
                    checksum_crc32c: encode_crc32c(full_crc),
                })
        }
        Err(e) => Err(e),
    };
    if result.is_err() {
        guard.armed = false;
        if let Err(e) = client.abort_multipart(bucket, key, &upload_id).await {
            tracing::warn!(error = %e, "could not abort multipart upload");
        }
    }
    guard.armed = false;
    result
}

async fn upload_parts(
    client: &S3Client,
    bucket: &str,
    key: &str,
    upload_id: &str,
    reader: &mut Reader,
    plan: PartPlan,
) -> Result<(Vec<CompletedPart>, u32, u64)> {
    let mut set: JoinSet<Result<(CompletedPart, Bytes)>> = JoinSet::new();
    let mut parts = Vec::new();
    let mut number = 0u32;
    let mut full_crc: Option<u32> = None;
    let mut total = 0u64;
    let mut eof = false;
    loop {
        while !eof && set.len() < plan.concurrency(plan.part_size(number + 1)) {
            match reader
                .next_part(plan.part_size(number + 1) as usize)
                .await?
            {
                None => eof = true,
                Some(data) => {
                    number += 1;
                    if number > plan.max_parts() {
                        return Err(Error::ObjectTooLarge {
                            size: total + data.len() as u64,
                            limit: plan.capacity(),
                        });
                    }
                    let crc = crc32c::crc32c(&data);
                    full_crc = Some(match full_crc {
                        None => crc,
                        Some(f) => crc32c::crc32c_combine(f, crc, data.len()),
                    });
                    total += data.len() as u64;
                    let (c, b, k, u) = (
                        client.clone(),
                        bucket.to_owned(),
                        key.to_owned(),
                        upload_id.to_owned(),
                    );
                    set.spawn(async move { c.upload_part(&b, &k, &u, number, data, crc).await });
                }
            }
        }
        match set.join_next().await {
            None => break,
            Some(joined) => {
                let (part, data) =
                    joined.map_err(|e| Error::io(None, std::io::Error::other(e)))??;
                parts.push(part);
                reader.recycle(data);
            }
        }
    }
    parts.sort_by_key(|p| p.number);
    Ok((parts, full_crc.unwrap_or(0), total))
}

/// `CompleteMultipartUpload`, retried like an idempotent request on 5xx and transport errors
/// (completing twice with the same part list is harmless). If a retry finds the upload gone
/// (`NoSuchUpload`), an earlier attempt may have completed it and only its answer was lost: the
/// object is then accepted when a HEAD shows exactly the size and full-object CRC32C uploaded.
async fn complete(
    client: &S3Client,
    bucket: &str,
    key: &str,
    upload_id: &str,
    parts: &[CompletedPart],
    full_crc: u32,
    size: u64,
) -> Result<String> {
    let body = Bytes::from(xml::complete_body(parts)?);
    let url = client.url(bucket, Some(key), &[("uploadId", upload_id)])?;
    let crc = encode_crc32c(full_crc);
    let mut h = HeaderMap::new();
    h.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml"),
    );
    h.insert("x-amz-checksum-crc32c", header_value(&crc)?);
    h.insert(
        "x-amz-checksum-type",
        HeaderValue::from_static("FULL_OBJECT"),
    );
    let sent = client
        .call(
            Call::new(Method::POST, url)
                .headers(h)
                .signed_body(body)
                .timeout(std::time::Duration::from_secs(300)),
        )
        .await;
    let err = match sent {
        Ok(resp) => {
            return xml::parse_etag_result("CompleteMultipartUpload result", &text(resp).await?);
        }
        Err(e) => e,
    };
    if err.as_s3().map(|e| &e.code) != Some(&crate::error::S3ErrorCode::NoSuchUpload) {
        return Err(err);
    }
    // The upload's own error stands unless the object proves it completed.
    let Ok(head) = client.head_object(bucket, key).await else {
        return Err(err);
    };
    if head.size == size && head.checksum_crc32c.as_deref() == Some(crc.as_str()) {
        tracing::info!(
            bucket,
            key,
            size,
            "multipart upload already completed by an earlier attempt (same size and CRC32C)"
        );
        Ok(head.etag.unwrap_or_default())
    } else {
        Err(err)
    }
}

impl S3Client {
    pub(super) fn body_timeout(&self, size: u64) -> std::time::Duration {
        // At least the configured request timeout, plus one second per 4 MiB.
        self.inner.transport.config().request_timeout
            + std::time::Duration::from_secs(size / (4 << 20))
    }

    async fn upload_part(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        number: u32,
        data: Bytes,
        crc: u32,
    ) -> Result<(CompletedPart, Bytes)> {
        let n = number.to_string();
        let url = self.url(
            bucket,
            Some(key),
            &[("partNumber", &n), ("uploadId", upload_id)],
        )?;
        let crc_b64 = encode_crc32c(crc);
        let mut h = HeaderMap::new();
        h.insert("x-amz-checksum-crc32c", header_value(&crc_b64)?);
        let timeout = self.body_timeout(data.len() as u64);
        let resp = self
            .call(
                Call::new(Method::PUT, url)
                    .headers(h)
                    .body(data.clone())
                    .timeout(timeout),
            )
            .await?;
        let part = CompletedPart {
            number,
            etag: etag_of(&resp.headers),
            crc32c: crc_b64,
        };
        drop(resp);
        Ok((part, data))
    }

    /// Aborts a multipart upload (`AbortMultipartUpload`).
    ///
    /// # Errors
    ///
    /// [`Error::S3`] when Garage refuses the request (see
    /// [`Error::is_not_found`],
    /// [`Error::is_permission_denied`]) (404 `NoSuchUpload`);
    /// [`Error::Transport`] when no answer came within the retries;
    /// [`Error::InvalidBucketName`] /
    /// [`Error::InvalidKey`] before any request for a name that cannot be
    /// sent byte-exact.
    ///
    /// ```no_run
    /// # async fn demo(s3: garage_client::S3Client) -> Result<(), Box<dyn std::error::Error>> {
    /// s3.abort_multipart("backups", "vm/100.img", "upload-id").await?;
    /// # Ok(()) }
    /// ```
    pub async fn abort_multipart(&self, bucket: &str, key: &str, upload_id: &str) -> Result<()> {
        let url = self.url(bucket, Some(key), &[("uploadId", upload_id)])?;
        self.send_delete(url).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stream_reader_splits_into_exact_parts_and_unreads() {
        let chunks: Vec<std::io::Result<Bytes>> = vec![
            Ok(Bytes::from_static(b"abc")),
            Ok(Bytes::from_static(b"defgh")),
            Ok(Bytes::from_static(b"i")),
        ];
        let mut r = Reader::Stream {
            stream: futures_util::stream::iter(chunks).boxed(),
            pending: Bytes::new(),
            eof: false,
        };
        let head = r.next_part(4).await.unwrap().unwrap();
        assert_eq!(&head[..], b"abcd");
        r.unread(head);
        assert_eq!(&r.next_part(2).await.unwrap().unwrap()[..], b"ab");
        assert_eq!(&r.next_part(5).await.unwrap().unwrap()[..], b"cdefg");
        assert_eq!(&r.next_part(5).await.unwrap().unwrap()[..], b"hi");
        assert!(r.next_part(5).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn file_reader_reads_parts() {
        let dir = tempfile_dir();
        let path = dir.join("f.bin");
        std::fs::write(&path, b"0123456789").unwrap();
        let f = std::fs::File::open(&path).unwrap();
        let mut r = Reader::File {
            file: Some(f),
            path: path.clone(),
            remaining: 10,
            pool: Vec::new(),
        };
        assert_eq!(&r.next_part(4).await.unwrap().unwrap()[..], b"0123");
        let second = r.next_part(4).await.unwrap().unwrap();
        assert_eq!(&second[..], b"4567");
        r.recycle(second);
        assert!(
            matches!(&r, Reader::File { pool, .. } if pool.len() == 1),
            "buffer recycled"
        );
        assert_eq!(&r.next_part(4).await.unwrap().unwrap()[..], b"89");
        assert!(r.next_part(4).await.unwrap().is_none());
        std::fs::remove_dir_all(dir).unwrap();
    }

    fn tempfile_dir() -> PathBuf {
        let d = std::env::temp_dir().join(format!("garage-client-unit-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn combined_crc_equals_crc_of_concatenation() {
        let (a, b) = (b"hello ".as_slice(), b"world".as_slice());
        let combined = crc32c::crc32c_combine(crc32c::crc32c(a), crc32c::crc32c(b), b.len());
        assert_eq!(combined, crc32c::crc32c(b"hello world"));
    }

    #[test]
    fn metadata_headers() {
        let h = object_headers(
            &PutOptions::default()
                .with_content_type("text/plain")
                .with_metadata("Owner", "me"),
        )
        .unwrap();
        assert_eq!(h["content-type"], "text/plain");
        assert_eq!(h["x-amz-meta-owner"], "me");
        assert!(object_headers(&PutOptions::default().with_metadata("bad name", "x")).is_err());
        let utf8 =
            object_headers(&PutOptions::default().with_metadata("name", "café ☕ 東京")).unwrap();
        assert_eq!(
            utf8["x-amz-meta-name"].as_bytes(),
            "café ☕ 東京".as_bytes()
        );
        for bad in ["a\tb", "a  b", " a", "a ", "a\u{a0}b", "a\nb", "a\u{2003}b"] {
            let e = object_headers(&PutOptions::default().with_metadata("n", bad)).unwrap_err();
            assert!(matches!(e, Error::InvalidMetadata { .. }), "{bad:?}: {e:?}");
        }
        let e = object_headers(
            &PutOptions::default()
                .with_metadata("Owner", "a")
                .with_metadata("owner", "b"),
        )
        .unwrap_err();
        assert!(matches!(e, Error::InvalidMetadata { .. }), "{e:?}");
    }
}
