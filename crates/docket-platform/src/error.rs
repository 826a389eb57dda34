//! One error vocabulary for every service: a small code enum that maps to both a gRPC status code and
//! an HTTP status. Crates keep their own error types and say which code each variant is; the edges
//! (gRPC server, REST gateway) do the mapping, once.

use http::StatusCode;

/// What kind of failure happened, from the client's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The request is malformed or a value is out of range.
    InvalidArgument,
    /// The target does not exist (or is not visible to the caller).
    NotFound,
    /// Creating something that already exists.
    AlreadyExists,
    /// The target changed since the caller read it, or is in a state that forbids the operation.
    Conflict,
    /// The request body is larger than allowed.
    PayloadTooLarge,
    Unauthenticated,
    PermissionDenied,
    /// A dependency (database, broker, another service) is not reachable right now.
    Unavailable,
    /// A bug or an unexpected failure; details are logged, never shown.
    Internal,
}

impl ErrorCode {
    pub fn grpc_code(self) -> tonic::Code {
        match self {
            Self::InvalidArgument => tonic::Code::InvalidArgument,
            Self::NotFound => tonic::Code::NotFound,
            Self::AlreadyExists => tonic::Code::AlreadyExists,
            Self::Conflict => tonic::Code::Aborted,
            Self::PayloadTooLarge => tonic::Code::OutOfRange,
            Self::Unauthenticated => tonic::Code::Unauthenticated,
            Self::PermissionDenied => tonic::Code::PermissionDenied,
            Self::Unavailable => tonic::Code::Unavailable,
            Self::Internal => tonic::Code::Internal,
        }
    }

    pub fn from_grpc_code(code: tonic::Code) -> Self {
        match code {
            tonic::Code::InvalidArgument => Self::InvalidArgument,
            tonic::Code::NotFound => Self::NotFound,
            tonic::Code::AlreadyExists => Self::AlreadyExists,
            tonic::Code::Aborted | tonic::Code::FailedPrecondition => Self::Conflict,
            tonic::Code::OutOfRange => Self::PayloadTooLarge,
            tonic::Code::Unauthenticated => Self::Unauthenticated,
            tonic::Code::PermissionDenied => Self::PermissionDenied,
            tonic::Code::Unavailable | tonic::Code::DeadlineExceeded => Self::Unavailable,
            _ => Self::Internal,
        }
    }

    /// What a database failure means for a client: a pool that timed out or a broken connection
    /// is a dependency not reachable right now; anything else is internal.
    pub fn of_database(e: &sqlx::Error) -> Self {
        match e {
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) => Self::Unavailable,
            _ => Self::Internal,
        }
    }

    pub fn http_status(self) -> StatusCode {
        match self {
            Self::InvalidArgument => StatusCode::UNPROCESSABLE_ENTITY,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::AlreadyExists | Self::Conflict => StatusCode::CONFLICT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::PermissionDenied => StatusCode::FORBIDDEN,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A short, stable, machine-readable name, used as the problem type's last path segment.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidArgument => "invalid-argument",
            Self::NotFound => "not-found",
            Self::AlreadyExists => "already-exists",
            Self::Conflict => "conflict",
            Self::PayloadTooLarge => "payload-too-large",
            Self::Unauthenticated => "unauthenticated",
            Self::PermissionDenied => "permission-denied",
            Self::Unavailable => "unavailable",
            Self::Internal => "internal",
        }
    }
}

/// Something that knows which [`ErrorCode`] it is and what a client may be told about it.
pub trait ServiceError: std::error::Error {
    fn code(&self) -> ErrorCode;

    /// The message a client sees. Internal errors never show their cause.
    fn public_message(&self) -> String {
        match self.code() {
            ErrorCode::Internal => "internal error".to_owned(),
            ErrorCode::Unavailable => "service temporarily unavailable".to_owned(),
            _ => self.to_string(),
        }
    }

    /// Turns the error into a gRPC status, logging internal causes with their context.
    fn into_status(self) -> tonic::Status
    where
        Self: Sized,
    {
        let code = self.code();
        if matches!(code, ErrorCode::Internal | ErrorCode::Unavailable) {
            tracing::error!(error = %self, source = ?std::error::Error::source(&self), "request failed");
        }
        tonic::Status::new(code.grpc_code(), self.public_message())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_failures_are_unavailable_only_when_the_database_is_out_of_reach() {
        assert_eq!(
            ErrorCode::of_database(&sqlx::Error::PoolTimedOut),
            ErrorCode::Unavailable
        );
        assert_eq!(
            ErrorCode::of_database(&sqlx::Error::RowNotFound),
            ErrorCode::Internal
        );
    }

    const ALL: [ErrorCode; 9] = [
        ErrorCode::InvalidArgument,
        ErrorCode::NotFound,
        ErrorCode::AlreadyExists,
        ErrorCode::Conflict,
        ErrorCode::PayloadTooLarge,
        ErrorCode::Unauthenticated,
        ErrorCode::PermissionDenied,
        ErrorCode::Unavailable,
        ErrorCode::Internal,
    ];

    #[test]
    fn grpc_round_trip_keeps_every_code() {
        for code in ALL {
            assert_eq!(ErrorCode::from_grpc_code(code.grpc_code()), code);
        }
    }

    #[test]
    fn only_internal_maps_to_500() {
        for code in ALL {
            let is_500 = code.http_status() == StatusCode::INTERNAL_SERVER_ERROR;
            assert_eq!(is_500, code == ErrorCode::Internal, "{code:?}");
        }
    }
}
