//! Ticket core (and the identity service's agent contacts) as the mail service sees them: over
//! gRPC, with the mail service's own token. Queue lookups are cached for a minute (addresses,
//! signatures and a tenant's queues change rarely).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use docket_auth::remote::ServiceToken;
use docket_proto::identity::v1 as ipb;
use docket_proto::identity::v1::identity_service_client::IdentityServiceClient;
use docket_proto::ticket::v1 as pb;
use docket_proto::ticket::v1::ticket_service_client::TicketServiceClient;
use tokio::sync::RwLock;
use tonic::transport::Channel;

use crate::error::MailError;

const CACHE_FOR: Duration = Duration::from_secs(60);

type Cache<T> = RwLock<HashMap<String, (Option<T>, Instant)>>;

pub struct Tickets {
    client: TicketServiceClient<Channel>,
    identity: IdentityServiceClient<Channel>,
    token: Arc<ServiceToken>,
    by_address: Cache<pb::Queue>,
    by_id: Cache<pb::Queue>,
    by_tenant: Cache<Vec<pb::Queue>>,
}

fn peer(status: tonic::Status) -> MailError {
    MailError::peer("ticket service", status)
}

impl Tickets {
    pub fn new(channel: Channel, identity: Channel, token: Arc<ServiceToken>) -> Self {
        Self {
            identity: IdentityServiceClient::new(identity),
            client: TicketServiceClient::new(channel)
                .max_decoding_message_size(docket_proto::MAX_MESSAGE_BYTES)
                .max_encoding_message_size(docket_proto::MAX_MESSAGE_BYTES),
            token,
            by_address: RwLock::new(HashMap::new()),
            by_id: RwLock::new(HashMap::new()),
            by_tenant: RwLock::new(HashMap::new()),
        }
    }

    async fn request<T>(&self, message: T) -> Result<tonic::Request<T>, MailError> {
        self.token.request(message).await.map_err(|status| {
            MailError::Unavailable(format!("service token: {}", status.message()))
        })
    }

    /// Calls ticket core with the service's token: `call` is the client's method for `message`.
    async fn call<M, T, F, Fut>(&self, message: M, call: F) -> Result<T, MailError>
    where
        F: FnOnce(TicketServiceClient<Channel>, tonic::Request<M>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    {
        let request = self.request(message).await?;
        let response = call(self.client.clone(), request).await.map_err(peer)?;
        Ok(response.into_inner())
    }

    async fn cached<T: Clone>(cache: &Cache<T>, key: &str) -> Option<Option<T>> {
        cache
            .read()
            .await
            .get(key)
            .filter(|(_, at)| at.elapsed() < CACHE_FOR)
            .map(|(value, _)| value.clone())
    }

    /// The queue an address belongs to, if any.
    pub async fn queue_by_address(&self, address: &str) -> Result<Option<pb::Queue>, MailError> {
        let key = address.trim().to_ascii_lowercase();
        if let Some(hit) = Self::cached(&self.by_address, &key).await {
            return Ok(hit);
        }
        let request = self
            .request(pb::ResolveAddressRequest {
                address: key.clone(),
            })
            .await?;
        let queue = match self.client.clone().resolve_address(request).await {
            Ok(r) => Some(r.into_inner()),
            Err(s)
                if matches!(
                    s.code(),
                    tonic::Code::NotFound | tonic::Code::InvalidArgument
                ) =>
            {
                None
            }
            Err(s) => return Err(peer(s)),
        };
        self.by_address
            .write()
            .await
            .insert(key, (queue.clone(), Instant::now()));
        Ok(queue)
    }

    /// A queue by id.
    pub async fn queue(&self, id: &str) -> Result<Option<pb::Queue>, MailError> {
        if let Some(hit) = Self::cached(&self.by_id, id).await {
            return Ok(hit);
        }
        let queues = self
            .call(pb::ListQueuesRequest::default(), |mut c, r| async move {
                c.list_queues(r).await
            })
            .await?
            .queues;
        let mut cache = self.by_id.write().await;
        let now = Instant::now();
        for q in &queues {
            cache.insert(q.id.clone(), (Some(q.clone()), now));
        }
        let found = queues.into_iter().find(|q| q.id == id);
        if found.is_none() {
            cache.insert(id.to_owned(), (None, now));
        }
        Ok(found)
    }

    /// The queues of a tenant (ListQueues for it). Cached for a minute, so a queue created
    /// meanwhile is found within a minute.
    pub async fn tenant_queues(&self, tenant_id: &str) -> Result<Vec<pb::Queue>, MailError> {
        if let Some(hit) = Self::cached(&self.by_tenant, tenant_id).await {
            return Ok(hit.unwrap_or_default());
        }
        let queues = self
            .call(
                pb::ListQueuesRequest {
                    tenant_id: tenant_id.to_owned(),
                },
                |mut c, r| async move { c.list_queues(r).await },
            )
            .await?
            .queues;
        self.by_tenant
            .write()
            .await
            .insert(tenant_id.to_owned(), (Some(queues.clone()), Instant::now()));
        Ok(queues)
    }

    /// A ticket by id or number, if it exists.
    pub async fn ticket(&self, key: &str) -> Result<Option<pb::Ticket>, MailError> {
        let request = self
            .request(pb::GetTicketRequest {
                ticket: key.to_owned(),
            })
            .await?;
        match self.client.clone().get_ticket(request).await {
            Ok(r) => Ok(Some(r.into_inner())),
            Err(s) if s.code() == tonic::Code::NotFound => Ok(None),
            Err(s) => Err(peer(s)),
        }
    }

    /// Whether the caller whose `authorization` this is may see ticket `ticket_id`: ticket core
    /// decides, on the caller's own token (not the service's).
    pub async fn ticket_seen_by(
        &self,
        authorization: &tonic::metadata::MetadataValue<tonic::metadata::Ascii>,
        ticket_id: &str,
    ) -> Result<bool, MailError> {
        let mut request = tonic::Request::new(pb::GetTicketRequest {
            ticket: ticket_id.to_owned(),
        });
        request
            .metadata_mut()
            .insert(docket_auth::caller::AUTHORIZATION, authorization.clone());
        match self.client.clone().get_ticket(request).await {
            Ok(_) => Ok(true),
            Err(s)
                if matches!(
                    s.code(),
                    tonic::Code::NotFound | tonic::Code::PermissionDenied
                ) =>
            {
                Ok(false)
            }
            Err(s) => Err(peer(s)),
        }
    }

    pub async fn create_ticket(
        &self,
        message: pb::CreateTicketRequest,
    ) -> Result<pb::Ticket, MailError> {
        self.call(message, |mut c, r| async move { c.create_ticket(r).await })
            .await
    }

    pub async fn add_article(
        &self,
        ticket_id: &str,
        article: pb::NewArticle,
    ) -> Result<pb::Article, MailError> {
        self.call(
            pb::AddArticleRequest {
                ticket_id: ticket_id.to_owned(),
                article: Some(article),
            },
            |mut c, r| async move { c.add_article(r).await },
        )
        .await
    }

    pub async fn articles(&self, ticket_id: &str) -> Result<Vec<pb::Article>, MailError> {
        self.call(
            pb::ListArticlesRequest {
                ticket_id: ticket_id.to_owned(),
            },
            |mut c, r| async move { c.list_articles(r).await },
        )
        .await
        .map(|r| r.articles)
    }

    pub async fn attachment(&self, id: &str) -> Result<pb::AttachmentContent, MailError> {
        self.call(
            pb::GetAttachmentRequest {
                attachment_id: id.to_owned(),
            },
            |mut c, r| async move { c.get_attachment(r).await },
        )
        .await
    }

    /// The templates offered in the ticket's queue.
    pub async fn templates(&self, ticket_id: &str) -> Result<Vec<pb::Template>, MailError> {
        self.call(
            pb::ListTemplatesRequest {
                tenant_id: String::new(),
                ticket_id: ticket_id.to_owned(),
            },
            |mut c, r| async move { c.list_templates(r).await },
        )
        .await
        .map(|r| r.templates)
    }

    pub async fn render(
        &self,
        template_id: &str,
        ticket_id: &str,
    ) -> Result<pb::RenderedTemplate, MailError> {
        self.call(
            pb::RenderTemplateRequest {
                template_id: template_id.to_owned(),
                ticket_id: ticket_id.to_owned(),
            },
            |mut c, r| async move { c.render_template(r).await },
        )
        .await
    }

    pub async fn record_delivery(
        &self,
        article_id: &str,
        delivery: pb::Delivery,
    ) -> Result<(), MailError> {
        self.call(
            pb::RecordDeliveryRequest {
                article_id: article_id.to_owned(),
                delivery: Some(delivery),
            },
            |mut c, r| async move { c.record_delivery(r).await },
        )
        .await?;
        Ok(())
    }

    /// Active agents of the tenant with a mail address: those named, and those who may read the
    /// group's queues.
    pub async fn agent_contacts(
        &self,
        tenant_id: &str,
        group_id: &str,
        agent_ids: Vec<String>,
    ) -> Result<Vec<ipb::AgentContact>, MailError> {
        let request = self
            .request(ipb::ListAgentContactsRequest {
                tenant_id: tenant_id.to_owned(),
                group_id: group_id.to_owned(),
                agent_ids,
            })
            .await?;
        Ok(self
            .identity
            .clone()
            .list_agent_contacts(request)
            .await
            .map_err(|s| MailError::peer("identity service", s))?
            .into_inner()
            .agents)
    }

    pub async fn tag(&self, ticket_id: &str, tag: &str) -> Result<(), MailError> {
        self.call(
            pb::TagTicketRequest {
                ticket_id: ticket_id.to_owned(),
                add: vec![tag.to_owned()],
                remove: Vec::new(),
            },
            |mut c, r| async move { c.tag_ticket(r).await },
        )
        .await?;
        Ok(())
    }
}
