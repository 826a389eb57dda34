//! Roles and the permissions they grant on a tenant's groups.

use docket_proto::identity::v1 as pb;
use tonic::{Request, Response, Status};

use super::{AdminGrpc, group_permissions, perms_pb};
use crate::domain::*;
use crate::error::IdentityError;

fn role_pb(r: Role) -> pb::Role {
    pb::Role {
        id: r.id.to_string(),
        tenant_id: r.tenant_id.to_string(),
        permissions: perms_pb(&r.permissions),
        name: r.name,
        tenant_admin: r.tenant_admin,
    }
}

pub(super) async fn create_role(
    grpc: &AdminGrpc,
    request: Request<pb::CreateRoleRequest>,
) -> Result<Response<pb::Role>, Status> {
    let caller = grpc.admin(&request).await?;
    let r = request.into_inner();
    let tenant = grpc.tenant(&caller, &r.tenant_id).await?;
    let name = crate::domain::name("role name", &r.name, 100)?;
    // Everything is checked before the role is created, so a refused request changes nothing.
    let mut grants = Vec::with_capacity(r.permissions.len());
    for p in r.permissions {
        let (group_id, perms) = group_permissions(Some(p))?;
        let group = grpc.store().get_group(group_id).await;
        match group {
            Ok(g) if g.tenant_id == tenant.id => grants.push((group_id, perms)),
            Ok(_) | Err(IdentityError::NotFound { .. }) => {
                return Err(IdentityError::not_found("group", group_id).into());
            }
            Err(e) => return Err(e.into()),
        }
    }
    let mut role = grpc
        .store()
        .create_role(tenant.id, &name, r.tenant_admin, caller.actor())
        .await?;
    for (group_id, perms) in grants {
        role = grpc
            .store()
            .set_role_permissions(role.id, group_id, perms, caller.actor())
            .await?;
    }
    Ok(Response::new(role_pb(role)))
}

pub(super) async fn list_roles(
    grpc: &AdminGrpc,
    request: Request<pb::ListRolesRequest>,
) -> Result<Response<pb::ListRolesResponse>, Status> {
    let caller = grpc.admin(&request).await?;
    let tenant = grpc.tenant(&caller, &request.get_ref().tenant_id).await?;
    let roles = grpc.store().list_roles(tenant.id).await?;
    Ok(Response::new(pb::ListRolesResponse {
        roles: roles.into_iter().map(role_pb).collect(),
    }))
}

pub(super) async fn set_role_permissions(
    grpc: &AdminGrpc,
    request: Request<pb::SetRolePermissionsRequest>,
) -> Result<Response<pb::Role>, Status> {
    let caller = grpc.admin(&request).await?;
    let r = request.into_inner();
    let role = grpc.role(&caller, &r.role_id).await?;
    let (group_id, perms) = group_permissions(r.permissions)?;
    // The store refuses a group of another tenant (NOT_FOUND).
    let role = grpc
        .store()
        .set_role_permissions(role.id, group_id, perms, caller.actor())
        .await?;
    Ok(Response::new(role_pb(role)))
}
