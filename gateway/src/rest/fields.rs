//! What a tenant adds to the ticket model, over REST: custom fields (definitions, a ticket's
//! values), tags, and states of its own.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use docket_proto::ticket::v1 as pb;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::caller::Api;
use crate::error::answers::{Conflict, Forbidden, Invalid, NotFound};
use crate::error::{ApiError, ApiJson, ApiPath, Problem};
use crate::rest::Reply;
use crate::rest::vocabulary::{FieldKind, StateType, TicketState};
use crate::rest::{Items, time};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(define_field, list_fields))
        .routes(routes!(set_fields))
        .routes(routes!(tag_ticket))
        .routes(routes!(define_state, list_states))
}

/// A state of the tenant's own, behaving as one of the built-in states.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomState {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    /// The built-in state it behaves as.
    pub base: Option<TicketState>,
    /// The base state's type: `new`, `open`, `pending_reminder`, `pending_auto`, `closed`, `removed`.
    pub base_state_type: String,
    pub created_at: DateTime<Utc>,
}

impl From<pb::CustomState> for CustomState {
    fn from(c: pb::CustomState) -> Self {
        Self {
            id: c.id,
            tenant_id: c.tenant_id,
            name: c.name,
            base: TicketState::from_pb(c.base),
            base_state_type: StateType::name_of(c.base_state_type).to_owned(),
            created_at: time(c.created_at_us),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewState {
    #[schema(example = "waiting for the customer")]
    pub name: String,
    /// The built-in state it behaves as (not `merged`).
    pub base: TicketState,
}

/// Adds a state of the tenant's own (the tenant's administrators); tickets are put in it with
/// `custom_state` and behave as its base state.
#[utoipa::path(post, path = "/tenants/{tenant_id}/states", tag = "tenants", request_body = NewState,
    params(("tenant_id" = String, Path)),
    responses((status = 201, body = CustomState), Forbidden, NotFound,
              Conflict, Invalid))]
async fn define_state(
    api: Api,
    ApiPath(tenant_id): ApiPath<String>,
    ApiJson(body): ApiJson<NewState>,
) -> Result<impl IntoResponse, ApiError> {
    let req = pb::DefineStateRequest {
        tenant_id,
        name: body.name,
        base: body.base.to_pb(),
    };
    let created = api.tickets().define_state(req).await?.into_inner();
    Ok((StatusCode::CREATED, axum::Json(CustomState::from(created))))
}

/// The tenant's own states, by name (its agents).
#[utoipa::path(get, path = "/tenants/{tenant_id}/states", tag = "tenants", params(("tenant_id" = String, Path)),
    responses((status = 200, body = Items<CustomState>), NotFound))]
async fn list_states(api: Api, ApiPath(tenant_id): ApiPath<String>) -> Reply<Items<CustomState>> {
    let r = api.tickets().states(&tenant_id).await?;
    Items::of(r.states)
}

/// A custom field of a tenant's tickets.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomField {
    pub id: String,
    pub tenant_id: String,
    /// Stable name in the API and in searches.
    pub key: String,
    pub label: String,
    pub kind: Option<FieldKind>,
    pub options: Vec<String>,
    /// The queues it is shown in; empty: all of the tenant's.
    pub queue_ids: Vec<String>,
    pub created_at: DateTime<Utc>,
}

impl From<pb::CustomField> for CustomField {
    fn from(f: pb::CustomField) -> Self {
        Self {
            id: f.id,
            tenant_id: f.tenant_id,
            key: f.key,
            label: f.label,
            kind: FieldKind::from_pb(f.kind),
            options: f.options,
            queue_ids: f.queue_ids,
            created_at: time(f.created_at_us),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewField {
    /// `a-z`, digits and `_`, starting with a letter; unique in the tenant.
    #[schema(example = "room")]
    pub key: String,
    pub label: String,
    pub kind: FieldKind,
    /// The choices of a select field.
    #[serde(default)]
    pub options: Vec<String>,
    /// The queues it is shown in; empty: all of the tenant's.
    #[serde(default)]
    pub queue_ids: Vec<String>,
}

/// Defines a custom field for the tenant's tickets (the tenant's administrators).
#[utoipa::path(post, path = "/tenants/{tenant_id}/fields", tag = "tenants", request_body = NewField,
    params(("tenant_id" = String, Path)),
    responses((status = 201, body = CustomField), Forbidden, NotFound,
              (status = 409, description = "the key is taken", body = Problem), Invalid))]
async fn define_field(
    api: Api,
    ApiPath(tenant_id): ApiPath<String>,
    ApiJson(body): ApiJson<NewField>,
) -> Result<impl IntoResponse, ApiError> {
    let req = pb::DefineFieldRequest {
        tenant_id,
        key: body.key,
        label: body.label,
        kind: body.kind.to_pb(),
        options: body.options,
        queue_ids: body.queue_ids,
    };
    let field = api.tickets().define_field(req).await?.into_inner();
    Ok((StatusCode::CREATED, axum::Json(CustomField::from(field))))
}

/// The tenant's custom fields, by key (agents of the tenant).
#[utoipa::path(get, path = "/tenants/{tenant_id}/fields", tag = "tenants", params(("tenant_id" = String, Path)),
    responses((status = 200, body = Items<CustomField>), NotFound))]
async fn list_fields(api: Api, ApiPath(tenant_id): ApiPath<String>) -> Reply<Items<CustomField>> {
    Items::of(api.tickets().fields(&tenant_id).await?)
}

/// Custom field values by key: one value, several for a multi select, `[]` to clear.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldValues {
    #[schema(example = json!({"room": ["C1.23"], "affected_users": ["40"]}))]
    pub values: BTreeMap<String, Vec<String>>,
}

/// Sets custom fields of a ticket (`rw`), each checked against its definition and the ticket's
/// queue; the ticket's values after the change.
#[utoipa::path(put, path = "/tickets/{ticket_id}/fields", tag = "tickets", request_body = FieldValues,
    params(("ticket_id" = String, Path)),
    responses((status = 200, body = FieldValues), Forbidden, NotFound,
              Invalid))]
async fn set_fields(
    api: Api,
    ApiPath(ticket_id): ApiPath<String>,
    ApiJson(body): ApiJson<FieldValues>,
) -> Reply<FieldValues> {
    let req = pb::SetTicketFieldsRequest {
        ticket_id,
        values: body
            .values
            .into_iter()
            .map(|(key, values)| pb::FieldValue { key, values })
            .collect(),
    };
    let r = api.tickets().set_ticket_fields(req).await?.into_inner();
    Ok(axum::Json(FieldValues {
        values: r.values.into_iter().map(|v| (v.key, v.values)).collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TagChange {
    #[serde(default)]
    pub add: Vec<String>,
    #[serde(default)]
    pub remove: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Tags {
    pub tags: Vec<String>,
}

/// Adds and removes tags of a ticket (`rw`) as one change; its tags after it.
#[utoipa::path(post, path = "/tickets/{ticket_id}/tags", tag = "tickets", request_body = TagChange,
    params(("ticket_id" = String, Path)),
    responses((status = 200, body = Tags), Forbidden, NotFound,
              Invalid))]
async fn tag_ticket(
    api: Api,
    ApiPath(ticket_id): ApiPath<String>,
    ApiJson(body): ApiJson<TagChange>,
) -> Reply<Tags> {
    let req = pb::TagTicketRequest {
        ticket_id,
        add: body.add,
        remove: body.remove,
    };
    let r = api.tickets().tag_ticket(req).await?.into_inner();
    Ok(axum::Json(Tags { tags: r.tags }))
}
