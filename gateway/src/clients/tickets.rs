//! The ticket service, called on behalf of a caller.

use std::ops::{Deref, DerefMut};

use docket_proto::ticket::v1 as pb;
use docket_proto::ticket::v1::ticket_service_client::TicketServiceClient;
use tonic::Status;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::AsCaller;

type Client = TicketServiceClient<InterceptedService<Channel, AsCaller>>;

/// The ticket service's client, every call carrying its caller's token and trace context.
pub struct TicketApi(Client);

impl TicketApi {
    pub(crate) fn new(client: Client) -> Self {
        Self(client)
    }

    /// A ticket by id or number, as the caller may see it.
    pub async fn ticket(&mut self, ticket: &str) -> Result<pb::Ticket, Status> {
        let req = pb::GetTicketRequest {
            ticket: ticket.to_owned(),
        };
        Ok(self.get_ticket(req).await?.into_inner())
    }

    /// The ticket's articles the caller may read.
    pub async fn articles(&mut self, ticket_id: &str) -> Result<Vec<pb::Article>, Status> {
        let req = pb::ListArticlesRequest {
            ticket_id: ticket_id.to_owned(),
        };
        Ok(self.list_articles(req).await?.into_inner().articles)
    }

    /// The ticket's history.
    pub async fn history(&mut self, ticket_id: &str) -> Result<Vec<pb::HistoryEntry>, Status> {
        let req = pb::GetHistoryRequest {
            ticket_id: ticket_id.to_owned(),
        };
        Ok(self.get_history(req).await?.into_inner().entries)
    }

    /// The tenant's queues the caller sees (of every tenant for an empty id).
    pub async fn queues(&mut self, tenant_id: &str) -> Result<Vec<pb::Queue>, Status> {
        let req = pb::ListQueuesRequest {
            tenant_id: tenant_id.to_owned(),
        };
        Ok(self.list_queues(req).await?.into_inner().queues)
    }

    /// The tenant's custom fields.
    pub async fn fields(&mut self, tenant_id: &str) -> Result<Vec<pb::CustomField>, Status> {
        let req = pb::ListFieldsRequest {
            tenant_id: tenant_id.to_owned(),
        };
        Ok(self.list_fields(req).await?.into_inner().fields)
    }

    /// The tenant's own states and the built-in states a change may set.
    pub async fn states(&mut self, tenant_id: &str) -> Result<pb::ListStatesResponse, Status> {
        let req = pb::ListStatesRequest {
            tenant_id: tenant_id.to_owned(),
        };
        Ok(self.list_states(req).await?.into_inner())
    }

    /// The caller's views.
    pub async fn views(&mut self) -> Result<Vec<pb::View>, Status> {
        Ok(self
            .list_views(pb::ListViewsRequest {})
            .await?
            .into_inner()
            .views)
    }
}

impl Deref for TicketApi {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.0
    }
}

impl DerefMut for TicketApi {
    fn deref_mut(&mut self) -> &mut Client {
        &mut self.0
    }
}
