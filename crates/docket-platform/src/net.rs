//! Listening sockets the way every server of the suite needs them.

use std::net::SocketAddr;

use futures_core::Stream;
use tokio::net::{TcpListener, TcpStream};
use tokio_stream::StreamExt as _;
use tokio_stream::wrappers::TcpListenerStream;

/// A listening socket that could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {addr}: {source}")]
pub struct BindError {
    pub addr: SocketAddr,
    #[source]
    pub source: std::io::Error,
}

/// Listens on `addr` (port 0 picks a free one) and says which address it got.
pub async fn bind(addr: SocketAddr) -> Result<(TcpListener, SocketAddr), BindError> {
    let failed = |source| BindError { addr, source };
    let listener = TcpListener::bind(addr).await.map_err(failed)?;
    let bound = listener.local_addr().map_err(failed)?;
    Ok((listener, bound))
}

/// The connections `listener` accepts, each with `TCP_NODELAY`: answers are small writes that
/// Nagle's algorithm would otherwise hold back until the peer's delayed ACK, 40 ms later.
pub fn incoming(listener: TcpListener) -> impl Stream<Item = std::io::Result<TcpStream>> {
    TcpListenerStream::new(listener).map(|accepted| {
        if let Ok(stream) = &accepted
            && let Err(e) = stream.set_nodelay(true)
        {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
        accepted
    })
}

/// Sets `TCP_NODELAY` on a connection an HTTP server accepted (for `axum::serve`'s `tap_io`).
pub fn no_delay(stream: &mut TcpStream) {
    if let Err(e) = stream.set_nodelay(true) {
        tracing::debug!(error = %e, "cannot set TCP_NODELAY");
    }
}

/// A service's gRPC routes with the standard health service, which reports each added service
/// as serving.
pub struct GrpcRoutes {
    health: tonic_health::server::HealthReporter,
    routes: tonic::service::Routes,
}

impl GrpcRoutes {
    pub fn new() -> Self {
        let (health, health_service) = tonic_health::server::health_reporter();
        Self {
            health,
            routes: tonic::service::Routes::new(health_service),
        }
    }

    /// Adds `service` and reports it as serving.
    pub async fn serving<S>(mut self, service: S) -> Self
    where
        S: tower::Service<http::Request<tonic::body::Body>, Error = std::convert::Infallible>
            + tonic::server::NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Response: axum::response::IntoResponse,
        S::Future: Send + 'static,
    {
        self.health.set_serving::<S>().await;
        self.routes = self.routes.add_service(service);
        self
    }

    /// Serves the routes on `listener` until `shutdown`; see [`serve_grpc`].
    pub fn serve(
        self,
        name: &'static str,
        listener: TcpListener,
        shutdown: crate::Shutdown,
    ) -> tokio::task::JoinHandle<()> {
        serve_grpc(name, listener, self.routes, shutdown)
    }
}

impl Default for GrpcRoutes {
    fn default() -> Self {
        Self::new()
    }
}

/// Serves gRPC `routes` (a service's own, plus the health service) on `listener` until
/// `shutdown`, with the request spans of [`crate::propagation`]; in-flight calls finish first.
pub fn serve_grpc(
    name: &'static str,
    listener: TcpListener,
    routes: tonic::service::Routes,
    shutdown: crate::Shutdown,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let served = tonic::transport::Server::builder()
            .trace_fn(crate::propagation::grpc_request_span)
            .add_routes(routes)
            .serve_with_incoming_shutdown(incoming(listener), shutdown.cancelled())
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, service = name, "gRPC server failed");
        }
    })
}
