//! Public request options and response types of the S3 client.

use std::collections::BTreeMap;
use std::path::PathBuf;

use bytes::Bytes;
use futures_util::stream::BoxStream;

use crate::error::S3ErrorCode;

/// A bucket as listed by `ListBuckets`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BucketEntry {
    /// Bucket name (global alias).
    pub name: String,
    /// Creation time, when sent.
    pub created: Option<jiff::Timestamp>,
}

/// One object in a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListedObject {
    /// Key.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// ETag without quotes.
    pub etag: Option<String>,
    /// Last modification time.
    pub last_modified: Option<jiff::Timestamp>,
}

/// One page of `ListObjectsV2`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListPage {
    /// Objects of this page.
    pub objects: Vec<ListedObject>,
    /// Common prefixes (with a delimiter).
    pub common_prefixes: Vec<String>,
    /// Token of the next page, `None` on the last page.
    pub next_continuation_token: Option<String>,
}

/// Options of `ListObjectsV2`.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ListOptions {
    /// Only keys starting with this prefix.
    pub prefix: Option<String>,
    /// Group keys sharing a prefix up to this delimiter into common prefixes.
    pub delimiter: Option<String>,
    /// Only keys after this one.
    pub start_after: Option<String>,
    /// Keys per page (Garage clamps to 1..=1000; default 1000).
    pub page_size: Option<u32>,
}

impl ListOptions {
    /// Sets the prefix.
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = Some(prefix.into());
        self
    }
    /// Sets the delimiter.
    pub fn with_delimiter(mut self, delimiter: impl Into<String>) -> Self {
        self.delimiter = Some(delimiter.into());
        self
    }
    /// Sets start-after.
    pub fn with_start_after(mut self, key: impl Into<String>) -> Self {
        self.start_after = Some(key.into());
        self
    }
    /// Sets the page size.
    pub fn with_page_size(mut self, n: u32) -> Self {
        self.page_size = Some(n);
        self
    }
}

/// Metadata of an object (HEAD, or the headers of a GET).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ObjectMeta {
    /// Size of the whole object (for a ranged GET: from `Content-Range`).
    pub size: u64,
    /// ETag without quotes.
    pub etag: Option<String>,
    /// Content type.
    pub content_type: Option<String>,
    /// Last modification time.
    pub last_modified: Option<jiff::Timestamp>,
    /// User metadata (`x-amz-meta-*`, names lower-case without the prefix).
    pub metadata: BTreeMap<String, String>,
    /// Stored CRC32C (base64), when the object was uploaded with one. A multipart object
    /// uploaded by this crate carries a full-object CRC32C.
    pub checksum_crc32c: Option<String>,
    /// `x-amz-checksum-type` (`FULL_OBJECT` or `COMPOSITE`), when sent.
    pub checksum_type: Option<String>,
}

/// A byte range of a GET.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ByteRange {
    /// Bytes `start..=end`.
    Inclusive(u64, u64),
    /// From `start` to the end.
    From(u64),
    /// The last `n` bytes.
    Suffix(u64),
}

impl ByteRange {
    pub(crate) fn header(&self) -> String {
        match self {
            ByteRange::Inclusive(a, b) => format!("bytes={a}-{b}"),
            ByteRange::From(a) => format!("bytes={a}-"),
            ByteRange::Suffix(n) => format!("bytes=-{n}"),
        }
    }
}

/// Options of a GET.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct GetOptions {
    /// Only this range.
    pub range: Option<ByteRange>,
    /// Verify the stored CRC32C while streaming (default true; only for whole-object GETs of
    /// objects stored with a full-object CRC32C).
    pub verify: Option<bool>,
    /// Fetch a large whole object as concurrent ranges (default true; see
    /// [`DownloadConfig`](crate::DownloadConfig)).
    pub parallel: Option<bool>,
}

impl GetOptions {
    /// Sets the range.
    pub fn with_range(mut self, range: ByteRange) -> Self {
        self.range = Some(range);
        self
    }
    /// Turns the CRC32C check on or off.
    pub fn with_verify(mut self, verify: bool) -> Self {
        self.verify = Some(verify);
        self
    }
    /// Allows or forbids the parallel ranged download of a large object.
    pub fn with_parallel(mut self, parallel: bool) -> Self {
        self.parallel = Some(parallel);
        self
    }
}

/// Options of a PUT.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct PutOptions {
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// User metadata (sent as `x-amz-meta-<name>`; names should be lower-case ASCII).
    pub metadata: BTreeMap<String, String>,
}

impl PutOptions {
    /// Sets the content type.
    pub fn with_content_type(mut self, ct: impl Into<String>) -> Self {
        self.content_type = Some(ct.into());
        self
    }
    /// Adds one user metadata entry.
    pub fn with_metadata(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(name.into(), value.into());
        self
    }
}

/// What to upload.
#[non_exhaustive]
pub enum PutPayload {
    /// Bytes in memory.
    Bytes(Bytes),
    /// A local file, read part by part (never held whole in memory).
    File(PathBuf),
    /// A stream of chunks of unknown total length.
    Stream(BoxStream<'static, std::io::Result<Bytes>>),
}

impl std::fmt::Debug for PutPayload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PutPayload::Bytes(b) => write!(f, "Bytes({} bytes)", b.len()),
            PutPayload::File(p) => write!(f, "File({})", p.display()),
            PutPayload::Stream(_) => f.write_str("Stream"),
        }
    }
}

impl From<Bytes> for PutPayload {
    fn from(b: Bytes) -> Self {
        PutPayload::Bytes(b)
    }
}
impl From<Vec<u8>> for PutPayload {
    fn from(b: Vec<u8>) -> Self {
        PutPayload::Bytes(b.into())
    }
}
impl From<&'static [u8]> for PutPayload {
    fn from(b: &'static [u8]) -> Self {
        PutPayload::Bytes(Bytes::from_static(b))
    }
}
impl From<&'static str> for PutPayload {
    fn from(b: &'static str) -> Self {
        PutPayload::Bytes(Bytes::from_static(b.as_bytes()))
    }
}

impl PutPayload {
    /// A local file.
    pub fn file(path: impl Into<PathBuf>) -> Self {
        PutPayload::File(path.into())
    }
    /// A stream of chunks.
    pub fn stream(
        s: impl futures_util::Stream<Item = std::io::Result<Bytes>> + Send + 'static,
    ) -> Self {
        PutPayload::Stream(Box::pin(s))
    }
}

/// Outcome of a PUT.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PutResult {
    /// ETag without quotes.
    pub etag: String,
    /// Bytes uploaded.
    pub size: u64,
    /// Number of multipart parts (0 for a single PUT).
    pub parts: u32,
    /// CRC32C (base64) the server checked.
    pub checksum_crc32c: String,
}

/// Outcome of a multi-delete.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeleteObjectsResult {
    /// Keys deleted (or already absent).
    pub deleted: Vec<String>,
    /// Keys that could not be deleted.
    pub errors: Vec<DeleteError>,
}

/// One failed key of a multi-delete.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeleteError {
    /// Key.
    pub key: String,
    /// Error code.
    pub code: S3ErrorCode,
    /// Message.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_headers() {
        assert_eq!(ByteRange::Inclusive(0, 9).header(), "bytes=0-9");
        assert_eq!(ByteRange::From(5).header(), "bytes=5-");
        assert_eq!(ByteRange::Suffix(3).header(), "bytes=-3");
    }
}
