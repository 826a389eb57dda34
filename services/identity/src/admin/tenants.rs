//! Tenants (installation administrators only) and their groups.

use docket_proto::identity::v1 as pb;
use tonic::{Request, Response, Status};

use super::AdminGrpc;
use crate::domain::*;

fn tenant_pb(t: Tenant) -> pb::Tenant {
    pb::Tenant {
        id: t.id.to_string(),
        slug: t.slug,
        name: t.name,
        created_at_us: t.created_at,
    }
}

fn group_pb(g: Group) -> pb::Group {
    pb::Group {
        id: g.id.to_string(),
        tenant_id: g.tenant_id.to_string(),
        name: g.name,
    }
}

pub(super) async fn create_tenant(
    grpc: &AdminGrpc,
    request: Request<pb::CreateTenantRequest>,
) -> Result<Response<pb::Tenant>, Status> {
    let caller = grpc.admin(&request).await?;
    caller.require_installation_admin()?;
    let r = request.into_inner();
    let tenant = NewTenant::parse(&r.slug, &r.name)?;
    let created = grpc.store().create_tenant(tenant, caller.actor()).await?;
    Ok(Response::new(tenant_pb(created)))
}

pub(super) async fn list_tenants(
    grpc: &AdminGrpc,
    request: Request<pb::ListTenantsRequest>,
) -> Result<Response<pb::ListTenantsResponse>, Status> {
    let caller = grpc.admin(&request).await?;
    caller.require_installation_admin()?;
    let tenants = grpc.store().list_tenants().await?;
    Ok(Response::new(pb::ListTenantsResponse {
        tenants: tenants.into_iter().map(tenant_pb).collect(),
    }))
}

pub(super) async fn get_tenant(
    grpc: &AdminGrpc,
    request: Request<pb::GetTenantRequest>,
) -> Result<Response<pb::Tenant>, Status> {
    let caller = grpc.admin(&request).await?;
    let tenant = grpc.tenant(&caller, &request.get_ref().tenant_id).await?;
    Ok(Response::new(tenant_pb(tenant)))
}

pub(super) async fn create_group(
    grpc: &AdminGrpc,
    request: Request<pb::CreateGroupRequest>,
) -> Result<Response<pb::Group>, Status> {
    let caller = grpc.admin(&request).await?;
    let r = request.into_inner();
    let tenant = grpc.tenant(&caller, &r.tenant_id).await?;
    let group = grpc
        .store()
        .create_group(tenant.id, &r.name, caller.actor())
        .await?;
    Ok(Response::new(group_pb(group)))
}

pub(super) async fn list_groups(
    grpc: &AdminGrpc,
    request: Request<pb::ListGroupsRequest>,
) -> Result<Response<pb::ListGroupsResponse>, Status> {
    let caller = grpc.admin(&request).await?;
    let tenant = grpc.tenant(&caller, &request.get_ref().tenant_id).await?;
    let groups = grpc.store().list_groups(tenant.id).await?;
    Ok(Response::new(pb::ListGroupsResponse {
        groups: groups.into_iter().map(group_pb).collect(),
    }))
}
