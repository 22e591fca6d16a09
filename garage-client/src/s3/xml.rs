//! S3 XML bodies: parsing responses and building requests (pure code).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result, S3Error, S3ErrorCode};

use super::types::{BucketEntry, DeleteError, DeleteObjectsResult, ListPage, ListedObject};

fn de<'a, T: Deserialize<'a>>(what: &str, xml: &'a str) -> Result<T> {
    quick_xml::de::from_str(xml).map_err(|e| Error::decode(what, e))
}

fn timestamp(s: &str) -> Option<jiff::Timestamp> {
    s.parse().ok()
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ErrorXml {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    resource: Option<String>,
    #[serde(default)]
    request_id: Option<String>,
}

/// Builds the typed error from an S3 error response (XML body or none).
pub(crate) fn parse_error(
    status: u16,
    body: &str,
    method: &str,
    path: &str,
    header_request_id: Option<String>,
) -> S3Error {
    let parsed: Option<ErrorXml> = if body.trim_start().starts_with('<') {
        quick_xml::de::from_str(body).ok()
    } else {
        None
    };
    let (code, message, resource, request_id) = match parsed {
        Some(e) if !e.code.is_empty() => (
            S3ErrorCode::parse(&e.code),
            e.message,
            e.resource,
            e.request_id,
        ),
        _ => {
            let code = code_from_status(status, method);
            let message = match (&code, body.trim()) {
                (S3ErrorCode::NotFound, "") => NOT_FOUND_MESSAGE.to_owned(),
                (_, text) => text.chars().take(512).collect(),
            };
            (code, message, None, None)
        }
    };
    S3Error {
        status,
        code,
        message,
        request_id: request_id.or(header_request_id),
        resource,
        method: method.to_owned(),
        path: path.to_owned(),
    }
}

/// What a bodiless 404 to a HEAD means. Garage 2.5 answers a missing bucket and a missing key
/// alike: status 404 with `content-type` and `access-control-allow-origin` only
/// (`garage_api_s3-2.5.0:error.rs`, `add_http_headers`), the XML body that would say which
/// being dropped for HEAD; only its `content-length` survives (hyper 1 keeps it,
/// `hyper-1.11.1:src/proto/h1/role.rs`), and that depends on the path and the message wording
/// (seen on 2.5.0: 165 for `/bucket1/nokey`, 180 for a longer missing key, 186 for a missing
/// bucket `/nosuchbucket/k`), so it cannot tell them apart.
const NOT_FOUND_MESSAGE: &str =
    "the key or the bucket does not exist (an answer to HEAD has no body to say which)";

fn code_from_status(status: u16, method: &str) -> S3ErrorCode {
    match status {
        404 if method == "HEAD" => S3ErrorCode::NotFound,
        403 => S3ErrorCode::AccessDenied,
        412 => S3ErrorCode::PreconditionFailed,
        416 => S3ErrorCode::InvalidRange,
        500 => S3ErrorCode::InternalError,
        503 => S3ErrorCode::ServiceUnavailable,
        other => S3ErrorCode::Other(format!("HTTP{other}")),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListBucketResult {
    #[serde(default)]
    is_truncated: bool,
    #[serde(default)]
    next_continuation_token: Option<String>,
    #[serde(default)]
    contents: Vec<Contents>,
    #[serde(default)]
    common_prefixes: Vec<CommonPrefix>,
    #[serde(default)]
    key_count: Option<u64>,
    #[serde(default)]
    encoding_type: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Contents {
    key: String,
    #[serde(default)]
    size: u64,
    #[serde(default, rename = "ETag")]
    etag: Option<String>,
    #[serde(default)]
    last_modified: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CommonPrefix {
    prefix: String,
}

/// Undoes `encoding-type=url` (Garage percent-encodes keys and prefixes, `/` included:
/// `garage_api_s3-2.5.0:list.rs`, `uriencode_maybe`; AWS also writes spaces as `+`, which Garage
/// never emits unencoded).
fn url_decode(s: &str) -> Result<String> {
    let plus = s.replace('+', " ");
    percent_encoding::percent_decode_str(&plus)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|e| Error::decode("URL-encoded key in a listing", e))
}

pub(crate) fn parse_list_v2(xml: &str) -> Result<ListPage> {
    let r: ListBucketResult = de("ListObjectsV2 result", xml)?;
    let encoded = r.encoding_type.as_deref() == Some("url");
    let name = |s: String| if encoded { url_decode(&s) } else { Ok(s) };
    let objects = r
        .contents
        .into_iter()
        .map(|c| {
            Ok(ListedObject {
                key: name(c.key)?,
                size: c.size,
                etag: c.etag.map(|e| e.trim_matches('"').to_owned()),
                last_modified: c.last_modified.as_deref().and_then(timestamp),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let _ = r.key_count;
    Ok(ListPage {
        objects,
        common_prefixes: r
            .common_prefixes
            .into_iter()
            .map(|p| name(p.prefix))
            .collect::<Result<_>>()?,
        next_continuation_token: if r.is_truncated {
            r.next_continuation_token
        } else {
            None
        },
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListAllMyBuckets {
    #[serde(default)]
    buckets: BucketsXml,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct BucketsXml {
    #[serde(default)]
    bucket: Vec<BucketXml>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct BucketXml {
    name: String,
    #[serde(default)]
    creation_date: Option<String>,
}

pub(crate) fn parse_list_buckets(xml: &str) -> Result<Vec<BucketEntry>> {
    let r: ListAllMyBuckets = de("ListBuckets result", xml)?;
    Ok(r.buckets
        .bucket
        .into_iter()
        .map(|b| BucketEntry {
            name: b.name,
            created: b.creation_date.as_deref().and_then(timestamp),
        })
        .collect())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct InitiateMultipartUploadResult {
    upload_id: String,
}

pub(crate) fn parse_upload_id(xml: &str) -> Result<String> {
    let r: InitiateMultipartUploadResult = de("CreateMultipartUpload result", xml)?;
    Ok(r.upload_id)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct EtagResult {
    #[serde(default, rename = "ETag")]
    etag: Option<String>,
}

/// `ETag` of CompleteMultipartUploadResult / CopyObjectResult (quotes removed). Also detects
/// the `<Error>` document S3 may send with a 200 status.
pub(crate) fn parse_etag_result(what: &str, xml: &str) -> Result<String> {
    if xml.contains("<Error>") {
        let e = parse_error(200, xml, "POST", what, None);
        return Err(Error::S3(Box::new(e)));
    }
    let r: EtagResult = de(what, xml)?;
    Ok(r.etag.unwrap_or_default().trim_matches('"').to_owned())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DeleteResultXml {
    #[serde(default)]
    deleted: Vec<DeletedXml>,
    #[serde(default)]
    error: Vec<DeleteErrorXml>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DeletedXml {
    key: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DeleteErrorXml {
    #[serde(default)]
    key: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

pub(crate) fn parse_delete_result(xml: &str) -> Result<DeleteObjectsResult> {
    let r: DeleteResultXml = de("DeleteObjects result", xml)?;
    Ok(DeleteObjectsResult {
        deleted: r.deleted.into_iter().map(|d| d.key).collect(),
        errors: r
            .error
            .into_iter()
            .map(|e| DeleteError {
                key: e.key,
                code: S3ErrorCode::parse(&e.code),
                message: e.message,
            })
            .collect(),
    })
}

const XML_DECLARATION: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";

/// Serializes a request body with quick-xml (which escapes the text), after the XML declaration.
fn to_xml(what: &str, doc: &impl Serialize) -> Result<String> {
    let body = quick_xml::se::to_string(doc).map_err(|e| Error::Config(format!("{what}: {e}")))?;
    Ok(format!("{XML_DECLARATION}{body}"))
}

/// `Delete` body of `DeleteObjects`.
#[derive(Serialize)]
#[serde(rename = "Delete")]
struct DeleteXml<'a> {
    #[serde(rename = "Quiet", skip_serializing_if = "std::ops::Not::not")]
    quiet: bool,
    #[serde(rename = "Object")]
    objects: Vec<DeleteObjectXml<'a>>,
}

#[derive(Serialize)]
struct DeleteObjectXml<'a> {
    #[serde(rename = "Key")]
    key: &'a str,
}

pub(crate) fn delete_objects_body(keys: &[String], quiet: bool) -> Result<String> {
    let doc = DeleteXml {
        quiet,
        objects: keys.iter().map(|k| DeleteObjectXml { key: k }).collect(),
    };
    to_xml("DeleteObjects", &doc)
}

/// One completed part: number, ETag (without quotes), base64 CRC32C.
pub(crate) struct CompletedPart {
    pub number: u32,
    pub etag: String,
    pub crc32c: String,
}

/// `CompleteMultipartUpload` body.
#[derive(Serialize)]
#[serde(rename = "CompleteMultipartUpload")]
struct CompleteXml {
    #[serde(rename = "Part")]
    parts: Vec<CompletePartXml>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct CompletePartXml {
    part_number: u32,
    #[serde(rename = "ETag")]
    etag: String,
    #[serde(rename = "ChecksumCRC32C")]
    checksum_crc32c: String,
}

pub(crate) fn complete_body(parts: &[CompletedPart]) -> Result<String> {
    let doc = CompleteXml {
        parts: parts
            .iter()
            .map(|p| CompletePartXml {
                part_number: p.number,
                etag: format!("\"{}\"", p.etag),
                checksum_crc32c: p.crc32c.clone(),
            })
            .collect(),
    };
    to_xml("CompleteMultipartUpload", &doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_garage_error_body() {
        let body = r#"<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>Key not found</Message><Resource>/b/k</Resource><Region>garage</Region></Error>"#;
        let e = parse_error(404, body, "GET", "/b/k", Some("rid".into()));
        assert_eq!(e.code, S3ErrorCode::NoSuchKey);
        assert_eq!(e.message, "Key not found");
        assert_eq!(e.resource.as_deref(), Some("/b/k"));
        assert_eq!(e.request_id.as_deref(), Some("rid"));
    }

    #[test]
    fn head_errors_without_body_get_a_code_from_the_status() {
        let e = parse_error(404, "", "HEAD", "/b/k", None);
        assert_eq!(e.code, S3ErrorCode::NotFound);
        assert!(e.message.contains("the key or the bucket"), "{e}");
        assert_eq!(
            parse_error(403, "", "HEAD", "/b/k", None).code,
            S3ErrorCode::AccessDenied
        );
        assert_eq!(
            parse_error(418, "teapot", "GET", "/", None).code,
            S3ErrorCode::Other("HTTP418".into())
        );
    }

    #[test]
    fn parses_list_v2_with_prefixes_and_unknown_fields() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix></Prefix>
<KeyCount>3</KeyCount><MaxKeys>2</MaxKeys><Delimiter>/</Delimiter><IsTruncated>true</IsTruncated>
<NextContinuationToken>tok</NextContinuationToken><FutureField>x</FutureField>
<Contents><Key>a &amp; b</Key><LastModified>2026-11-27T05:00:00.000Z</LastModified><ETag>"abc"</ETag><Size>12</Size><StorageClass>STANDARD</StorageClass></Contents>
<Contents><Key>c</Key><Size>0</Size></Contents>
<CommonPrefixes><Prefix>dir/</Prefix></CommonPrefixes></ListBucketResult>"#;
        let p = parse_list_v2(xml).unwrap();
        assert_eq!(p.objects.len(), 2);
        assert_eq!(p.objects[0].key, "a & b");
        assert_eq!(p.objects[0].size, 12);
        assert_eq!(p.objects[0].etag.as_deref(), Some("abc"));
        assert!(p.objects[0].last_modified.is_some());
        assert_eq!(p.common_prefixes, vec!["dir/"]);
        assert_eq!(p.next_continuation_token.as_deref(), Some("tok"));
        let last =
            parse_list_v2("<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>")
                .unwrap();
        assert!(last.objects.is_empty());
        assert_eq!(last.next_continuation_token, None);
    }

    #[test]
    fn url_encoded_listings_are_decoded() {
        // As Garage 2.5 answers `encoding-type=url` (`/` encoded too).
        let xml = "<ListBucketResult><EncodingType>url</EncodingType><IsTruncated>false</IsTruncated>\
<Contents><Key>ctl%2F%01one%20a%2Bb</Key><Size>1</Size></Contents>\
<CommonPrefixes><Prefix>sub%09dir%2F</Prefix></CommonPrefixes></ListBucketResult>";
        let p = parse_list_v2(xml).unwrap();
        assert_eq!(p.objects[0].key, "ctl/\u{1}one a+b");
        assert_eq!(p.common_prefixes, vec!["sub\tdir/"]);
        // AWS writes spaces as `+`.
        let xml = "<ListBucketResult><EncodingType>url</EncodingType><Contents><Key>a+b</Key></Contents></ListBucketResult>";
        assert_eq!(parse_list_v2(xml).unwrap().objects[0].key, "a b");
        // Without the encoding, keys are taken as they are.
        let xml = "<ListBucketResult><Contents><Key>a+b%20</Key></Contents></ListBucketResult>";
        assert_eq!(parse_list_v2(xml).unwrap().objects[0].key, "a+b%20");
    }

    #[test]
    fn parses_buckets_upload_id_delete_result() {
        let b = parse_list_buckets("<ListAllMyBucketsResult><Owner><ID>x</ID></Owner><Buckets><Bucket><Name>one</Name><CreationDate>2026-01-01T00:00:00Z</CreationDate></Bucket><Bucket><Name>two</Name></Bucket></Buckets></ListAllMyBucketsResult>").unwrap();
        assert_eq!(
            b.iter().map(|b| b.name.as_str()).collect::<Vec<_>>(),
            ["one", "two"]
        );
        assert_eq!(
            parse_upload_id("<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>u1</UploadId></InitiateMultipartUploadResult>").unwrap(),
            "u1"
        );
        let d = parse_delete_result("<DeleteResult><Deleted><Key>a</Key></Deleted><Error><Key>b</Key><Code>AccessDenied</Code><Message>no</Message></Error></DeleteResult>").unwrap();
        assert_eq!(d.deleted, ["a"]);
        assert_eq!(d.errors[0].code, S3ErrorCode::AccessDenied);
        assert!(
            parse_etag_result(
                "copy",
                "<Error><Code>InternalError</Code><Message>x</Message></Error>"
            )
            .is_err()
        );
        assert_eq!(
            parse_etag_result(
                "copy",
                "<CopyObjectResult><ETag>\"e1\"</ETag></CopyObjectResult>"
            )
            .unwrap(),
            "e1"
        );
    }

    #[test]
    fn builds_escaped_request_bodies() {
        let body = delete_objects_body(&["a<b".into(), "c".into()], true).unwrap();
        assert!(body.starts_with(XML_DECLARATION), "{body}");
        assert!(
            body.contains(
                "<Delete><Quiet>true</Quiet><Object><Key>a&lt;b</Key></Object><Object><Key>c</Key></Object></Delete>"
            ),
            "{body}"
        );
        let body = delete_objects_body(&["c".into()], false).unwrap();
        assert!(!body.contains("Quiet"), "{body}");
        let body = complete_body(&[CompletedPart {
            number: 1,
            etag: "e".into(),
            crc32c: "AAAAAA==".into(),
        }])
        .unwrap();
        assert!(body.starts_with(XML_DECLARATION), "{body}");
        assert!(
            body.contains("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"e\"</ETag><ChecksumCRC32C>AAAAAA==</ChecksumCRC32C></Part></CompleteMultipartUpload>"),
            "{body}"
        );
    }

    #[test]
    fn hostile_keys_come_back_from_the_delete_body() {
        #[derive(Deserialize)]
        struct Delete {
            #[serde(rename = "Object")]
            objects: Vec<Object>,
        }
        #[derive(Deserialize)]
        struct Object {
            #[serde(rename = "Key")]
            key: String,
        }
        let keys: Vec<String> = [
            "a&b",
            "<Key>x</Key>",
            "q\"uote's",
            "]]>",
            "caf\u{e9}/\u{1f600}",
            "a/./b",
            "%2e%2e/k",
        ]
        .map(str::to_owned)
        .to_vec();
        let body = delete_objects_body(&keys, false).unwrap();
        let doc: Delete = quick_xml::de::from_str(&body).unwrap();
        let back: Vec<String> = doc.objects.into_iter().map(|o| o.key).collect();
        assert_eq!(back, keys, "{body}");
    }
}
