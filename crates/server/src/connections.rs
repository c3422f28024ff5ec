//! Accepting connections, with the limits a server facing the internet needs: at most
//! `max_connections` open at once (sockets included), and a deadline for each request's
//! header that also closes a keep-alive connection left idle (hyper starts it again after
//! every answer). axum's own `serve` sets neither, so a half-sent header or thousands of
//! silent connections stayed open for as long as the client liked.

use axum::Router;
use axum::extract::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio_rustls::TlsAcceptor;
use tower::{Service, ServiceExt};

/// How connections are bounded.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Open connections at most; past it the server stops accepting until one closes
    /// (the kernel's backlog holds the next few, then refuses).
    pub max_connections: usize,
    /// The time a client has to send a request's header, and the longest a keep-alive
    /// connection may sit idle between requests.
    pub header_timeout: Duration,
}

/// A connection that holds its place among the open ones for as long as it lives, after a
/// WebSocket upgrade too (the upgraded socket owns this stream).
struct Counted {
    stream: TcpStream,
    _place: OwnedSemaphorePermit,
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then lets every request in
/// flight finish (upgraded sockets are the app's to close) and returns. With `tls`, every
/// connection is HTTPS; its handshake has the header deadline too.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    tls: Option<TlsAcceptor>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let places = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut make_service = router.into_make_service_with_connect_info::<SocketAddr>();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    // Every connection task holds a receiver; `closed()` completes when all have ended.
    let (stop_tx, stop_rx) = watch::channel(());
    let mut shutdown = pin!(shutdown);
    loop {
        let place = tokio::select! {
            place = places.clone().acquire_owned() => match place {
                Ok(place) => place,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    wait_after_accept_error(&err).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let Ok(service) = make_service.call(remote).await;
        let service = service.map_request(|req: Request<Incoming>| req.map(axum::body::Body::new));
        let counted = Counted {
            stream,
            _place: place,
        };
        let http = http.clone();
        let stop = stop_rx.clone();
        let tls = tls.clone();
        let deadline = limits.header_timeout;
        tokio::spawn(async move {
            match tls {
                None => serve_connection(&http, counted, service, stop, remote).await,
                Some(tls) => match tokio::time::timeout(deadline, tls.accept(counted)).await {
                    Ok(Ok(stream)) => serve_connection(&http, stream, service, stop, remote).await,
                    Ok(Err(err)) => {
                        tracing::debug!(%remote, error = %err, "a TLS handshake failed")
                    }
                    Err(_) => tracing::debug!(%remote, "a TLS handshake took too long"),
                },
            }
        });
    }
    drop(listener);
    drop(stop_rx);
    let _ = stop_tx.send(());
    stop_tx.closed().await;
}

/// Serves one connection's requests until it ends, or gracefully once `stop` changes.
async fn serve_connection<I, S>(
    http: &hyper::server::conn::http1::Builder,
    io: I,
    service: S,
    mut stop: watch::Receiver<()>,
    remote: SocketAddr,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: Service<
            Request<Incoming>,
            Response = axum::response::Response,
            Error = std::convert::Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    let connection = http
        .serve_connection(TokioIo::new(io), TowerToHyperService::new(service))
        .with_upgrades();
    let mut connection = pin!(connection);
    tokio::select! {
        result = connection.as_mut() => {
            if let Err(err) = result {
                tracing::trace!(%remote, error = %err, "connection ended with an error");
            }
            return;
        }
        _ = stop.changed() => connection.as_mut().graceful_shutdown(),
    }
    if let Err(err) = connection.await {
        tracing::trace!(%remote, error = %err, "connection ended with an error");
    }
}

/// Accept errors are the listener's (out of file descriptors, say), not one client's:
/// wait a moment instead of spinning.
async fn wait_after_accept_error(err: &std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        err.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %err, "accepting a connection failed; retrying in a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
