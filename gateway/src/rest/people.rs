//! The people around a ticket besides its owner: the agents who watch it
//! (`/tickets/{id}/watchers`) and those who collaborate on it (`/tickets/{id}/collaborators`).

use axum::http::StatusCode;
use docket_proto::ticket::v1 as pb;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::caller::Api;
use crate::error::answers::{Forbidden, Invalid, NotFound};
use crate::error::{ApiError, ApiPath, Problem};
use crate::rest::Reply;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(watch, unwatch))
        .routes(routes!(list_watchers))
        .routes(routes!(add_collaborator, remove_collaborator))
        .routes(routes!(list_collaborators))
}

/// The calling agent watches the ticket: it follows the ticket's changes (a default view).
#[utoipa::path(put, path = "/tickets/{ticket_id}/watchers/me", tag = "tickets", params(("ticket_id" = String, Path)),
    responses((status = 204), (status = 403, description = "not an agent", body = Problem), NotFound))]
async fn watch(api: Api, ApiPath(ticket_id): ApiPath<String>) -> Result<StatusCode, ApiError> {
    set_watching(api, ticket_id, true).await
}

/// The calling agent stops watching the ticket.
#[utoipa::path(delete, path = "/tickets/{ticket_id}/watchers/me", tag = "tickets", params(("ticket_id" = String, Path)),
    responses((status = 204), Forbidden, NotFound))]
async fn unwatch(api: Api, ApiPath(ticket_id): ApiPath<String>) -> Result<StatusCode, ApiError> {
    set_watching(api, ticket_id, false).await
}

async fn set_watching(api: Api, ticket_id: String, watch: bool) -> Result<StatusCode, ApiError> {
    let req = pb::WatchTicketRequest { ticket_id, watch };
    api.tickets().watch_ticket(req).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AgentIds {
    pub agent_ids: Vec<String>,
}

/// The agents watching the ticket (agents only).
#[utoipa::path(get, path = "/tickets/{ticket_id}/watchers", tag = "tickets", params(("ticket_id" = String, Path)),
    responses((status = 200, body = AgentIds), Forbidden, NotFound))]
async fn list_watchers(api: Api, ApiPath(ticket_id): ApiPath<String>) -> Reply<AgentIds> {
    let req = pb::ListWatchersRequest { ticket_id };
    let r = api.tickets().list_watchers(req).await?.into_inner();
    Ok(axum::Json(AgentIds {
        agent_ids: r.agent_ids,
    }))
}

/// Adds an agent working the ticket jointly with its owner (`rw`): they see it and may add
/// internal notes, whatever their queue permissions.
#[utoipa::path(put, path = "/tickets/{ticket_id}/collaborators/{agent_id}", tag = "tickets",
    params(("ticket_id" = String, Path), ("agent_id" = String, Path)),
    responses((status = 204), Forbidden, NotFound, Invalid))]
async fn add_collaborator(
    api: Api,
    ApiPath((ticket_id, agent_id)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    set_collaborator(api, ticket_id, agent_id, true).await
}

/// Removes an agent from those working the ticket jointly (`rw`).
#[utoipa::path(delete, path = "/tickets/{ticket_id}/collaborators/{agent_id}", tag = "tickets",
    params(("ticket_id" = String, Path), ("agent_id" = String, Path)),
    responses((status = 204), Forbidden, NotFound, Invalid))]
async fn remove_collaborator(
    api: Api,
    ApiPath((ticket_id, agent_id)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    set_collaborator(api, ticket_id, agent_id, false).await
}

async fn set_collaborator(
    api: Api,
    ticket_id: String,
    agent_id: String,
    collaborate: bool,
) -> Result<StatusCode, ApiError> {
    let req = pb::SetCollaboratorRequest {
        ticket_id,
        agent_id,
        collaborate,
    };
    api.tickets().set_collaborator(req).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The agents working the ticket jointly with its owner (agents only).
#[utoipa::path(get, path = "/tickets/{ticket_id}/collaborators", tag = "tickets", params(("ticket_id" = String, Path)),
    responses((status = 200, body = AgentIds), Forbidden, NotFound))]
async fn list_collaborators(api: Api, ApiPath(ticket_id): ApiPath<String>) -> Reply<AgentIds> {
    let req = pb::ListCollaboratorsRequest { ticket_id };
    let r = api.tickets().list_collaborators(req).await?.into_inner();
    Ok(axum::Json(AgentIds {
        agent_ids: r.agent_ids,
    }))
}
