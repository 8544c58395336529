//! One accepted connection, from its permit to its close: TLS handshake, HTTP/1.1 with the
//! header timeout, the health-only mode past the cap, the idle watchdog, room-making at the cap
//! (see `evict`) and the shutdown drain. The accept loop that creates them is in `lib.rs`.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio_rustls::TlsAcceptor;
use tower::Service;

use crate::{evict, HttpLimits};

/// Header timeout of overflow connections (at most).
const OVERFLOW_HEADER_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Full,
    /// Over the connection cap: answer `/healthz` only.
    HealthOnly,
}

/// A connection's right to be served.
pub(crate) enum Permit {
    Held(OwnedSemaphorePermit),
    /// A connection was asked to close to make room: take its slot when it is free.
    Freed(Arc<Semaphore>),
}

pub(crate) struct Connection {
    pub(crate) app: Router,
    pub(crate) tracker: Arc<evict::Tracker>,
    pub(crate) mode: Mode,
    pub(crate) limits: HttpLimits,
    pub(crate) closing: watch::Receiver<bool>,
    /// The TCP peer, handed to handlers as `ConnectInfo<SocketAddr>` (the dashboard truncates
    /// it when device data is on; nothing logs it).
    pub(crate) peer: std::net::SocketAddr,
}

impl Connection {
    pub(crate) async fn serve(self, stream: TcpStream, tls: Option<TlsAcceptor>, permit: Permit) {
        let _permit = match permit {
            Permit::Held(p) => p,
            Permit::Freed(slots) => {
                match tokio::time::timeout(self.header_timeout(), slots.acquire_owned()).await {
                    Ok(Ok(p)) => p,
                    _ => return,
                }
            }
        };
        let _ = stream.set_nodelay(true);
        match tls {
            None => self.serve_io(stream).await,
            Some(acceptor) => {
                match tokio::time::timeout(self.header_timeout(), acceptor.accept(stream)).await {
                    Ok(Ok(tls)) => self.serve_io(tls).await,
                    Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed"),
                    Err(_) => tracing::debug!("TLS handshake timed out"),
                }
            }
        }
    }

    fn header_timeout(&self) -> Duration {
        match self.mode {
            Mode::Full => self.limits.header_timeout,
            Mode::HealthOnly => self.limits.header_timeout.min(OVERFLOW_HEADER_TIMEOUT),
        }
    }

    async fn serve_io<IO>(self, io: IO)
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let activity = Arc::new(Activity::new());
        let io = TokioIo::new(Tracked {
            inner: io,
            activity: activity.clone(),
        });
        let app = self.app.clone();
        let health_only = self.mode == Mode::HealthOnly;
        // Regular connections can be asked to make room while no request is in progress.
        let registration = (!health_only).then(|| self.tracker.register());
        let slot = registration.as_ref().map(|r| r.slot.clone());
        let peer = self.peer;
        let service = service_fn(move |mut req: hyper::Request<Incoming>| {
            req.extensions_mut()
                .insert(axum::extract::ConnectInfo(peer));
            let mut app = app.clone();
            let in_flight = slot.as_ref().map(|s| s.request());
            async move {
                let _in_flight = in_flight;
                if health_only && req.uri().path() != "/healthz" {
                    return Ok::<_, Infallible>(
                        (
                            StatusCode::SERVICE_UNAVAILABLE,
                            [(header::RETRY_AFTER, "1")],
                            "overloaded",
                        )
                            .into_response(),
                    );
                }
                app.call(req.map(axum::body::Body::new)).await
            }
        });
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(self.header_timeout())
            .keep_alive(!health_only);
        let conn = builder.serve_connection(io, service);
        tokio::pin!(conn);
        let mut closing = self.closing;
        let mut draining = false;
        if *closing.borrow_and_update() {
            draining = true;
            conn.as_mut().graceful_shutdown();
        }
        loop {
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                    return;
                }
                _ = closing.changed(), if !draining => {
                    draining = true;
                    conn.as_mut().graceful_shutdown();
                }
                () = activity.idle_for(self.limits.idle_timeout) => {
                    tracing::debug!("idle connection closed");
                    return;
                }
                () = evicted(registration.as_ref()) => {
                    tracing::debug!("connection closed to make room at the connection cap");
                    return;
                }
            }
        }
    }
}

/// Resolves when the connection must make room (never for untracked ones).
async fn evicted(registration: Option<&evict::Registration>) {
    match registration {
        Some(r) => r.slot.evicted().await,
        None => std::future::pending().await,
    }
}

/// When a connection last moved a byte.
struct Activity {
    start: Instant,
    last_ms: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Self {
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
        }
    }

    fn touch(&self) {
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    /// Resolves once no byte has moved for `limit`.
    async fn idle_for(&self, limit: Duration) {
        loop {
            let last = self.start + Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
            let deadline = last + limit;
            if Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep_until(deadline.into()).await;
        }
    }
}

/// An I/O stream that records activity.
struct Tracked<IO> {
    inner: IO,
    activity: Arc<Activity>,
}

impl<IO: AsyncRead + Unpin> AsyncRead for Tracked<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.touch();
        }
        result
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Tracked<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        result
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
