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
//!
//! Each section is a module (`tenants`, `roles`, `agents`, `customers`, `audit`, `self_service`)
//! that checks the caller, translates the request into domain values, calls the store and
//! translates the answer; the rules above are the helpers here.

mod agents;
mod audit;
mod customers;
mod roles;
mod self_service;
mod tenants;

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

/// The scope an API token needs for the administration calls.
pub const ADMIN_SCOPE: &str = "admin";

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

    /// Ends a person's sessions after a change to their password, activation or roles: the
    /// one path all three take.
    async fn end_sessions(
        &self,
        kind: PrincipalKind,
        principal_id: &str,
    ) -> Result<(), IdentityError> {
        self.authority.end_sessions(kind, principal_id, now()).await
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

impl AdminGrpc {
    /// The verified claims of the request's bearer token.
    async fn claims<T>(&self, request: &Request<T>) -> Result<Claims, IdentityError> {
        let token =
            docket_auth::bearer_token(request.metadata()).ok_or(IdentityError::Unauthenticated)?;
        let verifier = self.authority.verifier(now()).await?;
        let claims = verifier.verify(token)?;
        self.authority.check_session(&claims).await?;
        Ok(claims)
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
}

#[tonic::async_trait]
impl IdentityAdminService for AdminGrpc {
    async fn create_tenant(
        &self,
        request: Request<pb::CreateTenantRequest>,
    ) -> Result<Response<pb::Tenant>, Status> {
        tenants::create_tenant(self, request).await
    }

    async fn list_tenants(
        &self,
        request: Request<pb::ListTenantsRequest>,
    ) -> Result<Response<pb::ListTenantsResponse>, Status> {
        tenants::list_tenants(self, request).await
    }

    async fn get_tenant(
        &self,
        request: Request<pb::GetTenantRequest>,
    ) -> Result<Response<pb::Tenant>, Status> {
        tenants::get_tenant(self, request).await
    }

    async fn create_group(
        &self,
        request: Request<pb::CreateGroupRequest>,
    ) -> Result<Response<pb::Group>, Status> {
        tenants::create_group(self, request).await
    }

    async fn list_groups(
        &self,
        request: Request<pb::ListGroupsRequest>,
    ) -> Result<Response<pb::ListGroupsResponse>, Status> {
        tenants::list_groups(self, request).await
    }

    async fn create_role(
        &self,
        request: Request<pb::CreateRoleRequest>,
    ) -> Result<Response<pb::Role>, Status> {
        roles::create_role(self, request).await
    }

    async fn list_roles(
        &self,
        request: Request<pb::ListRolesRequest>,
    ) -> Result<Response<pb::ListRolesResponse>, Status> {
        roles::list_roles(self, request).await
    }

    async fn set_role_permissions(
        &self,
        request: Request<pb::SetRolePermissionsRequest>,
    ) -> Result<Response<pb::Role>, Status> {
        roles::set_role_permissions(self, request).await
    }

    async fn create_agent(
        &self,
        request: Request<pb::CreateAgentRequest>,
    ) -> Result<Response<pb::Agent>, Status> {
        agents::create_agent(self, request).await
    }

    async fn get_agent(
        &self,
        request: Request<pb::GetAgentRequest>,
    ) -> Result<Response<pb::Agent>, Status> {
        agents::get_agent(self, request).await
    }

    async fn list_agents(
        &self,
        request: Request<pb::ListAgentsRequest>,
    ) -> Result<Response<pb::ListAgentsResponse>, Status> {
        agents::list_agents(self, request).await
    }

    async fn add_agent_to_tenant(
        &self,
        request: Request<pb::AddAgentToTenantRequest>,
    ) -> Result<Response<pb::Agent>, Status> {
        agents::add_agent_to_tenant(self, request).await
    }

    async fn assign_role(
        &self,
        request: Request<pb::AgentRoleRequest>,
    ) -> Result<Response<pb::Agent>, Status> {
        agents::assign_role(self, request).await
    }

    async fn revoke_role(
        &self,
        request: Request<pb::AgentRoleRequest>,
    ) -> Result<Response<pb::Agent>, Status> {
        agents::revoke_role(self, request).await
    }

    async fn set_agent_permissions(
        &self,
        request: Request<pb::SetAgentPermissionsRequest>,
    ) -> Result<Response<pb::Agent>, Status> {
        agents::set_agent_permissions(self, request).await
    }

    async fn set_agent_password(
        &self,
        request: Request<pb::SetAgentPasswordRequest>,
    ) -> Result<Response<pb::Agent>, Status> {
        agents::set_agent_password(self, request).await
    }

    async fn set_agent_active(
        &self,
        request: Request<pb::SetAgentActiveRequest>,
    ) -> Result<Response<pb::Agent>, Status> {
        agents::set_agent_active(self, request).await
    }

    async fn add_absence(
        &self,
        request: Request<pb::AddAbsenceRequest>,
    ) -> Result<Response<pb::Absence>, Status> {
        agents::add_absence(self, request).await
    }

    async fn list_absences(
        &self,
        request: Request<pb::ListAbsencesRequest>,
    ) -> Result<Response<pb::ListAbsencesResponse>, Status> {
        agents::list_absences(self, request).await
    }

    async fn create_company(
        &self,
        request: Request<pb::CreateCompanyRequest>,
    ) -> Result<Response<pb::Company>, Status> {
        customers::create_company(self, request).await
    }

    async fn list_companies(
        &self,
        request: Request<pb::ListCompaniesRequest>,
    ) -> Result<Response<pb::ListCompaniesResponse>, Status> {
        customers::list_companies(self, request).await
    }

    async fn create_customer(
        &self,
        request: Request<pb::CreateCustomerRequest>,
    ) -> Result<Response<pb::Customer>, Status> {
        customers::create_customer(self, request).await
    }

    async fn update_customer(
        &self,
        request: Request<pb::UpdateCustomerRequest>,
    ) -> Result<Response<pb::Customer>, Status> {
        customers::update_customer(self, request).await
    }

    async fn get_customer(
        &self,
        request: Request<pb::GetCustomerRequest>,
    ) -> Result<Response<pb::Customer>, Status> {
        customers::get_customer(self, request).await
    }

    async fn list_customers(
        &self,
        request: Request<pb::ListCustomersRequest>,
    ) -> Result<Response<pb::ListCustomersResponse>, Status> {
        customers::list_customers(self, request).await
    }

    async fn list_audit_log(
        &self,
        request: Request<pb::ListAuditLogRequest>,
    ) -> Result<Response<pb::ListAuditLogResponse>, Status> {
        audit::list_audit_log(self, request).await
    }

    async fn issue_api_token(
        &self,
        request: Request<pb::IssueApiTokenRequest>,
    ) -> Result<Response<pb::IssuedApiToken>, Status> {
        self_service::issue_api_token(self, request).await
    }

    async fn list_api_tokens(
        &self,
        request: Request<pb::ListApiTokensRequest>,
    ) -> Result<Response<pb::ListApiTokensResponse>, Status> {
        self_service::list_api_tokens(self, request).await
    }

    async fn revoke_api_token(
        &self,
        request: Request<pb::RevokeApiTokenRequest>,
    ) -> Result<Response<pb::ApiToken>, Status> {
        self_service::revoke_api_token(self, request).await
    }

    async fn start_totp(
        &self,
        request: Request<pb::StartTotpRequest>,
    ) -> Result<Response<pb::StartTotpResponse>, Status> {
        self_service::start_totp(self, request).await
    }

    async fn confirm_totp(
        &self,
        request: Request<pb::ConfirmTotpRequest>,
    ) -> Result<Response<pb::TotpStatus>, Status> {
        self_service::confirm_totp(self, request).await
    }

    async fn disable_totp(
        &self,
        request: Request<pb::DisableTotpRequest>,
    ) -> Result<Response<pb::TotpStatus>, Status> {
        self_service::disable_totp(self, request).await
    }
}
