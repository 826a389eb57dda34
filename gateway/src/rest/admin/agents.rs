//! Agents (`/admin/agents`, `/admin/tenants/{id}/agents`): their tenants, roles, own
//! permissions, password and whether they may sign in, and their absences (substitutes).

use axum::Json;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
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
use crate::rest::Reply;
use crate::rest::timestamp::Timestamp;
use crate::rest::{Items, non_empty, time};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_agent, list_agents))
        .routes(routes!(add_agent_to_tenant))
        .routes(routes!(get_agent))
        .routes(routes!(assign_role, revoke_role))
        .routes(routes!(set_agent_permissions))
        .routes(routes!(set_agent_password))
        .routes(routes!(set_agent_active))
        .routes(routes!(add_absence, list_absences))
}

/// An agent's place in a tenant the caller administers.
#[derive(Debug, Serialize, ToSchema)]
pub struct Membership {
    pub tenant_id: String,
    pub role_ids: Vec<String>,
    /// The agent's own permissions, besides its roles'.
    pub permissions: Vec<GroupPermissions>,
    /// Whether the agent administers the tenant now.
    pub tenant_admin: bool,
    /// What the agent may do now: roles and own permissions merged.
    pub effective: Vec<GroupPermissions>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Agent {
    pub id: String,
    pub login: String,
    pub name: String,
    pub email: Option<String>,
    /// `local` or `ldap`.
    pub source: String,
    pub active: bool,
    pub totp_enabled: bool,
    pub installation_admin: bool,
    pub created_at: DateTime<Utc>,
    /// Only in answers about one agent.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub memberships: Vec<Membership>,
}

impl From<pb::Agent> for Agent {
    fn from(a: pb::Agent) -> Self {
        Self {
            id: a.id,
            login: a.login,
            name: a.name,
            email: non_empty(a.email),
            source: a.source,
            active: a.active,
            totp_enabled: a.totp_enabled,
            installation_admin: a.installation_admin,
            created_at: time(a.created_at_us),
            memberships: a
                .memberships
                .into_iter()
                .map(|m| Membership {
                    tenant_id: m.tenant_id,
                    role_ids: m.role_ids,
                    permissions: m
                        .permissions
                        .into_iter()
                        .map(GroupPermissions::from_pb)
                        .collect(),
                    tenant_admin: m.tenant_admin,
                    effective: m
                        .effective
                        .into_iter()
                        .map(GroupPermissions::from_pb)
                        .collect(),
                })
                .collect(),
        }
    }
}

/// A new local agent, a member of the tenant with the given roles.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAgent {
    #[schema(example = "jdoe")]
    pub login: String,
    #[schema(example = "Jane Doe")]
    pub name: String,
    pub email: Option<String>,
    /// At least 10 characters.
    pub password: String,
    /// Roles of the same tenant.
    #[serde(default)]
    pub role_ids: Vec<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPassword {
    /// At least 10 characters.
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetActive {
    pub active: bool,
}

/// While an agent is absent, the substitute sees its tickets.
#[derive(Debug, Serialize, ToSchema)]
pub struct Absence {
    pub id: String,
    pub agent_id: String,
    pub substitute_id: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

impl From<pb::Absence> for Absence {
    fn from(a: pb::Absence) -> Self {
        Self {
            id: a.id,
            agent_id: a.agent_id,
            substitute_id: a.substitute_id,
            starts_at: time(a.starts_at_us),
            ends_at: time(a.ends_at_us),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAbsence {
    /// The absent agent; both agents are members of the tenant.
    pub agent_id: String,
    pub substitute_id: String,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
}

/// Creates a local agent with a password, a member of the tenant with the given roles.
#[utoipa::path(post, path = "/admin/tenants/{tenant_id}/agents", tag = "admin", request_body = CreateAgent,
    params(("tenant_id" = String, Path)),
    responses((status = 201, body = Agent), Unauthenticated, Forbidden,
              (status = 404, description = "unknown tenant or role", body = Problem),
              (status = 409, description = "login taken", body = Problem), Invalid))]
async fn create_agent(
    api: Api,
    ApiPath(tenant_id): ApiPath<String>,
    ApiJson(body): ApiJson<CreateAgent>,
) -> Result<(StatusCode, Json<Agent>), ApiError> {
    let req = pb::CreateAgentRequest {
        tenant_id,
        login: body.login,
        name: body.name,
        email: body.email.unwrap_or_default(),
        password: body.password,
        role_ids: body.role_ids,
    };
    let a = api.identity_admin().create_agent(req).await?.into_inner();
    Ok((StatusCode::CREATED, Json(Agent::from(a))))
}

/// Lists a tenant's agents.
#[utoipa::path(get, path = "/admin/tenants/{tenant_id}/agents", tag = "admin",
    params(("tenant_id" = String, Path)),
    responses((status = 200, body = Items<Agent>), Unauthenticated, Forbidden,
              NotFound, Invalid))]
async fn list_agents(api: Api, ApiPath(tenant_id): ApiPath<String>) -> Reply<Items<Agent>> {
    let r = api
        .identity_admin()
        .list_agents(pb::ListAgentsRequest { tenant_id })
        .await?
        .into_inner();
    Items::of(r.agents)
}

/// Makes an agent of another tenant the caller administers a member of this tenant too.
#[utoipa::path(put, path = "/admin/tenants/{tenant_id}/agents/{agent_id}", tag = "admin",
    params(("tenant_id" = String, Path), ("agent_id" = String, Path)),
    responses((status = 200, body = Agent), Unauthenticated, Forbidden,
              NotFound, Invalid))]
async fn add_agent_to_tenant(
    api: Api,
    ApiPath((tenant_id, agent_id)): ApiPath<(String, String)>,
) -> Reply<Agent> {
    let req = pb::AddAgentToTenantRequest {
        agent_id,
        tenant_id,
    };
    let a = api
        .identity_admin()
        .add_agent_to_tenant(req)
        .await?
        .into_inner();
    Ok(Json(Agent::from(a)))
}

/// Reads an agent, with its memberships in the tenants the caller administers.
#[utoipa::path(get, path = "/admin/agents/{agent_id}", tag = "admin",
    params(("agent_id" = String, Path)),
    responses((status = 200, body = Agent), Unauthenticated, Forbidden,
              NotFound, Invalid))]
async fn get_agent(api: Api, ApiPath(agent_id): ApiPath<String>) -> Reply<Agent> {
    let a = api
        .identity_admin()
        .get_agent(pb::GetAgentRequest { agent_id })
        .await?
        .into_inner();
    Ok(Json(Agent::from(a)))
}

/// Gives an agent a role of a tenant it belongs to.
#[utoipa::path(put, path = "/admin/agents/{agent_id}/roles/{role_id}", tag = "admin",
    params(("agent_id" = String, Path), ("role_id" = String, Path)),
    responses((status = 200, body = Agent), Unauthenticated, Forbidden,
              NotFound, (status = 422, description = "not a member of the role's tenant", body = Problem)))]
async fn assign_role(
    api: Api,
    ApiPath((agent_id, role_id)): ApiPath<(String, String)>,
) -> Reply<Agent> {
    let req = pb::AgentRoleRequest { agent_id, role_id };
    let a = api.identity_admin().assign_role(req).await?.into_inner();
    Ok(Json(Agent::from(a)))
}

/// Takes a role from an agent.
#[utoipa::path(delete, path = "/admin/agents/{agent_id}/roles/{role_id}", tag = "admin",
    params(("agent_id" = String, Path), ("role_id" = String, Path)),
    responses((status = 200, body = Agent), Unauthenticated, Forbidden,
              NotFound, Invalid))]
async fn revoke_role(
    api: Api,
    ApiPath((agent_id, role_id)): ApiPath<(String, String)>,
) -> Reply<Agent> {
    let req = pb::AgentRoleRequest { agent_id, role_id };
    let a = api.identity_admin().revoke_role(req).await?.into_inner();
    Ok(Json(Agent::from(a)))
}

/// Sets an agent's own permissions on a group (an empty list removes them).
#[utoipa::path(put, path = "/admin/agents/{agent_id}/permissions", tag = "admin", request_body = GroupPermissions,
    params(("agent_id" = String, Path)),
    responses((status = 200, body = Agent), Unauthenticated, Forbidden,
              NotFound, Invalid))]
async fn set_agent_permissions(
    api: Api,
    ApiPath(agent_id): ApiPath<String>,
    ApiJson(body): ApiJson<GroupPermissions>,
) -> Reply<Agent> {
    let req = pb::SetAgentPermissionsRequest {
        agent_id,
        permissions: Some(body.into_pb()),
    };
    let a = api
        .identity_admin()
        .set_agent_permissions(req)
        .await?
        .into_inner();
    Ok(Json(Agent::from(a)))
}

/// Sets a local agent's password (the caller administers every tenant of the agent).
#[utoipa::path(put, path = "/admin/agents/{agent_id}/password", tag = "admin", request_body = SetPassword,
    params(("agent_id" = String, Path)),
    responses((status = 200, body = Agent), Unauthenticated,
              (status = 403, description = "the agent belongs to tenants the caller does not administer", body = Problem),
              NotFound, Invalid))]
async fn set_agent_password(
    api: Api,
    ApiPath(agent_id): ApiPath<String>,
    ApiJson(body): ApiJson<SetPassword>,
) -> Reply<Agent> {
    let req = pb::SetAgentPasswordRequest {
        agent_id,
        password: body.password,
    };
    let a = api
        .identity_admin()
        .set_agent_password(req)
        .await?
        .into_inner();
    Ok(Json(Agent::from(a)))
}

/// Activates or deactivates an agent (the caller administers every tenant of the agent).
#[utoipa::path(put, path = "/admin/agents/{agent_id}/active", tag = "admin", request_body = SetActive,
    params(("agent_id" = String, Path)),
    responses((status = 200, body = Agent), Unauthenticated,
              (status = 403, description = "the agent belongs to tenants the caller does not administer", body = Problem),
              NotFound, Invalid))]
async fn set_agent_active(
    api: Api,
    ApiPath(agent_id): ApiPath<String>,
    ApiJson(body): ApiJson<SetActive>,
) -> Reply<Agent> {
    let req = pb::SetAgentActiveRequest {
        agent_id,
        active: body.active,
    };
    let a = api
        .identity_admin()
        .set_agent_active(req)
        .await?
        .into_inner();
    Ok(Json(Agent::from(a)))
}

/// Records an absence: the substitute sees the absent agent's tickets meanwhile.
#[utoipa::path(post, path = "/admin/tenants/{tenant_id}/absences", tag = "admin", request_body = CreateAbsence,
    params(("tenant_id" = String, Path)),
    responses((status = 201, body = Absence), Unauthenticated, Forbidden,
              (status = 404, description = "unknown tenant, or an agent not a member", body = Problem),
              Invalid))]
async fn add_absence(
    api: Api,
    ApiPath(tenant_id): ApiPath<String>,
    ApiJson(body): ApiJson<CreateAbsence>,
) -> Result<(StatusCode, Json<Absence>), ApiError> {
    let req = pb::AddAbsenceRequest {
        tenant_id,
        agent_id: body.agent_id,
        substitute_id: body.substitute_id,
        starts_at_us: body.starts_at.micros(),
        ends_at_us: body.ends_at.micros(),
    };
    let a = api.identity_admin().add_absence(req).await?.into_inner();
    Ok((StatusCode::CREATED, Json(Absence::from(a))))
}

/// Lists the absences of a tenant's agents.
#[utoipa::path(get, path = "/admin/tenants/{tenant_id}/absences", tag = "admin",
    params(("tenant_id" = String, Path)),
    responses((status = 200, body = Items<Absence>), Unauthenticated, Forbidden,
              NotFound, Invalid))]
async fn list_absences(api: Api, ApiPath(tenant_id): ApiPath<String>) -> Reply<Items<Absence>> {
    let r = api
        .identity_admin()
        .list_absences(pb::ListAbsencesRequest { tenant_id })
        .await?
        .into_inner();
    Items::of(r.absences)
}
