//! The connection loop: accepts TCP connections and serves the edge on each
//! with hyper. poem's `Server` does this too, but does not let its hyper
//! builder have a timer, so a client that sends its request head a byte at a
//! time (slowloris) holds a connection for as long as it likes: the idle
//! timeout never fires while bytes trickle. Here HTTP/1 gets hyper's
//! `header_read_timeout`; the rest (idle timeout, graceful shutdown with a
//! grace period) is what poem's `Server` did. HTTP/1.1 only: every idle
//! connection is memory held, and hyper-util's `auto` connection, which would
//! also take HTTP/2 with prior knowledge, held 11 KiB more of it (ADR 18).

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use poem::http::uri::Scheme;
use poem::web::{LocalAddr, RemoteAddr};
use poem::{Endpoint, Request, Response};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// What a connection is held to.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// From when the server waits for a request head until it has all of it.
    pub header_read_timeout: Duration,
    /// Without a byte read or written this long, the connection is closed.
    pub idle_timeout: Duration,
}

type Body = http_body_util::combinators::BoxBody<Bytes, io::Error>;
type ResponseFuture =
    Pin<Box<dyn Future<Output = Result<hyper::Response<Body>, Infallible>> + Send>>;

/// Serves `endpoint` until `shutdown` completes; then stops accepting, lets
/// each connection finish the request in hand (up to `grace`) and returns.
pub async fn serve<E>(
    listener: TcpListener,
    endpoint: E,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
) -> io::Result<()>
where
    E: Endpoint<Output = Response> + 'static,
{
    let endpoint = Arc::new(endpoint);
    let local = LocalAddr(poem::Addr::SocketAddr(listener.local_addr()?));
    let stop = CancellationToken::new();
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    tracing::info!(addr = %listener.local_addr()?, "listening");
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            // Reap finished connections as they end.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, remote)) => {
                    let _ = stream.set_nodelay(true);
                    let remote = RemoteAddr(poem::Addr::SocketAddr(remote));
                    connections.spawn(connection(
                        stream,
                        endpoint.clone(),
                        local.clone(),
                        remote,
                        limits,
                        stop.clone(),
                    ));
                }
                // Out of file descriptors, say: pause rather than spin.
                Err(error) => {
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
    drop(listener);
    stop.cancel();
    let finished = tokio::time::timeout(grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if finished.is_err() {
        tracing::warn!(
            connections = connections.len(),
            "grace period over: abandoning connections still busy"
        );
        connections.abort_all();
    }
    Ok(())
}

async fn connection<E>(
    stream: TcpStream,
    endpoint: Arc<E>,
    local: LocalAddr,
    remote: RemoteAddr,
    limits: ConnectionLimits,
    stop: CancellationToken,
) where
    E: Endpoint<Output = Response> + 'static,
{
    let activity = Activity::new();
    // For the log line only; `to_string` there, not on every connection.
    let peer = remote.0.clone();
    let io = TokioIo::new(Watched {
        inner: stream,
        activity: activity.clone(),
    });
    // Boxed: hyper keeps a slot the size of the service's future in every
    // connection, idle or not, and the edge's future is kilobytes; a box of
    // it lives only while a request does.
    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        let (endpoint, local, remote) = (endpoint.clone(), local.clone(), remote.clone());
        let response: ResponseFuture = Box::pin(async move {
            let req = Request::from((req, local, remote, Scheme::HTTP));
            let response = endpoint.get_response(req).await;
            Ok::<_, Infallible>(hyper::Response::<Body>::from(response))
        });
        response
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .serve_connection(io, service)
        .with_upgrades();
    tokio::pin!(conn);
    tokio::select! {
        // Closed by the client, or by hyper (a head too slow: header_read_timeout).
        _ = conn.as_mut() => return,
        _ = stop.cancelled() => {}
        _ = activity.idle_for(limits.idle_timeout) => {
            tracing::debug!(remote = %peer, "closing an idle connection");
        }
    }
    conn.as_mut().graceful_shutdown();
    let _ = conn.await;
}

/// When a connection last read or wrote, in milliseconds since it opened.
#[derive(Clone)]
struct Activity {
    opened: Instant,
    last_ms: Arc<AtomicU64>,
}

impl Activity {
    fn new() -> Self {
        Activity {
            opened: Instant::now(),
            last_ms: Arc::new(AtomicU64::new(0)),
        }
    }

    fn touch(&self) {
        let now = self.opened.elapsed().as_millis() as u64;
        self.last_ms.store(now, Ordering::Relaxed);
    }

    /// Completes once nothing has moved for `limit`.
    async fn idle_for(&self, limit: Duration) {
        loop {
            let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
            let quiet = self.opened.elapsed().saturating_sub(last);
            if quiet >= limit {
                return;
            }
            tokio::time::sleep(limit - quiet).await;
        }
    }
}

/// The socket, noting each read and write that moves bytes.
struct Watched {
    inner: TcpStream,
    activity: Activity,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
