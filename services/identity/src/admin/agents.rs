//! Agents: accounts, membership, roles, own permissions, activation, and absences.

use docket_proto::identity::v1 as pb;
use tonic::{Request, Response, Status};

use super::{AdminGrpc, Caller, group_permissions, now, parse_id, perms_pb};
use crate::domain::*;
use crate::error::IdentityError;

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

impl AdminGrpc {
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

pub(super) async fn create_agent(
    grpc: &AdminGrpc,
    request: Request<pb::CreateAgentRequest>,
) -> Result<Response<pb::Agent>, Status> {
    let caller = grpc.admin(&request).await?;
    let r = request.into_inner();
    let tenant = grpc.tenant(&caller, &r.tenant_id).await?;
    let new = NewAgent {
        login: Login::parse(&r.login)?,
        name: crate::domain::name("name", &r.name, 200)?,
        email: optional_email(&r.email)?,
        password: Some(NewPassword::parse(&r.password)?),
    };
    let mut roles = Vec::with_capacity(r.role_ids.len());
    for raw in &r.role_ids {
        let role = grpc.role(&caller, raw).await?;
        if role.tenant_id != tenant.id {
            return Err(IdentityError::not_found("role", role.id).into());
        }
        roles.push(role.id);
    }
    let agent = grpc
        .store()
        .create_agent(new, Source::Local, caller.actor())
        .await?;
    grpc.store()
        .add_agent_to_tenant(agent.id, tenant.id, caller.actor())
        .await?;
    for role in roles {
        grpc.store()
            .assign_role(agent.id, role, caller.actor())
            .await?;
    }
    grpc.agent_after_change(&caller, agent.id).await
}

pub(super) async fn get_agent(
    grpc: &AdminGrpc,
    request: Request<pb::GetAgentRequest>,
) -> Result<Response<pb::Agent>, Status> {
    let caller = grpc.admin(&request).await?;
    let (agent, memberships) = grpc
        .visible_agent(&caller, &request.get_ref().agent_id)
        .await?;
    Ok(Response::new(
        grpc.agent_reply(&caller, agent, memberships).await?,
    ))
}

pub(super) async fn list_agents(
    grpc: &AdminGrpc,
    request: Request<pb::ListAgentsRequest>,
) -> Result<Response<pb::ListAgentsResponse>, Status> {
    let caller = grpc.admin(&request).await?;
    let tenant = grpc.tenant(&caller, &request.get_ref().tenant_id).await?;
    let agents = grpc.store().list_agents(tenant.id).await?;
    Ok(Response::new(pb::ListAgentsResponse {
        agents: agents.into_iter().map(|a| agent_pb(a, vec![])).collect(),
    }))
}

pub(super) async fn add_agent_to_tenant(
    grpc: &AdminGrpc,
    request: Request<pb::AddAgentToTenantRequest>,
) -> Result<Response<pb::Agent>, Status> {
    let caller = grpc.admin(&request).await?;
    let r = request.into_inner();
    let tenant = grpc.tenant(&caller, &r.tenant_id).await?;
    let (agent, _) = grpc.visible_agent(&caller, &r.agent_id).await?;
    grpc.store()
        .add_agent_to_tenant(agent.id, tenant.id, caller.actor())
        .await?;
    grpc.agent_after_change(&caller, agent.id).await
}

pub(super) async fn assign_role(
    grpc: &AdminGrpc,
    request: Request<pb::AgentRoleRequest>,
) -> Result<Response<pb::Agent>, Status> {
    change_role(grpc, request, true).await
}

pub(super) async fn revoke_role(
    grpc: &AdminGrpc,
    request: Request<pb::AgentRoleRequest>,
) -> Result<Response<pb::Agent>, Status> {
    change_role(grpc, request, false).await
}

/// Gives the agent the role (`assign`) or takes it away; both sides must be visible to the caller.
async fn change_role(
    grpc: &AdminGrpc,
    request: Request<pb::AgentRoleRequest>,
    assign: bool,
) -> Result<Response<pb::Agent>, Status> {
    let caller = grpc.admin(&request).await?;
    let r = request.into_inner();
    let (agent, _) = grpc.visible_agent(&caller, &r.agent_id).await?;
    let role = grpc.role(&caller, &r.role_id).await?;
    let store = grpc.store();
    if assign {
        // The store refuses a role of a tenant the agent is not a member of.
        store.assign_role(agent.id, role.id, caller.actor()).await?;
    } else {
        store.revoke_role(agent.id, role.id, caller.actor()).await?;
    }
    grpc.end_sessions(PrincipalKind::Agent, &agent.id.to_string())
        .await?;
    grpc.agent_after_change(&caller, agent.id).await
}

pub(super) async fn set_agent_permissions(
    grpc: &AdminGrpc,
    request: Request<pb::SetAgentPermissionsRequest>,
) -> Result<Response<pb::Agent>, Status> {
    let caller = grpc.admin(&request).await?;
    let r = request.into_inner();
    let (agent, _) = grpc.visible_agent(&caller, &r.agent_id).await?;
    let (group_id, perms) = group_permissions(r.permissions)?;
    let group = grpc.group(&caller, group_id).await?;
    // The store refuses a group of a tenant the agent is not a member of.
    grpc.store()
        .set_agent_permissions(agent.id, group.id, perms, caller.actor())
        .await?;
    grpc.agent_after_change(&caller, agent.id).await
}

pub(super) async fn set_agent_password(
    grpc: &AdminGrpc,
    request: Request<pb::SetAgentPasswordRequest>,
) -> Result<Response<pb::Agent>, Status> {
    let caller = grpc.admin(&request).await?;
    let r = request.into_inner();
    let agent = grpc.manageable_agent(&caller, &r.agent_id).await?;
    if agent.source != Source::Local {
        return Err(IdentityError::invalid(
            "the agent logs in through LDAP: its password is managed in the directory",
        )
        .into());
    }
    let hash = crate::password::hash(&NewPassword::parse(&r.password)?)?;
    grpc.store()
        .set_agent_password(agent.id, &hash, caller.actor())
        .await?;
    grpc.end_sessions(PrincipalKind::Agent, &agent.id.to_string())
        .await?;
    grpc.agent_after_change(&caller, agent.id).await
}

pub(super) async fn set_agent_active(
    grpc: &AdminGrpc,
    request: Request<pb::SetAgentActiveRequest>,
) -> Result<Response<pb::Agent>, Status> {
    let caller = grpc.admin(&request).await?;
    let r = request.into_inner();
    let agent = grpc.manageable_agent(&caller, &r.agent_id).await?;
    if agent.id == caller.agent_id && !r.active {
        return Err(IdentityError::invalid("you cannot deactivate your own account").into());
    }
    grpc.store()
        .set_agent_active(agent.id, r.active, caller.actor())
        .await?;
    if !r.active {
        grpc.end_sessions(PrincipalKind::Agent, &agent.id.to_string())
            .await?;
    }
    grpc.agent_after_change(&caller, agent.id).await
}

pub(super) async fn add_absence(
    grpc: &AdminGrpc,
    request: Request<pb::AddAbsenceRequest>,
) -> Result<Response<pb::Absence>, Status> {
    let caller = grpc.admin(&request).await?;
    let r = request.into_inner();
    let tenant = grpc.tenant(&caller, &r.tenant_id).await?;
    let agent = grpc.member_of(&r.agent_id, tenant.id).await?;
    let substitute = grpc.member_of(&r.substitute_id, tenant.id).await?;
    if r.starts_at_us <= 0 || r.ends_at_us <= 0 {
        return Err(IdentityError::invalid("an absence needs a start and an end").into());
    }
    let absence = grpc
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

pub(super) async fn list_absences(
    grpc: &AdminGrpc,
    request: Request<pb::ListAbsencesRequest>,
) -> Result<Response<pb::ListAbsencesResponse>, Status> {
    let caller = grpc.admin(&request).await?;
    let tenant = grpc.tenant(&caller, &request.get_ref().tenant_id).await?;
    let absences = grpc.store().list_absences(tenant.id).await?;
    Ok(Response::new(pb::ListAbsencesResponse {
        absences: absences.into_iter().map(absence_pb).collect(),
    }))
}
