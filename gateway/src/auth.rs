//! Who is calling: the one seam authentication plugs into.
//!
//! Every handler that acts takes a [`Principal`]. Today the extractor admits every request as the
//! development principal `anonymous`; the identity service will verify a session cookie or a bearer
//! token here and refuse what it cannot verify. Handlers and services do not change when it does.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::error::ApiError;

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Principal {
    /// Recorded as the actor of every change the request makes.
    pub actor: String,
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(_parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Principal {
            actor: "anonymous".to_owned(),
        })
    }
}

/// Wraps a message into a gRPC request carrying the caller and the current trace context.
pub fn grpc_request<T>(message: T, principal: &Principal) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    docket_platform::propagation::inject_into_metadata(request.metadata_mut());
    if let Ok(actor) = principal.actor.parse() {
        request.metadata_mut().insert("x-docket-actor", actor);
    }
    request
}
