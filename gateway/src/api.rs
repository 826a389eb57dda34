//! The REST resources under `/api/v1`: the caller's tenants, queues, tickets, articles, history.
//! Ticket core decides what the caller sees and may change; this edge only translates.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use docket_proto::ticket::v1 as pb;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, Problem};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tenants))
        .routes(routes!(create_service, list_services))
        .routes(routes!(create_ticket_type, list_ticket_types))
        .routes(routes!(create_queue, list_queues))
        .routes(routes!(update_queue))
        .routes(routes!(list_queue_tickets))
        .routes(routes!(create_ticket, list_tickets))
        .routes(routes!(get_ticket, update_ticket))
        .routes(routes!(add_article, list_articles))
        .routes(routes!(get_attachment))
        .routes(routes!(get_history))
        .routes(routes!(bulk_update))
        .routes(routes!(merge_tickets))
        .routes(routes!(split_article))
        .routes(routes!(watch, unwatch))
        .routes(routes!(list_watchers))
        .routes(routes!(add_collaborator, remove_collaborator))
        .routes(routes!(list_collaborators))
        .routes(routes!(link_ticket, list_links))
        .routes(routes!(unlink_ticket))
}

pub(crate) fn time(us: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(us).unwrap_or_default()
}

/// A list of items.
#[derive(Debug, Serialize, ToSchema)]
pub struct Items<T> {
    pub items: Vec<T>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Tenant {
    pub id: String,
    /// Short, unique, URL-safe name.
    pub slug: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

impl From<pb::Tenant> for Tenant {
    fn from(t: pb::Tenant) -> Self {
        Self {
            id: t.id,
            slug: t.slug,
            name: t.name,
            created_at: time(t.created_at_us),
        }
    }
}

/// Lists the tenants the caller works in (administration: `/admin/tenants`).
#[utoipa::path(get, path = "/tenants", tag = "tenants", responses((status = 200, body = Items<Tenant>)))]
async fn list_tenants(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<axum::Json<Items<Tenant>>, ApiError> {
    let r = state
        .tickets(&principal)
        .list_tenants(pb::ListTenantsRequest {})
        .await?
        .into_inner();
    Ok(axum::Json(Items {
        items: r.tenants.into_iter().map(Tenant::from).collect(),
    }))
}

/// An entry of a tenant's service catalogue or list of ticket types.
#[derive(Debug, Serialize, ToSchema)]
pub struct CatalogueEntry {
    pub id: String,
    pub tenant_id: String,
    /// Services: the whole path, e.g. `E-Mail::Exchange`.
    pub name: String,
    /// Services: the parent's id.
    pub parent_id: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Services: customers may choose it in the portal (ticket types: always).
    pub portal: bool,
}

impl From<pb::CatalogueEntry> for CatalogueEntry {
    fn from(e: pb::CatalogueEntry) -> Self {
        Self {
            id: e.id,
            tenant_id: e.tenant_id,
            name: e.name,
            parent_id: non_empty(e.parent_id),
            created_at: time(e.created_at_us),
            portal: e.portal,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCatalogueEntry {
    /// Services: a path whose parent exists, e.g. `E-Mail::Exchange` after `E-Mail`.
    #[schema(example = "E-Mail::Exchange")]
    pub name: String,
    /// Services: offered to customers in the portal (default true). Ticket types ignore it.
    #[serde(default)]
    pub portal: Option<bool>,
}

/// Adds a service to the tenant's catalogue (the tenant's administrators).
#[utoipa::path(post, path = "/tenants/{tenant_id}/services", tag = "tenants", request_body = CreateCatalogueEntry,
    params(("tenant_id" = String, Path)),
    responses((status = 201, body = CatalogueEntry), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem), (status = 422, description = "bad name, or the parent is missing", body = Problem)))]
async fn create_service(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(tenant_id): ApiPath<String>,
    ApiJson(body): ApiJson<CreateCatalogueEntry>,
) -> Result<impl IntoResponse, ApiError> {
    create_entry(state, principal, Catalogue::Services, tenant_id, body).await
}

/// The tenant's service catalogue, by path.
#[utoipa::path(get, path = "/tenants/{tenant_id}/services", tag = "tenants", params(("tenant_id" = String, Path)),
    responses((status = 200, body = Items<CatalogueEntry>), (status = 404, body = Problem)))]
async fn list_services(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(tenant_id): ApiPath<String>,
) -> Result<axum::Json<Items<CatalogueEntry>>, ApiError> {
    list_entries(state, principal, Catalogue::Services, tenant_id).await
}

/// Adds a ticket type (the tenant's administrators).
#[utoipa::path(post, path = "/tenants/{tenant_id}/ticket-types", tag = "tenants", request_body = CreateCatalogueEntry,
    params(("tenant_id" = String, Path)),
    responses((status = 201, body = CatalogueEntry), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_ticket_type(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(tenant_id): ApiPath<String>,
    ApiJson(body): ApiJson<CreateCatalogueEntry>,
) -> Result<impl IntoResponse, ApiError> {
    create_entry(state, principal, Catalogue::TicketTypes, tenant_id, body).await
}

/// The tenant's ticket types (incident, service request, problem, security incident, …).
#[utoipa::path(get, path = "/tenants/{tenant_id}/ticket-types", tag = "tenants", params(("tenant_id" = String, Path)),
    responses((status = 200, body = Items<CatalogueEntry>), (status = 404, body = Problem)))]
async fn list_ticket_types(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(tenant_id): ApiPath<String>,
) -> Result<axum::Json<Items<CatalogueEntry>>, ApiError> {
    list_entries(state, principal, Catalogue::TicketTypes, tenant_id).await
}

/// Which of a tenant's classification lists a request is about.
#[derive(Clone, Copy)]
enum Catalogue {
    Services,
    TicketTypes,
}

async fn create_entry(
    state: AppState,
    principal: Principal,
    catalogue: Catalogue,
    tenant_id: String,
    body: CreateCatalogueEntry,
) -> Result<(StatusCode, axum::Json<CatalogueEntry>), ApiError> {
    let req = pb::CreateCatalogueEntryRequest {
        tenant_id,
        name: body.name,
        portal: body.portal,
    };
    let mut client = state.tickets(&principal);
    let entry = match catalogue {
        Catalogue::Services => client.create_service(req).await?,
        Catalogue::TicketTypes => client.create_ticket_type(req).await?,
    };
    Ok((
        StatusCode::CREATED,
        axum::Json(CatalogueEntry::from(entry.into_inner())),
    ))
}

async fn list_entries(
    state: AppState,
    principal: Principal,
    catalogue: Catalogue,
    tenant_id: String,
) -> Result<axum::Json<Items<CatalogueEntry>>, ApiError> {
    let req = pb::ListCatalogueRequest { tenant_id };
    let mut client = state.tickets(&principal);
    let list = match catalogue {
        Catalogue::Services => client.list_services(req).await?,
        Catalogue::TicketTypes => client.list_ticket_types(req).await?,
    };
    Ok(axum::Json(Items {
        items: list
            .into_inner()
            .entries
            .into_iter()
            .map(CatalogueEntry::from)
            .collect(),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Queue {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    /// The group whose permissions govern the queue.
    pub group_id: Option<String>,
    /// Customers may open tickets in it from the portal.
    pub portal: bool,
    /// The parent queue: names are paths, `2nd Level::Mail`.
    pub parent_id: Option<String>,
    /// Closes answers sent from the queue.
    pub signature: String,
    pub follow_up: FollowUp,
    /// Mail to these addresses lands in the queue; answers go out from the first.
    pub addresses: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub version: u64,
}

/// What a customer's reply to a closed ticket does: it reopens the ticket, opens a new ticket
/// linked to it, or is refused with a notice to open a new ticket.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, Default, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FollowUp {
    #[default]
    Reopen,
    NewTicket,
    Reject,
}

impl FollowUp {
    fn as_str(self) -> &'static str {
        match self {
            Self::Reopen => "reopen",
            Self::NewTicket => "new_ticket",
            Self::Reject => "reject",
        }
    }

    fn from_pb(s: &str) -> Self {
        match s {
            "new_ticket" => Self::NewTicket,
            "reject" => Self::Reject,
            _ => Self::Reopen,
        }
    }
}

impl From<pb::Queue> for Queue {
    fn from(q: pb::Queue) -> Self {
        Self {
            id: q.id,
            tenant_id: q.tenant_id,
            name: q.name,
            group_id: non_empty(q.group_id),
            portal: q.portal,
            parent_id: non_empty(q.parent_id),
            signature: q.signature,
            follow_up: FollowUp::from_pb(&q.follow_up),
            addresses: q.addresses,
            created_at: time(q.created_at_us),
            version: q.version,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateQueue {
    pub tenant_id: String,
    #[schema(example = "2nd Level::Mail")]
    pub name: String,
    /// The group of the tenant whose permissions govern the queue.
    pub group_id: String,
    /// Whether customers may open tickets in it from the portal (default: no).
    #[serde(default)]
    pub portal: bool,
    #[serde(default)]
    pub signature: String,
    /// Default: `reopen`.
    #[serde(default)]
    pub follow_up: FollowUp,
    /// Addresses mail to the queue arrives at; each belongs to one queue of the installation.
    #[serde(default)]
    #[schema(example = json!(["servicedesk@uni.example"]))]
    pub addresses: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QueueSettings {
    pub group_id: Option<String>,
    pub portal: Option<bool>,
    pub signature: Option<String>,
    pub follow_up: Option<FollowUp>,
    /// Replaces the queue's addresses (`[]` removes them all).
    pub addresses: Option<Vec<String>>,
}

/// Changes a queue's group, portal flag, signature, follow-up policy or addresses (the tenant's
/// administrators).
#[utoipa::path(patch, path = "/queues/{queue_id}", tag = "queues", request_body = QueueSettings, params(("queue_id" = String, Path)),
    responses((status = 200, body = Queue), (status = 403, description = "not an administrator of the tenant", body = Problem),
              (status = 404, body = Problem), (status = 409, description = "an address belongs to another queue", body = Problem),
              (status = 422, body = Problem)))]
async fn update_queue(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(queue_id): ApiPath<String>,
    ApiJson(body): ApiJson<QueueSettings>,
) -> Result<axum::Json<Queue>, ApiError> {
    let req = pb::UpdateQueueRequest {
        queue_id,
        group_id: body.group_id,
        portal: body.portal,
        signature: body.signature,
        follow_up: body.follow_up.map(|f| f.as_str().to_owned()),
        set_addresses: body.addresses.is_some(),
        addresses: body.addresses.unwrap_or_default(),
    };
    let queue = state
        .tickets(&principal)
        .update_queue(req)
        .await?
        .into_inner();
    Ok(axum::Json(Queue::from(queue)))
}

/// Creates a queue in a tenant (the tenant's administrators).
#[utoipa::path(post, path = "/queues", tag = "queues", request_body = CreateQueue,
    responses((status = 201, body = Queue), (status = 403, description = "not an administrator of the tenant", body = Problem),
              (status = 404, description = "unknown tenant or group", body = Problem),
              (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_queue(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<CreateQueue>,
) -> Result<impl IntoResponse, ApiError> {
    let req = pb::CreateQueueRequest {
        tenant_id: body.tenant_id,
        name: body.name,
        group_id: body.group_id,
        portal: body.portal,
        signature: body.signature,
        follow_up: body.follow_up.as_str().to_owned(),
        addresses: body.addresses,
    };
    let queue = state
        .tickets(&principal)
        .create_queue(req)
        .await?
        .into_inner();
    Ok((StatusCode::CREATED, axum::Json(Queue::from(queue))))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct QueueFilter {
    /// Only this tenant's queues.
    pub tenant_id: Option<String>,
}

/// Lists the queues the caller sees: those of groups they hold a permission on (all of a tenant
/// for its administrators); portal queues for customers.
#[utoipa::path(get, path = "/queues", tag = "queues", params(QueueFilter),
    responses((status = 200, body = Items<Queue>), (status = 422, body = Problem)))]
async fn list_queues(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(filter): ApiQuery<QueueFilter>,
) -> Result<axum::Json<Items<Queue>>, ApiError> {
    let req = pb::ListQueuesRequest {
        tenant_id: filter.tenant_id.unwrap_or_default(),
    };
    let r = state
        .tickets(&principal)
        .list_queues(req)
        .await?
        .into_inner();
    Ok(axum::Json(Items {
        items: r.queues.into_iter().map(Queue::from).collect(),
    }))
}

/// The states of Znuny/OTRS. `pending_*` states need `pending_until`; `merged` comes only from
/// merging.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum TicketState {
    New,
    Open,
    PendingReminder,
    PendingAutoCloseSuccessful,
    PendingAutoCloseUnsuccessful,
    ClosedSuccessful,
    ClosedUnsuccessful,
    Merged,
    Removed,
}

/// The REST states and their protobuf twins, in one table.
const STATES: [(TicketState, pb::TicketState); 9] = [
    (TicketState::New, pb::TicketState::New),
    (TicketState::Open, pb::TicketState::Open),
    (
        TicketState::PendingReminder,
        pb::TicketState::PendingReminder,
    ),
    (
        TicketState::PendingAutoCloseSuccessful,
        pb::TicketState::PendingAutoCloseSuccessful,
    ),
    (
        TicketState::PendingAutoCloseUnsuccessful,
        pb::TicketState::PendingAutoCloseUnsuccessful,
    ),
    (
        TicketState::ClosedSuccessful,
        pb::TicketState::ClosedSuccessful,
    ),
    (
        TicketState::ClosedUnsuccessful,
        pb::TicketState::ClosedUnsuccessful,
    ),
    (TicketState::Merged, pb::TicketState::Merged),
    (TicketState::Removed, pb::TicketState::Removed),
];

impl TicketState {
    pub(crate) fn from_pb(v: i32) -> Option<Self> {
        let p = pb::TicketState::try_from(v).ok()?;
        STATES.iter().find(|(_, x)| *x == p).map(|(s, _)| *s)
    }

    pub(crate) fn to_pb(self) -> pb::TicketState {
        STATES
            .iter()
            .find(|(s, _)| *s == self)
            .map_or(pb::TicketState::Unspecified, |(_, p)| *p)
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Ticket {
    pub id: String,
    pub tenant_id: String,
    /// The human-readable ticket number, e.g. `2026112210000017`.
    pub number: String,
    pub queue_id: String,
    pub title: String,
    pub state: Option<TicketState>,
    /// `new`, `open`, `pending_reminder`, `pending_auto`, `closed`, `merged` or `removed`.
    pub state_type: String,
    /// When a pending state is due.
    pub pending_until: Option<DateTime<Utc>>,
    /// Locked by its owner, who works on it.
    pub locked: bool,
    /// 1 (very low) to 5 (very high).
    pub priority: u32,
    /// The owning agent's id; never shown to customers.
    pub owner_id: Option<String>,
    /// How the customer was named when the ticket arrived (an address, a name).
    pub customer: Option<String>,
    /// The customer user the ticket is for.
    pub customer_id: Option<String>,
    /// The customer's company when the ticket was opened.
    pub company_id: Option<String>,
    /// Classification: the ticket type and the service.
    pub type_id: Option<String>,
    pub service_id: Option<String>,
    /// The agent responsible for the outcome (never shown to customers).
    pub responsible_id: Option<String>,
    /// When the requester wants it done, and the coordinator's target date (agents only).
    pub desired_at: Option<DateTime<Utc>>,
    pub target_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When it was closed; absent while it is not closed.
    pub closed_at: Option<DateTime<Utc>>,
    /// The ticket it was merged into (state `merged`).
    pub merged_into: Option<String>,
    /// How to reach the customer.
    pub contact: Contact,
    /// Time accounted on its articles, in minutes.
    pub time_minutes: u64,
    /// The tenant's own state it is in, if any; `state` is what it behaves as.
    pub custom_state: Option<String>,
    /// Kept past the retention period: a legal hold, the requester's objection (agents only).
    pub legal_hold: bool,
    pub retention_objection: bool,
    /// Tags (agents; only when one ticket is read).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Custom field values by key (agents; only when one ticket is read).
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub fields: std::collections::BTreeMap<String, Vec<String>>,
    /// Changes with every update; send it back as `expected_version` to avoid lost updates.
    pub version: u64,
}

pub(crate) fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

impl From<pb::Ticket> for Ticket {
    fn from(t: pb::Ticket) -> Self {
        Self {
            state: TicketState::from_pb(t.state),
            state_type: t.state_type,
            pending_until: (t.pending_until_us != 0).then(|| time(t.pending_until_us)),
            locked: t.locked,
            id: t.id,
            tenant_id: t.tenant_id,
            number: t.number,
            queue_id: t.queue_id,
            title: t.title,
            priority: t.priority,
            owner_id: non_empty(t.owner_id),
            customer: non_empty(t.customer),
            customer_id: non_empty(t.customer_id),
            company_id: non_empty(t.company_id),
            type_id: non_empty(t.type_id),
            service_id: non_empty(t.service_id),
            responsible_id: non_empty(t.responsible_id),
            desired_at: (t.desired_at_us != 0).then(|| time(t.desired_at_us)),
            target_at: (t.target_at_us != 0).then(|| time(t.target_at_us)),
            created_at: time(t.created_at_us),
            updated_at: time(t.updated_at_us),
            closed_at: (t.closed_at_us != 0).then(|| time(t.closed_at_us)),
            merged_into: non_empty(t.merged_into),
            contact: t.contact.map(Contact::from).unwrap_or_default(),
            time_minutes: t.time_minutes,
            legal_hold: t.legal_hold,
            retention_objection: t.retention_objection,
            custom_state: non_empty(t.custom_state),
            tags: t.tags,
            fields: t.fields.into_iter().map(|f| (f.key, f.values)).collect(),
            version: t.version,
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Sender {
    Customer,
    Agent,
    System,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Phone,
    Portal,
    Note,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewArticle {
    pub sender: Sender,
    pub channel: Channel,
    /// Whether the customer sees it; internal notes are not visible.
    #[serde(default)]
    pub visible_to_customer: bool,
    #[serde(default)]
    pub subject: String,
    pub body: String,
    /// At most 20 files, 10 MiB each and 20 MiB together.
    #[serde(default)]
    pub attachments: Vec<NewAttachment>,
    /// Time spent on it, in minutes (agents' time accounting).
    #[serde(default)]
    pub time_minutes: u32,
    /// A retry with the same key returns the article the first request made, instead of a
    /// second one (at most 200 characters).
    #[serde(default)]
    pub idempotency_key: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAttachment {
    #[schema(example = "error.log")]
    pub filename: String,
    /// What the file says it is; the bytes decide what it is served as.
    #[serde(default)]
    pub content_type: String,
    /// The file's bytes, base64 (standard alphabet, padded).
    pub content_base64: String,
}

impl NewArticle {
    fn into_pb(self) -> Result<pb::NewArticle, ApiError> {
        use base64::Engine as _;
        let attachments = self
            .attachments
            .into_iter()
            .map(|a| {
                let content = base64::engine::general_purpose::STANDARD
                    .decode(a.content_base64.trim())
                    .map_err(|_| ApiError::BadRequest {
                        status: StatusCode::UNPROCESSABLE_ENTITY,
                        detail: format!(
                            "attachment `{}`: content_base64 is not base64",
                            a.filename
                        ),
                    })?;
                Ok(pb::NewAttachment {
                    filename: a.filename,
                    content_type: a.content_type,
                    content,
                })
            })
            .collect::<Result<Vec<_>, ApiError>>()?;
        Ok(pb::NewArticle {
            sender: match self.sender {
                Sender::Customer => pb::SenderType::Customer,
                Sender::Agent => pb::SenderType::Agent,
                Sender::System => pb::SenderType::System,
            }
            .into(),
            channel: match self.channel {
                Channel::Email => pb::Channel::Email,
                Channel::Phone => pb::Channel::Phone,
                Channel::Portal => pb::Channel::Portal,
                Channel::Note => pb::Channel::Note,
            }
            .into(),
            visible_to_customer: self.visible_to_customer,
            subject: self.subject,
            body: self.body,
            attachments,
            time_minutes: self.time_minutes,
            idempotency_key: self.idempotency_key,
        })
    }
}

/// An attachment of an article, without its bytes (`GET /attachments/{id}` has them).
#[derive(Debug, Serialize, ToSchema)]
pub struct Attachment {
    pub id: String,
    pub filename: String,
    /// What the bytes are, which it is served as.
    pub content_type: String,
    /// What the sender said it was.
    pub declared_type: String,
    pub size: u64,
    pub sha256: String,
}

impl From<pb::Attachment> for Attachment {
    fn from(a: pb::Attachment) -> Self {
        Self {
            id: a.id,
            filename: a.filename,
            content_type: a.content_type,
            declared_type: a.declared_type,
            size: a.size,
            sha256: a.sha256,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Article {
    pub id: String,
    pub ticket_id: String,
    pub sender: Option<Sender>,
    pub channel: Option<Channel>,
    pub visible_to_customer: bool,
    pub subject: String,
    pub body: String,
    pub author: String,
    pub created_at: DateTime<Utc>,
    pub attachments: Vec<Attachment>,
    /// Time spent on it, in minutes.
    pub time_minutes: u32,
    /// How the mail it went out as fares (articles sent by mail).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery: Option<Delivery>,
}

/// The state of the mail an article went out as.
#[derive(Debug, Serialize, ToSchema)]
pub struct Delivery {
    /// `queued`, `retrying`, `sent` or `failed`.
    pub state: String,
    pub attempts: u32,
    /// The receiving server's last answer, or the error.
    pub detail: String,
    pub message_id: String,
    pub to: Vec<String>,
    pub updated_at: DateTime<Utc>,
}

impl From<pb::Delivery> for Delivery {
    fn from(d: pb::Delivery) -> Self {
        Self {
            state: d.state,
            attempts: d.attempts,
            detail: d.detail,
            message_id: d.message_id,
            to: d.to,
            updated_at: time(d.updated_at_us),
        }
    }
}

impl From<pb::Article> for Article {
    fn from(a: pb::Article) -> Self {
        Self {
            sender: match pb::SenderType::try_from(a.sender) {
                Ok(pb::SenderType::Customer) => Some(Sender::Customer),
                Ok(pb::SenderType::Agent) => Some(Sender::Agent),
                Ok(pb::SenderType::System) => Some(Sender::System),
                _ => None,
            },
            channel: match pb::Channel::try_from(a.channel) {
                Ok(pb::Channel::Email) => Some(Channel::Email),
                Ok(pb::Channel::Phone) => Some(Channel::Phone),
                Ok(pb::Channel::Portal) => Some(Channel::Portal),
                Ok(pb::Channel::Note) => Some(Channel::Note),
                _ => None,
            },
            id: a.id,
            ticket_id: a.ticket_id,
            visible_to_customer: a.visible_to_customer,
            subject: a.subject,
            body: a.body,
            author: a.author,
            created_at: time(a.created_at_us),
            attachments: a.attachments.into_iter().map(Attachment::from).collect(),
            time_minutes: a.time_minutes,
            delivery: a.delivery.map(Delivery::from),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTicket {
    pub queue_id: String,
    #[schema(example = "VPN does not connect")]
    pub title: String,
    /// 1 (very low) to 5 (very high); default 3.
    pub priority: Option<u32>,
    /// How the customer is named (an address, a name), as free text.
    pub customer: Option<String>,
    /// The customer user the ticket is for: they (and their company, if allowed) see it.
    pub customer_id: Option<String>,
    /// Classification: a ticket type and a service of the queue's tenant.
    pub type_id: Option<String>,
    pub service_id: Option<String>,
    /// Opens the ticket as a sub-ticket of this one (splitting a case; `rw` on the parent).
    pub parent_id: Option<String>,
    /// When the requester wants it done.
    pub desired_at: Option<DateTime<Utc>>,
    /// How to reach the customer (agents); default: from the customer user's record.
    pub contact: Option<Contact>,
    /// The first article, usually the customer's description.
    pub article: Option<NewArticle>,
}

/// How to reach a ticket's customer.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub phone: String,
    /// Company and department.
    #[serde(default)]
    pub organisation: String,
}

impl Contact {
    fn into_pb(self) -> pb::Contact {
        pb::Contact {
            name: self.name,
            email: self.email,
            phone: self.phone,
            organisation: self.organisation,
        }
    }
}

impl From<pb::Contact> for Contact {
    fn from(c: pb::Contact) -> Self {
        Self {
            name: c.name,
            email: c.email,
            phone: c.phone,
            organisation: c.organisation,
        }
    }
}

/// Creates a ticket; it gets its number and the state `new`. Agents need the `create`
/// permission on the queue; customers open tickets for themselves in portal queues (priority,
/// customer and the article's sender, channel and visibility are then set for them).
#[utoipa::path(post, path = "/tickets", tag = "tickets", request_body = CreateTicket,
    responses((status = 201, body = Ticket, headers(("Location" = String, description = "the ticket's URL"))),
              (status = 400, body = Problem), (status = 403, body = Problem),
              (status = 404, description = "unknown queue or customer", body = Problem),
              (status = 413, body = Problem), (status = 422, body = Problem)))]
async fn create_ticket(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<CreateTicket>,
) -> Result<impl IntoResponse, ApiError> {
    if body.priority == Some(0) {
        return Err(ApiError::BadRequest {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            detail: "priority 0 is not between 1 (very low) and 5 (very high)".into(),
        });
    }
    let req = pb::CreateTicketRequest {
        queue_id: body.queue_id,
        title: body.title,
        priority: body.priority.unwrap_or(0),
        customer: body.customer.unwrap_or_default(),
        article: body.article.map(NewArticle::into_pb).transpose()?,
        contact: body.contact.map(Contact::into_pb),
        customer_id: body.customer_id.unwrap_or_default(),
        type_id: body.type_id.unwrap_or_default(),
        service_id: body.service_id.unwrap_or_default(),
        parent_id: body.parent_id.unwrap_or_default(),
        desired_at_us: body.desired_at.map_or(0, |t| t.timestamp_micros()),
    };
    let ticket = state
        .tickets(&principal)
        .create_ticket(req)
        .await?
        .into_inner();
    let location = format!("/api/v1/tickets/{}", ticket.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        axum::Json(Ticket::from(ticket)),
    ))
}

/// Reads a ticket by its id or its number.
#[utoipa::path(get, path = "/tickets/{ticket_id}", tag = "tickets",
    params(("ticket_id" = String, Path, description = "the ticket's id or its number")),
    responses((status = 200, body = Ticket), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn get_ticket(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(ticket): ApiPath<String>,
) -> Result<axum::Json<Ticket>, ApiError> {
    let t = state
        .tickets(&principal)
        .get_ticket(pb::GetTicketRequest { ticket })
        .await?
        .into_inner();
    Ok(axum::Json(Ticket::from(t)))
}

/// Distinguishes an absent field (`None`) from an explicit `null` (`Some(None)`).
fn double_option<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTicket {
    /// Apply only if the ticket is still at this version; otherwise 409.
    pub expected_version: Option<u64>,
    pub state: Option<TicketState>,
    /// When a pending state is due: required when moving into a pending state.
    pub pending_until: Option<DateTime<Utc>>,
    /// Lock (taking the ticket, unless `owner_id` names another agent) or unlock.
    pub locked: Option<bool>,
    pub priority: Option<u32>,
    /// The owning agent's id; `null` clears it. Taking a ticket yourself needs the `owner`
    /// permission, giving it to another agent or releasing it `rw`.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub owner_id: Option<Option<String>>,
    /// Moves the ticket to this queue of the same tenant.
    pub queue_id: Option<String>,
    /// Classifies the ticket (the `priority` permission); `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub type_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub service_id: Option<Option<String>>,
    /// The responsible agent's id (`rw`); `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub responsible_id: Option<Option<String>>,
    /// The requester's desired date and the coordinator's target date (`rw`); `null` clears them.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub desired_at: Option<Option<DateTime<Utc>>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub target_at: Option<Option<DateTime<Utc>>>,
    /// Replaces how to reach the customer (`rw`).
    pub contact: Option<Contact>,
    /// One of the tenant's own states instead of `state` (`rw`); it behaves as its base state.
    pub custom_state: Option<String>,
}

impl UpdateTicket {
    fn into_pb(self, ticket_id: String) -> pb::UpdateTicketRequest {
        pb::UpdateTicketRequest {
            ticket_id,
            expected_version: self.expected_version.unwrap_or(0),
            state: self.state.map(|s| s.to_pb().into()),
            pending_until_us: self.pending_until.map(|t| t.timestamp_micros()),
            locked: self.locked,
            type_id: self.type_id.map(Option::unwrap_or_default),
            service_id: self.service_id.map(Option::unwrap_or_default),
            priority: self.priority,
            owner_id: self.owner_id.map(Option::unwrap_or_default),
            queue_id: self.queue_id,
            responsible_id: self.responsible_id.map(Option::unwrap_or_default),
            desired_at_us: self
                .desired_at
                .map(|t| t.map_or(0, |t| t.timestamp_micros())),
            target_at_us: self
                .target_at
                .map(|t| t.map_or(0, |t| t.timestamp_micros())),
            contact: self.contact.map(Contact::into_pb),
            custom_state: self.custom_state,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkUpdate {
    /// 1 to 500 ticket ids.
    pub ticket_ids: Vec<String>,
    /// The change for each of them (without `expected_version`).
    pub update: UpdateTicket,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BulkOutcome {
    pub ticket_id: String,
    /// The ticket after the change, when it was made.
    pub ticket: Option<Ticket>,
    /// Otherwise why not: the problem the change would have had alone.
    pub problem: Option<Problem>,
}

/// Makes the same change (move, assign, state, priority, lock, classification) to many tickets;
/// each is checked and recorded as if changed alone, and answered on its own.
#[utoipa::path(post, path = "/tickets/bulk", tag = "tickets", request_body = BulkUpdate,
    responses((status = 200, body = Items<BulkOutcome>), (status = 422, body = Problem)))]
async fn bulk_update(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<BulkUpdate>,
) -> Result<axum::Json<Items<BulkOutcome>>, ApiError> {
    let req = pb::BulkUpdateTicketsRequest {
        ticket_ids: body.ticket_ids,
        update: Some(body.update.into_pb(String::new())),
    };
    let r = state
        .tickets(&principal)
        .bulk_update_tickets(req)
        .await?
        .into_inner();
    Ok(axum::Json(Items {
        items: r.outcomes.into_iter().map(BulkOutcome::from).collect(),
    }))
}

impl From<pb::BulkOutcome> for BulkOutcome {
    fn from(o: pb::BulkOutcome) -> Self {
        Self {
            problem: (o.error_code != 0).then(|| {
                let status = tonic::Status::new(tonic::Code::from(o.error_code), o.error_message);
                ApiError::Upstream(status).to_problem()
            }),
            ticket_id: o.ticket_id,
            ticket: o.ticket.map(Ticket::from),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Merge {
    /// 1 to 500 tickets to merge into the one in the path, in this order.
    pub source_ticket_ids: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MergeResult {
    /// The ticket that remains, after every merge that succeeded.
    pub target: Option<Ticket>,
    /// One per source ticket: merged (its state is `merged`), or the problem why not.
    pub items: Vec<BulkOutcome>,
}

/// Merges tickets into this one (`rw` on each): their articles are copied onto it, each becomes
/// `merged`, points at it (`merged_into`) and keeps its own history; customers' replies to them
/// land here.
#[utoipa::path(post, path = "/tickets/{ticket_id}/merge", tag = "tickets", request_body = Merge,
    params(("ticket_id" = String, Path)),
    responses((status = 200, body = MergeResult), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 422, body = Problem)))]
async fn merge_tickets(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(ticket_id): ApiPath<String>,
    ApiJson(body): ApiJson<Merge>,
) -> Result<axum::Json<MergeResult>, ApiError> {
    let req = pb::MergeTicketsRequest {
        target_ticket_id: ticket_id,
        source_ticket_ids: body.source_ticket_ids,
    };
    let r = state
        .tickets(&principal)
        .merge_tickets(req)
        .await?
        .into_inner();
    Ok(axum::Json(MergeResult {
        target: r.target.map(Ticket::from),
        items: r.outcomes.into_iter().map(BulkOutcome::from).collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Split {
    /// The new ticket's queue (`create` there).
    pub queue_id: String,
    pub title: String,
    /// Default: the original ticket's priority.
    pub priority: Option<u32>,
}

/// Splits one article off into a new ticket, a child of the article's ticket (`rw` there); the
/// new ticket keeps the customer and classification.
#[utoipa::path(post, path = "/articles/{article_id}/split", tag = "tickets", request_body = Split,
    params(("article_id" = String, Path)),
    responses((status = 201, body = Ticket), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 422, body = Problem)))]
async fn split_article(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(article_id): ApiPath<String>,
    ApiJson(body): ApiJson<Split>,
) -> Result<impl IntoResponse, ApiError> {
    let req = pb::SplitArticleRequest {
        article_id,
        queue_id: body.queue_id,
        title: body.title,
        priority: body.priority.unwrap_or(0),
    };
    let ticket = state
        .tickets(&principal)
        .split_article(req)
        .await?
        .into_inner();
    Ok((StatusCode::CREATED, axum::Json(Ticket::from(ticket))))
}

/// Changes a ticket's state and pending date (`rw`), priority and classification (`priority`), owner or queue (`rw`,
/// and `move_into` on the target), or locks it (`owner`) and unlocks it (its owner, or `rw`).
#[utoipa::path(patch, path = "/tickets/{ticket_id}", tag = "tickets", request_body = UpdateTicket,
    params(("ticket_id" = String, Path)),
    responses((status = 200, body = Ticket), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, description = "changed meanwhile", body = Problem), (status = 422, body = Problem)))]
async fn update_ticket(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(ticket_id): ApiPath<String>,
    ApiJson(body): ApiJson<UpdateTicket>,
) -> Result<axum::Json<Ticket>, ApiError> {
    let req = body.into_pb(ticket_id);
    let t = state
        .tickets(&principal)
        .update_ticket(req)
        .await?
        .into_inner();
    Ok(axum::Json(Ticket::from(t)))
}

/// Adds an article (a reply, a note, a phone call) to a ticket. An internal note needs the
/// `note` permission, an article the customer sees `rw`; a customer's article is always theirs
/// and visible to them.
#[utoipa::path(post, path = "/tickets/{ticket_id}/articles", tag = "tickets", request_body = NewArticle,
    params(("ticket_id" = String, Path)),
    responses((status = 201, body = Article), (status = 403, body = Problem), (status = 404, body = Problem), (status = 413, body = Problem),
              (status = 422, body = Problem)))]
async fn add_article(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(ticket_id): ApiPath<String>,
    ApiJson(body): ApiJson<NewArticle>,
) -> Result<impl IntoResponse, ApiError> {
    let req = pb::AddArticleRequest {
        ticket_id,
        article: Some(body.into_pb()?),
    };
    let a = state
        .tickets(&principal)
        .add_article(req)
        .await?
        .into_inner();
    Ok((StatusCode::CREATED, axum::Json(Article::from(a))))
}

/// Lists a ticket's articles, oldest first (customers: only those visible to them).
#[utoipa::path(get, path = "/tickets/{ticket_id}/articles", tag = "tickets", params(("ticket_id" = String, Path)),
    responses((status = 200, body = Items<Article>), (status = 404, body = Problem)))]
async fn list_articles(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(ticket_id): ApiPath<String>,
) -> Result<axum::Json<Items<Article>>, ApiError> {
    let r = state
        .tickets(&principal)
        .list_articles(pb::ListArticlesRequest { ticket_id })
        .await?
        .into_inner();
    Ok(axum::Json(Items {
        items: r.articles.into_iter().map(Article::from).collect(),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryEntry {
    /// The ticket's version after this change.
    pub seq: u64,
    /// `created`, `article_added`, `updated`, …
    pub kind: String,
    pub actor: String,
    pub occurred_at: DateTime<Utc>,
    /// What changed (old and new values).
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

/// The ticket's append-only history: every change with who and when (agents only).
#[utoipa::path(get, path = "/tickets/{ticket_id}/history", tag = "tickets", params(("ticket_id" = String, Path)),
    responses((status = 200, body = Items<HistoryEntry>), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn get_history(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(ticket_id): ApiPath<String>,
) -> Result<axum::Json<Items<HistoryEntry>>, ApiError> {
    let r = state
        .tickets(&principal)
        .get_history(pb::GetHistoryRequest { ticket_id })
        .await?
        .into_inner();
    Ok(axum::Json(Items {
        items: r
            .entries
            .into_iter()
            .map(|e| HistoryEntry {
                seq: e.seq,
                kind: e.kind,
                actor: e.actor,
                occurred_at: time(e.occurred_at_us),
                details: serde_json::from_str(&e.details_json).unwrap_or(serde_json::Value::Null),
            })
            .collect(),
    }))
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, Default, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SortBy {
    #[default]
    CreatedAt,
    UpdatedAt,
    Priority,
}

impl SortBy {
    pub(crate) fn to_pb(self) -> pb::SortField {
        match self {
            Self::CreatedAt => pb::SortField::CreatedAt,
            Self::UpdatedAt => pb::SortField::UpdatedAt,
            Self::Priority => pb::SortField::Priority,
        }
    }

    pub(crate) fn from_pb(v: i32) -> Self {
        match pb::SortField::try_from(v) {
            Ok(pb::SortField::UpdatedAt) => Self::UpdatedAt,
            Ok(pb::SortField::Priority) => Self::Priority,
            _ => Self::CreatedAt,
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, Default, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Order {
    #[default]
    Asc,
    Desc,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TicketPage {
    /// Sort key; ties are broken by id.
    pub sort: Option<SortBy>,
    pub order: Option<Order>,
    /// 1 to 500; default 25.
    pub page_size: Option<u32>,
    /// `next_page_token` of the previous page.
    pub page_token: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TicketList {
    pub items: Vec<Ticket>,
    /// Pass as `page_token` for the next page; absent on the last page.
    pub next_page_token: Option<String>,
}

/// Lists a queue's tickets, a page at a time (oldest first by default).
#[utoipa::path(get, path = "/queues/{queue_id}/tickets", tag = "queues", params(("queue_id" = String, Path), TicketPage),
    responses((status = 200, body = TicketList), (status = 400, body = Problem), (status = 404, body = Problem),
              (status = 422, body = Problem)))]
async fn list_queue_tickets(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(queue_id): ApiPath<String>,
    ApiQuery(page): ApiQuery<TicketPage>,
) -> Result<axum::Json<TicketList>, ApiError> {
    ticket_page(&state, &principal, queue_id, page)
        .await
        .map(axum::Json)
}

/// Lists every ticket the caller sees, a page at a time: a customer's own (and their company's,
/// if allowed), an agent's queues, own tickets and those of absent agents they stand in for.
#[utoipa::path(get, path = "/tickets", tag = "tickets", params(TicketPage),
    responses((status = 200, body = TicketList), (status = 400, body = Problem), (status = 422, body = Problem)))]
async fn list_tickets(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(page): ApiQuery<TicketPage>,
) -> Result<axum::Json<TicketList>, ApiError> {
    ticket_page(&state, &principal, String::new(), page)
        .await
        .map(axum::Json)
}

async fn ticket_page(
    state: &AppState,
    principal: &Principal,
    queue_id: String,
    page: TicketPage,
) -> Result<TicketList, ApiError> {
    let req = pb::ListTicketsRequest {
        queue_id,
        sort: page.sort.unwrap_or_default().to_pb().into(),
        descending: matches!(page.order, Some(Order::Desc)),
        page_size: page.page_size.unwrap_or(0),
        page_token: page.page_token.unwrap_or_default(),
    };
    let r = state
        .tickets(principal)
        .list_tickets(req)
        .await?
        .into_inner();
    Ok(TicketList {
        items: r.tickets.into_iter().map(Ticket::from).collect(),
        next_page_token: non_empty(r.next_page_token),
    })
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum LinkKind {
    /// The ticket in the path is the parent.
    ParentChild,
    #[default]
    Related,
}

impl LinkKind {
    fn to_pb(self) -> pb::LinkKind {
        match self {
            Self::ParentChild => pb::LinkKind::ParentChild,
            Self::Related => pb::LinkKind::Related,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLink {
    pub target_ticket_id: String,
    #[serde(default)]
    pub kind: LinkKind,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct LinkQuery {
    /// `related` (default) or `parent_child` (the ticket in the path is the parent).
    pub kind: Option<LinkKind>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LinkedTicket {
    /// What the linked ticket is to this one: `parent`, `child` or `related`.
    pub relation: String,
    pub ticket_id: String,
    pub number: String,
    pub title: String,
    pub state: Option<TicketState>,
    pub state_type: String,
    pub queue_id: String,
    pub owner_id: Option<String>,
}

/// Links another ticket of the tenant to this one (`rw` on this one; the other must be visible).
#[utoipa::path(post, path = "/tickets/{ticket_id}/links", tag = "tickets", request_body = NewLink,
    params(("ticket_id" = String, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, description = "linked already, a second parent, or a cycle", body = Problem),
              (status = 422, body = Problem)))]
async fn link_ticket(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(ticket_id): ApiPath<String>,
    ApiJson(body): ApiJson<NewLink>,
) -> Result<StatusCode, ApiError> {
    let req = pb::LinkTicketsRequest {
        source_ticket_id: ticket_id,
        target_ticket_id: body.target_ticket_id,
        kind: body.kind.to_pb().into(),
    };
    state.tickets(&principal).link_tickets(req).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes a link.
#[utoipa::path(delete, path = "/tickets/{ticket_id}/links/{target_ticket_id}", tag = "tickets",
    params(("ticket_id" = String, Path), ("target_ticket_id" = String, Path), LinkQuery),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn unlink_ticket(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((ticket_id, target_ticket_id)): ApiPath<(String, String)>,
    ApiQuery(query): ApiQuery<LinkQuery>,
) -> Result<StatusCode, ApiError> {
    let req = pb::LinkTicketsRequest {
        source_ticket_id: ticket_id,
        target_ticket_id,
        kind: query.kind.unwrap_or_default().to_pb().into(),
    };
    state.tickets(&principal).unlink_tickets(req).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The tickets linked to this one that the caller sees, with their states: a parent shows its
/// children's progress.
#[utoipa::path(get, path = "/tickets/{ticket_id}/links", tag = "tickets", params(("ticket_id" = String, Path)),
    responses((status = 200, body = Items<LinkedTicket>), (status = 404, body = Problem)))]
async fn list_links(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(ticket_id): ApiPath<String>,
) -> Result<axum::Json<Items<LinkedTicket>>, ApiError> {
    let req = pb::ListLinksRequest { ticket_id };
    let r = state
        .tickets(&principal)
        .list_links(req)
        .await?
        .into_inner();
    Ok(axum::Json(Items {
        items: r
            .links
            .into_iter()
            .map(|l| LinkedTicket {
                state: TicketState::from_pb(l.state),
                relation: l.relation,
                ticket_id: l.ticket_id,
                number: l.number,
                title: l.title,
                state_type: l.state_type,
                queue_id: l.queue_id,
                owner_id: non_empty(l.owner_id),
            })
            .collect(),
    }))
}

/// The calling agent watches the ticket: it follows the ticket's changes (a default view).
#[utoipa::path(put, path = "/tickets/{ticket_id}/watchers/me", tag = "tickets", params(("ticket_id" = String, Path)),
    responses((status = 204), (status = 403, description = "not an agent", body = Problem), (status = 404, body = Problem)))]
async fn watch(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(ticket_id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    set_watching(state, principal, ticket_id, true).await
}

/// The calling agent stops watching the ticket.
#[utoipa::path(delete, path = "/tickets/{ticket_id}/watchers/me", tag = "tickets", params(("ticket_id" = String, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn unwatch(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(ticket_id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    set_watching(state, principal, ticket_id, false).await
}

async fn set_watching(
    state: AppState,
    principal: Principal,
    ticket_id: String,
    watch: bool,
) -> Result<StatusCode, ApiError> {
    let req = pb::WatchTicketRequest { ticket_id, watch };
    state.tickets(&principal).watch_ticket(req).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AgentIds {
    pub agent_ids: Vec<String>,
}

/// The agents watching the ticket (agents only).
#[utoipa::path(get, path = "/tickets/{ticket_id}/watchers", tag = "tickets", params(("ticket_id" = String, Path)),
    responses((status = 200, body = AgentIds), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn list_watchers(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(ticket_id): ApiPath<String>,
) -> Result<axum::Json<AgentIds>, ApiError> {
    let req = pb::ListWatchersRequest { ticket_id };
    let r = state
        .tickets(&principal)
        .list_watchers(req)
        .await?
        .into_inner();
    Ok(axum::Json(AgentIds {
        agent_ids: r.agent_ids,
    }))
}

/// Adds an agent working the ticket jointly with its owner (`rw`): they see it and may add
/// internal notes, whatever their queue permissions.
#[utoipa::path(put, path = "/tickets/{ticket_id}/collaborators/{agent_id}", tag = "tickets",
    params(("ticket_id" = String, Path), ("agent_id" = String, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn add_collaborator(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((ticket_id, agent_id)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    set_collaborator(state, principal, ticket_id, agent_id, true).await
}

/// Removes an agent from those working the ticket jointly (`rw`).
#[utoipa::path(delete, path = "/tickets/{ticket_id}/collaborators/{agent_id}", tag = "tickets",
    params(("ticket_id" = String, Path), ("agent_id" = String, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn remove_collaborator(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((ticket_id, agent_id)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    set_collaborator(state, principal, ticket_id, agent_id, false).await
}

async fn set_collaborator(
    state: AppState,
    principal: Principal,
    ticket_id: String,
    agent_id: String,
    collaborate: bool,
) -> Result<StatusCode, ApiError> {
    let req = pb::SetCollaboratorRequest {
        ticket_id,
        agent_id,
        collaborate,
    };
    state.tickets(&principal).set_collaborator(req).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The agents working the ticket jointly with its owner (agents only).
#[utoipa::path(get, path = "/tickets/{ticket_id}/collaborators", tag = "tickets", params(("ticket_id" = String, Path)),
    responses((status = 200, body = AgentIds), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn list_collaborators(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(ticket_id): ApiPath<String>,
) -> Result<axum::Json<AgentIds>, ApiError> {
    let req = pb::ListCollaboratorsRequest { ticket_id };
    let r = state
        .tickets(&principal)
        .list_collaborators(req)
        .await?
        .into_inner();
    Ok(axum::Json(AgentIds {
        agent_ids: r.agent_ids,
    }))
}

/// An attachment's bytes, served as what they are (`Content-Disposition: attachment`, never
/// sniffed by the browser); for whoever sees its article.
#[utoipa::path(get, path = "/attachments/{attachment_id}", tag = "tickets", params(("attachment_id" = String, Path)),
    responses((status = 200, description = "the file", content_type = "application/octet-stream"),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn get_attachment(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(attachment_id): ApiPath<String>,
) -> Result<impl IntoResponse, ApiError> {
    let r = state
        .tickets(&principal)
        .get_attachment(pb::GetAttachmentRequest { attachment_id })
        .await?
        .into_inner();
    let meta = r.attachment.unwrap_or_default();
    let content_type = header::HeaderValue::from_str(&meta.content_type)
        .unwrap_or(header::HeaderValue::from_static("application/octet-stream"));
    let disposition = header::HeaderValue::from_str(&format!(
        "attachment; filename*=UTF-8''{}",
        percent_encode(&meta.filename)
    ))
    .unwrap_or(header::HeaderValue::from_static("attachment"));
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_DISPOSITION, disposition),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                header::HeaderValue::from_static("nosniff"),
            ),
        ],
        r.content,
    ))
}

/// RFC 8187 encoding of a file name: unreserved characters as they are, the rest as %XX.
fn percent_encode(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
