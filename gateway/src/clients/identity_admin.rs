//! The identity service's administration, called on behalf of a caller.

use std::ops::{Deref, DerefMut};

use docket_proto::identity::v1 as pb;
use docket_proto::identity::v1::identity_admin_service_client::IdentityAdminServiceClient;
use tonic::Status;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::AsCaller;

type Client = IdentityAdminServiceClient<InterceptedService<Channel, AsCaller>>;

/// The identity administration's client, bound to its caller like [`super::TicketApi`].
pub struct IdentityAdminApi(Client);

impl IdentityAdminApi {
    pub(crate) fn new(client: Client) -> Self {
        Self(client)
    }

    /// The tenants the caller administers.
    pub async fn tenants(&mut self) -> Result<Vec<pb::Tenant>, Status> {
        let req = pb::ListTenantsRequest {};
        Ok(self.list_tenants(req).await?.into_inner().tenants)
    }

    /// The tenant's groups.
    pub async fn groups(&mut self, tenant_id: &str) -> Result<Vec<pb::Group>, Status> {
        let req = pb::ListGroupsRequest {
            tenant_id: tenant_id.to_owned(),
        };
        Ok(self.list_groups(req).await?.into_inner().groups)
    }

    /// The tenant's roles.
    pub async fn roles(&mut self, tenant_id: &str) -> Result<Vec<pb::Role>, Status> {
        let req = pb::ListRolesRequest {
            tenant_id: tenant_id.to_owned(),
        };
        Ok(self.list_roles(req).await?.into_inner().roles)
    }

    /// The tenant's customer companies.
    pub async fn companies(&mut self, tenant_id: &str) -> Result<Vec<pb::Company>, Status> {
        let req = pb::ListCompaniesRequest {
            tenant_id: tenant_id.to_owned(),
        };
        Ok(self.list_companies(req).await?.into_inner().companies)
    }
}

impl Deref for IdentityAdminApi {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.0
    }
}

impl DerefMut for IdentityAdminApi {
    fn deref_mut(&mut self) -> &mut Client {
        &mut self.0
    }
}
