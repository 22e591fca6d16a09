//! SigV4 signing with the settings Garage's S3 API needs (aws-sigv4): single-encoded,
//! non-normalised canonical URI, `x-amz-content-sha256` always present, and URL building.

use std::time::{Duration, SystemTime};

use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation,
    SigningSettings, UriPathNormalizationMode, sign,
};
use aws_smithy_runtime_api::client::identity::Identity;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use secrecy::ExposeSecret;
use url::Url;

use crate::config::Credentials;
use crate::error::{Error, Result};

/// How the payload is declared in `x-amz-content-sha256`.
#[derive(Debug, Clone)]
pub(crate) enum Payload<'a> {
    /// `UNSIGNED-PAYLOAD` (integrity comes from a checksum header instead).
    Unsigned,
    /// Small in-memory body hashed with SHA-256 (XML requests).
    Bytes(&'a [u8]),
}

/// Signs S3 requests for one key and region.
#[derive(Clone)]
pub(crate) struct Signer {
    region: String,
    identity: Identity,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

impl Signer {
    pub fn new(region: &str, creds: &Credentials) -> Self {
        let aws = aws_credential_types::Credentials::new(
            creds.access_key_id(),
            creds.secret_access_key().expose_secret(),
            None,
            None,
            "garage-client",
        );
        Signer {
            region: region.to_owned(),
            identity: aws.into(),
        }
    }

    fn settings(location: SignatureLocation, expires_in: Option<Duration>) -> SigningSettings {
        let mut s = SigningSettings::default();
        s.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        s.percent_encoding_mode = PercentEncodingMode::Single;
        s.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        s.signature_location = location;
        s.expires_in = expires_in;
        s
    }

    /// Adds `x-amz-date`, `x-amz-content-sha256` and `authorization` to `headers`.
    pub fn sign_headers(
        &self,
        method: &Method,
        url: &Url,
        headers: &mut HeaderMap,
        payload: Payload<'_>,
    ) -> Result<()> {
        self.sign_at(method, url, headers, payload, SystemTime::now())
    }

    pub(crate) fn sign_at(
        &self,
        method: &Method,
        url: &Url,
        headers: &mut HeaderMap,
        payload: Payload<'_>,
        time: SystemTime,
    ) -> Result<()> {
        let settings = Self::settings(SignatureLocation::Headers, None);
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&self.identity)
            .region(&self.region)
            .name("s3")
            .time(time)
            .settings(settings)
            .build()
            .map_err(|e| Error::Signing(e.to_string()))?
            .into();
        // Every header is signed, UTF-8 values included (Garage requires every x-amz-* header
        // to be signed and reads values as UTF-8).
        let pairs: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| {
                std::str::from_utf8(v.as_bytes())
                    .map(|v| (k.as_str(), v))
                    .map_err(|_| Error::Signing(format!("header {k} is not UTF-8")))
            })
            .collect::<Result<_>>()?;
        let body = match payload {
            Payload::Unsigned => SignableBody::UnsignedPayload,
            Payload::Bytes(b) => SignableBody::Bytes(b),
        };
        let uri = canonical_uri(url)?;
        let signable = SignableRequest::new(method.as_str(), &uri, pairs.into_iter(), body)
            .map_err(|e| Error::Signing(e.to_string()))?;
        let (instructions, _) = sign(signable, &params)
            .map_err(|e| Error::Signing(e.to_string()))?
            .into_parts();
        for (name, value) in instructions.headers() {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| Error::Signing(e.to_string()))?;
            let value = HeaderValue::from_str(value).map_err(|e| Error::Signing(e.to_string()))?;
            headers.insert(name, value);
        }
        Ok(())
    }

    /// A presigned URL (query-string signature, `UNSIGNED-PAYLOAD`) valid for `expires_in`.
    pub fn presign(
        &self,
        method: &Method,
        url: &Url,
        expires_in: Duration,
        time: SystemTime,
    ) -> Result<Url> {
        if expires_in > Duration::from_secs(7 * 24 * 3600) {
            return Err(Error::Config(
                "presigned URLs are valid for at most 7 days".into(),
            ));
        }
        // X-Amz-Expires counts whole seconds: less than one would be a URL that is already
        // expired (0) or silently rounded.
        if expires_in < Duration::from_secs(1) {
            return Err(Error::Config(
                "presigned URLs must be valid for at least 1 second".into(),
            ));
        }
        let settings = Self::settings(SignatureLocation::QueryParams, Some(expires_in));
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&self.identity)
            .region(&self.region)
            .name("s3")
            .time(time)
            .settings(settings)
            .build()
            .map_err(|e| Error::Signing(e.to_string()))?
            .into();
        let host = host_header(url);
        let uri = canonical_uri(url)?;
        let signable = SignableRequest::new(
            method.as_str(),
            &uri,
            std::iter::once(("host", host.as_str())),
            SignableBody::UnsignedPayload,
        )
        .map_err(|e| Error::Signing(e.to_string()))?;
        let (instructions, _) = sign(signable, &params)
            .map_err(|e| Error::Signing(e.to_string()))?
            .into_parts();
        let mut out = url.clone();
        {
            let mut q = out.query_pairs_mut();
            for (k, v) in instructions.params() {
                q.append_pair(k, v);
            }
        }
        Ok(out)
    }
}

fn host_header(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_owned(),
    }
}

/// S3's `UriEncode`: every byte except the RFC 3986 unreserved characters
/// (`A-Z a-z 0-9 - _ . ~`), as `%XX` with upper-case hex.
pub(crate) const URI_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// [`URI_ENCODE`] keeping `/` (S3's `UriEncode(key, false)`).
const URI_ENCODE_PATH: &AsciiSet = &URI_ENCODE.remove(b'/');

/// Percent-encodes an object key for the URL path: everything except unreserved characters
/// and `/`.
pub(crate) fn encode_key(key: &str) -> String {
    utf8_percent_encode(key, URI_ENCODE_PATH).to_string()
}

/// Why a bucket name cannot be sent as one path segment, if it cannot.
fn bucket_problem(bucket: &str) -> Option<&'static str> {
    match bucket {
        "" => Some("empty"),
        "." | ".." => Some("a dot segment, which URL parsers resolve"),
        b if b.contains('/') => Some("contains `/`"),
        _ => None,
    }
}

/// Why a key cannot be sent byte-exact, if it cannot: the empty key addresses the bucket itself,
/// and a key that is a single dot segment cannot be written in a URL path (`url` resolves `.`,
/// `..` and their `%2e` spellings).
fn key_problem(key: &str) -> Option<&'static str> {
    match key {
        "" => Some("an empty key would address the bucket itself"),
        "." | ".." => {
            Some("a key that is only `.` or `..` is a dot segment, which URL parsers resolve")
        }
        _ => None,
    }
}

/// Checks a bucket name and key where they enter the crate (every object URL and the copy
/// source go through here).
pub(crate) fn check_object(bucket: &str, key: &str) -> Result<()> {
    if let Some(reason) = bucket_problem(bucket) {
        return Err(Error::InvalidBucketName {
            bucket: bucket.to_owned(),
            reason,
        });
    }
    if let Some(reason) = key_problem(key) {
        return Err(Error::InvalidKey {
            key: key.to_owned(),
            reason,
        });
    }
    Ok(())
}

/// The URL path form of a key (below `/bucket/`): every `/`-separated segment percent-encoded
/// as S3's `UriEncode`, joined by `/` — except that a `/` beside a `.` or `..` segment, or after
/// an empty segment (a leading `/`, `//`), is sent as `%2F`. The path then holds no dot segment a
/// URL parser would resolve and no slash Garage would drop (its router trims the slashes between
/// bucket and key before percent-decoding: `garage_api_s3-2.5.0:router.rs`,
/// `Endpoint::from_request`), while it decodes back to the key byte for byte.
fn key_path(key: &str) -> String {
    let segments: Vec<&str> = key.split('/').collect();
    let dot = |s: &str| s == "." || s == "..";
    let mut out = String::with_capacity(key.len() + 8);
    for (i, seg) in segments.iter().enumerate() {
        if i > 0 {
            let (left, right) = (segments[i - 1], *seg);
            if left.is_empty() || dot(left) || dot(right) {
                out.push_str("%2F");
            } else {
                out.push('/');
            }
        }
        out.push_str(&encode_key(seg));
    }
    out
}

/// Path-style URL of a bucket (`key = None`) or an object, refused when a name cannot be sent
/// byte-exact (see [`check_object`]). The URL parser is checked to have kept the path as built.
pub(crate) fn object_url(endpoint: &Url, bucket: &str, key: Option<&str>) -> Result<Url> {
    check_object(bucket, key.unwrap_or("k"))?;
    let mut url = endpoint.clone();
    let base = endpoint.path().trim_end_matches('/');
    let path = match key {
        Some(k) => format!("{base}/{}/{}", encode_key(bucket), key_path(k)),
        None => format!("{base}/{}", encode_key(bucket)),
    };
    url.set_path(&path);
    url.set_query(None);
    if url.path() != path {
        return Err(Error::InvalidKey {
            key: key.unwrap_or_default().to_owned(),
            reason: "the URL parser would rewrite it",
        });
    }
    Ok(url)
}

/// The URI the signature covers, as Garage rebuilds it from the request
/// (`garage_api_common-2.5.0:signature/payload.rs`, `canonical_request`): the path
/// percent-decoded, then encoded again with `/` kept; query as sent.
fn canonical_uri(url: &Url) -> Result<String> {
    let path = percent_encoding::percent_decode_str(url.path())
        .decode_utf8()
        .map_err(|e| Error::Signing(format!("path is not UTF-8: {e}")))?;
    let mut out = format!(
        "{}://{}{}",
        url.scheme(),
        host_header(url),
        encode_key(&path)
    );
    if let Some(q) = url.query() {
        out.push('?');
        out.push_str(q);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    fn signer(region: &str) -> Signer {
        Signer::new(
            region,
            &Credentials::new(
                "AKIDEXAMPLE",
                SecretString::from("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".to_owned()),
            ),
        )
    }

    #[test]
    fn keys_are_single_encoded_with_slashes_kept() {
        assert_eq!(encode_key("a b/c+d%e.txt"), "a%20b/c%2Bd%25e.txt");
        assert_eq!(encode_key("é"), "%C3%A9");
        let url = object_url(
            &Url::parse("http://127.0.0.1:3900").unwrap(),
            "bkt",
            Some("dir/a b"),
        )
        .unwrap();
        assert_eq!(url.as_str(), "http://127.0.0.1:3900/bkt/dir/a%20b");
    }

    /// What Garage 2.5 makes of a request path (`garage_api_s3-2.5.0:router.rs`,
    /// `Endpoint::from_request`): slashes trimmed, bucket up to the first `/`, the slashes after
    /// it trimmed, the rest percent-decoded.
    fn garage_parse(path: &str) -> (String, String) {
        let path = path.trim_start_matches('/');
        let (bucket, key) = path
            .split_once('/')
            .map(|(b, k)| (b, k.trim_start_matches('/')))
            .unwrap_or((path, ""));
        let key = percent_encoding::percent_decode_str(key)
            .decode_utf8()
            .unwrap()
            .into_owned();
        (bucket.to_owned(), key)
    }

    fn endpoint() -> Url {
        Url::parse("http://127.0.0.1:3900").unwrap()
    }

    #[test]
    fn odd_keys_get_paths_no_parser_rewrites() {
        for (key, path) in [
            ("a/./b", "/bkt/a%2F.%2Fb"),
            ("x/../../other/k", "/bkt/x%2F..%2F..%2Fother/k"),
            ("dir/..", "/bkt/dir%2F.."),
            ("/etc/hosts", "/bkt/%2Fetc/hosts"),
            ("a//b", "/bkt/a/%2Fb"),
            ("trailing/", "/bkt/trailing/"),
            ("a/%2e/b", "/bkt/a/%252e/b"),
            ("...", "/bkt/..."),
            ("plain/key.txt", "/bkt/plain/key.txt"),
        ] {
            let url = object_url(&endpoint(), "bkt", Some(key)).unwrap();
            assert_eq!(url.path(), path, "{key:?}");
            assert_eq!(garage_parse(url.path()), ("bkt".into(), key.into()));
        }
        for key in ["", ".", ".."] {
            let e = object_url(&endpoint(), "bkt", Some(key)).unwrap_err();
            assert!(matches!(e, Error::InvalidKey { .. }), "{key:?}: {e:?}");
        }
        for bucket in ["", ".", "..", "a/b"] {
            let e = object_url(&endpoint(), bucket, None).unwrap_err();
            assert!(matches!(e, Error::InvalidBucketName { .. }), "{bucket:?}");
        }
    }

    #[test]
    fn the_signed_uri_is_the_one_garage_rebuilds() {
        let url = object_url(&endpoint(), "bkt", Some("/a/./b c")).unwrap();
        assert_eq!(
            canonical_uri(&url).unwrap(),
            "http://127.0.0.1:3900/bkt//a/./b%20c"
        );
    }

    proptest::proptest! {
        /// Every accepted key survives the URL parser (also when the URL is parsed again from
        /// its text, as a proxy or log would) and decodes to itself on Garage's side, and the
        /// signed URI is Garage's rebuild of it.
        #[test]
        fn every_accepted_key_round_trips(key in "[a-z./%\\ é?#]{0,12}") {
            match object_url(&endpoint(), "bkt", Some(&key)) {
                Err(_) => proptest::prop_assert!(matches!(key.as_str(), "" | "." | "..")),
                Ok(url) => {
                    let reparsed = Url::parse(url.as_str()).unwrap();
                    proptest::prop_assert_eq!(reparsed.path(), url.path());
                    proptest::prop_assert_eq!(garage_parse(url.path()), ("bkt".to_owned(), key.clone()));
                    let canonical = canonical_uri(&url).unwrap();
                    proptest::prop_assert_eq!(canonical, format!("http://127.0.0.1:3900/bkt/{}", encode_key(&key)));
                }
            }
        }
    }

    #[test]
    fn header_signature_has_scope_region_and_unsigned_payload() {
        let s = signer("garage");
        let url = Url::parse("http://127.0.0.1:3900/bkt/dir/a%20b").unwrap();
        let mut h = HeaderMap::new();
        h.insert("x-amz-meta-owner", HeaderValue::from_static("me"));
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        s.sign_at(&Method::PUT, &url, &mut h, Payload::Unsigned, t)
            .unwrap();
        let auth = h["authorization"].to_str().unwrap();
        assert!(
            auth.starts_with(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20231114/garage/s3/aws4_request"
            ),
            "{auth}"
        );
        assert!(
            auth.contains("x-amz-meta-owner"),
            "every x-amz-* header is signed: {auth}"
        );
        assert_eq!(h["x-amz-content-sha256"], "UNSIGNED-PAYLOAD");
        assert_eq!(h["x-amz-date"], "20231114T221320Z");
        // Deterministic for the same input.
        let mut h2 = HeaderMap::new();
        h2.insert("x-amz-meta-owner", HeaderValue::from_static("me"));
        s.sign_at(&Method::PUT, &url, &mut h2, Payload::Unsigned, t)
            .unwrap();
        assert_eq!(h["authorization"], h2["authorization"]);
        // A different region changes the signature.
        let mut h3 = HeaderMap::new();
        h3.insert("x-amz-meta-owner", HeaderValue::from_static("me"));
        signer("us-east-1")
            .sign_at(&Method::PUT, &url, &mut h3, Payload::Unsigned, t)
            .unwrap();
        assert_ne!(h["authorization"], h3["authorization"]);
    }

    #[test]
    fn bytes_payload_is_hashed() {
        let s = signer("garage");
        let url = Url::parse("http://127.0.0.1:3900/bkt?delete").unwrap();
        let mut h = HeaderMap::new();
        s.sign_at(
            &Method::POST,
            &url,
            &mut h,
            Payload::Bytes(b""),
            SystemTime::now(),
        )
        .unwrap();
        assert_eq!(
            h["x-amz-content-sha256"],
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn presigned_url_carries_query_signature() {
        let s = signer("garage");
        let url = Url::parse("http://127.0.0.1:3900/bkt/k").unwrap();
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let p = s
            .presign(&Method::GET, &url, Duration::from_secs(600), t)
            .unwrap();
        let q: std::collections::HashMap<_, _> = p.query_pairs().into_owned().collect();
        assert_eq!(q["X-Amz-Algorithm"], "AWS4-HMAC-SHA256");
        assert_eq!(q["X-Amz-Expires"], "600");
        assert_eq!(
            q["X-Amz-Credential"],
            "AKIDEXAMPLE/20231114/garage/s3/aws4_request"
        );
        assert_eq!(q["X-Amz-Signature"].len(), 64);
        assert!(
            s.presign(&Method::GET, &url, Duration::from_secs(8 * 24 * 3600), t)
                .is_err()
        );
        for short in [Duration::ZERO, Duration::from_millis(999)] {
            assert!(
                s.presign(&Method::GET, &url, short, t).is_err(),
                "{short:?}"
            );
        }
    }
}
