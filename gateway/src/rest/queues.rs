//! Queues (`/queues`): where tickets wait for agents, with their follow-up and address settings.

use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use docket_proto::ticket::v1 as pb;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::vocabulary::{AutomaticMail, FollowUp};
use super::{Items, non_empty, time};
use crate::AppState;
use crate::caller::Api;
use crate::error::answers::{Conflict, Invalid, NotFound};
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, Problem};
use crate::rest::Reply;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_queue, list_queues))
        .routes(routes!(update_queue))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Queue {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    /// The group whose permissions govern the queue.
    pub group_id: Option<String>,
    /// Customers may open tickets in it from the portal.
    pub portal: bool,
    /// The parent queue: names are paths, `2nd Level::Mail`.
    pub parent_id: Option<String>,
    /// Closes answers sent from the queue.
    pub signature: String,
    pub follow_up: Option<FollowUp>,
    pub automatic_mail: Option<AutomaticMail>,
    /// Mail to these addresses lands in the queue; answers go out from the first.
    pub addresses: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub version: u64,
}

impl From<pb::Queue> for Queue {
    fn from(q: pb::Queue) -> Self {
        Self {
            id: q.id,
            tenant_id: q.tenant_id,
            name: q.name,
            group_id: non_empty(q.group_id),
            portal: q.portal,
            parent_id: non_empty(q.parent_id),
            signature: q.signature,
            follow_up: FollowUp::from_pb(q.follow_up),
            automatic_mail: AutomaticMail::from_pb(q.automatic_mail),
            addresses: q.addresses,
            created_at: time(q.created_at_us),
            version: q.version,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateQueue {
    pub tenant_id: String,
    #[schema(example = "2nd Level::Mail")]
    pub name: String,
    /// The group of the tenant whose permissions govern the queue.
    pub group_id: String,
    /// Whether customers may open tickets in it from the portal (default: no).
    #[serde(default)]
    pub portal: bool,
    #[serde(default)]
    pub signature: String,
    /// Default: `reopen`.
    pub follow_up: Option<FollowUp>,
    /// Default: `note`.
    pub automatic_mail: Option<AutomaticMail>,
    /// Addresses mail to the queue arrives at; each belongs to one queue of the installation.
    #[serde(default)]
    #[schema(example = json!(["servicedesk@uni.example"]))]
    pub addresses: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QueueSettings {
    pub group_id: Option<String>,
    pub portal: Option<bool>,
    pub signature: Option<String>,
    pub follow_up: Option<FollowUp>,
    pub automatic_mail: Option<AutomaticMail>,
    /// Replaces the queue's addresses (`[]` removes them all).
    pub addresses: Option<Vec<String>>,
}

/// Changes a queue's group, portal flag, signature, follow-up policy, automatic-mail policy or
/// addresses (the tenant's
/// administrators).
#[utoipa::path(patch, path = "/queues/{queue_id}", tag = "queues", request_body = QueueSettings, params(("queue_id" = String, Path)),
    responses((status = 200, body = Queue), (status = 403, description = "not an administrator of the tenant", body = Problem),
              NotFound, (status = 409, description = "an address belongs to another queue", body = Problem),
              Invalid))]
async fn update_queue(
    api: Api,
    ApiPath(queue_id): ApiPath<String>,
    ApiJson(body): ApiJson<QueueSettings>,
) -> Reply<Queue> {
    let req = pb::UpdateQueueRequest {
        queue_id,
        group_id: body.group_id,
        portal: body.portal,
        signature: body.signature,
        follow_up: body.follow_up.map(FollowUp::to_pb),
        automatic_mail: body.automatic_mail.map(AutomaticMail::to_pb),
        set_addresses: body.addresses.is_some(),
        addresses: body.addresses.unwrap_or_default(),
    };
    let queue = api.tickets().update_queue(req).await?.into_inner();
    Ok(axum::Json(Queue::from(queue)))
}

/// Creates a queue in a tenant (the tenant's administrators).
#[utoipa::path(post, path = "/queues", tag = "queues", request_body = CreateQueue,
    responses((status = 201, body = Queue), (status = 403, description = "not an administrator of the tenant", body = Problem),
              (status = 404, description = "unknown tenant or group", body = Problem),
              Conflict, Invalid))]
async fn create_queue(
    api: Api,
    ApiJson(body): ApiJson<CreateQueue>,
) -> Result<impl IntoResponse, ApiError> {
    let req = pb::CreateQueueRequest {
        tenant_id: body.tenant_id,
        name: body.name,
        group_id: body.group_id,
        portal: body.portal,
        signature: body.signature,
        follow_up: body
            .follow_up
            .map_or(pb::FollowUp::Unspecified.into(), FollowUp::to_pb),
        automatic_mail: body
            .automatic_mail
            .map_or(pb::AutomaticMail::Unspecified.into(), AutomaticMail::to_pb),
        addresses: body.addresses,
    };
    let queue = api.tickets().create_queue(req).await?.into_inner();
    Ok((StatusCode::CREATED, axum::Json(Queue::from(queue))))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct QueueFilter {
    /// Only this tenant's queues.
    pub tenant_id: Option<String>,
}

/// Lists the queues the caller sees: those of groups they hold a permission on (all of a tenant
/// for its administrators); portal queues for customers.
#[utoipa::path(get, path = "/queues", tag = "queues", params(QueueFilter),
    responses((status = 200, body = Items<Queue>), Invalid))]
async fn list_queues(api: Api, ApiQuery(filter): ApiQuery<QueueFilter>) -> Reply<Items<Queue>> {
    let req = pb::ListQueuesRequest {
        tenant_id: filter.tenant_id.unwrap_or_default(),
    };
    let r = api.tickets().list_queues(req).await?.into_inner();
    Items::of(r.queues)
}
