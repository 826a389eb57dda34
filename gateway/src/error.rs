//! The gateway's one error type, answered as `application/problem+json` (RFC 9457).

use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use docket_platform::ErrorCode;
use serde::Serialize;
use utoipa::ToSchema;

/// A problem detail, as every error of the API is answered.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem, e.g. `https://docket.dev/problems/not-found`.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the kind of problem.
    pub title: String,
    pub status: u16,
    /// What exactly is wrong with this request.
    pub detail: String,
    /// The trace id to quote when reporting the problem.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
}

/// The standard error answers of the OpenAPI document, one definition each: an operation lists
/// those it can give (`responses((status = 200, body = Queue), Forbidden, NotFound)`), and
/// spells an answer out only where it has more to say than its status. The answers carry
/// plain comments, not doc comments: utoipa would make a doc comment every operation's
/// description of that status.
pub mod answers {
    use utoipa::IntoResponses;

    use super::Problem;

    // 400: a request the API cannot read at all.
    #[derive(IntoResponses)]
    #[response(status = 400)]
    pub struct BadRequest(pub Problem);

    // 401: no valid token or session.
    #[derive(IntoResponses)]
    #[response(status = 401)]
    pub struct Unauthenticated(pub Problem);

    // 403: the caller may not do this.
    #[derive(IntoResponses)]
    #[response(status = 403)]
    pub struct Forbidden(pub Problem);

    // 404: no such thing, or one the caller may not see.
    #[derive(IntoResponses)]
    #[response(status = 404)]
    pub struct NotFound(pub Problem);

    // 409: the change conflicts with what is there.
    #[derive(IntoResponses)]
    #[response(status = 409)]
    pub struct Conflict(pub Problem);

    // 413: the request is too large.
    #[derive(IntoResponses)]
    #[response(status = 413)]
    pub struct TooLarge(pub Problem);

    // 422: the request is readable but not valid.
    #[derive(IntoResponses)]
    #[response(status = 422)]
    pub struct Invalid(pub Problem);
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request could not be read (malformed JSON, wrong content type, body too large, bad
    /// query string).
    #[error("{detail}")]
    BadRequest { status: StatusCode, detail: String },
    /// A service answered with an error.
    #[error("{}", .0.message())]
    Upstream(tonic::Status),
    #[error("{0}")]
    NotFound(String),
    /// No or invalid credentials.
    #[error("{0}")]
    Unauthenticated(String),
    /// The password was right; the second factor is missing.
    #[error("a second factor is required: repeat the login with totp_code")]
    SecondFactorRequired,
    #[error("{0}")]
    Forbidden(String),
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::BadRequest { status, .. } => (*status, problem_slug(*status)),
            Self::Upstream(s) => {
                let code = ErrorCode::from_grpc_code(s.code());
                (code.http_status(), code.as_str())
            }
            Self::NotFound(_) => (StatusCode::NOT_FOUND, ErrorCode::NotFound.as_str()),
            Self::Unauthenticated(_) => (
                StatusCode::UNAUTHORIZED,
                ErrorCode::Unauthenticated.as_str(),
            ),
            Self::SecondFactorRequired => (StatusCode::UNAUTHORIZED, "second-factor-required"),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, ErrorCode::PermissionDenied.as_str()),
        }
    }
}

fn problem_slug(status: StatusCode) -> &'static str {
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::PayloadTooLarge.as_str(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported-media-type",
        StatusCode::UNPROCESSABLE_ENTITY => ErrorCode::InvalidArgument.as_str(),
        StatusCode::METHOD_NOT_ALLOWED => "method-not-allowed",
        StatusCode::NOT_FOUND => ErrorCode::NotFound.as_str(),
        _ => "bad-request",
    }
}

impl ApiError {
    /// The problem this error is, as answered to the client.
    pub fn to_problem(&self) -> Problem {
        let (status, slug) = self.status_and_code();
        problem(status, slug, self.client_detail())
    }

    /// What the client is told: never the details of our own failures.
    fn client_detail(&self) -> String {
        match self {
            Self::Upstream(s) => {
                let code = ErrorCode::from_grpc_code(s.code());
                if matches!(code, ErrorCode::Internal | ErrorCode::Unavailable) {
                    tracing::error!(grpc.code = ?s.code(), message = %s.message(), "upstream service failed");
                }
                match code {
                    ErrorCode::Internal => "internal error".to_owned(),
                    ErrorCode::Unavailable => {
                        "a service is temporarily unavailable; try again".to_owned()
                    }
                    _ => s.message().to_owned(),
                }
            }
            other => other.to_string(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, slug) = self.status_and_code();
        let mut response = problem_response(status, slug, self.client_detail());
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"docket\""),
            );
        }
        response
    }
}

fn problem(status: StatusCode, slug: &str, detail: String) -> Problem {
    let trace_id = docket_platform::propagation::current_trace_id();
    Problem {
        kind: format!("https://docket.dev/problems/{slug}"),
        title: status.canonical_reason().unwrap_or("Error").to_owned(),
        status: status.as_u16(),
        detail,
        trace_id: (trace_id.chars().any(|c| c != '0')).then_some(trace_id),
    }
}

/// Builds a problem+json response.
pub fn problem_response(status: StatusCode, slug: &str, detail: String) -> Response {
    let problem = problem(status, slug, detail);
    let mut response = (status, axum::Json(problem)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    response
}

impl From<tonic::Status> for ApiError {
    fn from(s: tonic::Status) -> Self {
        Self::Upstream(s)
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        let status = match &r {
            // Valid JSON of the wrong shape: a missing field, a wrong type.
            JsonRejection::JsonDataError(_) => StatusCode::UNPROCESSABLE_ENTITY,
            _ => r.status(),
        };
        Self::BadRequest {
            status,
            detail: r.body_text(),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        Self::BadRequest {
            status: StatusCode::BAD_REQUEST,
            detail: r.body_text(),
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        Self::BadRequest {
            status: StatusCode::BAD_REQUEST,
            detail: r.body_text(),
        }
    }
}

impl From<BytesRejection> for ApiError {
    fn from(r: BytesRejection) -> Self {
        let status = r.status();
        let detail = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "the request body is larger than this installation accepts (the gateway's max_body_bytes)"
                .to_owned()
        } else {
            r.body_text()
        };
        Self::BadRequest { status, detail }
    }
}

/// A request's raw body, whose rejections (too large, cut off) are problem+json.
pub struct ApiBytes(pub axum::body::Bytes);

impl<S: Send + Sync> axum::extract::FromRequest<S> for ApiBytes {
    type Rejection = ApiError;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        <axum::body::Bytes as axum::extract::FromRequest<S>>::from_request(request, state)
            .await
            .map(Self)
            .map_err(ApiError::from)
    }
}

/// `Json` whose rejections are problem+json.
#[derive(axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// `Query` whose rejections are problem+json.
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// `Path` whose rejections are problem+json.
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);
