//! Tokio I/O adapters: a download as [`AsyncRead`] and an upload as [`AsyncWrite`].

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, ready};

use bytes::{Bytes, BytesMut};
use futures_util::stream::StreamExt;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::task::JoinHandle;
use tokio_util::sync::PollSender;

use super::{GetObject, PutOptions, PutPayload, PutResult, S3Client};
use crate::error::{Error, Result};

impl GetObject {
    /// The download as a [`tokio::io::AsyncRead`], checked like the stream (an integrity or
    /// transport failure surfaces as an [`std::io::Error`] wrapping this crate's [`enum@Error`]).
    ///
    /// ```no_run
    /// # async fn demo(s3: garage_client::S3Client) -> Result<(), Box<dyn std::error::Error>> {
    /// let mut file = tokio::fs::File::create("/tmp/dump.sql").await?;
    /// let mut body = s3.get_object("backups", "db/dump.sql", Default::default()).await?.into_async_read();
    /// tokio::io::copy(&mut body, &mut file).await?;
    /// # Ok(()) }
    /// ```
    pub fn into_async_read(self) -> impl AsyncRead + Send + Unpin + 'static {
        tokio_util::io::StreamReader::new(self)
    }
}

/// Bytes gathered before they are handed to the upload.
const CHUNK: usize = 1 << 20;

/// An upload fed through [`tokio::io::AsyncWrite`] (see [`S3Client::put_writer`]).
///
/// `shutdown()` completes the upload and returns its error, if any; [`Self::result`] then has the
/// outcome. Dropping the writer before `shutdown()` has completed aborts the upload: a
/// multipart upload is aborted and no object is created, whatever was written (unless the
/// completion request itself was already on its way).
pub struct ObjectWriter {
    buf: BytesMut,
    tx: Option<PollSender<std::io::Result<Bytes>>>,
    /// Set by `shutdown()` before the channel closes: the end of the data is genuine.
    finished: Arc<AtomicBool>,
    task: Option<JoinHandle<Result<PutResult>>>,
    result: Option<PutResult>,
}

impl std::fmt::Debug for ObjectWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectWriter")
            .field("buffered", &self.buf.len())
            .field("result", &self.result)
            .finish_non_exhaustive()
    }
}

impl S3Client {
    /// Starts an upload written through [`tokio::io::AsyncWrite`], e.g. to pipe a dump into
    /// Garage without a temporary file. Memory is bounded as for any stream: two 1 MiB chunks
    /// in hand-over plus the part buffers ([`MultipartConfig`](crate::MultipartConfig)). Must be
    /// called within a Tokio runtime; the key and metadata are checked here.
    ///
    /// ```no_run
    /// # async fn demo(s3: garage_client::S3Client) -> Result<(), Box<dyn std::error::Error>> {
    /// use tokio::io::AsyncWriteExt;
    /// let mut w = s3.put_writer("backups", "db/dump.sql", Default::default())?;
    /// // Any AsyncRead: a child's stdout (`pg_dump | …`), a socket, a file.
    /// let mut dump = tokio::fs::File::open("/var/backups/dump.sql").await?;
    /// tokio::io::copy(&mut dump, &mut w).await?;
    /// w.shutdown().await?; // completes the upload
    /// println!("{} bytes", w.result().unwrap().size);
    /// # Ok(()) }
    /// ```
    pub fn put_writer(&self, bucket: &str, key: &str, options: PutOptions) -> Result<ObjectWriter> {
        crate::sign::check_object(bucket, key)?;
        super::upload::object_headers(&options)?;
        let handle = tokio::runtime::Handle::try_current()
            .map_err(|_| Error::Config("put_writer needs a Tokio runtime".into()))?;
        let (tx, mut rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(1);
        let finished = Arc::new(AtomicBool::new(false));
        let done = finished.clone();
        let body = futures_util::stream::poll_fn(move |cx| match ready!(rx.poll_recv(cx)) {
            Some(item) => Poll::Ready(Some(item)),
            None if done.load(Ordering::SeqCst) => Poll::Ready(None),
            // The writer went away without shutdown(): fail (and so abort) the upload.
            None => {
                done.store(true, Ordering::SeqCst);
                Poll::Ready(Some(Err(std::io::Error::other(
                    "ObjectWriter dropped before shutdown",
                ))))
            }
        })
        .boxed();
        let (client, bucket, key) = (self.clone(), bucket.to_owned(), key.to_owned());
        let task = handle.spawn(async move {
            client
                .put_object(&bucket, &key, PutPayload::Stream(body), options)
                .await
        });
        Ok(ObjectWriter {
            buf: BytesMut::new(),
            tx: Some(PollSender::new(tx)),
            finished,
            task: Some(task),
            result: None,
        })
    }
}

impl ObjectWriter {
    /// The outcome, once `shutdown()` has completed successfully.
    pub fn result(&self) -> Option<&PutResult> {
        self.result.as_ref()
    }

    /// The upload's own error once its task has ended early (the channel closed).
    fn poll_upload_error(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Error> {
        let Some(task) = self.task.as_mut() else {
            return Poll::Ready(std::io::Error::other("upload already finished"));
        };
        let joined = ready!(Pin::new(task).poll(cx));
        self.task = None;
        Poll::Ready(match joined {
            Ok(Err(e)) => e.into(),
            Ok(Ok(_)) => std::io::Error::other("upload ended before the data did"),
            Err(e) => std::io::Error::other(e),
        })
    }

    fn poll_send_buf(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        if self.buf.is_empty() {
            return Poll::Ready(Ok(()));
        }
        let Some(tx) = self.tx.as_mut() else {
            return Poll::Ready(Err(std::io::Error::other("writer shut down")));
        };
        let sent = match ready!(tx.poll_reserve(cx)) {
            Ok(()) => tx.send_item(Ok(self.buf.split().freeze())).is_ok(),
            Err(_) => false,
        };
        if sent {
            Poll::Ready(Ok(()))
        } else {
            self.tx = None;
            Poll::Ready(Err(ready!(self.poll_upload_error(cx))))
        }
    }
}

impl AsyncWrite for ObjectWriter {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        if this.buf.len() >= CHUNK {
            ready!(this.poll_send_buf(cx))?;
        }
        if this.buf.capacity() == 0 {
            this.buf.reserve(CHUNK);
        }
        let n = data.len().min(CHUNK - this.buf.len());
        this.buf.extend_from_slice(&data[..n]);
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.get_mut().poll_send_buf(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        if this.result.is_some() {
            return Poll::Ready(Ok(()));
        }
        ready!(this.poll_send_buf(cx))?;
        if this.tx.is_some() {
            // The end of the data is genuine: mark it before the channel closes.
            this.finished.store(true, Ordering::SeqCst);
            this.tx = None;
        }
        let Some(task) = this.task.as_mut() else {
            return Poll::Ready(Err(std::io::Error::other("upload already failed")));
        };
        let joined = ready!(Pin::new(task).poll(cx));
        this.task = None;
        match joined {
            Ok(Ok(r)) => {
                this.result = Some(r);
                Poll::Ready(Ok(()))
            }
            Ok(Err(e)) => Poll::Ready(Err(e.into())),
            Err(e) => Poll::Ready(Err(std::io::Error::other(e))),
        }
    }
}

impl Drop for ObjectWriter {
    fn drop(&mut self) {
        // Not shut down (or shutdown not finished): cancel the upload; its guard aborts the
        // multipart upload. (Had the channel merely closed, the missing `finished` mark would
        // fail the upload all the same.)
        if let Some(task) = self.task.take()
            && self.result.is_none()
        {
            tracing::debug!("ObjectWriter dropped before shutdown completed; aborting the upload");
            task.abort();
        }
    }
}
