//! The mail service's one error type.

use docket_platform::ErrorCode;
use docket_platform::error::ServiceError;

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("{0}")]
    InvalidArgument(String),
    #[error("{kind} {id} not found")]
    NotFound { kind: &'static str, id: String },
    #[error("{0}")]
    PermissionDenied(String),
    #[error("authentication required")]
    Unauthenticated,
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    Conflict(String),
    /// Another service answered with an error (the ticket service refused a ticket, say).
    #[error("{service}: {status}")]
    Peer {
        service: &'static str,
        status: tonic::Status,
    },
    /// Another service or the SMTP relay could not be reached; trying again later may help.
    #[error("{0} is unavailable")]
    Unavailable(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
}

impl MailError {
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::InvalidArgument(message.into())
    }

    pub fn not_found(kind: &'static str, id: impl ToString) -> Self {
        Self::NotFound {
            kind,
            id: id.to_string(),
        }
    }

    /// Whether trying again later may succeed (a peer or the database was unavailable).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Unavailable(_) => true,
            Self::Database(e) => ErrorCode::of_database(e) == ErrorCode::Unavailable,
            Self::Peer { status, .. } => matches!(
                status.code(),
                tonic::Code::Unavailable
                    | tonic::Code::DeadlineExceeded
                    | tonic::Code::Aborted
                    | tonic::Code::Internal
                    | tonic::Code::Unknown
                    | tonic::Code::ResourceExhausted
                    | tonic::Code::Unauthenticated
            ),
            _ => false,
        }
    }

    /// A peer's answer, kept as what it means for us.
    pub fn peer(service: &'static str, status: tonic::Status) -> Self {
        Self::Peer { service, status }
    }
}

impl From<docket_platform::id::InvalidId> for MailError {
    fn from(e: docket_platform::id::InvalidId) -> Self {
        Self::InvalidArgument(e.to_string())
    }
}

impl ServiceError for MailError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::InvalidArgument(_) => ErrorCode::InvalidArgument,
            Self::NotFound { .. } => ErrorCode::NotFound,
            Self::PermissionDenied(_) => ErrorCode::PermissionDenied,
            Self::Unauthenticated => ErrorCode::Unauthenticated,
            Self::TooLarge(_) => ErrorCode::PayloadTooLarge,
            Self::Conflict(_) => ErrorCode::Conflict,
            Self::Peer { .. } | Self::Unavailable(_) => ErrorCode::Unavailable,
            Self::Database(e) => ErrorCode::of_database(e),
            Self::Corrupt(_) => ErrorCode::Internal,
        }
    }
}

impl From<MailError> for tonic::Status {
    fn from(e: MailError) -> Self {
        e.into_status()
    }
}
