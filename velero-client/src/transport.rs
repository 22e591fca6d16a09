//! The HTTP transport of downloads (everything that talks HTTP outside kube-rs): the download
//! client with the CLI's TLS choices, size caps, and what keeps a presigned URL out of errors.
//! Both the client builder and the download operations use it; it depends on neither.

use std::sync::Arc;
use std::time::Duration;

use crate::{Error, Result};

/// The `User-Agent` sent on downloads and API calls.
pub const USER_AGENT: &str = concat!(env!("CARGO_PKG_NAME"), "/", env!("CARGO_PKG_VERSION"));

/// The client's download settings: TLS (the CLI's `--cacert` and `--insecure-skip-tls-verify`)
/// and size caps.
#[derive(Clone, Debug)]
pub(crate) struct DownloadSettings {
    pub(crate) timeout: Duration,
    pub(crate) extra_ca: Option<Arc<Vec<u8>>>,
    pub(crate) insecure_skip_tls_verify: bool,
    pub(crate) max_download: usize,
    pub(crate) max_log_line: usize,
    /// Retries of object-store GETs.
    pub(crate) retry: crate::RetryConfig,
}

/// A download client trusting the system roots, plus the client's CA and the location's CA
/// (PEM) when given: Go's `x509.SystemCertPool()` + `AppendCertsFromPEM` in the CLI
/// (vmware-tanzu/velero pkg/cmd/util/downloadrequest/downloadrequest.go, `download`).
pub(crate) fn http_client(
    tls: &DownloadSettings,
    location_ca: Option<&[u8]>,
) -> Result<reqwest::Client> {
    let mut certs = Vec::new();
    for pem in tls
        .extra_ca
        .as_deref()
        .map(Vec::as_slice)
        .into_iter()
        .chain(location_ca)
    {
        match reqwest::Certificate::from_pem_bundle(pem) {
            Ok(found) => certs.extend(found),
            // Go's AppendCertsFromPEM skips what does not parse; so does this.
            Err(e) => tracing::warn!(error = %e, "ignoring a CA bundle that does not parse as PEM"),
        }
    }
    let mut builder = reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(Duration::from_secs(10))
        .timeout(tls.timeout);
    if !certs.is_empty() {
        builder = builder.tls_certs_merge(certs);
    }
    if tls.insecure_skip_tls_verify {
        builder = builder.tls_danger_accept_invalid_certs(true);
    }
    builder
        .build()
        .map_err(|source| Error::http("building the download client", source))
}

/// Whether a transport error is a failed TLS handshake or certificate check (rustls' error,
/// somewhere in reqwest's chain, possibly inside an `io::Error`).
pub(crate) fn is_tls_failure(err: &reqwest::Error) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        // io::Error hides its payload from `source()`; hyper and tokio-rustls nest them.
        let mut inner: &(dyn std::error::Error + 'static) = e;
        loop {
            if inner.is::<rustls::Error>() {
                return true;
            }
            match inner
                .downcast_ref::<std::io::Error>()
                .and_then(std::io::Error::get_ref)
            {
                Some(payload) => inner = payload,
                None => break,
            }
        }
        cur = e.source();
    }
    false
}

/// Removes from an S3 error body what could re-open or forge the presigned URL: the signature
/// itself wherever it appears, and the elements AWS echoes it in (`SignatureProvided`,
/// `StringToSign`, `CanonicalRequest` and their `…Bytes` twins).
pub(crate) fn scrub_body(body: &str, url: &str) -> String {
    let mut out = body.to_owned();
    for tag in [
        "SignatureProvided",
        "StringToSign",
        "StringToSignBytes",
        "CanonicalRequest",
        "CanonicalRequestBytes",
    ] {
        let open = format!("<{tag}>");
        let close = format!("</{tag}>");
        let redacted = format!("{open}[redacted]{close}");
        let mut from = 0;
        while let Some(start) = out[from..].find(&open).map(|i| from + i) {
            let end = out[start..]
                .find(&close)
                .map(|e| start + e + close.len())
                .unwrap_or(out.len());
            out.replace_range(start..end, &redacted);
            from = start + redacted.len();
        }
    }
    if let Ok(u) = reqwest::Url::parse(url) {
        if let Some(q) = u.query().filter(|q| !q.is_empty()) {
            out = out.replace(q, "[redacted]");
        }
        for (k, v) in u.query_pairs() {
            if v.len() >= 8 && (k.contains("Signature") || k.contains("Credential")) {
                out = out.replace(v.as_ref(), "[redacted]");
            }
        }
    }
    out
}

/// Gunzips `data`, refusing more than `limit` bytes of output (a gzip bomb).
pub(crate) fn gunzip_capped(data: &[u8], limit: usize, what: &str) -> Result<Vec<u8>> {
    use std::io::Read as _;
    let mut out = Vec::new();
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    flate2::read::GzDecoder::new(data)
        .take(cap)
        .read_to_end(&mut out)
        .map_err(|source| Error::DownloadRead {
            what: what.to_owned(),
            source,
        })?;
    if out.len() > limit {
        return Err(Error::DownloadTooLarge {
            what: what.to_owned(),
            limit,
        });
    }
    Ok(out)
}

/// Scheme, host and port of a URL: safe to show (no path, no signature).
pub(crate) fn endpoint_of(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => {
            let host = u.host_str().unwrap_or("?");
            match u.port() {
                Some(p) => format!("{}://{host}:{p}", u.scheme()),
                None => format!("{}://{host}", u.scheme()),
            }
        }
        Err(_) => "<unparseable download URL>".to_owned(),
    }
}

/// Default cap on one gunzipped log line (see [`crate::ClientBuilder::with_max_log_line_bytes`]).
pub const DEFAULT_MAX_LOG_LINE_BYTES: usize = 1024 * 1024;

/// Default cap on one whole download, after gunzip (see
/// [`crate::ClientBuilder::with_max_download_bytes`]).
pub const DEFAULT_MAX_DOWNLOAD_BYTES: usize = 256 * 1024 * 1024;

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Write;

    /// `data` gzipped, as Velero's object store serves logs and results (download.rs's tests too).
    pub(crate) fn gz(data: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn endpoints_hide_path_and_signature() {
        assert_eq!(
            endpoint_of(
                "http://garage.velero.svc:3900/velero-prod/backups/b/b-logs.gz?X-Amz-Signature=abc"
            ),
            "http://garage.velero.svc:3900"
        );
        assert_eq!(endpoint_of("not a url"), "<unparseable download URL>");
    }

    #[test]
    fn whole_downloads_are_capped_after_gunzip() {
        let data = gz(&vec![0u8; 1024 * 1024]);
        let err = gunzip_capped(&data, 1000, "BackupResults of b").unwrap_err();
        assert!(
            matches!(err, Error::DownloadTooLarge { limit: 1000, .. }),
            "{err:?}"
        );
        assert_eq!(
            gunzip_capped(&data, 1024 * 1024, "x").unwrap().len(),
            1024 * 1024
        );
    }

    #[test]
    fn s3_error_bodies_lose_the_signature() {
        let url = "https://s3.example:3900/b/backups/x/x-logs.gz?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=GK123%2F20261127%2Fgarage%2Fs3%2Faws4_request&X-Amz-Signature=deadbeefcafef00d";
        let body = "<Error><Code>SignatureDoesNotMatch</Code><SignatureProvided>deadbeefcafef00d</SignatureProvided><StringToSign>AWS4\nx</StringToSign><CanonicalRequest>GET\n/b\nX-Amz-Signature=deadbeefcafef00d</CanonicalRequest><SignatureProvided>deadbeefcafef00d</SignatureProvided><Other>deadbeefcafef00d</Other></Error>";
        let out = scrub_body(body, url);
        assert!(!out.contains("deadbeefcafef00d"), "{out}");
        assert!(out.contains("<Code>SignatureDoesNotMatch</Code>"), "{out}");
        assert_eq!(out.matches("[redacted]").count(), 5, "{out}");
    }
}
