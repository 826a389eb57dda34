//! The ticket service's one error type.

use docket_platform::ErrorCode;
use docket_platform::error::ServiceError;

#[derive(Debug, thiserror::Error)]
pub enum TicketError {
    #[error("{0}")]
    InvalidArgument(String),
    #[error("{kind} {id} not found")]
    NotFound { kind: &'static str, id: String },
    #[error("{0}")]
    AlreadyExists(String),
    #[error("{0}")]
    Conflict(String),
    /// The caller sees the target but may not do this to it.
    #[error("{0}")]
    PermissionDenied(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("event bus error: {0}")]
    Bus(#[from] docket_bus::BusError),
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    /// Another service ticket core asks (the identity service) did not answer.
    #[error("{0}")]
    Unavailable(String),
}

impl TicketError {
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::InvalidArgument(message.into())
    }

    pub fn denied(message: impl Into<String>) -> Self {
        Self::PermissionDenied(message.into())
    }

    pub fn not_found(kind: &'static str, id: impl ToString) -> Self {
        Self::NotFound {
            kind,
            id: id.to_string(),
        }
    }
}

impl From<docket_platform::id::InvalidId> for TicketError {
    fn from(e: docket_platform::id::InvalidId) -> Self {
        Self::InvalidArgument(e.to_string())
    }
}

impl ServiceError for TicketError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::InvalidArgument(_) => ErrorCode::InvalidArgument,
            Self::NotFound { .. } => ErrorCode::NotFound,
            Self::AlreadyExists(_) => ErrorCode::AlreadyExists,
            Self::Conflict(_) => ErrorCode::Conflict,
            Self::PermissionDenied(_) => ErrorCode::PermissionDenied,
            Self::TooLarge(_) => ErrorCode::PayloadTooLarge,
            Self::Database(e) => ErrorCode::of_database(e),
            Self::Bus(_) => ErrorCode::Unavailable,
            Self::Corrupt(_) => ErrorCode::Internal,
            Self::Unavailable(_) => ErrorCode::Unavailable,
        }
    }
}

impl From<TicketError> for tonic::Status {
    fn from(e: TicketError) -> Self {
        e.into_status()
    }
}
