//! The gRPC edge of the identity service.

use std::sync::Arc;

use docket_proto::identity::v1 as pb;
use docket_proto::identity::v1::identity_service_server::IdentityService;
use tonic::{Request, Response, Status};

use crate::authority::{Authority, LoginOutcome};
use crate::error::IdentityError;

pub struct IdentityGrpc {
    authority: Arc<Authority>,
}

impl IdentityGrpc {
    pub fn new(authority: Arc<Authority>) -> Self {
        Self { authority }
    }
}

fn now() -> i64 {
    docket_platform::time::now_micros()
}

#[tonic::async_trait]
impl IdentityService for IdentityGrpc {
    async fn login(
        &self,
        request: Request<pb::LoginRequest>,
    ) -> Result<Response<pb::LoginResponse>, Status> {
        let r = request.into_inner();
        let grant = match pb::PrincipalKind::try_from(r.kind) {
            Ok(pb::PrincipalKind::Agent) => {
                let code = (!r.totp_code.trim().is_empty()).then_some(r.totp_code.trim());
                match self
                    .authority
                    .login_agent(&r.login, &r.password, code, now())
                    .await?
                {
                    LoginOutcome::LoggedIn(grant) => grant,
                    LoginOutcome::SecondFactorRequired => {
                        return Ok(Response::new(pb::LoginResponse {
                            second_factor_required: true,
                            ..Default::default()
                        }));
                    }
                }
            }
            Ok(pb::PrincipalKind::Customer) => {
                let tenants = self.authority.store().list_tenants().await?;
                // An unknown tenant fails like a wrong password: nothing to learn from it.
                let tenant = tenants
                    .iter()
                    .find(|t| t.slug == r.tenant.trim() || t.id.to_string() == r.tenant.trim())
                    .ok_or_else(|| {
                        // As slow as a wrong password: timing does not tell which tenants exist.
                        crate::password::verify_dummy(&r.password);
                        IdentityError::LoginFailed
                    })?;
                self.authority
                    .login_customer(tenant.id, &r.login, &r.password, now())
                    .await?
            }
            _ => return Err(IdentityError::invalid("kind must be agent or customer").into()),
        };
        Ok(Response::new(pb::LoginResponse {
            session_secret: grant.session.expose().to_owned(),
            access_token: Some(pb::AccessToken {
                token: grant.access_token,
                expires_at_us: grant.expires_at,
            }),
            session_expires_at_us: 0,
            second_factor_required: false,
        }))
    }

    async fn refresh(
        &self,
        request: Request<pb::RefreshRequest>,
    ) -> Result<Response<pb::AccessToken>, Status> {
        let (token, expires_at_us) = self
            .authority
            .refresh(&request.into_inner().session_secret, now())
            .await?;
        Ok(Response::new(pb::AccessToken {
            token,
            expires_at_us,
        }))
    }

    async fn logout(
        &self,
        request: Request<pb::LogoutRequest>,
    ) -> Result<Response<pb::LogoutResponse>, Status> {
        self.authority
            .logout(&request.into_inner().session_secret, now())
            .await?;
        Ok(Response::new(pb::LogoutResponse {}))
    }

    async fn exchange_api_token(
        &self,
        request: Request<pb::ExchangeApiTokenRequest>,
    ) -> Result<Response<pb::AccessToken>, Status> {
        let (token, expires_at_us) = self
            .authority
            .exchange_api_token(&request.into_inner().api_token, now())
            .await?;
        Ok(Response::new(pb::AccessToken {
            token,
            expires_at_us,
        }))
    }

    async fn issue_service_token(
        &self,
        request: Request<pb::IssueServiceTokenRequest>,
    ) -> Result<Response<pb::AccessToken>, Status> {
        let r = request.into_inner();
        let (token, expires_at_us) = self
            .authority
            .issue_service_token(&r.service, &r.secret, now())
            .await?;
        Ok(Response::new(pb::AccessToken {
            token,
            expires_at_us,
        }))
    }

    async fn list_agent_contacts(
        &self,
        request: Request<pb::ListAgentContactsRequest>,
    ) -> Result<Response<pb::ListAgentContactsResponse>, Status> {
        let token = docket_auth::bearer_token(request.metadata())
            .ok_or(IdentityError::Unauthenticated)?
            .to_owned();
        let r = request.into_inner();
        let parse = |id: &str| {
            id.trim()
                .parse()
                .map_err(|_| IdentityError::invalid(format!("`{id}` is not an id")))
        };
        let tenant = parse(&r.tenant_id)?;
        let group = match r.group_id.trim() {
            "" => None,
            g => Some(
                g.parse()
                    .map_err(|_| IdentityError::invalid(format!("`{g}` is not a group id")))?,
            ),
        };
        let agent_ids = r
            .agent_ids
            .iter()
            .map(|a| {
                a.trim()
                    .parse()
                    .map_err(|_| IdentityError::invalid(format!("`{a}` is not an agent id")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let agents = self
            .authority
            .agent_contacts(&token, tenant, group, &agent_ids, now())
            .await?;
        Ok(Response::new(pb::ListAgentContactsResponse {
            agents: agents
                .into_iter()
                .map(|a| pb::AgentContact {
                    agent_id: a.id.to_string(),
                    login: a.login.as_str().to_owned(),
                    name: a.name,
                    email: a.email.unwrap_or_default(),
                })
                .collect(),
        }))
    }

    async fn get_jwks(
        &self,
        _: Request<pb::GetJwksRequest>,
    ) -> Result<Response<pb::GetJwksResponse>, Status> {
        let jwks = self.authority.jwks(now()).await?;
        let json =
            serde_json::to_string(&jwks).map_err(|e| IdentityError::Corrupt(e.to_string()))?;
        Ok(Response::new(pb::GetJwksResponse { jwks_json: json }))
    }

    async fn list_revoked_sessions(
        &self,
        _: Request<pb::ListRevokedSessionsRequest>,
    ) -> Result<Response<pb::ListRevokedSessionsResponse>, Status> {
        let session_ids = self.authority.revoked_sessions(now()).await?;
        Ok(Response::new(pb::ListRevokedSessionsResponse {
            session_ids,
        }))
    }
}
