//! The administration API (`/admin/…`: tenants, groups, roles, agents, absences, customers, the
//! audit log) and the caller's own account (`/me…`: API tokens, second factor), calling the
//! identity service's `IdentityAdminService`.
//!
//! The gateway decides nothing here: it forwards the caller's access token and the identity
//! service authorises every call from it. A tenant (or anything of a tenant) the caller does not
//! administer answers 404, like one that does not exist; installation-level calls and callers that
//! may not administer at all (customers, API tokens without the `admin` scope) answer 403.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use docket_proto::identity::v1 as pb;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
// The same representations as the rest of the API: one schema each in the document.
use crate::api::{Items, Tenant};
use crate::auth::Principal;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, Problem};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_tenant, list_tenants))
        .routes(routes!(get_tenant))
        .routes(routes!(create_group, list_groups))
        .routes(routes!(create_role, list_roles))
        .routes(routes!(set_role_permissions))
        .routes(routes!(create_agent, list_agents))
        .routes(routes!(add_agent_to_tenant))
        .routes(routes!(get_agent))
        .routes(routes!(assign_role, revoke_role))
        .routes(routes!(set_agent_permissions))
        .routes(routes!(set_agent_password))
        .routes(routes!(set_agent_active))
        .routes(routes!(add_absence, list_absences))
        .routes(routes!(create_company, list_companies))
        .routes(routes!(create_customer, list_customers))
        .routes(routes!(get_customer, update_customer))
        .routes(routes!(audit_log))
        .routes(routes!(me))
        .routes(routes!(issue_api_token, list_api_tokens))
        .routes(routes!(revoke_api_token))
        .routes(routes!(start_totp, disable_totp))
        .routes(routes!(confirm_totp))
}

fn time(us: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(us).unwrap_or_default()
}

fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

// ---------------------------------------------------------------------------------------------
// Representations
// ---------------------------------------------------------------------------------------------

/// A permission on the queues of a group; `rw` implies all others.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    Ro,
    MoveInto,
    Create,
    Note,
    Owner,
    Priority,
    Rw,
}

impl Permission {
    fn as_str(self) -> &'static str {
        match self {
            Self::Ro => "ro",
            Self::MoveInto => "move_into",
            Self::Create => "create",
            Self::Note => "note",
            Self::Owner => "owner",
            Self::Priority => "priority",
            Self::Rw => "rw",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [
            Self::Ro,
            Self::MoveInto,
            Self::Create,
            Self::Note,
            Self::Owner,
            Self::Priority,
            Self::Rw,
        ]
        .into_iter()
        .find(|p| p.as_str() == s)
    }
}

fn permissions(names: Vec<String>) -> Vec<Permission> {
    names.iter().filter_map(|n| Permission::parse(n)).collect()
}

/// Permissions on one group; an empty list removes them.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupPermissions {
    pub group_id: String,
    #[schema(example = json!(["ro", "note"]))]
    pub permissions: Vec<Permission>,
}

impl GroupPermissions {
    fn into_pb(self) -> pb::GroupPermissions {
        pb::GroupPermissions {
            group_id: self.group_id,
            permissions: self
                .permissions
                .into_iter()
                .map(|p| p.as_str().to_owned())
                .collect(),
        }
    }

    fn from_pb(p: pb::GroupPermissions) -> Self {
        Self {
            group_id: p.group_id,
            permissions: permissions(p.permissions),
        }
    }
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
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Company {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
}

impl From<pb::Company> for Company {
    fn from(c: pb::Company) -> Self {
        Self {
            id: c.id,
            tenant_id: c.tenant_id,
            name: c.name,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCompany {
    #[schema(example = "Widgets Ltd")]
    pub name: String,
}

/// A customer user of a tenant.
#[derive(Debug, Serialize, ToSchema)]
pub struct Customer {
    pub id: String,
    pub tenant_id: String,
    pub login: String,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company_id: Option<String>,
    /// Sees the tickets of the whole company.
    pub company_tickets: bool,
    pub language: Option<String>,
    pub active: bool,
    pub source: String,
}

impl From<pb::Customer> for Customer {
    fn from(c: pb::Customer) -> Self {
        Self {
            id: c.id,
            tenant_id: c.tenant_id,
            login: c.login,
            name: c.name,
            email: non_empty(c.email),
            phone: non_empty(c.phone),
            company_id: non_empty(c.company_id),
            company_tickets: c.company_tickets,
            language: non_empty(c.language),
            active: c.active,
            source: c.source,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCustomer {
    #[schema(example = "max.muster")]
    pub login: String,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// A company of the same tenant.
    pub company_id: Option<String>,
    /// Sees the tickets of the whole company (needs `company_id`).
    #[serde(default)]
    pub company_tickets: bool,
    /// At least 10 characters; without one the customer cannot log in.
    pub password: Option<String>,
    #[schema(example = "de")]
    pub language: Option<String>,
}

/// A customer's details to change; what is left out stays. An empty text clears an email, a
/// phone, a company or a language.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCustomer {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// A company of the same tenant; leaving it ends seeing its tickets.
    pub company_id: Option<String>,
    /// Sees the tickets of the whole company (needs a company).
    pub company_tickets: Option<bool>,
    #[schema(example = "en")]
    pub language: Option<String>,
    /// An inactive customer cannot sign in.
    pub active: Option<bool>,
    /// A new password, at least 10 characters; local customers only.
    pub password: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntry {
    pub occurred_at: DateTime<Utc>,
    /// Absent for entries without a tenant (logins, tokens, passwords).
    pub tenant_id: Option<String>,
    pub actor: String,
    /// `login`, `login_failed`, `permission_changed`, `token_issued`, …
    pub action: String,
    pub target: Option<String>,
    /// `ok` or `denied`.
    pub outcome: String,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditEntry>,
    /// Pass as `page_token` for older entries; absent on the last page.
    pub next_page_token: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// 1 to 500; default 50.
    pub page_size: Option<u32>,
    /// `next_page_token` of the previous page.
    pub page_token: Option<String>,
}

/// What the caller's access token says about it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    /// The agent's or customer user's id.
    pub id: String,
    pub login: String,
    /// `agent`, `customer` or `service`.
    pub kind: String,
    pub installation_admin: bool,
    /// An agent's grants per tenant id.
    pub tenants: BTreeMap<String, TenantAccess>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer: Option<CustomerScope>,
    /// Set for API tokens: the scopes they are limited to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TenantAccess {
    pub admin: bool,
    /// Merged permissions per group id.
    pub groups: BTreeMap<String, Vec<Permission>>,
    /// Absent agents this one stands in for.
    pub substitute_for: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerScope {
    pub tenant_id: String,
    pub company_id: Option<String>,
    pub company_tickets: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiToken {
    pub id: String,
    pub name: String,
    pub scopes: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<pb::ApiToken> for ApiToken {
    fn from(t: pb::ApiToken) -> Self {
        Self {
            id: t.id,
            name: t.name,
            scopes: t.scopes,
            created_at: time(t.created_at_us),
            expires_at: time(t.expires_at_us),
            revoked_at: (t.revoked_at_us != 0).then(|| time(t.revoked_at_us)),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueApiToken {
    #[schema(example = "backup script")]
    pub name: String,
    /// e.g. `tickets:read`; `admin` allows the administration API.
    #[schema(example = json!(["tickets:read"]))]
    pub scopes: Vec<String>,
    /// 1 to 366; default 90.
    pub valid_days: Option<u32>,
}

/// A new API token. The secret is shown only now.
#[derive(Serialize, ToSchema)]
pub struct IssuedApiToken {
    pub token: ApiToken,
    /// Send as `Authorization: Bearer dkt_…`.
    pub secret: String,
}

/// A second factor being enrolled: add it to the authenticator app, then confirm a code.
#[derive(Serialize, ToSchema)]
pub struct TotpEnrolment {
    /// Base32, for typing in.
    pub secret: String,
    /// `otpauth://totp/…`, for a QR code.
    pub otpauth_uri: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpCode {
    /// The current 6-digit code of the authenticator app.
    #[schema(example = "123456")]
    pub code: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TotpStatus {
    pub enabled: bool,
}

// ---------------------------------------------------------------------------------------------
// Tenants
// ---------------------------------------------------------------------------------------------

/// Creates a tenant with its default groups and roles (installation administrators).
#[utoipa::path(post, path = "/admin/tenants", tag = "admin", request_body = CreateTenant,
    responses((status = 201, body = Tenant), (status = 401, body = Problem),
              (status = 403, description = "not an installation administrator", body = Problem),
              (status = 409, description = "slug taken", body = Problem), (status = 422, body = Problem)))]
async fn create_tenant(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<CreateTenant>,
) -> Result<(StatusCode, Json<Tenant>), ApiError> {
    let req = pb::CreateTenantRequest {
        slug: body.slug,
        name: body.name,
    };
    let t = state
        .identity_admin(&principal)
        .create_tenant(req)
        .await?
        .into_inner();
    Ok((StatusCode::CREATED, Json(tenant_from_pb(t))))
}

/// Lists every tenant of the installation (installation administrators).
#[utoipa::path(get, path = "/admin/tenants", tag = "admin",
    responses((status = 200, body = Items<Tenant>), (status = 401, body = Problem),
              (status = 403, description = "not an installation administrator", body = Problem)))]
async fn list_tenants(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Items<Tenant>>, ApiError> {
    let r = state
        .identity_admin(&principal)
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
    responses((status = 200, body = Tenant), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, description = "no such tenant, or not administered by the caller", body = Problem),
              (status = 422, body = Problem)))]
async fn get_tenant(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(tenant_id): ApiPath<String>,
) -> Result<Json<Tenant>, ApiError> {
    let t = state
        .identity_admin(&principal)
        .get_tenant(pb::GetTenantRequest { tenant_id })
        .await?
        .into_inner();
    Ok(Json(tenant_from_pb(t)))
}

// ---------------------------------------------------------------------------------------------
// Groups and roles
// ---------------------------------------------------------------------------------------------

/// Creates a group in a tenant.
#[utoipa::path(post, path = "/admin/tenants/{tenant_id}/groups", tag = "admin", request_body = CreateGroup,
    params(("tenant_id" = String, Path)),
    responses((status = 201, body = Group), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, description = "name taken", body = Problem),
              (status = 422, body = Problem)))]
async fn create_group(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(tenant_id): ApiPath<String>,
    ApiJson(body): ApiJson<CreateGroup>,
) -> Result<(StatusCode, Json<Group>), ApiError> {
    let req = pb::CreateGroupRequest {
        tenant_id,
        name: body.name,
    };
    let g = state
        .identity_admin(&principal)
        .create_group(req)
        .await?
        .into_inner();
    Ok((StatusCode::CREATED, Json(Group::from(g))))
}

/// Lists a tenant's groups.
#[utoipa::path(get, path = "/admin/tenants/{tenant_id}/groups", tag = "admin",
    params(("tenant_id" = String, Path)),
    responses((status = 200, body = Items<Group>), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn list_groups(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(tenant_id): ApiPath<String>,
) -> Result<Json<Items<Group>>, ApiError> {
    let r = state
        .identity_admin(&principal)
        .list_groups(pb::ListGroupsRequest { tenant_id })
        .await?
        .into_inner();
    Ok(Json(Items {
        items: r.groups.into_iter().map(Group::from).collect(),
    }))
}

/// Creates a role in a tenant, optionally with its first permissions.
#[utoipa::path(post, path = "/admin/tenants/{tenant_id}/roles", tag = "admin", request_body = CreateRole,
    params(("tenant_id" = String, Path)),
    responses((status = 201, body = Role), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, description = "unknown tenant or group", body = Problem),
              (status = 409, description = "name taken", body = Problem), (status = 422, body = Problem)))]
async fn create_role(
    State(state): State<AppState>,
    principal: Principal,
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
    let r = state
        .identity_admin(&principal)
        .create_role(req)
        .await?
        .into_inner();
    Ok((StatusCode::CREATED, Json(Role::from(r))))
}

/// Lists a tenant's roles with their permissions.
#[utoipa::path(get, path = "/admin/tenants/{tenant_id}/roles", tag = "admin",
    params(("tenant_id" = String, Path)),
    responses((status = 200, body = Items<Role>), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn list_roles(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(tenant_id): ApiPath<String>,
) -> Result<Json<Items<Role>>, ApiError> {
    let r = state
        .identity_admin(&principal)
        .list_roles(pb::ListRolesRequest { tenant_id })
        .await?
        .into_inner();
    Ok(Json(Items {
        items: r.roles.into_iter().map(Role::from).collect(),
    }))
}

/// Sets a role's permissions on one group of its tenant (an empty list removes them).
#[utoipa::path(put, path = "/admin/roles/{role_id}/permissions", tag = "admin", request_body = GroupPermissions,
    params(("role_id" = String, Path)),
    responses((status = 200, body = Role), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, description = "unknown role or group", body = Problem), (status = 422, body = Problem)))]
async fn set_role_permissions(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(role_id): ApiPath<String>,
    ApiJson(body): ApiJson<GroupPermissions>,
) -> Result<Json<Role>, ApiError> {
    let req = pb::SetRolePermissionsRequest {
        role_id,
        permissions: Some(body.into_pb()),
    };
    let r = state
        .identity_admin(&principal)
        .set_role_permissions(req)
        .await?
        .into_inner();
    Ok(Json(Role::from(r)))
}

// ---------------------------------------------------------------------------------------------
// Agents
// ---------------------------------------------------------------------------------------------

/// Creates a local agent with a password, a member of the tenant with the given roles.
#[utoipa::path(post, path = "/admin/tenants/{tenant_id}/agents", tag = "admin", request_body = CreateAgent,
    params(("tenant_id" = String, Path)),
    responses((status = 201, body = Agent), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, description = "unknown tenant or role", body = Problem),
              (status = 409, description = "login taken", body = Problem), (status = 422, body = Problem)))]
async fn create_agent(
    State(state): State<AppState>,
    principal: Principal,
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
    let a = state
        .identity_admin(&principal)
        .create_agent(req)
        .await?
        .into_inner();
    Ok((StatusCode::CREATED, Json(Agent::from(a))))
}

/// Lists a tenant's agents.
#[utoipa::path(get, path = "/admin/tenants/{tenant_id}/agents", tag = "admin",
    params(("tenant_id" = String, Path)),
    responses((status = 200, body = Items<Agent>), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn list_agents(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(tenant_id): ApiPath<String>,
) -> Result<Json<Items<Agent>>, ApiError> {
    let r = state
        .identity_admin(&principal)
        .list_agents(pb::ListAgentsRequest { tenant_id })
        .await?
        .into_inner();
    Ok(Json(Items {
        items: r.agents.into_iter().map(Agent::from).collect(),
    }))
}

/// Makes an agent of another tenant the caller administers a member of this tenant too.
#[utoipa::path(put, path = "/admin/tenants/{tenant_id}/agents/{agent_id}", tag = "admin",
    params(("tenant_id" = String, Path), ("agent_id" = String, Path)),
    responses((status = 200, body = Agent), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn add_agent_to_tenant(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((tenant_id, agent_id)): ApiPath<(String, String)>,
) -> Result<Json<Agent>, ApiError> {
    let req = pb::AddAgentToTenantRequest {
        agent_id,
        tenant_id,
    };
    let a = state
        .identity_admin(&principal)
        .add_agent_to_tenant(req)
        .await?
        .into_inner();
    Ok(Json(Agent::from(a)))
}

/// Reads an agent, with its memberships in the tenants the caller administers.
#[utoipa::path(get, path = "/admin/agents/{agent_id}", tag = "admin",
    params(("agent_id" = String, Path)),
    responses((status = 200, body = Agent), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn get_agent(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(agent_id): ApiPath<String>,
) -> Result<Json<Agent>, ApiError> {
    let a = state
        .identity_admin(&principal)
        .get_agent(pb::GetAgentRequest { agent_id })
        .await?
        .into_inner();
    Ok(Json(Agent::from(a)))
}

/// Gives an agent a role of a tenant it belongs to.
#[utoipa::path(put, path = "/admin/agents/{agent_id}/roles/{role_id}", tag = "admin",
    params(("agent_id" = String, Path), ("role_id" = String, Path)),
    responses((status = 200, body = Agent), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, description = "not a member of the role's tenant", body = Problem)))]
async fn assign_role(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((agent_id, role_id)): ApiPath<(String, String)>,
) -> Result<Json<Agent>, ApiError> {
    let req = pb::AgentRoleRequest { agent_id, role_id };
    let a = state
        .identity_admin(&principal)
        .assign_role(req)
        .await?
        .into_inner();
    Ok(Json(Agent::from(a)))
}

/// Takes a role from an agent.
#[utoipa::path(delete, path = "/admin/agents/{agent_id}/roles/{role_id}", tag = "admin",
    params(("agent_id" = String, Path), ("role_id" = String, Path)),
    responses((status = 200, body = Agent), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn revoke_role(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((agent_id, role_id)): ApiPath<(String, String)>,
) -> Result<Json<Agent>, ApiError> {
    let req = pb::AgentRoleRequest { agent_id, role_id };
    let a = state
        .identity_admin(&principal)
        .revoke_role(req)
        .await?
        .into_inner();
    Ok(Json(Agent::from(a)))
}

/// Sets an agent's own permissions on a group (an empty list removes them).
#[utoipa::path(put, path = "/admin/agents/{agent_id}/permissions", tag = "admin", request_body = GroupPermissions,
    params(("agent_id" = String, Path)),
    responses((status = 200, body = Agent), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn set_agent_permissions(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(agent_id): ApiPath<String>,
    ApiJson(body): ApiJson<GroupPermissions>,
) -> Result<Json<Agent>, ApiError> {
    let req = pb::SetAgentPermissionsRequest {
        agent_id,
        permissions: Some(body.into_pb()),
    };
    let a = state
        .identity_admin(&principal)
        .set_agent_permissions(req)
        .await?
        .into_inner();
    Ok(Json(Agent::from(a)))
}

/// Sets a local agent's password (the caller administers every tenant of the agent).
#[utoipa::path(put, path = "/admin/agents/{agent_id}/password", tag = "admin", request_body = SetPassword,
    params(("agent_id" = String, Path)),
    responses((status = 200, body = Agent), (status = 401, body = Problem),
              (status = 403, description = "the agent belongs to tenants the caller does not administer", body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn set_agent_password(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(agent_id): ApiPath<String>,
    ApiJson(body): ApiJson<SetPassword>,
) -> Result<Json<Agent>, ApiError> {
    let req = pb::SetAgentPasswordRequest {
        agent_id,
        password: body.password,
    };
    let a = state
        .identity_admin(&principal)
        .set_agent_password(req)
        .await?
        .into_inner();
    Ok(Json(Agent::from(a)))
}

/// Activates or deactivates an agent (the caller administers every tenant of the agent).
#[utoipa::path(put, path = "/admin/agents/{agent_id}/active", tag = "admin", request_body = SetActive,
    params(("agent_id" = String, Path)),
    responses((status = 200, body = Agent), (status = 401, body = Problem),
              (status = 403, description = "the agent belongs to tenants the caller does not administer", body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn set_agent_active(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(agent_id): ApiPath<String>,
    ApiJson(body): ApiJson<SetActive>,
) -> Result<Json<Agent>, ApiError> {
    let req = pb::SetAgentActiveRequest {
        agent_id,
        active: body.active,
    };
    let a = state
        .identity_admin(&principal)
        .set_agent_active(req)
        .await?
        .into_inner();
    Ok(Json(Agent::from(a)))
}

// ---------------------------------------------------------------------------------------------
// Absences, companies, customers
// ---------------------------------------------------------------------------------------------

/// Records an absence: the substitute sees the absent agent's tickets meanwhile.
#[utoipa::path(post, path = "/admin/tenants/{tenant_id}/absences", tag = "admin", request_body = CreateAbsence,
    params(("tenant_id" = String, Path)),
    responses((status = 201, body = Absence), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, description = "unknown tenant, or an agent not a member", body = Problem),
              (status = 422, body = Problem)))]
async fn add_absence(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(tenant_id): ApiPath<String>,
    ApiJson(body): ApiJson<CreateAbsence>,
) -> Result<(StatusCode, Json<Absence>), ApiError> {
    let req = pb::AddAbsenceRequest {
        tenant_id,
        agent_id: body.agent_id,
        substitute_id: body.substitute_id,
        starts_at_us: body.starts_at.timestamp_micros(),
        ends_at_us: body.ends_at.timestamp_micros(),
    };
    let a = state
        .identity_admin(&principal)
        .add_absence(req)
        .await?
        .into_inner();
    Ok((StatusCode::CREATED, Json(Absence::from(a))))
}

/// Lists the absences of a tenant's agents.
#[utoipa::path(get, path = "/admin/tenants/{tenant_id}/absences", tag = "admin",
    params(("tenant_id" = String, Path)),
    responses((status = 200, body = Items<Absence>), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn list_absences(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(tenant_id): ApiPath<String>,
) -> Result<Json<Items<Absence>>, ApiError> {
    let r = state
        .identity_admin(&principal)
        .list_absences(pb::ListAbsencesRequest { tenant_id })
        .await?
        .into_inner();
    Ok(Json(Items {
        items: r.absences.into_iter().map(Absence::from).collect(),
    }))
}

/// Creates a customer company.
#[utoipa::path(post, path = "/admin/tenants/{tenant_id}/companies", tag = "admin", request_body = CreateCompany,
    params(("tenant_id" = String, Path)),
    responses((status = 201, body = Company), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, description = "name taken", body = Problem),
              (status = 422, body = Problem)))]
async fn create_company(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(tenant_id): ApiPath<String>,
    ApiJson(body): ApiJson<CreateCompany>,
) -> Result<(StatusCode, Json<Company>), ApiError> {
    let req = pb::CreateCompanyRequest {
        tenant_id,
        name: body.name,
    };
    let c = state
        .identity_admin(&principal)
        .create_company(req)
        .await?
        .into_inner();
    Ok((StatusCode::CREATED, Json(Company::from(c))))
}

/// Lists a tenant's customer companies.
#[utoipa::path(get, path = "/admin/tenants/{tenant_id}/companies", tag = "admin",
    params(("tenant_id" = String, Path)),
    responses((status = 200, body = Items<Company>), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn list_companies(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(tenant_id): ApiPath<String>,
) -> Result<Json<Items<Company>>, ApiError> {
    let r = state
        .identity_admin(&principal)
        .list_companies(pb::ListCompaniesRequest { tenant_id })
        .await?
        .into_inner();
    Ok(Json(Items {
        items: r.companies.into_iter().map(Company::from).collect(),
    }))
}

/// Creates a customer user, optionally of a company and with a password.
#[utoipa::path(post, path = "/admin/tenants/{tenant_id}/customers", tag = "admin", request_body = CreateCustomer,
    params(("tenant_id" = String, Path)),
    responses((status = 201, body = Customer), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, description = "unknown tenant or company", body = Problem),
              (status = 409, description = "login taken", body = Problem), (status = 422, body = Problem)))]
async fn create_customer(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(tenant_id): ApiPath<String>,
    ApiJson(body): ApiJson<CreateCustomer>,
) -> Result<(StatusCode, Json<Customer>), ApiError> {
    let req = pb::CreateCustomerRequest {
        tenant_id,
        login: body.login,
        name: body.name,
        email: body.email.unwrap_or_default(),
        phone: body.phone.unwrap_or_default(),
        company_id: body.company_id.unwrap_or_default(),
        company_tickets: body.company_tickets,
        password: body.password.unwrap_or_default(),
        language: body.language.unwrap_or_default(),
    };
    let c = state
        .identity_admin(&principal)
        .create_customer(req)
        .await?
        .into_inner();
    Ok((StatusCode::CREATED, Json(Customer::from(c))))
}

/// Lists a tenant's customer users.
#[utoipa::path(get, path = "/admin/tenants/{tenant_id}/customers", tag = "admin",
    params(("tenant_id" = String, Path)),
    responses((status = 200, body = Items<Customer>), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn list_customers(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(tenant_id): ApiPath<String>,
) -> Result<Json<Items<Customer>>, ApiError> {
    let r = state
        .identity_admin(&principal)
        .list_customers(pb::ListCustomersRequest { tenant_id })
        .await?
        .into_inner();
    Ok(Json(Items {
        items: r.customers.into_iter().map(Customer::from).collect(),
    }))
}

/// Reads a customer user of a tenant the caller administers.
#[utoipa::path(get, path = "/admin/customers/{customer_id}", tag = "admin",
    params(("customer_id" = String, Path)),
    responses((status = 200, body = Customer), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn get_customer(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(customer_id): ApiPath<String>,
) -> Result<Json<Customer>, ApiError> {
    let c = state
        .identity_admin(&principal)
        .get_customer(pb::GetCustomerRequest { customer_id })
        .await?
        .into_inner();
    Ok(Json(Customer::from(c)))
}

/// Changes a customer user's details (ticket core hears of them).
#[utoipa::path(patch, path = "/admin/customers/{customer_id}", tag = "admin", request_body = UpdateCustomer,
    params(("customer_id" = String, Path)),
    responses((status = 200, body = Customer), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, description = "unknown customer or company", body = Problem),
              (status = 422, body = Problem)))]
async fn update_customer(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(customer_id): ApiPath<String>,
    ApiJson(body): ApiJson<UpdateCustomer>,
) -> Result<Json<Customer>, ApiError> {
    let req = pb::UpdateCustomerRequest {
        customer_id,
        name: body.name,
        email: body.email,
        phone: body.phone,
        company_id: body.company_id,
        company_tickets: body.company_tickets,
        language: body.language,
        active: body.active,
        password: body.password,
    };
    let c = state
        .identity_admin(&principal)
        .update_customer(req)
        .await?
        .into_inner();
    Ok(Json(Customer::from(c)))
}

/// A tenant's audit log, newest first: its own entries, and the logins, tokens and password
/// changes of its agents.
#[utoipa::path(get, path = "/admin/tenants/{tenant_id}/audit", tag = "admin",
    params(("tenant_id" = String, Path), AuditQuery),
    responses((status = 200, body = AuditPage), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn audit_log(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(tenant_id): ApiPath<String>,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Json<AuditPage>, ApiError> {
    if query.page_size == Some(0) {
        return Err(ApiError::BadRequest {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            detail: "page_size 0 is not between 1 and 500".into(),
        });
    }
    let req = pb::ListAuditLogRequest {
        tenant_id,
        page_size: query.page_size.unwrap_or(0),
        page_token: query.page_token.unwrap_or_default(),
    };
    let r = state
        .identity_admin(&principal)
        .list_audit_log(req)
        .await?
        .into_inner();
    Ok(Json(AuditPage {
        items: r
            .entries
            .into_iter()
            .map(|e| AuditEntry {
                occurred_at: time(e.occurred_at_us),
                tenant_id: non_empty(e.tenant_id),
                actor: e.actor,
                action: e.action,
                target: non_empty(e.target),
                outcome: e.outcome,
                details: serde_json::from_str(&e.details_json).unwrap_or(serde_json::Value::Null),
            })
            .collect(),
        next_page_token: non_empty(r.next_page_token),
    }))
}

// ---------------------------------------------------------------------------------------------
// The caller's own account
// ---------------------------------------------------------------------------------------------

/// Who the caller is and what its access token grants.
#[utoipa::path(get, path = "/me", tag = "me",
    responses((status = 200, body = Me), (status = 401, body = Problem)))]
async fn me(principal: Principal) -> Json<Me> {
    let c = principal.claims;
    let kind = match c.kind {
        docket_auth::Kind::Agent => "agent",
        docket_auth::Kind::Customer => "customer",
        docket_auth::Kind::Service => "service",
    };
    let agent = c.agent.unwrap_or_default();
    Json(Me {
        id: c.sub,
        login: c.login,
        kind: kind.to_owned(),
        installation_admin: agent.installation_admin,
        tenants: agent
            .tenants
            .into_iter()
            .map(|(tenant, grants)| {
                let access = TenantAccess {
                    admin: grants.admin,
                    groups: grants
                        .groups
                        .into_iter()
                        .map(|(group, set)| {
                            let perms = set
                                .iter()
                                .filter_map(|p| Permission::parse(p.as_str()))
                                .collect();
                            (group, perms)
                        })
                        .collect(),
                    substitute_for: grants.substitute_for,
                };
                (tenant, access)
            })
            .collect(),
        customer: c.customer.map(|g| CustomerScope {
            tenant_id: g.tenant_id,
            company_id: g.company_id,
            company_tickets: g.company_tickets,
        }),
        scopes: c.scopes,
    })
}

/// Issues a personal API token (needs a login session, not another API token).
#[utoipa::path(post, path = "/me/api-tokens", tag = "me", request_body = IssueApiToken,
    responses((status = 201, body = IssuedApiToken), (status = 401, body = Problem),
              (status = 403, description = "not an agent's login session", body = Problem),
              (status = 422, body = Problem)))]
async fn issue_api_token(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<IssueApiToken>,
) -> Result<(StatusCode, Json<IssuedApiToken>), ApiError> {
    let req = pb::IssueApiTokenRequest {
        name: body.name,
        scopes: body.scopes,
        valid_days: body.valid_days.unwrap_or(90),
    };
    let issued = state
        .identity_admin(&principal)
        .issue_api_token(req)
        .await?
        .into_inner();
    let token = issued
        .token
        .ok_or_else(|| ApiError::Upstream(tonic::Status::internal("no token in the answer")))?;
    Ok((
        StatusCode::CREATED,
        Json(IssuedApiToken {
            token: ApiToken::from(token),
            secret: issued.secret,
        }),
    ))
}

/// Lists the caller's API tokens (without their secrets).
#[utoipa::path(get, path = "/me/api-tokens", tag = "me",
    responses((status = 200, body = Items<ApiToken>), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn list_api_tokens(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Items<ApiToken>>, ApiError> {
    let r = state
        .identity_admin(&principal)
        .list_api_tokens(pb::ListApiTokensRequest {})
        .await?
        .into_inner();
    Ok(Json(Items {
        items: r.tokens.into_iter().map(ApiToken::from).collect(),
    }))
}

/// Revokes one of the caller's API tokens; it stops working at once.
#[utoipa::path(delete, path = "/me/api-tokens/{token_id}", tag = "me",
    params(("token_id" = String, Path)),
    responses((status = 200, body = ApiToken), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn revoke_api_token(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(token_id): ApiPath<String>,
) -> Result<Json<ApiToken>, ApiError> {
    let t = state
        .identity_admin(&principal)
        .revoke_api_token(pb::RevokeApiTokenRequest {
            token_id: token_id.clone(),
        })
        .await?
        .into_inner();
    // This gateway's cached access token for it goes too.
    state.auth.forget_sid(&token_id).await;
    Ok(Json(ApiToken::from(t)))
}

/// Starts enrolling a second factor: add the secret to an authenticator app, then confirm a code.
#[utoipa::path(post, path = "/me/totp", tag = "me",
    responses((status = 201, body = TotpEnrolment), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 409, description = "already enabled, or an LDAP account", body = Problem)))]
async fn start_totp(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<(StatusCode, Json<TotpEnrolment>), ApiError> {
    let r = state
        .identity_admin(&principal)
        .start_totp(pb::StartTotpRequest {})
        .await?
        .into_inner();
    Ok((
        StatusCode::CREATED,
        Json(TotpEnrolment {
            secret: r.secret,
            otpauth_uri: r.otpauth_uri,
        }),
    ))
}

/// Confirms the enrolment with a current code; from then on logging in needs one.
#[utoipa::path(post, path = "/me/totp/confirm", tag = "me", request_body = TotpCode,
    responses((status = 200, body = TotpStatus), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 409, description = "no enrolment started", body = Problem),
              (status = 422, description = "wrong code", body = Problem)))]
async fn confirm_totp(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<TotpCode>,
) -> Result<Json<TotpStatus>, ApiError> {
    let r = state
        .identity_admin(&principal)
        .confirm_totp(pb::ConfirmTotpRequest { code: body.code })
        .await?
        .into_inner();
    Ok(Json(TotpStatus { enabled: r.enabled }))
}

/// Disables the second factor; needs a current code.
#[utoipa::path(delete, path = "/me/totp", tag = "me", request_body = TotpCode,
    responses((status = 200, body = TotpStatus), (status = 401, body = Problem),
              (status = 403, description = "too many wrong codes, or not a login session", body = Problem),
              (status = 409, description = "not enabled", body = Problem),
              (status = 422, description = "wrong code", body = Problem)))]
async fn disable_totp(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<TotpCode>,
) -> Result<Json<TotpStatus>, ApiError> {
    let r = state
        .identity_admin(&principal)
        .disable_totp(pb::DisableTotpRequest { code: body.code })
        .await?
        .into_inner();
    Ok(Json(TotpStatus { enabled: r.enabled }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_names_match_the_vocabulary() {
        for p in docket_auth::Permission::ALL {
            let ours = Permission::parse(p.as_str()).unwrap();
            assert_eq!(ours.as_str(), p.as_str());
            let json = serde_json::to_value(ours).unwrap();
            assert_eq!(json, p.as_str());
        }
        assert_eq!(Permission::parse("sudo"), None);
    }

    #[test]
    fn every_admin_operation_is_documented_with_its_problems() {
        let doc = serde_json::to_value(crate::openapi()).unwrap();
        let paths = doc["paths"].as_object().unwrap();
        let mut operations = 0;
        for (path, item) in paths {
            let tag = if path.starts_with("/admin/") {
                "admin"
            } else if path == "/me" || path.starts_with("/me/") {
                "me"
            } else {
                continue;
            };
            for (method, op) in item.as_object().unwrap() {
                operations += 1;
                assert_eq!(op["tags"], serde_json::json!([tag]), "{method} {path}");
                let responses = op["responses"].as_object().unwrap();
                assert!(responses.contains_key("401"), "{method} {path}: no 401");
                let ok = responses.keys().any(|code| code.starts_with('2'));
                assert!(ok, "{method} {path}: no success response");
                for (code, response) in responses {
                    if !code.starts_with('2') {
                        let schema = &response["content"]["application/json"]["schema"]["$ref"];
                        assert_eq!(
                            schema, "#/components/schemas/Problem",
                            "{method} {path} {code}"
                        );
                    }
                }
                if method != "get"
                    && !path.contains("/me/totp")
                    && path != "/me/api-tokens/{token_id}"
                {
                    let has_body = op.get("requestBody").is_some();
                    let needs_body = !(path.ends_with("/roles/{role_id}")
                        || path.ends_with("/agents/{agent_id}")
                        || path.ends_with("/reprocess"));
                    assert_eq!(has_body, needs_body, "{method} {path}: request body");
                }
            }
        }
        assert_eq!(operations, 39, "the admin and me operations");
        for name in [
            "Agent",
            "Role",
            "GroupPermissions",
            "AuditPage",
            "IssuedApiToken",
            "Me",
        ] {
            assert!(doc["components"]["schemas"][name].is_object(), "{name}");
        }
    }
}
