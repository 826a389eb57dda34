//! The caller's own account (`/me…`): what it may do where, its API tokens and its second
//! factor (TOTP).

use std::collections::BTreeMap;

use axum::Json;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use docket_proto::identity::v1 as pb;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::admin::Permission;
use crate::AppState;
use crate::auth::Principal;
use crate::caller::Api;
use crate::error::answers::{Forbidden, Invalid, NotFound, Unauthenticated};
use crate::error::{ApiError, ApiJson, ApiPath, Problem};
use crate::rest::Reply;
use crate::rest::{Items, time};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(me))
        .routes(routes!(issue_api_token, list_api_tokens))
        .routes(routes!(revoke_api_token))
        .routes(routes!(start_totp, disable_totp))
        .routes(routes!(confirm_totp))
}

/// What the caller's access token says about it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    /// The agent's or customer user's id.
    pub id: String,
    pub login: String,
    /// `agent`, `customer` or `service`.
    pub kind: String,
    pub installation_admin: bool,
    /// An agent's grants per tenant id.
    pub tenants: BTreeMap<String, TenantAccess>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer: Option<CustomerScope>,
    /// Set for API tokens: the scopes they are limited to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TenantAccess {
    pub admin: bool,
    /// Merged permissions per group id.
    pub groups: BTreeMap<String, Vec<Permission>>,
    /// Absent agents this one stands in for.
    pub substitute_for: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerScope {
    pub tenant_id: String,
    pub company_id: Option<String>,
    pub company_tickets: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiToken {
    pub id: String,
    pub name: String,
    pub scopes: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<pb::ApiToken> for ApiToken {
    fn from(t: pb::ApiToken) -> Self {
        Self {
            id: t.id,
            name: t.name,
            scopes: t.scopes,
            created_at: time(t.created_at_us),
            expires_at: time(t.expires_at_us),
            revoked_at: (t.revoked_at_us != 0).then(|| time(t.revoked_at_us)),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueApiToken {
    #[schema(example = "backup script")]
    pub name: String,
    /// e.g. `tickets:read`; `admin` allows the administration API.
    #[schema(example = json!(["tickets:read"]))]
    pub scopes: Vec<String>,
    /// 1 to 366; default 90.
    pub valid_days: Option<u32>,
}

/// A new API token. The secret is shown only now.
#[derive(Serialize, ToSchema)]
pub struct IssuedApiToken {
    pub token: ApiToken,
    /// Send as `Authorization: Bearer dkt_…`.
    pub secret: String,
}

/// A second factor being enrolled: add it to the authenticator app, then confirm a code.
#[derive(Serialize, ToSchema)]
pub struct TotpEnrolment {
    /// Base32, for typing in.
    pub secret: String,
    /// `otpauth://totp/…`, for a QR code.
    pub otpauth_uri: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpCode {
    /// The current 6-digit code of the authenticator app.
    #[schema(example = "123456")]
    pub code: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TotpStatus {
    pub enabled: bool,
}

/// Who the caller is and what its access token grants.
#[utoipa::path(get, path = "/me", tag = "me",
    responses((status = 200, body = Me), Unauthenticated))]
async fn me(principal: Principal) -> Json<Me> {
    let c = principal.claims;
    let kind = match c.kind {
        docket_auth::Kind::Agent => "agent",
        docket_auth::Kind::Customer => "customer",
        docket_auth::Kind::Service => "service",
    };
    let agent = c.agent.unwrap_or_default();
    Json(Me {
        id: c.sub,
        login: c.login,
        kind: kind.to_owned(),
        installation_admin: agent.installation_admin,
        tenants: agent
            .tenants
            .into_iter()
            .map(|(tenant, grants)| {
                let access = TenantAccess {
                    admin: grants.admin,
                    groups: grants
                        .groups
                        .into_iter()
                        .map(|(group, set)| {
                            let perms = set
                                .iter()
                                .filter_map(|p| Permission::parse(p.as_str()))
                                .collect();
                            (group, perms)
                        })
                        .collect(),
                    substitute_for: grants.substitute_for,
                };
                (tenant, access)
            })
            .collect(),
        customer: c.customer.map(|g| CustomerScope {
            tenant_id: g.tenant_id,
            company_id: g.company_id,
            company_tickets: g.company_tickets,
        }),
        scopes: c.scopes,
    })
}

/// Issues a personal API token (needs a login session, not another API token).
#[utoipa::path(post, path = "/me/api-tokens", tag = "me", request_body = IssueApiToken,
    responses((status = 201, body = IssuedApiToken), Unauthenticated,
              (status = 403, description = "not an agent's login session", body = Problem),
              Invalid))]
async fn issue_api_token(
    api: Api,
    ApiJson(body): ApiJson<IssueApiToken>,
) -> Result<(StatusCode, Json<IssuedApiToken>), ApiError> {
    let req = pb::IssueApiTokenRequest {
        name: body.name,
        scopes: body.scopes,
        valid_days: body.valid_days.unwrap_or(90),
    };
    let issued = api
        .identity_admin()
        .issue_api_token(req)
        .await?
        .into_inner();
    let token = issued
        .token
        .ok_or_else(|| ApiError::Upstream(tonic::Status::internal("no token in the answer")))?;
    Ok((
        StatusCode::CREATED,
        Json(IssuedApiToken {
            token: ApiToken::from(token),
            secret: issued.secret,
        }),
    ))
}

/// Lists the caller's API tokens (without their secrets).
#[utoipa::path(get, path = "/me/api-tokens", tag = "me",
    responses((status = 200, body = Items<ApiToken>), Unauthenticated, Forbidden))]
async fn list_api_tokens(api: Api) -> Reply<Items<ApiToken>> {
    let r = api
        .identity_admin()
        .list_api_tokens(pb::ListApiTokensRequest {})
        .await?
        .into_inner();
    Items::of(r.tokens)
}

/// Revokes one of the caller's API tokens; it stops working at once.
#[utoipa::path(delete, path = "/me/api-tokens/{token_id}", tag = "me",
    params(("token_id" = String, Path)),
    responses((status = 200, body = ApiToken), Unauthenticated, Forbidden,
              NotFound, Invalid))]
async fn revoke_api_token(api: Api, ApiPath(token_id): ApiPath<String>) -> Reply<ApiToken> {
    let t = api
        .identity_admin()
        .revoke_api_token(pb::RevokeApiTokenRequest {
            token_id: token_id.clone(),
        })
        .await?
        .into_inner();
    // This gateway's cached access token for it goes too.
    api.state.auth.forget_sid(&token_id).await;
    Ok(Json(ApiToken::from(t)))
}

/// Starts enrolling a second factor: add the secret to an authenticator app, then confirm a code.
#[utoipa::path(post, path = "/me/totp", tag = "me",
    responses((status = 201, body = TotpEnrolment), Unauthenticated, Forbidden,
              (status = 409, description = "already enabled, or an LDAP account", body = Problem)))]
async fn start_totp(api: Api) -> Result<(StatusCode, Json<TotpEnrolment>), ApiError> {
    let r = api
        .identity_admin()
        .start_totp(pb::StartTotpRequest {})
        .await?
        .into_inner();
    Ok((
        StatusCode::CREATED,
        Json(TotpEnrolment {
            secret: r.secret,
            otpauth_uri: r.otpauth_uri,
        }),
    ))
}

/// Confirms the enrolment with a current code; from then on logging in needs one.
#[utoipa::path(post, path = "/me/totp/confirm", tag = "me", request_body = TotpCode,
    responses((status = 200, body = TotpStatus), Unauthenticated, Forbidden,
              (status = 409, description = "no enrolment started", body = Problem),
              (status = 422, description = "wrong code", body = Problem)))]
async fn confirm_totp(api: Api, ApiJson(body): ApiJson<TotpCode>) -> Reply<TotpStatus> {
    let r = api
        .identity_admin()
        .confirm_totp(pb::ConfirmTotpRequest { code: body.code })
        .await?
        .into_inner();
    Ok(Json(TotpStatus { enabled: r.enabled }))
}

/// Disables the second factor; needs a current code.
#[utoipa::path(delete, path = "/me/totp", tag = "me", request_body = TotpCode,
    responses((status = 200, body = TotpStatus), Unauthenticated,
              (status = 403, description = "too many wrong codes, or not a login session", body = Problem),
              (status = 409, description = "not enabled", body = Problem),
              (status = 422, description = "wrong code", body = Problem)))]
async fn disable_totp(api: Api, ApiJson(body): ApiJson<TotpCode>) -> Reply<TotpStatus> {
    let r = api
        .identity_admin()
        .disable_totp(pb::DisableTotpRequest { code: body.code })
        .await?
        .into_inner();
    Ok(Json(TotpStatus { enabled: r.enabled }))
}
