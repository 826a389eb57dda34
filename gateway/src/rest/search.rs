//! Ticket search over REST: filters and full text (`POST /tickets/search`), the agent's views —
//! the default ones and saved searches — and their tickets.

use axum::http::StatusCode;
use axum::response::IntoResponse;

use docket_proto::ticket::v1 as pb;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::caller::Api;
use crate::error::answers::{Forbidden, Invalid, NotFound};
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, Problem};
use crate::rest::Reply;
use crate::rest::tickets::{Order, SortBy, Ticket, TicketList, TicketPage, state_type_of};
use crate::rest::timestamp::Timestamp;
use crate::rest::vocabulary::{StateType, TicketState};
use crate::rest::{Items, non_empty};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(search_tickets))
        .routes(routes!(list_views, save_search))
        .routes(routes!(delete_saved_search))
        .routes(routes!(view_tickets))
}

/// A half-open time range: `from` ≤ t < `until`; either end may be left out.
#[derive(Debug, Default, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Range {
    pub from: Option<Timestamp>,
    pub until: Option<Timestamp>,
}

fn micros(t: Option<Timestamp>) -> i64 {
    t.map(Timestamp::micros).unwrap_or_default()
}

fn range(from: i64, until: i64) -> Option<Range> {
    (from != 0 || until != 0).then(|| Range {
        from: (from != 0).then(|| Timestamp::of_micros(from)),
        until: (until != 0).then(|| Timestamp::of_micros(until)),
    })
}

/// What tickets must match: every field given narrows the result, a list matches any entry.
#[derive(Debug, Default, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    /// Words that must all occur in the title, or all in one article; `vpn*` matches a prefix.
    #[schema(example = "vpn client*")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub queue_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub states: Vec<TicketState>,
    /// `new`, `open`, `pending_reminder`, `pending_auto`, `closed`, `merged`, `removed`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub state_types: Vec<String>,
    /// The tenant's own states, by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub custom_states: Vec<String>,
    /// 1 (very low) to 5 (very high).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub priorities: Vec<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub responsible_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locked: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub service_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub type_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    /// Part of how the customer was named (an address, a name), any case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_id: Option<String>,
    /// Tickets this agent watches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watched_by: Option<String>,
    /// Tickets this agent works on jointly with the owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collaborator: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<Range>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed: Option<Range>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed: Option<Range>,
    /// Tickets carrying every one of these tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Tickets whose custom fields hold these values (every one).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldMatch>,
}

/// A custom field's value: `key` holds `value` (a multi select: among others).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldMatch {
    pub key: String,
    pub value: String,
}

impl Filter {
    fn into_pb(self) -> pb::TicketFilter {
        let states = self.states.iter().map(|s| s.to_pb()).collect();
        let (created, changed, closed) = (
            self.created.unwrap_or_default(),
            self.changed.unwrap_or_default(),
            self.closed.unwrap_or_default(),
        );
        pb::TicketFilter {
            text: self.text.unwrap_or_default(),
            queue_ids: self.queue_ids,
            states,
            state_types: self.state_types.iter().map(|n| state_type_of(n)).collect(),
            // The API names its state types; the desk's views ask for the worked-on ones.
            worked_on: false,
            custom_states: self.custom_states,
            priorities: self.priorities,
            owner_id: self.owner_id.unwrap_or_default(),
            responsible_id: self.responsible_id.unwrap_or_default(),
            locked: self.locked,
            service_ids: self.service_ids,
            type_ids: self.type_ids,
            customer_id: self.customer_id.unwrap_or_default(),
            customer: self.customer.unwrap_or_default(),
            company_id: self.company_id.unwrap_or_default(),
            watched_by: self.watched_by.unwrap_or_default(),
            collaborator: self.collaborator.unwrap_or_default(),
            created_from_us: micros(created.from),
            created_until_us: micros(created.until),
            changed_from_us: micros(changed.from),
            changed_until_us: micros(changed.until),
            closed_from_us: micros(closed.from),
            closed_until_us: micros(closed.until),
            tags: self.tags,
            fields: self
                .fields
                .into_iter()
                .map(|m| pb::FieldMatch {
                    key: m.key,
                    value: m.value,
                })
                .collect(),
        }
    }

    fn from_pb(f: pb::TicketFilter) -> Self {
        Self {
            text: non_empty(f.text),
            queue_ids: f.queue_ids,
            states: f
                .states
                .into_iter()
                .filter_map(TicketState::from_pb)
                .collect(),
            state_types: f
                .state_types
                .into_iter()
                .map(|t| StateType::name_of(t).to_owned())
                .collect(),
            custom_states: f.custom_states,
            priorities: f.priorities,
            owner_id: non_empty(f.owner_id),
            responsible_id: non_empty(f.responsible_id),
            locked: f.locked,
            service_ids: f.service_ids,
            type_ids: f.type_ids,
            customer_id: non_empty(f.customer_id),
            customer: non_empty(f.customer),
            company_id: non_empty(f.company_id),
            watched_by: non_empty(f.watched_by),
            collaborator: non_empty(f.collaborator),
            created: range(f.created_from_us, f.created_until_us),
            changed: range(f.changed_from_us, f.changed_until_us),
            closed: range(f.closed_from_us, f.closed_until_us),
            tags: f.tags,
            fields: f
                .fields
                .into_iter()
                .map(|m| FieldMatch {
                    key: m.key,
                    value: m.value,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Search {
    #[serde(default)]
    pub filter: Filter,
    /// Search within a view: a default view's id (`my-locked`, `my-queues`, `watched`,
    /// `responsible`) or a saved search's id.
    pub view: Option<String>,
    /// Default: the view's sort, else `created_at`.
    pub sort: Option<SortBy>,
    pub order: Option<Order>,
    /// 1 to 500; default 25.
    pub page_size: Option<u32>,
    /// `next_page_token` of the previous page.
    pub page_token: Option<String>,
}

/// Searches the tickets the caller sees: filters and full text over titles and articles
/// (customers: only what they may read), sorted and paged.
#[utoipa::path(post, path = "/tickets/search", tag = "search", request_body = Search,
    responses((status = 200, body = TicketList), (status = 403, description = "agent-only filters or views asked by a customer", body = Problem),
              (status = 404, description = "unknown saved search", body = Problem), Invalid))]
async fn search_tickets(api: Api, ApiJson(search): ApiJson<Search>) -> Reply<TicketList> {
    let req = pb::SearchTicketsRequest {
        filter: Some(search.filter.into_pb()),
        view: search.view.unwrap_or_default(),
        sort: search
            .sort
            .map_or(pb::SortField::Unspecified, SortBy::to_pb)
            .into(),
        descending: matches!(search.order, Some(Order::Desc)),
        page_size: search.page_size.unwrap_or(0),
        page_token: search.page_token.unwrap_or_default(),
    };
    run(&api, req).await.map(axum::Json)
}

async fn run(api: &Api, req: pb::SearchTicketsRequest) -> Result<TicketList, ApiError> {
    let r = api.tickets().search_tickets(req).await?.into_inner();
    Ok(TicketList {
        items: r.tickets.into_iter().map(Ticket::from).collect(),
        next_page_token: non_empty(r.next_page_token),
    })
}

/// A view of tickets: one of the defaults every agent has, or a saved search.
#[derive(Debug, Serialize, ToSchema)]
pub struct View {
    /// `my-locked`, `my-queues`, `watched`, `responsible`, `collaborating`, or the saved search's id.
    pub id: String,
    pub name: String,
    /// A default view (cannot be deleted).
    pub builtin: bool,
    pub filter: Filter,
    pub sort: SortBy,
    pub order: Order,
}

impl From<pb::View> for View {
    fn from(v: pb::View) -> Self {
        Self {
            id: v.id,
            name: v.name,
            builtin: v.builtin,
            filter: Filter::from_pb(v.filter.unwrap_or_default()),
            sort: SortBy::from_pb(v.sort),
            order: if v.descending {
                Order::Desc
            } else {
                Order::Asc
            },
        }
    }
}

/// The calling agent's views: my locked tickets, my queues, watched, responsible, then the
/// agent's saved searches by name.
#[utoipa::path(get, path = "/views", tag = "search",
    responses((status = 200, body = Items<View>), (status = 403, description = "not an agent", body = Problem)))]
async fn list_views(api: Api) -> Reply<Items<View>> {
    let r = api
        .tickets()
        .list_views(pb::ListViewsRequest {})
        .await?
        .into_inner();
    Items::of(r.views)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSavedSearch {
    /// Unique among the agent's saved searches.
    pub name: String,
    #[serde(default)]
    pub filter: Filter,
    pub sort: Option<SortBy>,
    pub order: Option<Order>,
}

/// Saves a search as one of the calling agent's views.
#[utoipa::path(post, path = "/views", tag = "search", request_body = NewSavedSearch,
    responses((status = 201, body = View), Forbidden,
              (status = 409, description = "a saved search of that name exists", body = Problem), Invalid))]
async fn save_search(
    api: Api,
    ApiJson(body): ApiJson<NewSavedSearch>,
) -> Result<impl IntoResponse, ApiError> {
    let req = pb::SaveSearchRequest {
        name: body.name,
        filter: Some(body.filter.into_pb()),
        sort: body.sort.unwrap_or_default().to_pb().into(),
        descending: matches!(body.order, Some(Order::Desc)),
    };
    let view = api.tickets().save_search(req).await?.into_inner();
    Ok((StatusCode::CREATED, axum::Json(View::from(view))))
}

/// Deletes one of the calling agent's saved searches.
#[utoipa::path(delete, path = "/views/{view_id}", tag = "search", params(("view_id" = String, Path)),
    responses((status = 204), NotFound, Invalid))]
async fn delete_saved_search(
    api: Api,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    api.tickets()
        .delete_saved_search(pb::DeleteSavedSearchRequest { id })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The tickets of a view, a page at a time, in the view's sort unless `sort` says otherwise.
#[utoipa::path(get, path = "/views/{view_id}/tickets", tag = "search", params(("view_id" = String, Path), TicketPage),
    responses((status = 200, body = TicketList), Forbidden, NotFound,
              Invalid))]
async fn view_tickets(
    api: Api,
    ApiPath(view): ApiPath<String>,
    ApiQuery(page): ApiQuery<TicketPage>,
) -> Reply<TicketList> {
    let req = pb::SearchTicketsRequest {
        filter: None,
        view,
        sort: page
            .sort
            .map_or(pb::SortField::Unspecified, SortBy::to_pb)
            .into(),
        descending: matches!(page.order, Some(Order::Desc)),
        page_size: page.page_size.unwrap_or(0),
        page_token: page.page_token.unwrap_or_default(),
    };
    run(&api, req).await.map(axum::Json)
}
