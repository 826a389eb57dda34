//! Who is calling, and what they may do.
//!
//! - [`perm`]: the queue permissions of the Znuny/OTRS model (`ro`, `move_into`, `create`, `note`,
//!   `owner`, `priority`, `rw`);
//! - [`token`]: short-lived access tokens, EdDSA-signed JWTs carrying the caller's grants; key
//!   pairs, JWKS, and a verifier every service uses;
//! - [`secret`]: opaque secrets (session and API tokens) and their stored hashes;
//! - [`caller`]: reading the caller's token from gRPC metadata;
//! - [`remote`]: a service's verifier, with the identity service's keys fetched and cached.
//!
//! No service trusts a bare user id: a caller is whoever a valid token says.

pub mod caller;
pub mod perm;
pub mod remote;
pub mod secret;
pub mod token;

pub use caller::{AUTHORIZATION, bearer_token, with_bearer};
pub use perm::{PermSet, Permission};
pub use token::{AgentGrants, Claims, CustomerGrant, KeyPair, Kind, TenantGrants, Verifier};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    #[error("missing credentials")]
    Missing,
    #[error("invalid or expired token")]
    Invalid,
    #[error("token signed by an unknown key `{0}`")]
    UnknownKey(String),
    #[error("key material is not valid: {0}")]
    BadKey(String),
    #[error("the token's session was ended")]
    Revoked,
}

impl From<AuthError> for tonic::Status {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::BadKey(_) => tonic::Status::internal("internal error"),
            // Unknown keys and bad tokens look the same to a client.
            _ => tonic::Status::unauthenticated("authentication required"),
        }
    }
}
