//! Who is calling. Every route but health and login takes a [`Principal`]; its extractor accepts
//!
//! - `Authorization: Bearer <access token>` (a JWT from login), verified against the identity
//!   service's public keys;
//! - `Authorization: Bearer dkt_…` (a personal API token), exchanged for an access token;
//! - the `docket_session` cookie of a browser, exchanged for an access token; state-changing
//!   requests must then also carry the `X-CSRF-Token` header matching the `docket_csrf` cookie.
//!
//! Anything else is refused with 401. The access token travels on to the services in gRPC
//! metadata; no service trusts a bare user id.

use std::collections::HashMap;

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{AppendHeaders, IntoResponse, Response};
use docket_auth::Claims;
use docket_proto::identity::v1 as pb;
use docket_proto::identity::v1::identity_service_client::IdentityServiceClient;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;
use tonic::transport::Channel;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::answers::{Forbidden, Invalid, Unauthenticated};
use crate::error::{ApiError, ApiJson, Problem};

pub const SESSION_COOKIE: &str = "docket_session";
pub const CSRF_COOKIE: &str = "docket_csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Principal {
    pub claims: Claims,
    /// The access token forwarded to the services.
    pub token: String,
}

impl Principal {
    /// Recorded as the actor of every change the request makes.
    pub fn actor(&self) -> &str {
        &self.claims.login
    }
}

/// Verifies and obtains access tokens; caches what it learned from the identity service.
pub struct Authenticator {
    identity: IdentityServiceClient<Channel>,
    verifier: docket_auth::remote::RemoteVerifier,
    /// Access tokens by the SHA-256 of the session or API token secret they were issued for.
    exchanged: Mutex<HashMap<[u8; 32], (String, Claims)>>,
}

impl Authenticator {
    pub fn new(identity: IdentityServiceClient<Channel>) -> Self {
        Self {
            verifier: docket_auth::remote::RemoteVerifier::new(identity.clone()),
            identity,
            exchanged: Mutex::new(HashMap::new()),
        }
    }

    /// The claims of a valid access token.
    pub async fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        self.verifier.verify(token).await.map_err(|e| match e {
            docket_auth::remote::RemoteError::Auth(_) => unauthenticated(),
            other => ApiError::Upstream(other.into()),
        })
    }

    /// An access token for a session or API token secret, cached until shortly before it expires.
    async fn exchange(&self, secret: &str) -> Result<Principal, ApiError> {
        let key: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
        let now = chrono::Utc::now().timestamp();
        let cached = self
            .exchanged
            .lock()
            .await
            .get(&key)
            .filter(|(_, claims)| claims.exp - 30 > now)
            .cloned();
        if let Some((token, claims)) = cached {
            // The session may have ended since (logout elsewhere, a password reset).
            match self.verifier.check_session(&claims).await {
                Ok(()) => return Ok(Principal { claims, token }),
                Err(docket_auth::remote::RemoteError::Auth(_)) => {
                    self.exchanged.lock().await.remove(&key);
                    return Err(unauthenticated());
                }
                Err(other) => return Err(ApiError::Upstream(other.into())),
            }
        }
        let mut identity = self.identity.clone();
        let answer = if secret.starts_with("dkt_") {
            identity
                .exchange_api_token(pb::ExchangeApiTokenRequest {
                    api_token: secret.to_owned(),
                })
                .await
        } else {
            identity
                .refresh(pb::RefreshRequest {
                    session_secret: secret.to_owned(),
                })
                .await
        };
        let token = match answer {
            Ok(t) => t.into_inner().token,
            Err(s) if s.code() == tonic::Code::Unauthenticated => return Err(unauthenticated()),
            Err(s) => return Err(s.into()),
        };
        let claims = self.verify(&token).await?;
        let mut cache = self.exchanged.lock().await;
        if cache.len() > 10_000 {
            cache.retain(|_, (_, c)| c.exp > now);
        }
        cache.insert(key, (token.clone(), claims.clone()));
        Ok(Principal { claims, token })
    }

    /// The principal of a browser's session cookie, whatever the method: the web pages check
    /// their forms' CSRF token themselves (`web::Submitted`).
    pub(crate) async fn session(&self, headers: &HeaderMap) -> Result<Principal, ApiError> {
        let secret = cookie(headers, SESSION_COOKIE).ok_or_else(unauthenticated)?;
        self.exchange(secret).await
    }

    /// Ends a browser's session: the identity service forgets it, and so does the cache.
    pub(crate) async fn end_session(
        &self,
        mut identity: crate::IdentityApi,
        headers: &HeaderMap,
    ) -> Result<(), ApiError> {
        if let Some(secret) = cookie(headers, SESSION_COOKIE) {
            self.forget(secret).await;
            identity
                .logout(pb::LogoutRequest {
                    session_secret: secret.to_owned(),
                })
                .await?;
        }
        Ok(())
    }

    /// Drops the cached access tokens of a session or API token by its id (the token's `sid`),
    /// e.g. when it is revoked: the next request with it asks the identity service again.
    pub async fn forget_sid(&self, sid: &str) {
        self.exchanged
            .lock()
            .await
            .retain(|_, (_, c)| c.sid.as_deref() != Some(sid));
    }

    fn forget(&self, secret: &str) -> impl std::future::Future<Output = ()> + '_ {
        let key: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
        async move {
            self.exchanged.lock().await.remove(&key);
        }
    }
}

fn unauthenticated() -> ApiError {
    ApiError::Unauthenticated("authentication required: log in, or send a bearer token".into())
}

/// The value of the request's cookie `name`.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let auth = &state.auth;
        if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
            let value = value.to_str().map_err(|_| unauthenticated())?;
            let token = value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
                .map(str::trim)
                .ok_or_else(unauthenticated)?;
            return if token.starts_with("dkt_") {
                auth.exchange(token).await
            } else {
                let claims = auth.verify(token).await?;
                Ok(Principal {
                    claims,
                    token: token.to_owned(),
                })
            };
        }
        let Some(session) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(unauthenticated());
        };
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if !safe {
            let sent = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
            let expected = cookie(&parts.headers, CSRF_COOKIE);
            let ok = matches!((sent, expected), (Some(s), Some(e)) if !e.is_empty() && constant_time_eq(s, e));
            if !ok {
                return Err(ApiError::Forbidden(format!(
                    "a browser session's changes need the {CSRF_HEADER} header matching the {CSRF_COOKIE} cookie"
                )));
            }
        }
        auth.exchange(session).await
    }
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    #[default]
    Agent,
    Customer,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// `agent` (default) or `customer`.
    #[serde(default)]
    pub kind: AccountKind,
    /// For customers: the tenant (slug) they belong to.
    #[serde(default)]
    pub tenant: String,
    pub login: String,
    pub password: String,
    /// The current code of the agent's authenticator app, when it has a second factor.
    #[serde(default)]
    pub totp_code: String,
}

impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest")
            .field("login", &self.login)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// Send as `Authorization: Bearer …`; valid for minutes.
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_at: chrono::DateTime<chrono::Utc>,
    /// Browsers: send back as the `X-CSRF-Token` header with every change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub csrf_token: Option<String>,
}

fn expires(us: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_micros(us).unwrap_or_default()
}

pub(crate) fn session_cookies(
    secret: &str,
    csrf: &str,
    max_age: i64,
) -> AppendHeaders<[(header::HeaderName, HeaderValue); 2]> {
    let session = format!(
        "{SESSION_COOKIE}={secret}; Path=/; HttpOnly; Secure; SameSite=Lax; Max-Age={max_age}"
    );
    let csrf = format!("{CSRF_COOKIE}={csrf}; Path=/; Secure; SameSite=Strict; Max-Age={max_age}");
    // Both cookies: appended, as a second insert would replace the first.
    AppendHeaders([
        (
            header::SET_COOKIE,
            HeaderValue::from_str(&session).unwrap_or(HeaderValue::from_static("")),
        ),
        (
            header::SET_COOKIE,
            HeaderValue::from_str(&csrf).unwrap_or(HeaderValue::from_static("")),
        ),
    ])
}

/// Logs in; sets the session cookie for browsers and returns an access token for scripts.
#[utoipa::path(post, path = "/auth/login", tag = "auth", request_body = LoginRequest, security(()),
    responses((status = 200, body = TokenResponse, headers(("Set-Cookie" = String, description = "docket_session (HttpOnly) and docket_csrf"))),
              (status = 401, description = "login failed, or a second factor is required", body = Problem),
              (status = 429, description = "too many failed sign-ins from the client's address", body = Problem,
               headers(("Retry-After" = u64, description = "seconds until sign-ins from the address are accepted again"))),
              Invalid))]
async fn login(
    State(state): State<AppState>,
    client: crate::sign_in::SignInClient,
    ApiJson(body): ApiJson<LoginRequest>,
) -> Result<Response, ApiError> {
    if let Some(refused) = client.refusal(&state) {
        return Ok(refused);
    }
    let kind = match body.kind {
        AccountKind::Agent => pb::PrincipalKind::Agent,
        AccountKind::Customer => pb::PrincipalKind::Customer,
    };
    let request = pb::LoginRequest {
        kind: kind.into(),
        tenant: body.tenant,
        login: body.login,
        password: body.password,
        totp_code: body.totp_code,
    };
    let mut identity = state.sign_in.clone();
    let answer = match identity.login(crate::auth::traced(request)).await {
        Ok(answer) => answer.into_inner(),
        Err(s) => {
            if s.code() == tonic::Code::Unauthenticated {
                client.failed(&state);
            }
            return Err(s.into());
        }
    };
    if answer.second_factor_required {
        return Err(ApiError::SecondFactorRequired);
    }
    let access = answer
        .access_token
        .ok_or_else(|| ApiError::Upstream(tonic::Status::internal("no access token")))?;
    let csrf = docket_auth::secret::OpaqueSecret::generate("csrf").id;
    let max_age = 12 * 3600;
    let body = TokenResponse {
        access_token: access.token,
        token_type: "Bearer",
        expires_at: expires(access.expires_at_us),
        csrf_token: Some(csrf.clone()),
    };
    Ok((
        StatusCode::OK,
        session_cookies(&answer.session_secret, &csrf, max_age),
        axum::Json(body),
    )
        .into_response())
}

/// A fresh access token for the browser session.
#[utoipa::path(post, path = "/auth/refresh", tag = "auth", security(()),
    responses((status = 200, body = TokenResponse), Unauthenticated))]
async fn refresh(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<axum::Json<TokenResponse>, ApiError> {
    let secret = cookie(&headers, SESSION_COOKIE)
        .ok_or_else(unauthenticated)?
        .to_owned();
    let mut identity = state.sign_in.clone();
    let access = match identity
        .refresh(traced(pb::RefreshRequest {
            session_secret: secret,
        }))
        .await
    {
        Ok(a) => a.into_inner(),
        Err(s) if s.code() == tonic::Code::Unauthenticated => return Err(unauthenticated()),
        Err(s) => return Err(s.into()),
    };
    Ok(axum::Json(TokenResponse {
        access_token: access.token,
        token_type: "Bearer",
        expires_at: expires(access.expires_at_us),
        csrf_token: None,
    }))
}

/// Ends the browser session and clears its cookies.
#[utoipa::path(post, path = "/auth/logout", tag = "auth",
    responses((status = 204), Unauthenticated, Forbidden))]
async fn logout(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    state
        .auth
        .end_session(state.identity(&principal), &headers)
        .await?;
    Ok((StatusCode::NO_CONTENT, session_cookies("", "", 0)).into_response())
}

/// A request carrying only the trace context (for calls made before anyone is authenticated).
pub fn traced<T>(message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    docket_platform::propagation::inject_into_metadata(request.metadata_mut());
    request
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            "a=1; docket_session=dks_x; docket_csrf=abc"
                .parse()
                .unwrap(),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("dks_x"));
        assert_eq!(cookie(&h, CSRF_COOKIE), Some("abc"));
        assert_eq!(cookie(&h, "missing"), None);
    }

    #[test]
    fn constant_time_comparison() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "ab"));
    }
}
