//! Who the agents of a tenant are, and which of them may read a queue: the identity service owns
//! agents and their grants and ticket core keeps no copy of them, so it asks
//! (`IdentityService.ListAgentContacts`, with the caller's own token and trace context) when a
//! change names an agent on a ticket. The rule that uses the answer is
//! [`check_agents_named`](crate::domain::check_agents_named).
//!
//! Identity answers a service's token (e.g. the mail service's) with agents who have a mail
//! address only: a service cannot name an agent without one.

use std::collections::BTreeSet;
use std::time::Duration;

use async_trait::async_trait;
use docket_proto::identity::v1 as ipb;
use docket_proto::identity::v1::identity_service_client::IdentityServiceClient;
use tonic::transport::Channel;

use crate::domain::{AgentId, GroupId, TenantId};
use crate::error::TicketError;

/// The agents of a tenant as the identity service knows them.
#[async_trait]
pub trait AgentDirectory: Send + Sync + 'static {
    /// The active agents of `tenant` who may read the queues of `group` (`ro`), asked on behalf
    /// of the caller whose access token is `token`.
    async fn readers(
        &self,
        token: &str,
        tenant: TenantId,
        group: GroupId,
    ) -> Result<BTreeSet<AgentId>, TicketError>;
    /// Those of `agents` who are active agents of `tenant`, asked as above.
    async fn members(
        &self,
        token: &str,
        tenant: TenantId,
        agents: &[AgentId],
    ) -> Result<BTreeSet<AgentId>, TicketError>;
}

/// [`AgentDirectory`] over gRPC to the identity service.
pub struct IdentityAgents {
    identity: IdentityServiceClient<Channel>,
}

impl IdentityAgents {
    pub fn new(identity: IdentityServiceClient<Channel>) -> Self {
        Self { identity }
    }

    /// Over a lazily connecting channel to `endpoint`; a call gives up after 10 s.
    pub fn connect_lazy(endpoint: &str) -> Result<Self, tonic::transport::Error> {
        let channel = tonic::transport::Endpoint::from_shared(endpoint.to_owned())?
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10))
            .connect_lazy();
        Ok(Self::new(IdentityServiceClient::new(channel)))
    }
}

impl IdentityAgents {
    /// `ListAgentContacts` on behalf of the caller whose token is `token`: the agents' ids.
    async fn contacts(
        &self,
        token: &str,
        list: ipb::ListAgentContactsRequest,
    ) -> Result<BTreeSet<AgentId>, TicketError> {
        let tenant = list.tenant_id.clone();
        let mut request = tonic::Request::new(list);
        docket_auth::with_bearer(request.metadata_mut(), token);
        docket_platform::propagation::inject_into_metadata(request.metadata_mut());
        let answer = self
            .identity
            .clone()
            .list_agent_contacts(request)
            .await
            .map_err(|status| {
                TicketError::Unavailable(format!(
                    "the identity service did not list the agents of tenant {tenant}: {:?} {}",
                    status.code(),
                    status.message()
                ))
            })?;
        Ok(answer
            .into_inner()
            .agents
            .iter()
            .filter_map(|a| a.agent_id.parse().ok())
            .collect())
    }
}

#[async_trait]
impl AgentDirectory for IdentityAgents {
    async fn readers(
        &self,
        token: &str,
        tenant: TenantId,
        group: GroupId,
    ) -> Result<BTreeSet<AgentId>, TicketError> {
        // With a group and no agent ids: the active agents with `ro` on the group's queues.
        let list = ipb::ListAgentContactsRequest {
            tenant_id: tenant.to_string(),
            group_id: group.to_string(),
            agent_ids: Vec::new(),
        };
        self.contacts(token, list).await
    }

    async fn members(
        &self,
        token: &str,
        tenant: TenantId,
        agents: &[AgentId],
    ) -> Result<BTreeSet<AgentId>, TicketError> {
        // With agent ids and no group: those of them who are active agents of the tenant.
        let list = ipb::ListAgentContactsRequest {
            tenant_id: tenant.to_string(),
            group_id: String::new(),
            agent_ids: agents.iter().map(ToString::to_string).collect(),
        };
        self.contacts(token, list).await
    }
}
