//! The gRPC edge of ticket core: protobuf in, domain values out, and back.

use std::sync::Arc;

use docket_auth::Claims;
use docket_auth::remote::RemoteVerifier;
use docket_proto::ticket::v1 as pb;
use docket_proto::ticket::v1::ticket_service_server::TicketService;
use tonic::{Request, Response, Status};

use crate::domain::*;
use crate::error::TicketError;
use crate::storage::TicketStore;

/// The ticket service's gRPC edge. Every call must carry the caller's access token; the actor of
/// every change is the login it names.
pub struct TicketGrpc {
    store: Arc<dyn TicketStore>,
    auth: Arc<RemoteVerifier>,
}

impl TicketGrpc {
    pub fn new(store: Arc<dyn TicketStore>, auth: Arc<RemoteVerifier>) -> Self {
        Self { store, auth }
    }

    /// The verified caller of a request, or UNAUTHENTICATED.
    async fn caller<T>(&self, request: &Request<T>) -> Result<Claims, Status> {
        Ok(self.auth.caller(request.metadata()).await?)
    }

    async fn actor<T>(&self, request: &Request<T>) -> Result<Actor, Status> {
        let claims = self.caller(request).await?;
        Ok(Actor::new(&claims.login)?)
    }
}

fn parse_id<T: std::str::FromStr<Err = docket_platform::id::InvalidId>>(
    s: &str,
) -> Result<T, TicketError> {
    Ok(s.parse::<T>()?)
}

fn state_from_pb(value: i32) -> Result<TicketState, TicketError> {
    match pb::TicketState::try_from(value) {
        Ok(pb::TicketState::New) => Ok(TicketState::New),
        Ok(pb::TicketState::Open) => Ok(TicketState::Open),
        Ok(pb::TicketState::Closed) => Ok(TicketState::Closed),
        _ => Err(TicketError::invalid(format!(
            "ticket state {value} is not valid"
        ))),
    }
}

fn state_to_pb(state: TicketState) -> pb::TicketState {
    match state {
        TicketState::New => pb::TicketState::New,
        TicketState::Open => pb::TicketState::Open,
        TicketState::Closed => pb::TicketState::Closed,
    }
}

fn sender_from_pb(value: i32) -> Result<SenderType, TicketError> {
    match pb::SenderType::try_from(value) {
        Ok(pb::SenderType::Customer) => Ok(SenderType::Customer),
        Ok(pb::SenderType::Agent) => Ok(SenderType::Agent),
        Ok(pb::SenderType::System) => Ok(SenderType::System),
        _ => Err(TicketError::invalid(
            "article sender must be customer, agent or system",
        )),
    }
}

fn sender_to_pb(s: SenderType) -> pb::SenderType {
    match s {
        SenderType::Customer => pb::SenderType::Customer,
        SenderType::Agent => pb::SenderType::Agent,
        SenderType::System => pb::SenderType::System,
    }
}

fn channel_from_pb(value: i32) -> Result<Channel, TicketError> {
    match pb::Channel::try_from(value) {
        Ok(pb::Channel::Email) => Ok(Channel::Email),
        Ok(pb::Channel::Phone) => Ok(Channel::Phone),
        Ok(pb::Channel::Portal) => Ok(Channel::Portal),
        Ok(pb::Channel::Note) => Ok(Channel::Note),
        _ => Err(TicketError::invalid(
            "article channel must be email, phone, portal or note",
        )),
    }
}

fn channel_to_pb(c: Channel) -> pb::Channel {
    match c {
        Channel::Email => pb::Channel::Email,
        Channel::Phone => pb::Channel::Phone,
        Channel::Portal => pb::Channel::Portal,
        Channel::Note => pb::Channel::Note,
    }
}

fn new_article_from_pb(a: &pb::NewArticle) -> Result<NewArticle, TicketError> {
    NewArticle::parse(
        sender_from_pb(a.sender)?,
        channel_from_pb(a.channel)?,
        a.visible_to_customer,
        &a.subject,
        &a.body,
    )
}

pub fn ticket_to_pb(t: Ticket) -> pb::Ticket {
    pb::Ticket {
        id: t.id.to_string(),
        tenant_id: t.tenant_id.to_string(),
        number: t.number.to_string(),
        queue_id: t.queue_id.to_string(),
        title: t.title,
        state: state_to_pb(t.state).into(),
        priority: u32::from(t.priority.get()),
        owner: t.owner.unwrap_or_default(),
        customer: t.customer.unwrap_or_default(),
        created_at_us: t.created_at,
        updated_at_us: t.updated_at,
        version: t.version,
    }
}

fn article_to_pb(a: Article) -> pb::Article {
    pb::Article {
        id: a.id.to_string(),
        ticket_id: a.ticket_id.to_string(),
        sender: sender_to_pb(a.sender).into(),
        channel: channel_to_pb(a.channel).into(),
        visible_to_customer: a.visible_to_customer,
        subject: a.subject,
        body: a.body,
        author: a.author,
        created_at_us: a.created_at,
    }
}

fn tenant_to_pb(t: Tenant) -> pb::Tenant {
    pb::Tenant {
        id: t.id.to_string(),
        slug: t.slug,
        name: t.name,
        created_at_us: t.created_at,
    }
}

fn queue_to_pb(q: Queue) -> pb::Queue {
    pb::Queue {
        id: q.id.to_string(),
        tenant_id: q.tenant_id.to_string(),
        name: q.name,
        created_at_us: q.created_at,
    }
}

fn priority_from_pb(p: u32) -> Result<Option<Priority>, TicketError> {
    if p == 0 {
        Ok(None)
    } else {
        Priority::new(i64::from(p)).map(Some)
    }
}

#[tonic::async_trait]
impl TicketService for TicketGrpc {
    async fn create_tenant(
        &self,
        request: Request<pb::CreateTenantRequest>,
    ) -> Result<Response<pb::Tenant>, Status> {
        let actor = self.actor(&request).await?;
        let r = request.into_inner();
        let tenant = self
            .store
            .create_tenant(NewTenant::parse(&r.slug, &r.name)?, &actor)
            .await?;
        Ok(Response::new(tenant_to_pb(tenant)))
    }

    async fn list_tenants(
        &self,
        request: Request<pb::ListTenantsRequest>,
    ) -> Result<Response<pb::ListTenantsResponse>, Status> {
        self.caller(&request).await?;
        let tenants = self.store.list_tenants().await?;
        Ok(Response::new(pb::ListTenantsResponse {
            tenants: tenants.into_iter().map(tenant_to_pb).collect(),
        }))
    }

    async fn create_queue(
        &self,
        request: Request<pb::CreateQueueRequest>,
    ) -> Result<Response<pb::Queue>, Status> {
        let actor = self.actor(&request).await?;
        let r = request.into_inner();
        let queue = self
            .store
            .create_queue(parse_id(&r.tenant_id)?, &r.name, &actor)
            .await?;
        Ok(Response::new(queue_to_pb(queue)))
    }

    async fn list_queues(
        &self,
        request: Request<pb::ListQueuesRequest>,
    ) -> Result<Response<pb::ListQueuesResponse>, Status> {
        self.caller(&request).await?;
        let r = request.into_inner();
        let tenant = if r.tenant_id.is_empty() {
            None
        } else {
            Some(parse_id(&r.tenant_id)?)
        };
        let queues = self.store.list_queues(tenant).await?;
        Ok(Response::new(pb::ListQueuesResponse {
            queues: queues.into_iter().map(queue_to_pb).collect(),
        }))
    }

    async fn create_ticket(
        &self,
        request: Request<pb::CreateTicketRequest>,
    ) -> Result<Response<pb::Ticket>, Status> {
        let actor = self.actor(&request).await?;
        let r = request.into_inner();
        let article = r.article.as_ref().map(new_article_from_pb).transpose()?;
        let new = NewTicket::parse(
            parse_id(&r.queue_id)?,
            &r.title,
            priority_from_pb(r.priority)?,
            &r.customer,
            article,
        )?;
        let ticket = self.store.create_ticket(new, &actor).await?;
        Ok(Response::new(ticket_to_pb(ticket)))
    }

    async fn get_ticket(
        &self,
        request: Request<pb::GetTicketRequest>,
    ) -> Result<Response<pb::Ticket>, Status> {
        self.caller(&request).await?;
        let key = request.into_inner().ticket;
        let ticket = match key.parse::<TicketId>() {
            Ok(id) => self.store.get_ticket(id).await?,
            Err(_) => match key.parse::<TicketNumber>() {
                Ok(number) => self.store.get_ticket_by_number(&number).await?,
                Err(_) => {
                    return Err(TicketError::invalid(format!(
                        "`{}` is neither a ticket id nor a ticket number",
                        key.chars().take(40).collect::<String>()
                    ))
                    .into());
                }
            },
        };
        Ok(Response::new(ticket_to_pb(ticket)))
    }

    async fn list_tickets(
        &self,
        request: Request<pb::ListTicketsRequest>,
    ) -> Result<Response<pb::ListTicketsResponse>, Status> {
        self.caller(&request).await?;
        let r = request.into_inner();
        let sort = match pb::SortField::try_from(r.sort) {
            Ok(pb::SortField::Unspecified | pb::SortField::CreatedAt) => SortField::CreatedAt,
            Ok(pb::SortField::UpdatedAt) => SortField::UpdatedAt,
            Ok(pb::SortField::Priority) => SortField::Priority,
            Err(_) => return Err(TicketError::invalid("unknown sort field").into()),
        };
        let query = TicketListQuery {
            queue_id: parse_id(&r.queue_id)?,
            sort,
            descending: r.descending,
            page_size: r.page_size,
            page_token: (!r.page_token.is_empty()).then_some(r.page_token),
        };
        let page = self.store.list_tickets(&query).await?;
        Ok(Response::new(pb::ListTicketsResponse {
            tickets: page.items.into_iter().map(ticket_to_pb).collect(),
            next_page_token: page.next_page_token.unwrap_or_default(),
        }))
    }

    async fn add_article(
        &self,
        request: Request<pb::AddArticleRequest>,
    ) -> Result<Response<pb::Article>, Status> {
        let actor = self.actor(&request).await?;
        let r = request.into_inner();
        let article = r
            .article
            .as_ref()
            .ok_or_else(|| TicketError::invalid("article is required"))?;
        let stored = self
            .store
            .add_article(
                parse_id(&r.ticket_id)?,
                new_article_from_pb(article)?,
                &actor,
            )
            .await?;
        Ok(Response::new(article_to_pb(stored)))
    }

    async fn list_articles(
        &self,
        request: Request<pb::ListArticlesRequest>,
    ) -> Result<Response<pb::ListArticlesResponse>, Status> {
        self.caller(&request).await?;
        let id = parse_id(&request.into_inner().ticket_id)?;
        let articles = self.store.list_articles(id).await?;
        Ok(Response::new(pb::ListArticlesResponse {
            articles: articles.into_iter().map(article_to_pb).collect(),
        }))
    }

    async fn update_ticket(
        &self,
        request: Request<pb::UpdateTicketRequest>,
    ) -> Result<Response<pb::Ticket>, Status> {
        let actor = self.actor(&request).await?;
        let r = request.into_inner();
        let update = TicketUpdate {
            expected_version: (r.expected_version != 0).then_some(r.expected_version),
            state: r.state.map(state_from_pb).transpose()?,
            priority: match r.priority {
                Some(p) => Some(Priority::new(i64::from(p))?),
                None => None,
            },
            owner: r.owner.map(|o| (!o.trim().is_empty()).then_some(o)),
            queue_id: r.queue_id.as_deref().map(parse_id).transpose()?,
        };
        let ticket = self
            .store
            .update_ticket(parse_id(&r.ticket_id)?, update, &actor)
            .await?;
        Ok(Response::new(ticket_to_pb(ticket)))
    }

    async fn get_history(
        &self,
        request: Request<pb::GetHistoryRequest>,
    ) -> Result<Response<pb::GetHistoryResponse>, Status> {
        self.caller(&request).await?;
        let id = parse_id(&request.into_inner().ticket_id)?;
        let entries = self.store.history(id).await?;
        Ok(Response::new(pb::GetHistoryResponse {
            entries: entries
                .into_iter()
                .map(|e| pb::HistoryEntry {
                    seq: e.seq,
                    kind: e.kind,
                    actor: e.actor,
                    occurred_at_us: e.occurred_at,
                    details_json: e.details.to_string(),
                })
                .collect(),
        }))
    }
}
