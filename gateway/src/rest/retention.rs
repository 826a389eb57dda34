//! Retention over REST: a tenant's period and action, holds on tickets, runs and their log.

use chrono::{DateTime, Utc};
use docket_proto::ticket::v1 as pb;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::caller::Api;
use crate::error::answers::{Forbidden, Invalid, NotFound, Unauthenticated};
use crate::error::{ApiJson, ApiPath, Problem};
use crate::rest::Reply;
use crate::rest::tickets::Ticket;
use crate::rest::{Items, time};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_policy, set_policy))
        .routes(routes!(set_hold))
        .routes(routes!(run, list_runs))
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RetentionAction {
    /// Everything about the ticket is removed.
    Delete,
    /// Articles, attachments, history and personal fields are removed; number, queue,
    /// classification, state and dates stay for the statistics.
    Anonymise,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetentionPolicy {
    /// Closed tickets older than this are removed: 30 to 36500 days (default 730).
    pub days: u32,
    pub action: RetentionAction,
}

impl RetentionPolicy {
    fn from_pb(p: pb::RetentionPolicy) -> Self {
        Self {
            days: p.days,
            action: if p.action == "anonymise" {
                RetentionAction::Anonymise
            } else {
                RetentionAction::Delete
            },
        }
    }
}

/// The tenant's retention period and action (its administrators).
#[utoipa::path(get, path = "/tenants/{tenant_id}/retention", tag = "tenants", params(("tenant_id" = String, Path)),
    responses((status = 200, body = RetentionPolicy), Forbidden, NotFound))]
async fn get_policy(api: Api, ApiPath(tenant_id): ApiPath<String>) -> Reply<RetentionPolicy> {
    let r = api
        .tickets()
        .get_retention_policy(pb::RetentionPolicyRequest { tenant_id })
        .await?
        .into_inner();
    Ok(axum::Json(RetentionPolicy::from_pb(r)))
}

/// Sets the tenant's retention period and action (its administrators).
#[utoipa::path(put, path = "/tenants/{tenant_id}/retention", tag = "tenants", request_body = RetentionPolicy,
    params(("tenant_id" = String, Path)),
    responses((status = 200, body = RetentionPolicy), Forbidden, NotFound,
              Invalid))]
async fn set_policy(
    api: Api,
    ApiPath(tenant_id): ApiPath<String>,
    ApiJson(body): ApiJson<RetentionPolicy>,
) -> Reply<RetentionPolicy> {
    let req = pb::RetentionPolicy {
        tenant_id,
        days: body.days,
        action: match body.action {
            RetentionAction::Delete => "delete",
            RetentionAction::Anonymise => "anonymise",
        }
        .to_owned(),
    };
    let r = api.tickets().set_retention_policy(req).await?.into_inner();
    Ok(axum::Json(RetentionPolicy::from_pb(r)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Hold {
    pub legal_hold: Option<bool>,
    /// The requester objected to the deletion of their ticket.
    pub retention_objection: Option<bool>,
}

/// Keeps a ticket past its retention period (legal hold, the requester's objection), or lifts
/// that (the tenant's administrators).
#[utoipa::path(put, path = "/tickets/{ticket_id}/retention-hold", tag = "tickets", request_body = Hold,
    params(("ticket_id" = String, Path)),
    responses((status = 200, body = Ticket), Forbidden, NotFound))]
async fn set_hold(
    api: Api,
    ApiPath(ticket_id): ApiPath<String>,
    ApiJson(body): ApiJson<Hold>,
) -> Reply<Ticket> {
    let req = pb::SetRetentionHoldRequest {
        ticket_id,
        legal_hold: body.legal_hold,
        retention_objection: body.retention_objection,
    };
    let r = api.tickets().set_retention_hold(req).await?.into_inner();
    Ok(axum::Json(Ticket::from(r)))
}

/// What a retention run removed.
#[derive(Debug, Serialize, ToSchema)]
pub struct RetentionRun {
    pub id: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub actor: String,
    /// Numbers of the tickets deleted, and of those anonymised.
    pub deleted: Vec<String>,
    pub anonymised: Vec<String>,
    /// Tickets past their period kept for a legal hold or their requester's objection.
    pub kept: u64,
    pub dry_run: bool,
}

impl From<pb::RetentionRun> for RetentionRun {
    fn from(r: pb::RetentionRun) -> Self {
        Self {
            id: r.id,
            started_at: time(r.started_at_us),
            finished_at: time(r.finished_at_us),
            actor: r.actor,
            deleted: r.deleted,
            anonymised: r.anonymised,
            kept: r.kept,
            dry_run: r.dry_run,
        }
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunRequest {
    /// Only list what a run would remove.
    #[serde(default)]
    pub dry_run: bool,
}

/// Runs retention now, as the schedule does (installation administrators).
#[utoipa::path(post, path = "/admin/retention-runs", tag = "admin", request_body = RunRequest,
    responses((status = 200, body = RetentionRun), Unauthenticated, Forbidden,
              (status = 409, description = "another run is in progress", body = Problem)))]
async fn run(api: Api, ApiJson(body): ApiJson<RunRequest>) -> Reply<RetentionRun> {
    let r = api
        .tickets()
        .run_retention(pb::RunRetentionRequest {
            dry_run: body.dry_run,
        })
        .await?
        .into_inner();
    Ok(axum::Json(RetentionRun::from(r)))
}

/// The latest retention runs, newest first (installation administrators).
#[utoipa::path(get, path = "/admin/retention-runs", tag = "admin",
    responses((status = 200, body = Items<RetentionRun>), Unauthenticated, Forbidden))]
async fn list_runs(api: Api) -> Reply<Items<RetentionRun>> {
    let r = api
        .tickets()
        .list_retention_runs(pb::ListRetentionRunsRequest { limit: 0 })
        .await?
        .into_inner();
    Items::of(r.runs)
}
