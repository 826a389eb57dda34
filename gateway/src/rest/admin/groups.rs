//! A tenant's groups (`/admin/tenants/{id}/groups`) and roles (`/admin/tenants/{id}/roles`):
//! a role grants permissions per group, and agents get them through their roles.

use axum::Json;
use axum::http::StatusCode;
use docket_proto::identity::v1 as pb;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::GroupPermissions;
use crate::AppState;
use crate::caller::Api;
use crate::error::answers::{Forbidden, Invalid, NotFound, Unauthenticated};
use crate::error::{ApiError, ApiJson, ApiPath, Problem};
use crate::rest::Items;
use crate::rest::Reply;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_group, list_groups))
        .routes(routes!(create_role, list_roles))
        .routes(routes!(set_role_permissions))
}

/// A group of a tenant: queues belong to one, permissions are granted on it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Group {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
}

impl From<pb::Group> for Group {
    fn from(g: pb::Group) -> Self {
        Self {
            id: g.id,
            tenant_id: g.tenant_id,
            name: g.name,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateGroup {
    #[schema(example = "2nd level")]
    pub name: String,
}

/// A role: permissions on groups, and whether its members administer the tenant.
#[derive(Debug, Serialize, ToSchema)]
pub struct Role {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub tenant_admin: bool,
    pub permissions: Vec<GroupPermissions>,
}

impl From<pb::Role> for Role {
    fn from(r: pb::Role) -> Self {
        Self {
            id: r.id,
            tenant_id: r.tenant_id,
            name: r.name,
            tenant_admin: r.tenant_admin,
            permissions: r
                .permissions
                .into_iter()
                .map(GroupPermissions::from_pb)
                .collect(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRole {
    #[schema(example = "Night shift")]
    pub name: String,
    /// Members administer the tenant.
    #[serde(default)]
    pub tenant_admin: bool,
    /// The role's first permissions, on groups of the same tenant.
    #[serde(default)]
    pub permissions: Vec<GroupPermissions>,
}

/// Creates a group in a tenant.
#[utoipa::path(post, path = "/admin/tenants/{tenant_id}/groups", tag = "admin", request_body = CreateGroup,
    params(("tenant_id" = String, Path)),
    responses((status = 201, body = Group), Unauthenticated, Forbidden,
              NotFound, (status = 409, description = "name taken", body = Problem),
              Invalid))]
async fn create_group(
    api: Api,
    ApiPath(tenant_id): ApiPath<String>,
    ApiJson(body): ApiJson<CreateGroup>,
) -> Result<(StatusCode, Json<Group>), ApiError> {
    let req = pb::CreateGroupRequest {
        tenant_id,
        name: body.name,
    };
    let g = api.identity_admin().create_group(req).await?.into_inner();
    Ok((StatusCode::CREATED, Json(Group::from(g))))
}

/// Lists a tenant's groups.
#[utoipa::path(get, path = "/admin/tenants/{tenant_id}/groups", tag = "admin",
    params(("tenant_id" = String, Path)),
    responses((status = 200, body = Items<Group>), Unauthenticated, Forbidden,
              NotFound, Invalid))]
async fn list_groups(api: Api, ApiPath(tenant_id): ApiPath<String>) -> Reply<Items<Group>> {
    Items::of(api.identity_admin().groups(&tenant_id).await?)
}

/// Creates a role in a tenant, optionally with its first permissions.
#[utoipa::path(post, path = "/admin/tenants/{tenant_id}/roles", tag = "admin", request_body = CreateRole,
    params(("tenant_id" = String, Path)),
    responses((status = 201, body = Role), Unauthenticated, Forbidden,
              (status = 404, description = "unknown tenant or group", body = Problem),
              (status = 409, description = "name taken", body = Problem), Invalid))]
async fn create_role(
    api: Api,
    ApiPath(tenant_id): ApiPath<String>,
    ApiJson(body): ApiJson<CreateRole>,
) -> Result<(StatusCode, Json<Role>), ApiError> {
    let req = pb::CreateRoleRequest {
        tenant_id,
        name: body.name,
        tenant_admin: body.tenant_admin,
        permissions: body
            .permissions
            .into_iter()
            .map(GroupPermissions::into_pb)
            .collect(),
    };
    let r = api.identity_admin().create_role(req).await?.into_inner();
    Ok((StatusCode::CREATED, Json(Role::from(r))))
}

/// Lists a tenant's roles with their permissions.
#[utoipa::path(get, path = "/admin/tenants/{tenant_id}/roles", tag = "admin",
    params(("tenant_id" = String, Path)),
    responses((status = 200, body = Items<Role>), Unauthenticated, Forbidden,
              NotFound, Invalid))]
async fn list_roles(api: Api, ApiPath(tenant_id): ApiPath<String>) -> Reply<Items<Role>> {
    Items::of(api.identity_admin().roles(&tenant_id).await?)
}

/// Sets a role's permissions on one group of its tenant (an empty list removes them).
#[utoipa::path(put, path = "/admin/roles/{role_id}/permissions", tag = "admin", request_body = GroupPermissions,
    params(("role_id" = String, Path)),
    responses((status = 200, body = Role), Unauthenticated, Forbidden,
              (status = 404, description = "unknown role or group", body = Problem), Invalid))]
async fn set_role_permissions(
    api: Api,
    ApiPath(role_id): ApiPath<String>,
    ApiJson(body): ApiJson<GroupPermissions>,
) -> Reply<Role> {
    let req = pb::SetRolePermissionsRequest {
        role_id,
        permissions: Some(body.into_pb()),
    };
    let r = api
        .identity_admin()
        .set_role_permissions(req)
        .await?
        .into_inner();
    Ok(Json(Role::from(r)))
}
