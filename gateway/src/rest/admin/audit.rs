//! The audit log (`/admin/audit`): who changed what in the administration, newest first.

use axum::Json;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use docket_proto::identity::v1 as pb;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::caller::Api;
use crate::error::answers::{BadRequest, Forbidden, Invalid, NotFound, Unauthenticated};
use crate::error::{ApiError, ApiPath, ApiQuery};
use crate::rest::Reply;
use crate::rest::{non_empty, time};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(audit_log))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntry {
    pub occurred_at: DateTime<Utc>,
    /// Absent for entries without a tenant (logins, tokens, passwords).
    pub tenant_id: Option<String>,
    pub actor: String,
    /// `login`, `login_failed`, `permission_changed`, `token_issued`, …
    pub action: String,
    pub target: Option<String>,
    /// `ok` or `denied`.
    pub outcome: String,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditEntry>,
    /// Pass as `page_token` for older entries; absent on the last page.
    pub next_page_token: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// 1 to 500; default 50.
    pub page_size: Option<u32>,
    /// `next_page_token` of the previous page.
    pub page_token: Option<String>,
}

/// A tenant's audit log, newest first: its own entries, and the logins, tokens and password
/// changes of its agents.
#[utoipa::path(get, path = "/admin/tenants/{tenant_id}/audit", tag = "admin",
    params(("tenant_id" = String, Path), AuditQuery),
    responses((status = 200, body = AuditPage), BadRequest, Unauthenticated,
              Forbidden, NotFound, Invalid))]
async fn audit_log(
    api: Api,
    ApiPath(tenant_id): ApiPath<String>,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Reply<AuditPage> {
    if query.page_size == Some(0) {
        return Err(ApiError::BadRequest {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            detail: "page_size 0 is not between 1 and 500".into(),
        });
    }
    let req = pb::ListAuditLogRequest {
        tenant_id,
        page_size: query.page_size.unwrap_or(0),
        page_token: query.page_token.unwrap_or_default(),
    };
    let r = api.identity_admin().list_audit_log(req).await?.into_inner();
    Ok(Json(AuditPage {
        items: r
            .entries
            .into_iter()
            .map(|e| AuditEntry {
                occurred_at: time(e.occurred_at_us),
                tenant_id: non_empty(e.tenant_id),
                actor: e.actor,
                action: e.action,
                target: non_empty(e.target),
                outcome: e.outcome,
                details: serde_json::from_str(&e.details_json).unwrap_or(serde_json::Value::Null),
            })
            .collect(),
        next_page_token: non_empty(r.next_page_token),
    }))
}
