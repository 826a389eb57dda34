//! The caller's tenants (`/tenants`) and each tenant's service catalogue: the services and
//! ticket types customers choose from (`/tenants/{id}/services`, `/tenants/{id}/ticket-types`).

use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use docket_proto::ticket::v1 as pb;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Items, non_empty, time};
use crate::AppState;
use crate::caller::Api;
use crate::error::answers::{Conflict, Forbidden, Invalid, NotFound};
use crate::error::{ApiError, ApiJson, ApiPath, Problem};
use crate::rest::Reply;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tenants))
        .routes(routes!(create_service, list_services))
        .routes(routes!(create_ticket_type, list_ticket_types))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Tenant {
    pub id: String,
    /// Short, unique, URL-safe name.
    pub slug: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

impl From<pb::Tenant> for Tenant {
    fn from(t: pb::Tenant) -> Self {
        Self {
            id: t.id,
            slug: t.slug,
            name: t.name,
            created_at: time(t.created_at_us),
        }
    }
}

/// Lists the tenants the caller works in (administration: `/admin/tenants`).
#[utoipa::path(get, path = "/tenants", tag = "tenants", responses((status = 200, body = Items<Tenant>)))]
async fn list_tenants(api: Api) -> Reply<Items<Tenant>> {
    let r = api
        .tickets()
        .list_tenants(pb::ListTenantsRequest {})
        .await?
        .into_inner();
    Items::of(r.tenants)
}

/// An entry of a tenant's service catalogue or list of ticket types.
#[derive(Debug, Serialize, ToSchema)]
pub struct CatalogueEntry {
    pub id: String,
    pub tenant_id: String,
    /// Services: the whole path, e.g. `E-Mail::Exchange`.
    pub name: String,
    /// Services: the parent's id.
    pub parent_id: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Services: customers may choose it in the portal (ticket types: always).
    pub portal: bool,
}

impl From<pb::CatalogueEntry> for CatalogueEntry {
    fn from(e: pb::CatalogueEntry) -> Self {
        Self {
            id: e.id,
            tenant_id: e.tenant_id,
            name: e.name,
            parent_id: non_empty(e.parent_id),
            created_at: time(e.created_at_us),
            portal: e.portal,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCatalogueEntry {
    /// Services: a path whose parent exists, e.g. `E-Mail::Exchange` after `E-Mail`.
    #[schema(example = "E-Mail::Exchange")]
    pub name: String,
    /// Services: offered to customers in the portal (default true). Ticket types ignore it.
    #[serde(default)]
    pub portal: Option<bool>,
}

/// Adds a service to the tenant's catalogue (the tenant's administrators).
#[utoipa::path(post, path = "/tenants/{tenant_id}/services", tag = "tenants", request_body = CreateCatalogueEntry,
    params(("tenant_id" = String, Path)),
    responses((status = 201, body = CatalogueEntry), Forbidden, NotFound,
              Conflict, (status = 422, description = "bad name, or the parent is missing", body = Problem)))]
async fn create_service(
    api: Api,
    ApiPath(tenant_id): ApiPath<String>,
    ApiJson(body): ApiJson<CreateCatalogueEntry>,
) -> Result<impl IntoResponse, ApiError> {
    create_entry(api, Catalogue::Services, tenant_id, body).await
}

/// The tenant's service catalogue, by path.
#[utoipa::path(get, path = "/tenants/{tenant_id}/services", tag = "tenants", params(("tenant_id" = String, Path)),
    responses((status = 200, body = Items<CatalogueEntry>), NotFound))]
async fn list_services(
    api: Api,
    ApiPath(tenant_id): ApiPath<String>,
) -> Reply<Items<CatalogueEntry>> {
    list_entries(api, Catalogue::Services, tenant_id).await
}

/// Adds a ticket type (the tenant's administrators).
#[utoipa::path(post, path = "/tenants/{tenant_id}/ticket-types", tag = "tenants", request_body = CreateCatalogueEntry,
    params(("tenant_id" = String, Path)),
    responses((status = 201, body = CatalogueEntry), Forbidden, NotFound,
              Conflict, Invalid))]
async fn create_ticket_type(
    api: Api,
    ApiPath(tenant_id): ApiPath<String>,
    ApiJson(body): ApiJson<CreateCatalogueEntry>,
) -> Result<impl IntoResponse, ApiError> {
    create_entry(api, Catalogue::TicketTypes, tenant_id, body).await
}

/// The tenant's ticket types (incident, service request, problem, security incident, …).
#[utoipa::path(get, path = "/tenants/{tenant_id}/ticket-types", tag = "tenants", params(("tenant_id" = String, Path)),
    responses((status = 200, body = Items<CatalogueEntry>), NotFound))]
async fn list_ticket_types(
    api: Api,
    ApiPath(tenant_id): ApiPath<String>,
) -> Reply<Items<CatalogueEntry>> {
    list_entries(api, Catalogue::TicketTypes, tenant_id).await
}

/// Which of a tenant's classification lists a request is about.
#[derive(Clone, Copy)]
enum Catalogue {
    Services,
    TicketTypes,
}

async fn create_entry(
    api: Api,
    catalogue: Catalogue,
    tenant_id: String,
    body: CreateCatalogueEntry,
) -> Result<(StatusCode, axum::Json<CatalogueEntry>), ApiError> {
    let req = pb::CreateCatalogueEntryRequest {
        tenant_id,
        name: body.name,
        portal: body.portal,
    };
    let mut client = api.tickets();
    let entry = match catalogue {
        Catalogue::Services => client.create_service(req).await?,
        Catalogue::TicketTypes => client.create_ticket_type(req).await?,
    };
    Ok((
        StatusCode::CREATED,
        axum::Json(CatalogueEntry::from(entry.into_inner())),
    ))
}

async fn list_entries(
    api: Api,
    catalogue: Catalogue,
    tenant_id: String,
) -> Reply<Items<CatalogueEntry>> {
    let req = pb::ListCatalogueRequest { tenant_id };
    let mut client = api.tickets();
    let list = match catalogue {
        Catalogue::Services => client.list_services(req).await?,
        Catalogue::TicketTypes => client.list_ticket_types(req).await?,
    };
    Ok(axum::Json(Items {
        items: list
            .into_inner()
            .entries
            .into_iter()
            .map(CatalogueEntry::from)
            .collect(),
    }))
}
