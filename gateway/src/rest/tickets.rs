//! Tickets (`/tickets`): their representation and states, creating, reading and changing one,
//! bulk changes, merging and splitting, a ticket's history, and the lists of tickets (all, a
//! queue's) with sorting and paging.

use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use docket_proto::ticket::v1 as pb;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::articles::NewArticle;
use super::vocabulary::{StateType, TicketState};
use super::{Items, non_empty, time};
use crate::AppState;
use crate::caller::Api;
use crate::error::answers::{BadRequest, Forbidden, Invalid, NotFound, TooLarge};
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, Problem};
use crate::rest::Reply;
use crate::rest::timestamp::Timestamp;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_queue_tickets))
        .routes(routes!(create_ticket, list_tickets))
        .routes(routes!(get_ticket, update_ticket))
        .routes(routes!(get_history))
        .routes(routes!(bulk_update))
        .routes(routes!(merge_tickets))
        .routes(routes!(split_article))
}

/// The state type a REST name names; `UNSPECIFIED` for an unknown one, which ticket core
/// refuses as an invalid argument.
pub(crate) fn state_type_of(name: &str) -> i32 {
    StateType::named(name).map_or(pb::StateType::Unspecified.into(), StateType::to_pb)
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

impl From<pb::Ticket> for Ticket {
    fn from(t: pb::Ticket) -> Self {
        Self {
            state: TicketState::from_pb(t.state),
            state_type: StateType::name_of(t.state_type).to_owned(),
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
    pub desired_at: Option<Timestamp>,
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
              BadRequest, Forbidden,
              (status = 404, description = "unknown queue or customer", body = Problem),
              TooLarge, Invalid))]
async fn create_ticket(
    api: Api,
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
        desired_at_us: body.desired_at.map_or(0, Timestamp::micros),
    };
    let ticket = api.tickets().create_ticket(req).await?.into_inner();
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
    responses((status = 200, body = Ticket), NotFound, Invalid))]
async fn get_ticket(api: Api, ApiPath(ticket): ApiPath<String>) -> Reply<Ticket> {
    let t = api.tickets().ticket(&ticket).await?;
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
    pub pending_until: Option<Timestamp>,
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
    #[schema(value_type = Option<Timestamp>)]
    pub desired_at: Option<Option<Timestamp>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Timestamp>)]
    pub target_at: Option<Option<Timestamp>>,
    /// Replaces how to reach the customer (`rw`).
    pub contact: Option<Contact>,
    /// One of the tenant's own states instead of `state` (`rw`); it behaves as its base state.
    pub custom_state: Option<String>,
}

impl UpdateTicket {
    fn into_pb(self, ticket_id: String) -> pb::UpdateTicketRequest {
        pb::UpdateTicketRequest {
            ticket_id,
            expected_version: self.expected_version,
            state: self.state.map(TicketState::to_pb),
            pending_until_us: self.pending_until.map(Timestamp::micros),
            locked: self.locked,
            type_id: self.type_id.map(Option::unwrap_or_default),
            service_id: self.service_id.map(Option::unwrap_or_default),
            priority: self.priority,
            owner_id: self.owner_id.map(Option::unwrap_or_default),
            queue_id: self.queue_id,
            responsible_id: self.responsible_id.map(Option::unwrap_or_default),
            desired_at_us: self.desired_at.map(|t| t.map_or(0, Timestamp::micros)),
            target_at_us: self.target_at.map(|t| t.map_or(0, Timestamp::micros)),
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
    responses((status = 200, body = Items<BulkOutcome>), Invalid))]
async fn bulk_update(api: Api, ApiJson(body): ApiJson<BulkUpdate>) -> Reply<Items<BulkOutcome>> {
    let req = pb::BulkUpdateTicketsRequest {
        ticket_ids: body.ticket_ids,
        update: Some(body.update.into_pb(String::new())),
    };
    let r = api.tickets().bulk_update_tickets(req).await?.into_inner();
    Items::of(r.outcomes)
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
    responses((status = 200, body = MergeResult), Forbidden, NotFound,
              Invalid))]
async fn merge_tickets(
    api: Api,
    ApiPath(ticket_id): ApiPath<String>,
    ApiJson(body): ApiJson<Merge>,
) -> Reply<MergeResult> {
    let req = pb::MergeTicketsRequest {
        target_ticket_id: ticket_id,
        source_ticket_ids: body.source_ticket_ids,
    };
    let r = api.tickets().merge_tickets(req).await?.into_inner();
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
    responses((status = 201, body = Ticket), Forbidden, NotFound,
              Invalid))]
async fn split_article(
    api: Api,
    ApiPath(article_id): ApiPath<String>,
    ApiJson(body): ApiJson<Split>,
) -> Result<impl IntoResponse, ApiError> {
    let req = pb::SplitArticleRequest {
        article_id,
        queue_id: body.queue_id,
        title: body.title,
        priority: body.priority.unwrap_or(0),
    };
    let ticket = api.tickets().split_article(req).await?.into_inner();
    Ok((StatusCode::CREATED, axum::Json(Ticket::from(ticket))))
}

/// Changes a ticket's state and pending date (`rw`), priority and classification (`priority`), owner or queue (`rw`,
/// and `move_into` on the target), or locks it (`owner`) and unlocks it (its owner, or `rw`).
#[utoipa::path(patch, path = "/tickets/{ticket_id}", tag = "tickets", request_body = UpdateTicket,
    params(("ticket_id" = String, Path)),
    responses((status = 200, body = Ticket), Forbidden, NotFound,
              (status = 409, description = "changed meanwhile", body = Problem), Invalid))]
async fn update_ticket(
    api: Api,
    ApiPath(ticket_id): ApiPath<String>,
    ApiJson(body): ApiJson<UpdateTicket>,
) -> Reply<Ticket> {
    let req = body.into_pb(ticket_id);
    let t = api.tickets().update_ticket(req).await?.into_inner();
    Ok(axum::Json(Ticket::from(t)))
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
    responses((status = 200, body = Items<HistoryEntry>), Forbidden, NotFound))]
async fn get_history(api: Api, ApiPath(ticket_id): ApiPath<String>) -> Reply<Items<HistoryEntry>> {
    let r = api
        .tickets()
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
    responses((status = 200, body = TicketList), BadRequest, NotFound,
              Invalid))]
async fn list_queue_tickets(
    api: Api,
    ApiPath(queue_id): ApiPath<String>,
    ApiQuery(page): ApiQuery<TicketPage>,
) -> Reply<TicketList> {
    ticket_page(&api, queue_id, page).await.map(axum::Json)
}

/// Lists every ticket the caller sees, a page at a time: a customer's own (and their company's,
/// if allowed), an agent's queues, own tickets and those of absent agents they stand in for.
#[utoipa::path(get, path = "/tickets", tag = "tickets", params(TicketPage),
    responses((status = 200, body = TicketList), BadRequest, Invalid))]
async fn list_tickets(api: Api, ApiQuery(page): ApiQuery<TicketPage>) -> Reply<TicketList> {
    ticket_page(&api, String::new(), page).await.map(axum::Json)
}

async fn ticket_page(
    api: &Api,
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
    let r = api.tickets().list_tickets(req).await?.into_inner();
    Ok(TicketList {
        items: r.tickets.into_iter().map(Ticket::from).collect(),
        next_page_token: non_empty(r.next_page_token),
    })
}
