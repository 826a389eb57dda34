//! Tenants (`/admin/tenants`): creating them is for installation administrators; a tenant's
//! administrators see their own.

use axum::Json;
use axum::http::StatusCode;
use docket_proto::identity::v1 as pb;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::caller::Api;
use crate::error::answers::{Forbidden, Invalid, Unauthenticated};
use crate::error::{ApiError, ApiJson, ApiPath, Problem};
use crate::rest::Reply;
// The same representation as the rest of the API: one schema in the document.
use crate::rest::{Items, tenants::Tenant, time};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_tenant, list_tenants))
        .routes(routes!(get_tenant))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTenant {
    /// 1 to 63 lowercase letters, digits or dashes.
    #[schema(example = "it-centre")]
    pub slug: String,
    #[schema(example = "IT Centre")]
    pub name: String,
}

fn tenant_from_pb(t: pb::Tenant) -> Tenant {
    Tenant {
        id: t.id,
        slug: t.slug,
        name: t.name,
        created_at: time(t.created_at_us),
    }
}

/// Creates a tenant with its default groups and roles (installation administrators).
#[utoipa::path(post, path = "/admin/tenants", tag = "admin", request_body = CreateTenant,
    responses((status = 201, body = Tenant), Unauthenticated,
              (status = 403, description = "not an installation administrator", body = Problem),
              (status = 409, description = "slug taken", body = Problem), Invalid))]
async fn create_tenant(
    api: Api,
    ApiJson(body): ApiJson<CreateTenant>,
) -> Result<(StatusCode, Json<Tenant>), ApiError> {
    let req = pb::CreateTenantRequest {
        slug: body.slug,
        name: body.name,
    };
    let t = api.identity_admin().create_tenant(req).await?.into_inner();
    Ok((StatusCode::CREATED, Json(tenant_from_pb(t))))
}

/// Lists every tenant of the installation (installation administrators).
#[utoipa::path(get, path = "/admin/tenants", tag = "admin",
    responses((status = 200, body = Items<Tenant>), Unauthenticated,
              (status = 403, description = "not an installation administrator", body = Problem)))]
async fn list_tenants(api: Api) -> Reply<Items<Tenant>> {
    let r = api
        .identity_admin()
        .list_tenants(pb::ListTenantsRequest {})
        .await?
        .into_inner();
    Ok(Json(Items {
        items: r.tenants.into_iter().map(tenant_from_pb).collect(),
    }))
}

/// Reads a tenant the caller administers.
#[utoipa::path(get, path = "/admin/tenants/{tenant_id}", tag = "admin",
    params(("tenant_id" = String, Path)),
    responses((status = 200, body = Tenant), Unauthenticated, Forbidden,
              (status = 404, description = "no such tenant, or not administered by the caller", body = Problem),
              Invalid))]
async fn get_tenant(api: Api, ApiPath(tenant_id): ApiPath<String>) -> Reply<Tenant> {
    let t = api
        .identity_admin()
        .get_tenant(pb::GetTenantRequest { tenant_id })
        .await?
        .into_inner();
    Ok(Json(tenant_from_pb(t)))
}
