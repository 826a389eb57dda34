//! The caller of a REST request and the services bound to them. A handler takes one [`Api`]
//! instead of the state and the [`Principal`] side by side: whatever it calls carries the
//! caller's token and trace context, and the authentication itself is still the `Principal`'s.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::{AppState, IdentityAdminApi, IdentityApi, MailApi, TicketApi};

/// An authenticated request's caller with the gateway's state.
pub struct Api {
    pub state: AppState,
    pub principal: Principal,
}

impl Api {
    /// The ticket service, called on behalf of the caller.
    pub fn tickets(&self) -> TicketApi {
        self.state.tickets(&self.principal)
    }

    /// The identity service's administration, called on behalf of the caller.
    pub fn identity_admin(&self) -> IdentityAdminApi {
        self.state.identity_admin(&self.principal)
    }

    /// The identity service, called on behalf of the caller.
    pub fn identity(&self) -> IdentityApi {
        self.state.identity(&self.principal)
    }

    /// The mail service, called on behalf of the caller.
    pub fn mail(&self) -> MailApi {
        self.state.mail(&self.principal)
    }
}

impl FromRequestParts<AppState> for Api {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let principal = Principal::from_request_parts(parts, state).await?;
        Ok(Self {
            state: state.clone(),
            principal,
        })
    }
}
