//! The administration edge of the identity service (`IdentityAdminService`): tenants, groups,
//! roles, agents, absences, customers, the audit log, and each agent's own API tokens and second
//! factor.
//!
//! Who may do what is decided here, from the caller's verified access token alone:
//!
//! - customers, services, and API tokens without the `admin` scope are refused;
//! - tenant-scoped calls need [`Claims::may_administer`] for the tenant; a tenant (or a group,
//!   role, agent, customer of one) the caller does not administer is NOT_FOUND, exactly like one
//!   that does not exist;
//! - an agent is visible to the administrators of any tenant it belongs to; its password and
//!   activation only to those administering every one of them (and an installation
//!   administrator's only to an installation administrator);
//! - creating and listing tenants needs an installation administrator;
//! - the self-service calls need an agent's login session: an API token cannot mint tokens or
//!   change the second factor.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::Arc;

use docket_auth::{Claims, Kind, PermSet};
use docket_platform::id::InvalidId;
use docket_proto::identity::v1 as pb;
use docket_proto::identity::v1::identity_admin_service_server::IdentityAdminService;
use tonic::{Request, Response, Status};

use crate::authority::Authority;
use crate::domain::*;
use crate::error::IdentityError;
use crate::storage::IdentityStore;
use crate::totp::TotpSecret;

/// The scope an API token needs for the administration calls.
pub const ADMIN_SCOPE: &str = "admin";
/// The issuer shown in authenticator apps.
const TOTP_ISSUER: &str = "Docket";
const DEFAULT_AUDIT_PAGE: u32 = 50;
const MAX_AUDIT_PAGE: u32 = 500;
const MAX_SCOPES: usize = 32;
const MAX_SCOPE_CHARS: usize = 64;

pub struct AdminGrpc {
    authority: Arc<Authority>,
}

impl AdminGrpc {
    pub fn new(authority: Arc<Authority>) -> Self {
        Self { authority }
    }

    fn store(&self) -> &dyn IdentityStore {
        self.authority.store().as_ref()
    }
}

fn now() -> Micros {
    docket_platform::time::now_micros()
}

/// A verified agent calling the administration API.
struct Caller {
    claims: Claims,
    agent_id: AgentId,
}

impl Caller {
    fn actor(&self) -> &str {
        &self.claims.login
    }

    fn administers(&self, tenant: TenantId) -> bool {
        self.claims.may_administer(&tenant.to_string())
    }

    fn is_installation_admin(&self) -> bool {
        self.claims.is_installation_admin()
    }

    fn require_installation_admin(&self) -> Result<(), IdentityError> {
        if self.is_installation_admin() {
            Ok(())
        } else {
            Err(IdentityError::PermissionDenied(
                "only an installation administrator creates and lists tenants".into(),
            ))
        }
    }
}

/// Parses a required id field; a malformed one is INVALID_ARGUMENT naming the field.
fn parse_id<T: FromStr<Err = InvalidId>>(field: &str, raw: &str) -> Result<T, IdentityError> {
    if raw.trim().is_empty() {
        return Err(IdentityError::invalid(format!("{field} is required")));
    }
    Ok(raw.parse::<T>()?)
}

fn group_permissions(p: Option<pb::GroupPermissions>) -> Result<(GroupId, PermSet), IdentityError> {
    let p = p.ok_or_else(|| IdentityError::invalid("permissions are required"))?;
    Ok((
        parse_id("group_id", &p.group_id)?,
        permissions_from_names(&p.permissions)?,
    ))
}

fn names(set: PermSet) -> Vec<String> {
    set.iter().map(|p| p.as_str().to_owned()).collect()
}

fn perms_pb<K: ToString>(map: &BTreeMap<K, PermSet>) -> Vec<pb::GroupPermissions> {
    map.iter()
        .map(|(group, set)| pb::GroupPermissions {
            group_id: group.to_string(),
            permissions: names(*set),
        })
        .collect()
}

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

fn role_pb(r: Role) -> pb::Role {
    pb::Role {
        id: r.id.to_string(),
        tenant_id: r.tenant_id.to_string(),
        permissions: perms_pb(&r.permissions),
        name: r.name,
        tenant_admin: r.tenant_admin,
    }
}

fn agent_pb(a: Agent, memberships: Vec<pb::Membership>) -> pb::Agent {
    pb::Agent {
        id: a.id.to_string(),
        login: a.login.as_str().to_owned(),
        name: a.name,
        email: a.email.unwrap_or_default(),
        source: a.source.as_str().to_owned(),
        active: a.active,
        totp_enabled: a.totp_enabled,
        installation_admin: a.installation_admin,
        created_at_us: a.created_at,
        memberships,
    }
}

fn absence_pb(a: Absence) -> pb::Absence {
    pb::Absence {
        id: a.id.to_string(),
        agent_id: a.agent_id.to_string(),
        substitute_id: a.substitute_id.to_string(),
        starts_at_us: a.starts_at,
        ends_at_us: a.ends_at,
    }
}

fn company_pb(c: Company) -> pb::Company {
    pb::Company {
        id: c.id.to_string(),
        tenant_id: c.tenant_id.to_string(),
        name: c.name,
    }
}

fn customer_pb(c: Customer) -> pb::Customer {
    pb::Customer {
        id: c.id.to_string(),
        tenant_id: c.tenant_id.to_string(),
        login: c.login.as_str().to_owned(),
        name: c.name,
        email: c.email.unwrap_or_default(),
        phone: c.phone.unwrap_or_default(),
        company_id: c.company_id.map(|id| id.to_string()).unwrap_or_default(),
        company_tickets: c.company_tickets,
        language: c.language.unwrap_or_default(),
        active: c.active,
        source: c.source.as_str().to_owned(),
    }
}

fn audit_pb(e: AuditEntry) -> pb::AuditEntry {
    pb::AuditEntry {
        occurred_at_us: e.occurred_at,
        tenant_id: e.tenant_id.map(|t| t.to_string()).unwrap_or_default(),
        actor: e.actor,
        action: e.action,
        target: e.target.unwrap_or_default(),
        outcome: e.outcome,
        details_json: e.details.to_string(),
    }
}

fn token_pb(t: ApiToken) -> pb::ApiToken {
    pb::ApiToken {
        id: t.id,
        name: t.name,
        scopes: t.scopes,
        created_at_us: t.created_at,
        expires_at_us: t.expires_at,
        revoked_at_us: t.revoked_at.unwrap_or(0),
    }
}

impl AdminGrpc {
    /// The verified claims of the request's bearer token.
    async fn claims<T>(&self, request: &Request<T>) -> Result<Claims, IdentityError> {
        let token =
            docket_auth::bearer_token(request.metadata()).ok_or(IdentityError::Unauthenticated)?;
        let verifier = self.authority.verifier(now()).await?;
        Ok(verifier.verify(token)?)
    }

    /// An active agent, from a session or an API token with the `admin` scope.
    async fn agent_caller(&self, claims: Claims) -> Result<Caller, IdentityError> {
        match claims.kind {
            Kind::Agent => {}
            Kind::Customer => {
                return Err(IdentityError::PermissionDenied(
                    "customers cannot use the administration API".into(),
                ));
            }
            Kind::Service => {
                return Err(IdentityError::PermissionDenied(
                    "services cannot use the administration API".into(),
                ));
            }
        }
        let agent_id: AgentId = claims
            .sub
            .parse()
            .map_err(|_| IdentityError::Unauthenticated)?;
        // A token outlives a deactivation by minutes at most; administration does not wait.
        match self.store().get_agent(agent_id).await {
            Ok(agent) if agent.active => {}
            Ok(_) | Err(IdentityError::NotFound { .. }) => {
                return Err(IdentityError::Unauthenticated);
            }
            Err(e) => return Err(e),
        }
        Ok(Caller { claims, agent_id })
    }

    /// The caller of an administration call.
    async fn admin<T>(&self, request: &Request<T>) -> Result<Caller, IdentityError> {
        let claims = self.claims(request).await?;
        if claims.kind == Kind::Agent && !claims.has_scope(ADMIN_SCOPE) {
            return Err(IdentityError::PermissionDenied(format!(
                "this API token lacks the `{ADMIN_SCOPE}` scope the administration API needs"
            )));
        }
        self.agent_caller(claims).await
    }

    /// The caller of a self-service call: an agent's login session, not an API token.
    async fn me<T>(&self, request: &Request<T>) -> Result<Caller, IdentityError> {
        let claims = self.claims(request).await?;
        if claims.kind == Kind::Agent && claims.scopes.is_some() {
            return Err(IdentityError::PermissionDenied(
                "an API token cannot manage API tokens or the second factor; log in with a password"
                    .into(),
            ));
        }
        self.agent_caller(claims).await
    }

    /// A tenant the caller administers; NOT_FOUND for any other, existing or not.
    async fn tenant(&self, caller: &Caller, raw: &str) -> Result<Tenant, IdentityError> {
        let id: TenantId = parse_id("tenant_id", raw)?;
        if !caller.administers(id) {
            return Err(IdentityError::not_found("tenant", id));
        }
        self.store().get_tenant(id).await
    }

    async fn role(&self, caller: &Caller, raw: &str) -> Result<Role, IdentityError> {
        let id: RoleId = parse_id("role_id", raw)?;
        match self.store().get_role(id).await? {
            role if caller.administers(role.tenant_id) => Ok(role),
            _ => Err(IdentityError::not_found("role", id)),
        }
    }

    async fn group(&self, caller: &Caller, id: GroupId) -> Result<Group, IdentityError> {
        match self.store().get_group(id).await? {
            group if caller.administers(group.tenant_id) => Ok(group),
            _ => Err(IdentityError::not_found("group", id)),
        }
    }

    /// An agent of a tenant the caller administers (any agent for an installation administrator),
    /// with its memberships; NOT_FOUND otherwise.
    async fn visible_agent(
        &self,
        caller: &Caller,
        raw: &str,
    ) -> Result<(Agent, Vec<Membership>), IdentityError> {
        let id: AgentId = parse_id("agent_id", raw)?;
        let agent = self.store().get_agent(id).await?;
        let memberships = self.store().agent_memberships(id).await?;
        let visible = caller.is_installation_admin()
            || memberships.iter().any(|m| caller.administers(m.tenant_id));
        if !visible {
            return Err(IdentityError::not_found("agent", id));
        }
        Ok((agent, memberships))
    }

    /// An agent whose account (password, activation) the caller may change: it administers
    /// every tenant the agent belongs to; an installation administrator's account only another
    /// installation administrator changes.
    async fn manageable_agent(&self, caller: &Caller, raw: &str) -> Result<Agent, IdentityError> {
        let (agent, memberships) = self.visible_agent(caller, raw).await?;
        if caller.is_installation_admin() {
            return Ok(agent);
        }
        if agent.installation_admin {
            return Err(IdentityError::PermissionDenied(
                "only an installation administrator changes an installation administrator's account"
                    .into(),
            ));
        }
        if memberships.iter().any(|m| !caller.administers(m.tenant_id)) {
            return Err(IdentityError::PermissionDenied(format!(
                "agent {} also belongs to tenants you do not administer; ask an installation administrator",
                agent.id
            )));
        }
        Ok(agent)
    }

    /// The agent as the caller sees it: memberships of the tenants it administers, with the
    /// agent's merged permissions there.
    async fn agent_reply(
        &self,
        caller: &Caller,
        agent: Agent,
        memberships: Vec<Membership>,
    ) -> Result<pb::Agent, IdentityError> {
        let grants = self.store().agent_grants(agent.id, now()).await?;
        let shown = memberships
            .into_iter()
            .filter(|m| caller.administers(m.tenant_id))
            .map(|m| {
                let effective = grants.tenants.get(&m.tenant_id.to_string());
                pb::Membership {
                    tenant_id: m.tenant_id.to_string(),
                    role_ids: m.role_ids.iter().map(ToString::to_string).collect(),
                    permissions: perms_pb(&m.permissions),
                    tenant_admin: effective.is_some_and(|g| g.admin),
                    effective: effective.map(|g| perms_pb(&g.groups)).unwrap_or_default(),
                }
            })
            .collect();
        Ok(agent_pb(agent, shown))
    }

    /// Re-reads an agent after a change and answers it.
    async fn agent_after_change(
        &self,
        caller: &Caller,
        id: AgentId,
    ) -> Result<Response<pb::Agent>, Status> {
        let agent = self.store().get_agent(id).await?;
        let memberships = self.store().agent_memberships(id).await?;
        Ok(Response::new(
            self.agent_reply(caller, agent, memberships).await?,
        ))
    }

    /// Whether the agent is a member of the tenant; NOT_FOUND for the agent otherwise.
    async fn member_of(&self, raw: &str, tenant: TenantId) -> Result<AgentId, IdentityError> {
        let id: AgentId = parse_id("agent_id", raw)?;
        let member = self
            .store()
            .agent_memberships(id)
            .await?
            .iter()
            .any(|m| m.tenant_id == tenant);
        if member {
            Ok(id)
        } else {
            Err(IdentityError::not_found("agent", id))
        }
    }
}

#[tonic::async_trait]
impl IdentityAdminService for AdminGrpc {
    async fn create_tenant(
        &self,
        request: Request<pb::CreateTenantRequest>,
    ) -> Result<Response<pb::Tenant>, Status> {
        let caller = self.admin(&request).await?;
        caller.require_installation_admin()?;
        let r = request.into_inner();
        let tenant = NewTenant::parse(&r.slug, &r.name)?;
        let created = self.store().create_tenant(tenant, caller.actor()).await?;
        Ok(Response::new(tenant_pb(created)))
    }

    async fn list_tenants(
        &self,
        request: Request<pb::ListTenantsRequest>,
    ) -> Result<Response<pb::ListTenantsResponse>, Status> {
        let caller = self.admin(&request).await?;
        caller.require_installation_admin()?;
        let tenants = self.store().list_tenants().await?;
        Ok(Response::new(pb::ListTenantsResponse {
            tenants: tenants.into_iter().map(tenant_pb).collect(),
        }))
    }

    async fn get_tenant(
        &self,
        request: Request<pb::GetTenantRequest>,
    ) -> Result<Response<pb::Tenant>, Status> {
        let caller = self.admin(&request).await?;
        let tenant = self.tenant(&caller, &request.get_ref().tenant_id).await?;
        Ok(Response::new(tenant_pb(tenant)))
    }

    async fn create_group(
        &self,
        request: Request<pb::CreateGroupRequest>,
    ) -> Result<Response<pb::Group>, Status> {
        let caller = self.admin(&request).await?;
        let r = request.into_inner();
        let tenant = self.tenant(&caller, &r.tenant_id).await?;
        let group = self
            .store()
            .create_group(tenant.id, &r.name, caller.actor())
            .await?;
        Ok(Response::new(group_pb(group)))
    }

    async fn list_groups(
        &self,
        request: Request<pb::ListGroupsRequest>,
    ) -> Result<Response<pb::ListGroupsResponse>, Status> {
        let caller = self.admin(&request).await?;
        let tenant = self.tenant(&caller, &request.get_ref().tenant_id).await?;
        let groups = self.store().list_groups(tenant.id).await?;
        Ok(Response::new(pb::ListGroupsResponse {
            groups: groups.into_iter().map(group_pb).collect(),
        }))
    }

    async fn create_role(
        &self,
        request: Request<pb::CreateRoleRequest>,
    ) -> Result<Response<pb::Role>, Status> {
        let caller = self.admin(&request).await?;
        let r = request.into_inner();
        let tenant = self.tenant(&caller, &r.tenant_id).await?;
        let name = crate::domain::name("role name", &r.name, 100)?;
        // Everything is checked before the role is created, so a refused request changes nothing.
        let mut grants = Vec::with_capacity(r.permissions.len());
        for p in r.permissions {
            let (group_id, perms) = group_permissions(Some(p))?;
            let group = self.store().get_group(group_id).await;
            match group {
                Ok(g) if g.tenant_id == tenant.id => grants.push((group_id, perms)),
                Ok(_) | Err(IdentityError::NotFound { .. }) => {
                    return Err(IdentityError::not_found("group", group_id).into());
                }
                Err(e) => return Err(e.into()),
            }
        }
        let mut role = self
            .store()
            .create_role(tenant.id, &name, r.tenant_admin, caller.actor())
            .await?;
        for (group_id, perms) in grants {
            role = self
                .store()
                .set_role_permissions(role.id, group_id, perms, caller.actor())
                .await?;
        }
        Ok(Response::new(role_pb(role)))
    }

    async fn list_roles(
        &self,
        request: Request<pb::ListRolesRequest>,
    ) -> Result<Response<pb::ListRolesResponse>, Status> {
        let caller = self.admin(&request).await?;
        let tenant = self.tenant(&caller, &request.get_ref().tenant_id).await?;
        let roles = self.store().list_roles(tenant.id).await?;
        Ok(Response::new(pb::ListRolesResponse {
            roles: roles.into_iter().map(role_pb).collect(),
        }))
    }

    async fn set_role_permissions(
        &self,
        request: Request<pb::SetRolePermissionsRequest>,
    ) -> Result<Response<pb::Role>, Status> {
        let caller = self.admin(&request).await?;
        let r = request.into_inner();
        let role = self.role(&caller, &r.role_id).await?;
        let (group_id, perms) = group_permissions(r.permissions)?;
        // The store refuses a group of another tenant (NOT_FOUND).
        let role = self
            .store()
            .set_role_permissions(role.id, group_id, perms, caller.actor())
            .await?;
        Ok(Response::new(role_pb(role)))
    }

    async fn create_agent(
        &self,
        request: Request<pb::CreateAgentRequest>,
    ) -> Result<Response<pb::Agent>, Status> {
        let caller = self.admin(&request).await?;
        let r = request.into_inner();
        let tenant = self.tenant(&caller, &r.tenant_id).await?;
        let new = NewAgent {
            login: Login::parse(&r.login)?,
            name: crate::domain::name("name", &r.name, 200)?,
            email: optional_email(&r.email)?,
            password: Some(NewPassword::parse(&r.password)?),
        };
        let mut roles = Vec::with_capacity(r.role_ids.len());
        for raw in &r.role_ids {
            let role = self.role(&caller, raw).await?;
            if role.tenant_id != tenant.id {
                return Err(IdentityError::not_found("role", role.id).into());
            }
            roles.push(role.id);
        }
        let agent = self
            .store()
            .create_agent(new, Source::Local, caller.actor())
            .await?;
        self.store()
            .add_agent_to_tenant(agent.id, tenant.id, caller.actor())
            .await?;
        for role in roles {
            self.store()
                .assign_role(agent.id, role, caller.actor())
                .await?;
        }
        self.agent_after_change(&caller, agent.id).await
    }

    async fn get_agent(
        &self,
        request: Request<pb::GetAgentRequest>,
    ) -> Result<Response<pb::Agent>, Status> {
        let caller = self.admin(&request).await?;
        let (agent, memberships) = self
            .visible_agent(&caller, &request.get_ref().agent_id)
            .await?;
        Ok(Response::new(
            self.agent_reply(&caller, agent, memberships).await?,
        ))
    }

    async fn list_agents(
        &self,
        request: Request<pb::ListAgentsRequest>,
    ) -> Result<Response<pb::ListAgentsResponse>, Status> {
        let caller = self.admin(&request).await?;
        let tenant = self.tenant(&caller, &request.get_ref().tenant_id).await?;
        let agents = self.store().list_agents(tenant.id).await?;
        Ok(Response::new(pb::ListAgentsResponse {
            agents: agents.into_iter().map(|a| agent_pb(a, vec![])).collect(),
        }))
    }

    async fn add_agent_to_tenant(
        &self,
        request: Request<pb::AddAgentToTenantRequest>,
    ) -> Result<Response<pb::Agent>, Status> {
        let caller = self.admin(&request).await?;
        let r = request.into_inner();
        let tenant = self.tenant(&caller, &r.tenant_id).await?;
        let (agent, _) = self.visible_agent(&caller, &r.agent_id).await?;
        self.store()
            .add_agent_to_tenant(agent.id, tenant.id, caller.actor())
            .await?;
        self.agent_after_change(&caller, agent.id).await
    }

    async fn assign_role(
        &self,
        request: Request<pb::AgentRoleRequest>,
    ) -> Result<Response<pb::Agent>, Status> {
        let caller = self.admin(&request).await?;
        let r = request.into_inner();
        let (agent, _) = self.visible_agent(&caller, &r.agent_id).await?;
        let role = self.role(&caller, &r.role_id).await?;
        // The store refuses a role of a tenant the agent is not a member of.
        self.store()
            .assign_role(agent.id, role.id, caller.actor())
            .await?;
        self.agent_after_change(&caller, agent.id).await
    }

    async fn revoke_role(
        &self,
        request: Request<pb::AgentRoleRequest>,
    ) -> Result<Response<pb::Agent>, Status> {
        let caller = self.admin(&request).await?;
        let r = request.into_inner();
        let (agent, _) = self.visible_agent(&caller, &r.agent_id).await?;
        let role = self.role(&caller, &r.role_id).await?;
        self.store()
            .revoke_role(agent.id, role.id, caller.actor())
            .await?;
        self.agent_after_change(&caller, agent.id).await
    }

    async fn set_agent_permissions(
        &self,
        request: Request<pb::SetAgentPermissionsRequest>,
    ) -> Result<Response<pb::Agent>, Status> {
        let caller = self.admin(&request).await?;
        let r = request.into_inner();
        let (agent, _) = self.visible_agent(&caller, &r.agent_id).await?;
        let (group_id, perms) = group_permissions(r.permissions)?;
        let group = self.group(&caller, group_id).await?;
        // The store refuses a group of a tenant the agent is not a member of.
        self.store()
            .set_agent_permissions(agent.id, group.id, perms, caller.actor())
            .await?;
        self.agent_after_change(&caller, agent.id).await
    }

    async fn set_agent_password(
        &self,
        request: Request<pb::SetAgentPasswordRequest>,
    ) -> Result<Response<pb::Agent>, Status> {
        let caller = self.admin(&request).await?;
        let r = request.into_inner();
        let agent = self.manageable_agent(&caller, &r.agent_id).await?;
        if agent.source != Source::Local {
            return Err(IdentityError::invalid(
                "the agent logs in through LDAP: its password is managed in the directory",
            )
            .into());
        }
        let hash = crate::password::hash(&NewPassword::parse(&r.password)?)?;
        self.store()
            .set_agent_password(agent.id, &hash, caller.actor())
            .await?;
        self.agent_after_change(&caller, agent.id).await
    }

    async fn set_agent_active(
        &self,
        request: Request<pb::SetAgentActiveRequest>,
    ) -> Result<Response<pb::Agent>, Status> {
        let caller = self.admin(&request).await?;
        let r = request.into_inner();
        let agent = self.manageable_agent(&caller, &r.agent_id).await?;
        if agent.id == caller.agent_id && !r.active {
            return Err(IdentityError::invalid("you cannot deactivate your own account").into());
        }
        self.store()
            .set_agent_active(agent.id, r.active, caller.actor())
            .await?;
        self.agent_after_change(&caller, agent.id).await
    }

    async fn add_absence(
        &self,
        request: Request<pb::AddAbsenceRequest>,
    ) -> Result<Response<pb::Absence>, Status> {
        let caller = self.admin(&request).await?;
        let r = request.into_inner();
        let tenant = self.tenant(&caller, &r.tenant_id).await?;
        let agent = self.member_of(&r.agent_id, tenant.id).await?;
        let substitute = self.member_of(&r.substitute_id, tenant.id).await?;
        if r.starts_at_us <= 0 || r.ends_at_us <= 0 {
            return Err(IdentityError::invalid("an absence needs a start and an end").into());
        }
        let absence = self
            .store()
            .add_absence(
                agent,
                substitute,
                r.starts_at_us,
                r.ends_at_us,
                caller.actor(),
            )
            .await?;
        Ok(Response::new(absence_pb(absence)))
    }

    async fn list_absences(
        &self,
        request: Request<pb::ListAbsencesRequest>,
    ) -> Result<Response<pb::ListAbsencesResponse>, Status> {
        let caller = self.admin(&request).await?;
        let tenant = self.tenant(&caller, &request.get_ref().tenant_id).await?;
        let absences = self.store().list_absences(tenant.id).await?;
        Ok(Response::new(pb::ListAbsencesResponse {
            absences: absences.into_iter().map(absence_pb).collect(),
        }))
    }

    async fn create_company(
        &self,
        request: Request<pb::CreateCompanyRequest>,
    ) -> Result<Response<pb::Company>, Status> {
        let caller = self.admin(&request).await?;
        let r = request.into_inner();
        let tenant = self.tenant(&caller, &r.tenant_id).await?;
        let company = self
            .store()
            .create_company(tenant.id, &r.name, caller.actor())
            .await?;
        Ok(Response::new(company_pb(company)))
    }

    async fn list_companies(
        &self,
        request: Request<pb::ListCompaniesRequest>,
    ) -> Result<Response<pb::ListCompaniesResponse>, Status> {
        let caller = self.admin(&request).await?;
        let tenant = self.tenant(&caller, &request.get_ref().tenant_id).await?;
        let companies = self.store().list_companies(tenant.id).await?;
        Ok(Response::new(pb::ListCompaniesResponse {
            companies: companies.into_iter().map(company_pb).collect(),
        }))
    }

    async fn create_customer(
        &self,
        request: Request<pb::CreateCustomerRequest>,
    ) -> Result<Response<pb::Customer>, Status> {
        let caller = self.admin(&request).await?;
        let r = request.into_inner();
        let tenant = self.tenant(&caller, &r.tenant_id).await?;
        let company_id = if r.company_id.trim().is_empty() {
            None
        } else {
            Some(parse_id::<CompanyId>("company_id", &r.company_id)?)
        };
        if r.company_tickets && company_id.is_none() {
            return Err(IdentityError::invalid(
                "company_tickets needs a company: set company_id as well",
            )
            .into());
        }
        let password = if r.password.is_empty() {
            None
        } else {
            Some(NewPassword::parse(&r.password)?)
        };
        let new = NewCustomer {
            tenant_id: tenant.id,
            login: Login::parse(&r.login)?,
            name: crate::domain::name("name", &r.name, 200)?,
            email: optional_email(&r.email)?,
            phone: optional_text("phone", &r.phone, 40)?,
            company_id,
            company_tickets: r.company_tickets,
            password,
            language: optional_text("language", &r.language, 35)?,
        };
        // The store answers NOT_FOUND for a company of another tenant.
        let customer = self
            .store()
            .create_customer(new, Source::Local, caller.actor())
            .await?;
        Ok(Response::new(customer_pb(customer)))
    }

    async fn update_customer(
        &self,
        request: Request<pb::UpdateCustomerRequest>,
    ) -> Result<Response<pb::Customer>, Status> {
        let caller = self.admin(&request).await?;
        let r = request.into_inner();
        let id: CustomerId = parse_id("customer_id", &r.customer_id)?;
        let c = match self.store().get_customer(id).await? {
            c if caller.administers(c.tenant_id) => c,
            _ => return Err(IdentityError::not_found("customer", id).into()),
        };
        let company_id = match r.company_id.as_deref().map(str::trim) {
            None => c.company_id,
            Some("") => None,
            Some(raw) => Some(parse_id::<CompanyId>("company_id", raw)?),
        };
        // Leaving the company ends seeing its tickets, unless asked for (and then refused).
        let company_tickets = r
            .company_tickets
            .unwrap_or(c.company_tickets && company_id.is_some());
        if company_tickets && company_id.is_none() {
            return Err(IdentityError::invalid(
                "company_tickets needs a company: set company_id as well",
            )
            .into());
        }
        let password = match r.password.as_deref() {
            None | Some("") => None,
            Some(_) if c.source != Source::Local => {
                return Err(IdentityError::invalid(
                    "the customer signs in through the directory: change the password there",
                )
                .into());
            }
            Some(p) => Some(NewPassword::parse(p)?),
        };
        let update = CustomerUpdate {
            name: r.name.unwrap_or(c.name),
            email: match r.email {
                Some(e) => optional_email(&e)?,
                None => c.email,
            },
            phone: match r.phone {
                Some(p) => optional_text("phone", &p, 40)?,
                None => c.phone,
            },
            company_id,
            company_tickets,
            language: match r.language {
                Some(l) => optional_text("language", &l, 35)?,
                None => c.language,
            },
            active: r.active.unwrap_or(c.active),
            password,
        };
        // The store answers NOT_FOUND for a company of another tenant.
        let customer = self
            .store()
            .update_customer(id, update, caller.actor())
            .await?;
        Ok(Response::new(customer_pb(customer)))
    }

    async fn get_customer(
        &self,
        request: Request<pb::GetCustomerRequest>,
    ) -> Result<Response<pb::Customer>, Status> {
        let caller = self.admin(&request).await?;
        let id: CustomerId = parse_id("customer_id", &request.get_ref().customer_id)?;
        match self.store().get_customer(id).await? {
            c if caller.administers(c.tenant_id) => Ok(Response::new(customer_pb(c))),
            _ => Err(IdentityError::not_found("customer", id).into()),
        }
    }

    async fn list_customers(
        &self,
        request: Request<pb::ListCustomersRequest>,
    ) -> Result<Response<pb::ListCustomersResponse>, Status> {
        let caller = self.admin(&request).await?;
        let tenant = self.tenant(&caller, &request.get_ref().tenant_id).await?;
        let customers = self.store().list_customers(tenant.id).await?;
        Ok(Response::new(pb::ListCustomersResponse {
            customers: customers.into_iter().map(customer_pb).collect(),
        }))
    }

    async fn list_audit_log(
        &self,
        request: Request<pb::ListAuditLogRequest>,
    ) -> Result<Response<pb::ListAuditLogResponse>, Status> {
        let caller = self.admin(&request).await?;
        let r = request.into_inner();
        let tenant = self.tenant(&caller, &r.tenant_id).await?;
        let size = match r.page_size {
            0 => DEFAULT_AUDIT_PAGE,
            n if n <= MAX_AUDIT_PAGE => n,
            n => {
                return Err(IdentityError::invalid(format!(
                    "page_size {n} is not between 1 and {MAX_AUDIT_PAGE}"
                ))
                .into());
            }
        };
        let after = if r.page_token.is_empty() {
            None
        } else {
            Some(AuditCursor::parse(&r.page_token)?)
        };
        let page = self
            .store()
            .audit_page(tenant.id, after.as_ref(), i64::from(size))
            .await?;
        Ok(Response::new(pb::ListAuditLogResponse {
            entries: page.entries.into_iter().map(audit_pb).collect(),
            next_page_token: page.next.map(|c| c.encode()).unwrap_or_default(),
        }))
    }

    async fn issue_api_token(
        &self,
        request: Request<pb::IssueApiTokenRequest>,
    ) -> Result<Response<pb::IssuedApiToken>, Status> {
        let caller = self.me(&request).await?;
        let r = request.into_inner();
        let mut scopes: Vec<String> = r.scopes.iter().map(|s| s.trim().to_owned()).collect();
        scopes.sort();
        scopes.dedup();
        if scopes.len() > MAX_SCOPES || scopes.iter().any(|s| s.chars().count() > MAX_SCOPE_CHARS) {
            return Err(IdentityError::invalid(format!(
                "an API token has at most {MAX_SCOPES} scopes of at most {MAX_SCOPE_CHARS} characters"
            ))
            .into());
        }
        let (token, secret) = self
            .authority
            .issue_api_token(
                caller.agent_id,
                &r.name,
                scopes,
                i64::from(r.valid_days),
                caller.actor(),
                now(),
            )
            .await?;
        Ok(Response::new(pb::IssuedApiToken {
            token: Some(token_pb(token)),
            secret: secret.expose().to_owned(),
        }))
    }

    async fn list_api_tokens(
        &self,
        request: Request<pb::ListApiTokensRequest>,
    ) -> Result<Response<pb::ListApiTokensResponse>, Status> {
        let caller = self.me(&request).await?;
        let tokens = self.store().list_api_tokens(caller.agent_id).await?;
        Ok(Response::new(pb::ListApiTokensResponse {
            tokens: tokens.into_iter().map(token_pb).collect(),
        }))
    }

    async fn revoke_api_token(
        &self,
        request: Request<pb::RevokeApiTokenRequest>,
    ) -> Result<Response<pb::ApiToken>, Status> {
        let caller = self.me(&request).await?;
        let id = request.into_inner().token_id;
        let valid = id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit());
        if !valid {
            return Err(IdentityError::invalid(format!(
                "`{}` is not a valid API token id",
                id.chars().take(64).collect::<String>()
            ))
            .into());
        }
        let token = match self.store().get_api_token(&id).await? {
            Some(t) if t.agent_id == caller.agent_id => t,
            // Someone else's token is as unknown as a token that does not exist.
            _ => return Err(IdentityError::not_found("api token", id).into()),
        };
        if token.revoked_at.is_none() {
            self.store()
                .revoke_api_token(&id, now(), caller.actor())
                .await?;
        }
        let token = self
            .store()
            .get_api_token(&id)
            .await?
            .ok_or_else(|| IdentityError::not_found("api token", &id))?;
        Ok(Response::new(token_pb(token)))
    }

    async fn start_totp(
        &self,
        request: Request<pb::StartTotpRequest>,
    ) -> Result<Response<pb::StartTotpResponse>, Status> {
        let caller = self.me(&request).await?;
        let agent = self.store().get_agent(caller.agent_id).await?;
        if agent.source != Source::Local {
            return Err(IdentityError::Conflict(
                "the second factor is for local accounts; LDAP accounts use the directory's".into(),
            )
            .into());
        }
        if agent.totp_enabled {
            return Err(IdentityError::Conflict(
                "the second factor is enabled already; disable it first to enrol a new device"
                    .into(),
            )
            .into());
        }
        let secret = TotpSecret::generate();
        self.store()
            .set_pending_totp(agent.id, Some(&secret.to_base32()))
            .await?;
        Ok(Response::new(pb::StartTotpResponse {
            secret: secret.to_base32(),
            otpauth_uri: secret.provisioning_uri(TOTP_ISSUER, agent.login.as_str()),
        }))
    }

    async fn confirm_totp(
        &self,
        request: Request<pb::ConfirmTotpRequest>,
    ) -> Result<Response<pb::TotpStatus>, Status> {
        let caller = self.me(&request).await?;
        let code = request.into_inner().code;
        let pending = self
            .store()
            .pending_totp(caller.agent_id)
            .await?
            .ok_or_else(|| {
                IdentityError::Conflict(
                    "no second factor is being enrolled: start the enrolment first".into(),
                )
            })?;
        let secret = TotpSecret::from_base32(&pending).ok_or_else(|| {
            IdentityError::Corrupt(format!(
                "the pending TOTP secret of agent {} is not valid",
                caller.agent_id
            ))
        })?;
        let secs = u64::try_from(now() / 1_000_000).unwrap_or(0);
        let step = secret.verify(&code, secs, None).ok_or_else(|| {
            IdentityError::invalid(
                "the code does not match: enter the current 6-digit code of the authenticator app (is the device's clock right?)",
            )
        })?;
        self.store()
            .confirm_totp(caller.agent_id, &pending, step, caller.actor())
            .await?;
        Ok(Response::new(pb::TotpStatus { enabled: true }))
    }

    async fn disable_totp(
        &self,
        request: Request<pb::DisableTotpRequest>,
    ) -> Result<Response<pb::TotpStatus>, Status> {
        let caller = self.me(&request).await?;
        let code = request.into_inner().code;
        let agent = self.store().get_agent(caller.agent_id).await?;
        let credentials = self
            .store()
            .agent_credentials(&agent.login)
            .await?
            .ok_or_else(|| IdentityError::not_found("agent", agent.id))?;
        let Some(stored) = credentials.totp_secret else {
            return Err(IdentityError::Conflict("the second factor is not enabled".into()).into());
        };
        // Guessing codes with a stolen session is throttled like guessing passwords.
        let key = format!("totp:{}", agent.id);
        let at = now();
        if self.store().locked_until(&key, at).await?.is_some() {
            return Err(IdentityError::PermissionDenied(
                "too many wrong codes: try again in a quarter of an hour".into(),
            )
            .into());
        }
        let secret = TotpSecret::from_base32(&stored).ok_or_else(|| {
            IdentityError::Corrupt(format!(
                "the TOTP secret of agent {} is not valid",
                agent.id
            ))
        })?;
        let secs = u64::try_from(at / 1_000_000).unwrap_or(0);
        let accepted = match secret.verify(&code, secs, credentials.totp_last_step) {
            Some(step) => self.store().use_totp_step(agent.id, step).await?,
            None => false,
        };
        if !accepted {
            self.store().record_login_failure(&key, at).await?;
            return Err(IdentityError::invalid(
                "the code does not match: enter the current 6-digit code of the authenticator app",
            )
            .into());
        }
        self.store().clear_login_failures(&key).await?;
        self.store()
            .set_agent_totp(agent.id, None, caller.actor())
            .await?;
        Ok(Response::new(pb::TotpStatus { enabled: false }))
    }
}
