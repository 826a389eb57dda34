//! The identity service's one error type.

use docket_platform::ErrorCode;
use docket_platform::error::ServiceError;

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("{0}")]
    InvalidArgument(String),
    #[error("{kind} {id} not found")]
    NotFound { kind: &'static str, id: String },
    #[error("{0}")]
    AlreadyExists(String),
    /// The target is in a state that forbids the operation.
    #[error("{0}")]
    Conflict(String),
    /// Wrong password, unknown user, or a locked or disabled account: one answer for all, so a
    /// client learns nothing about which.
    #[error("login failed: wrong login or password, or the account is locked")]
    LoginFailed,
    #[error("authentication required")]
    Unauthenticated,
    #[error("{0}")]
    PermissionDenied(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("directory unavailable: {0}")]
    Directory(String),
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    #[error("event bus error: {0}")]
    Bus(#[from] docket_bus::BusError),
    #[error(transparent)]
    Auth(#[from] docket_auth::AuthError),
}

impl IdentityError {
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::InvalidArgument(message.into())
    }

    pub fn not_found(kind: &'static str, id: impl ToString) -> Self {
        Self::NotFound {
            kind,
            id: id.to_string(),
        }
    }
}

impl From<docket_platform::id::InvalidId> for IdentityError {
    fn from(e: docket_platform::id::InvalidId) -> Self {
        Self::InvalidArgument(e.to_string())
    }
}

impl ServiceError for IdentityError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::InvalidArgument(_) => ErrorCode::InvalidArgument,
            Self::NotFound { .. } => ErrorCode::NotFound,
            Self::AlreadyExists(_) => ErrorCode::AlreadyExists,
            Self::Conflict(_) => ErrorCode::Conflict,
            Self::LoginFailed | Self::Unauthenticated => ErrorCode::Unauthenticated,
            Self::PermissionDenied(_) => ErrorCode::PermissionDenied,
            Self::Database(e) => ErrorCode::of_database(e),
            Self::Directory(_) | Self::Bus(_) => ErrorCode::Unavailable,
            Self::Auth(docket_auth::AuthError::BadKey(_)) => ErrorCode::Internal,
            Self::Auth(_) => ErrorCode::Unauthenticated,
            Self::Corrupt(_) => ErrorCode::Internal,
        }
    }
}

impl From<IdentityError> for tonic::Status {
    fn from(e: IdentityError) -> Self {
        e.into_status()
    }
}
