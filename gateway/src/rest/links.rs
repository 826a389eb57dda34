//! Links between tickets (`/tickets/{id}/links`): related, parent and child.

use axum::http::StatusCode;
use docket_proto::ticket::v1 as pb;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::vocabulary::{StateType, TicketState};
use super::{Items, non_empty};
use crate::AppState;
use crate::caller::Api;
use crate::error::answers::{Forbidden, Invalid, NotFound};
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, Problem};
use crate::rest::Reply;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(link_ticket, list_links))
        .routes(routes!(unlink_ticket))
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum LinkKind {
    /// The ticket in the path is the parent.
    ParentChild,
    #[default]
    Related,
}

impl LinkKind {
    fn to_pb(self) -> pb::LinkKind {
        match self {
            Self::ParentChild => pb::LinkKind::ParentChild,
            Self::Related => pb::LinkKind::Related,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLink {
    pub target_ticket_id: String,
    #[serde(default)]
    pub kind: LinkKind,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct LinkQuery {
    /// `related` (default) or `parent_child` (the ticket in the path is the parent).
    pub kind: Option<LinkKind>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LinkedTicket {
    /// What the linked ticket is to this one: `parent`, `child` or `related`.
    pub relation: String,
    pub ticket_id: String,
    pub number: String,
    pub title: String,
    pub state: Option<TicketState>,
    pub state_type: String,
    pub queue_id: String,
    pub owner_id: Option<String>,
}

/// Links another ticket of the tenant to this one (`rw` on this one; the other must be visible).
#[utoipa::path(post, path = "/tickets/{ticket_id}/links", tag = "tickets", request_body = NewLink,
    params(("ticket_id" = String, Path)),
    responses((status = 204), Forbidden, NotFound,
              (status = 409, description = "linked already, a second parent, or a cycle", body = Problem),
              Invalid))]
async fn link_ticket(
    api: Api,
    ApiPath(ticket_id): ApiPath<String>,
    ApiJson(body): ApiJson<NewLink>,
) -> Result<StatusCode, ApiError> {
    let req = pb::LinkTicketsRequest {
        source_ticket_id: ticket_id,
        target_ticket_id: body.target_ticket_id,
        kind: body.kind.to_pb().into(),
    };
    api.tickets().link_tickets(req).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes a link.
#[utoipa::path(delete, path = "/tickets/{ticket_id}/links/{target_ticket_id}", tag = "tickets",
    params(("ticket_id" = String, Path), ("target_ticket_id" = String, Path), LinkQuery),
    responses((status = 204), Forbidden, NotFound, Invalid))]
async fn unlink_ticket(
    api: Api,
    ApiPath((ticket_id, target_ticket_id)): ApiPath<(String, String)>,
    ApiQuery(query): ApiQuery<LinkQuery>,
) -> Result<StatusCode, ApiError> {
    let req = pb::LinkTicketsRequest {
        source_ticket_id: ticket_id,
        target_ticket_id,
        kind: query.kind.unwrap_or_default().to_pb().into(),
    };
    api.tickets().unlink_tickets(req).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The tickets linked to this one that the caller sees, with their states: a parent shows its
/// children's progress.
#[utoipa::path(get, path = "/tickets/{ticket_id}/links", tag = "tickets", params(("ticket_id" = String, Path)),
    responses((status = 200, body = Items<LinkedTicket>), NotFound))]
async fn list_links(api: Api, ApiPath(ticket_id): ApiPath<String>) -> Reply<Items<LinkedTicket>> {
    let req = pb::ListLinksRequest { ticket_id };
    let r = api.tickets().list_links(req).await?.into_inner();
    Ok(axum::Json(Items {
        items: r
            .links
            .into_iter()
            .map(|l| LinkedTicket {
                state: TicketState::from_pb(l.state),
                relation: l.relation,
                ticket_id: l.ticket_id,
                number: l.number,
                title: l.title,
                state_type: StateType::name_of(l.state_type).to_owned(),
                queue_id: l.queue_id,
                owner_id: non_empty(l.owner_id),
            })
            .collect(),
    }))
}
