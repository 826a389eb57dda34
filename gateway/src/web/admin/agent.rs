//! An agent's own page: roles, whether the agent may sign in, a new password.

use askama::Template;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::Response;
use docket_proto::identity::v1 as ipb;

use super::{AdminQuery, Item, Section, back_to_list, tenants};
use crate::web::portal::Choice;
use crate::web::{DeskForm, DeskPage, Page, Posted, Session, Texts, failure, render};

#[derive(Template)]
#[template(path = "desk/admin_agent.html")]
struct AgentPage<'a> {
    t: &'static Texts,
    session: Option<&'a Session>,
    tenant: String,
    item: Item,
    agent: ipb::Agent,
    /// The tenant's roles, ticked where the agent has them.
    roles: Vec<Choice>,
}

/// The roles an agent has in a tenant.
fn roles_in(agent: &ipb::Agent, tenant: &str) -> Vec<String> {
    agent
        .memberships
        .iter()
        .filter(|m| m.tenant_id == tenant)
        .flat_map(|m| m.role_ids.iter().cloned())
        .collect()
}

/// One agent: their roles in the tenant, whether they may sign in, a new password.
pub(super) async fn agent_page(
    Path(agent_id): Path<String>,
    Query(query): Query<AdminQuery>,
    Page { state, s, t, .. }: DeskPage,
) -> Result<Response, Response> {
    let loaded = async {
        let (tenant, _) = tenants(&state, &s, query.tenant.as_deref()).await?;
        let mut identity = state.identity_admin(&s.principal);
        let found = identity
            .get_agent(ipb::GetAgentRequest { agent_id })
            .await?
            .into_inner();
        let roles = identity.roles(&tenant).await?;
        Ok::<_, tonic::Status>((tenant, found, roles))
    }
    .await;
    let (tenant, found, roles) = loaded.map_err(|status| failure(t, Some(&s), status.into()))?;
    let has = roles_in(&found, &tenant);
    let page = AgentPage {
        t,
        session: Some(&s),
        item: Item::new(t, Section::Agents, t.agent, &found.id, &found.name),
        roles: roles
            .iter()
            .map(|r| Choice {
                value: r.id.clone(),
                label: r.name.clone(),
                selected: has.contains(&r.id),
            })
            .collect(),
        tenant,
        agent: found,
    };
    Ok(render(&page, StatusCode::OK))
}

/// Saves an agent as the form left them: grants the roles newly ticked and revokes those
/// unticked, sets a new password if one was given, and lets them sign in or no longer.
pub(super) async fn agent_save(
    Path(agent_id): Path<String>,
    Query(query): Query<AdminQuery>,
    Posted {
        state, s, t, form, ..
    }: DeskForm,
) -> Response {
    let saved = async {
        let (tenant, _) = tenants(&state, &s, query.tenant.as_deref()).await?;
        let mut identity = state.identity_admin(&s.principal);
        let found = identity
            .get_agent(ipb::GetAgentRequest {
                agent_id: agent_id.clone(),
            })
            .await?
            .into_inner();
        let had = roles_in(&found, &tenant);
        let wanted = form.all("roles");
        for role_id in wanted.iter().filter(|r| !had.contains(r)) {
            identity
                .assign_role(ipb::AgentRoleRequest {
                    agent_id: agent_id.clone(),
                    role_id: role_id.clone(),
                })
                .await?;
        }
        for role_id in had.iter().filter(|r| !wanted.contains(r)) {
            identity
                .revoke_role(ipb::AgentRoleRequest {
                    agent_id: agent_id.clone(),
                    role_id: role_id.clone(),
                })
                .await?;
        }
        // Taken as typed: a password may begin or end with a space.
        if let Some(password) = form.all("password").first().filter(|p| !p.is_empty()) {
            identity
                .set_agent_password(ipb::SetAgentPasswordRequest {
                    agent_id: agent_id.clone(),
                    password: password.clone(),
                })
                .await?;
        }
        let active = form.get("active") == "on";
        if active != found.active {
            identity
                .set_agent_active(ipb::SetAgentActiveRequest {
                    agent_id: agent_id.clone(),
                    active,
                })
                .await?;
        }
        Ok::<_, tonic::Status>(tenant)
    }
    .await;
    back_to_list(t, &s, Section::Agents, saved)
}
