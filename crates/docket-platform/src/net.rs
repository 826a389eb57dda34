//! Listening sockets the way every server of the suite needs them.

use futures_core::Stream;
use tokio::net::{TcpListener, TcpStream};
use tokio_stream::StreamExt as _;
use tokio_stream::wrappers::TcpListenerStream;

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
