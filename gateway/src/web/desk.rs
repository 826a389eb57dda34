//! The agent desk: the queue overview with its counts, list views (queues, the agent's views
//! and saved searches, search) with sorting, filters, paging and bulk changes, the ticket page
//! with its thread, history, links and every action of the daily work, the phone ticket, and a
//! stream of server-sent events that keeps open pages current.
//!
//! Every call goes to the services with the agent's own token: what an agent may not see or do,
//! ticket core refuses, and the page says so.

use std::collections::HashMap;
use std::convert::Infallible;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use docket_proto::identity::v1 as ipb;
use docket_proto::ticket::v1 as pb;
use futures::Stream;
use serde::Deserialize;

use super::login::{self, Area};
use super::portal::{ArticleRow, Choice};
use super::{
    AgentForm, AgentSession, LangQuery, Session, Submitted, Texts, When, choices_of,
    customer_label, error_page, failure, name_of, remember_lang, render, texts,
};
use crate::AppState;

/// Ticket states an agent sets, in the order the desk offers them.
pub(super) const STATES: [pb::TicketState; 7] = [
    pb::TicketState::New,
    pb::TicketState::Open,
    pb::TicketState::PendingReminder,
    pb::TicketState::PendingAutoCloseSuccessful,
    pb::TicketState::PendingAutoCloseUnsuccessful,
    pb::TicketState::ClosedSuccessful,
    pb::TicketState::ClosedUnsuccessful,
];

/// A state's API name (`pending_reminder`), as the texts and forms use it.
pub(super) fn state_name(state: pb::TicketState) -> String {
    state
        .as_str_name()
        .trim_start_matches("TICKET_STATE_")
        .to_ascii_lowercase()
}

/// States as a select's options, `current` selected.
pub(super) fn state_choices(
    t: &Texts,
    states: impl IntoIterator<Item = pb::TicketState>,
    current: Option<pb::TicketState>,
) -> Vec<Choice> {
    states
        .into_iter()
        .map(|st| {
            let name = state_name(st);
            Choice {
                label: t.ticket_state(&name).to_owned(),
                value: name,
                selected: Some(st) == current,
            }
        })
        .collect()
}

/// Priorities 1 (very low) to 5 (very high) as a select's options, `chosen` selected.
fn priority_choices(t: &Texts, chosen: Option<u32>) -> Vec<Choice> {
    (1..=5)
        .map(|p| Choice {
            value: p.to_string(),
            label: t.priority(p).to_owned(),
            selected: Some(p) == chosen,
        })
        .collect()
}

fn state_by_name(name: &str) -> Option<pb::TicketState> {
    STATES.into_iter().find(|s| state_name(*s) == name)
}

// ---------------------------------------------------------------------------------------------
// What pages look up: queue and agent names
// ---------------------------------------------------------------------------------------------

/// Names of the queues and agents the agent's pages mention.
struct Names {
    queues: Vec<pb::Queue>,
    agents: HashMap<String, String>,
}

impl Names {
    /// The queues the agent sees and the agents of their tenants.
    async fn load(state: &AppState, s: &Session) -> Result<Self, tonic::Status> {
        let queues = state
            .tickets(&s.principal)
            .list_queues(pb::ListQueuesRequest::default())
            .await?
            .into_inner()
            .queues;
        let mut agents = HashMap::new();
        let tenants: Vec<String> = s
            .principal
            .claims
            .agent
            .as_ref()
            .map(|a| a.tenants.keys().cloned().collect())
            .unwrap_or_default();
        for tenant_id in tenants {
            let found = state
                .identity(&s.principal)
                .list_agent_contacts(ipb::ListAgentContactsRequest {
                    tenant_id,
                    ..Default::default()
                })
                .await?
                .into_inner()
                .agents;
            for a in found {
                let label = if a.name.is_empty() {
                    a.login
                } else {
                    format!("{} ({})", a.name, a.login)
                };
                agents.insert(a.agent_id, label);
            }
        }
        Ok(Self { queues, agents })
    }

    fn queue(&self, id: &str) -> String {
        name_of(&self.queues, id)
    }

    fn agent(&self, id: &str) -> String {
        if id.is_empty() {
            return String::new();
        }
        self.agents
            .get(id)
            .cloned()
            .unwrap_or_else(|| id.to_owned())
    }

    fn queue_choices(&self, chosen: &str) -> Vec<Choice> {
        choices_of(&self.queues, chosen)
    }

    fn agent_choices(&self, chosen: &str) -> Vec<Choice> {
        let mut agents: Vec<Choice> = self
            .agents
            .iter()
            .map(|(id, label)| Choice {
                value: id.clone(),
                label: label.clone(),
                selected: id == chosen,
            })
            .collect();
        agents.sort_by(|a, b| a.label.cmp(&b.label));
        agents
    }
}

// ---------------------------------------------------------------------------------------------
// Overview
// ---------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "desk/overview.html")]
struct OverviewPage<'a> {
    t: &'static Texts,
    session: Option<&'a Session>,
    queues: Vec<QueueLine>,
    views: Vec<pb::View>,
}

struct QueueLine {
    id: String,
    /// The last part of the queue's path; the depth indents it.
    label: String,
    depth: usize,
    new: u64,
    open: u64,
    pending: u64,
    escalated: u64,
}

async fn overview(
    State(state): State<AppState>,
    Query(query): Query<LangQuery>,
    headers: HeaderMap,
    AgentSession(s): AgentSession,
) -> Response {
    let t = texts(&query, &headers);
    let loaded = async {
        let counts = state
            .tickets(&s.principal)
            .queue_overview(pb::QueueOverviewRequest::default())
            .await?
            .into_inner()
            .queues;
        let views = state
            .tickets(&s.principal)
            .list_views(pb::ListViewsRequest {})
            .await?
            .into_inner()
            .views;
        Ok::<_, tonic::Status>((counts, views))
    }
    .await;
    let (counts, views) = match loaded {
        Ok(l) => l,
        Err(status) => return failure(t, Some(&s), status.into()),
    };
    // Ticket core lists by tenant and name, so a queue's children follow it.
    let queues: Vec<QueueLine> = counts
        .into_iter()
        .filter_map(|c| {
            let q = c.queue?;
            let parts: Vec<&str> = q.name.split("::").collect();
            Some(QueueLine {
                id: q.id.clone(),
                label: parts.last().map_or_else(String::new, |p| (*p).to_owned()),
                depth: parts.len().saturating_sub(1),
                new: c.new,
                open: c.open,
                pending: c.pending,
                escalated: c.escalated,
            })
        })
        .collect();
    let page = OverviewPage {
        t,
        session: Some(&s),
        queues,
        views,
    };
    let mut response = render(&page, StatusCode::OK);
    remember_lang(&mut response, &query, t);
    response
}

// ---------------------------------------------------------------------------------------------
// Lists: a queue, a view, a search
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(flatten)]
    lang: LangQuery,
    sort: Option<String>,
    order: Option<String>,
    page: Option<String>,
    /// Queue views: `open` (default: everything not closed), `closed` or `all`.
    show: Option<String>,
    // Search filters.
    text: Option<String>,
    queue: Option<String>,
    state: Option<String>,
    priority: Option<String>,
    customer: Option<String>,
}

impl ListQuery {
    fn sort(&self) -> (pb::SortField, bool) {
        let field = match self.sort.as_deref() {
            Some("updated") => pb::SortField::UpdatedAt,
            Some("priority") => pb::SortField::Priority,
            _ => pb::SortField::CreatedAt,
        };
        (field, self.order.as_deref() == Some("desc"))
    }

    /// This list's address with other query parameters (sorting, paging) replaced.
    fn link(&self, path: &str, sort: Option<(&str, &str)>, page: Option<&str>) -> String {
        let (sort_key, order) = sort.unwrap_or((
            self.sort.as_deref().unwrap_or("created"),
            self.order.as_deref().unwrap_or("asc"),
        ));
        let mut parts = vec![format!("sort={sort_key}"), format!("order={order}")];
        for (k, v) in [
            ("show", &self.show),
            ("text", &self.text),
            ("queue", &self.queue),
            ("state", &self.state),
            ("priority", &self.priority),
            ("customer", &self.customer),
        ] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                parts.push(format!("{k}={}", encode(v)));
            }
        }
        if let Some(p) = page {
            parts.push(format!("page={}", encode(p)));
        }
        format!("{path}?{}", parts.join("&"))
    }
}

/// Percent-encodes a query value.
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[derive(Template)]
#[template(path = "desk/list.html")]
struct ListPage<'a> {
    t: &'static Texts,
    session: Option<&'a Session>,
    heading: String,
    /// The queue a queue view shows (live updates: tickets arriving in it).
    live_queue: String,
    columns: Vec<Column>,
    rows: Vec<Row>,
    next: Option<String>,
    first: Option<String>,
    back: String,
    /// The search form (search page only).
    search: Option<SearchForm>,
    /// Queue views: which tickets (open, closed, all).
    show: Option<(String, String, String)>,
    saved: Option<String>,
    bulk_states: Vec<Choice>,
    bulk_queues: Vec<Choice>,
    bulk_agents: Vec<Choice>,
}

struct Column {
    label: &'static str,
    /// A sortable column: its link and how it is sorted now (`ascending`, `descending`, none).
    link: Option<String>,
    sorted: Option<&'static str>,
}

struct Row {
    id: String,
    number: String,
    title: String,
    state: &'static str,
    priority: &'static str,
    queue: String,
    customer: String,
    owner: String,
    locked: bool,
    created: When,
    changed: When,
}

struct SearchForm {
    text: String,
    customer: String,
    queues: Vec<Choice>,
    states: Vec<Choice>,
    priorities: Vec<Choice>,
}

/// What a list shows: its heading and the search behind it.
struct ListSpec {
    heading: String,
    path: String,
    request: pb::SearchTicketsRequest,
    live_queue: String,
    search: bool,
    show: bool,
    /// A saved search's id: the page offers to delete it (set from the view itself).
    saved: Option<String>,
}

async fn list(
    state: &AppState,
    headers: &HeaderMap,
    s: Session,
    query: &ListQuery,
    spec: impl FnOnce(&'static Texts, &Names) -> Option<ListSpec>,
) -> Response {
    let lang = &query.lang;
    let t = texts(lang, headers);
    let names = match Names::load(state, &s).await {
        Ok(n) => n,
        Err(status) => return failure(t, Some(&s), status.into()),
    };
    // No spec: a list of something the agent does not see.
    let Some(mut spec) = spec(t, &names) else {
        return error_page(t, Some(&s), StatusCode::NOT_FOUND, t.not_found);
    };
    if !spec.request.view.is_empty() {
        // A view is headed by its name (a saved search's is the agent's own).
        let views = state
            .tickets(&s.principal)
            .list_views(pb::ListViewsRequest {})
            .await;
        match views {
            Ok(v) => match v
                .into_inner()
                .views
                .into_iter()
                .find(|v| v.id == spec.request.view)
            {
                Some(v) => {
                    spec.heading = format!("{}: {}", t.views, v.name);
                    // The agent's own saved search can be deleted from its page.
                    spec.saved = (!v.builtin).then_some(v.id);
                }
                None => return error_page(t, Some(&s), StatusCode::NOT_FOUND, t.not_found),
            },
            Err(status) => return failure(t, Some(&s), status.into()),
        }
    }
    let found = state
        .tickets(&s.principal)
        .search_tickets(spec.request.clone())
        .await;
    let found = match found {
        Ok(r) => r.into_inner(),
        Err(status) => return failure(t, Some(&s), status.into()),
    };
    let (sort, descending) = query.sort();
    let column = |label: &'static str, key: &'static str, field: pb::SortField| {
        // Unsorted lists are oldest first.
        let active = (sort == field && query.sort.is_some())
            || (query.sort.is_none() && field == pb::SortField::CreatedAt);
        let order = if active && !descending { "desc" } else { "asc" };
        Column {
            label,
            link: Some(query.link(&spec.path, Some((key, order)), None)),
            sorted: active.then_some(if descending {
                "descending"
            } else {
                "ascending"
            }),
        }
    };
    let plain = |label: &'static str| Column {
        label,
        link: None,
        sorted: None,
    };
    let columns = vec![
        plain(t.number),
        plain(t.title),
        plain(t.state),
        column(t.priority, "priority", pb::SortField::Priority),
        plain(t.queue),
        plain(t.customer),
        plain(t.owner),
        column(t.created, "created", pb::SortField::CreatedAt),
        column(t.changed, "updated", pb::SortField::UpdatedAt),
    ];
    let rows = found
        .tickets
        .into_iter()
        .map(|ticket| Row {
            state: t.ticket_state(&state_name(ticket.state())),
            priority: t.priority(ticket.priority),
            queue: names.queue(&ticket.queue_id),
            owner: names.agent(&ticket.owner_id),
            locked: ticket.locked,
            created: When::of(ticket.created_at_us),
            changed: When::of(ticket.updated_at_us),
            customer: customer_label(&ticket),
            id: ticket.id,
            number: ticket.number,
            title: ticket.title,
        })
        .collect();
    let search = spec.search.then(|| SearchForm {
        text: query.text.clone().unwrap_or_default(),
        customer: query.customer.clone().unwrap_or_default(),
        queues: names.queue_choices(query.queue.as_deref().unwrap_or_default()),
        states: ["new", "open", "pending_reminder", "pending_auto", "closed"]
            .into_iter()
            .map(|st| Choice {
                value: st.to_owned(),
                label: t.state(st).to_owned(),
                selected: query.state.as_deref() == Some(st),
            })
            .collect(),
        priorities: priority_choices(t, query.priority.as_deref().and_then(|p| p.parse().ok())),
    });
    let shown = query.show.clone().unwrap_or_else(|| "open".into());
    let show = spec.show.then(|| {
        let link = |what: &str| {
            let mut q = ListQuery {
                show: Some(what.to_owned()),
                ..ListQuery::default()
            };
            q.sort.clone_from(&query.sort);
            q.order.clone_from(&query.order);
            q.link(&spec.path, None, None)
        };
        (shown.clone(), link("open"), link("all"))
    });
    let page = ListPage {
        t,
        session: Some(&s),
        heading: spec.heading,
        live_queue: spec.live_queue,
        columns,
        rows,
        next: Some(found.next_page_token)
            .filter(|n| !n.is_empty())
            .map(|n| query.link(&spec.path, None, Some(&n))),
        first: query
            .page
            .as_ref()
            .filter(|p| !p.is_empty())
            .map(|_| query.link(&spec.path, None, None)),
        back: query.link(&spec.path, None, query.page.as_deref()),
        search,
        show,
        saved: spec.saved,
        bulk_states: state_choices(t, STATES.into_iter().filter(|st| !is_pending(*st)), None),
        bulk_queues: names.queue_choices(""),
        bulk_agents: names.agent_choices(""),
    };
    let mut response = render(&page, StatusCode::OK);
    remember_lang(&mut response, lang, t);
    response
}

fn is_pending(state: pb::TicketState) -> bool {
    matches!(
        state,
        pb::TicketState::PendingReminder
            | pb::TicketState::PendingAutoCloseSuccessful
            | pb::TicketState::PendingAutoCloseUnsuccessful
    )
}

const WORKED_ON: [&str; 4] = ["new", "open", "pending_reminder", "pending_auto"];

async fn queue_view(
    State(state): State<AppState>,
    Path(queue_id): Path<String>,
    Query(query): Query<ListQuery>,
    headers: HeaderMap,
    AgentSession(s): AgentSession,
) -> Response {
    let (sort, descending) = query.sort();
    let state_types = match query.show.as_deref() {
        Some("all") => vec![],
        Some("closed") => vec!["closed".to_owned()],
        _ => WORKED_ON.iter().map(|s| (*s).to_owned()).collect(),
    };
    let page_token = query.page.clone().unwrap_or_default();
    list(&state, &headers, s, &query, |t, names| {
        let name = names.queue(&queue_id);
        if name.is_empty() {
            return None;
        }
        Some(ListSpec {
            heading: format!("{}: {name}", t.queue),
            path: format!("/desk/queues/{queue_id}"),
            request: pb::SearchTicketsRequest {
                filter: Some(pb::TicketFilter {
                    queue_ids: vec![queue_id.clone()],
                    state_types,
                    ..Default::default()
                }),
                sort: sort.into(),
                descending,
                page_size: 25,
                page_token,
                ..Default::default()
            },
            live_queue: queue_id.clone(),
            search: false,
            show: true,
            saved: None,
        })
    })
    .await
}

async fn view(
    State(state): State<AppState>,
    Path(view_id): Path<String>,
    Query(query): Query<ListQuery>,
    headers: HeaderMap,
    AgentSession(s): AgentSession,
) -> Response {
    let page_token = query.page.clone().unwrap_or_default();
    let (sort, descending) = query.sort();
    let explicit_sort = query.sort.is_some();
    list(&state, &headers, s, &query, |t, _| {
        Some(ListSpec {
            heading: format!("{}: {view_id}", t.views),
            path: format!("/desk/views/{view_id}"),
            request: pb::SearchTicketsRequest {
                view: view_id.clone(),
                sort: if explicit_sort {
                    sort.into()
                } else {
                    pb::SortField::Unspecified.into()
                },
                descending,
                page_size: 25,
                page_token,
                ..Default::default()
            },
            live_queue: String::new(),
            search: false,
            show: false,
            saved: None,
        })
    })
    .await
}

async fn search(
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
    headers: HeaderMap,
    AgentSession(s): AgentSession,
) -> Response {
    let (sort, descending) = query.sort();
    let filter = search_filter(
        query.text.as_deref().unwrap_or_default(),
        query.queue.as_deref().unwrap_or_default(),
        query.state.as_deref().unwrap_or_default(),
        query.priority.as_deref().unwrap_or_default(),
        query.customer.as_deref().unwrap_or_default(),
    );
    let page_token = query.page.clone().unwrap_or_default();
    list(&state, &headers, s, &query, |t, _| {
        Some(ListSpec {
            heading: t.search.to_owned(),
            path: "/desk/search".to_owned(),
            request: pb::SearchTicketsRequest {
                filter: Some(filter),
                sort: sort.into(),
                descending,
                page_size: 25,
                page_token,
                ..Default::default()
            },
            live_queue: String::new(),
            search: true,
            show: false,
            saved: None,
        })
    })
    .await
}

/// The search form's filter; empty fields do not narrow.
fn search_filter(
    text: &str,
    queue: &str,
    state_type: &str,
    priority: &str,
    customer: &str,
) -> pb::TicketFilter {
    let some = |v: &str| (!v.is_empty()).then(|| v.to_owned());
    pb::TicketFilter {
        text: text.to_owned(),
        customer: customer.to_owned(),
        queue_ids: some(queue).into_iter().collect(),
        state_types: some(state_type).into_iter().collect(),
        priorities: priority.parse().ok().into_iter().collect(),
        ..Default::default()
    }
}

/// Saves the search form's filter under a name: it joins the agent's views.
async fn save_search(
    State(state): State<AppState>,
    Query(query): Query<LangQuery>,
    headers: HeaderMap,
    AgentForm(s, form): AgentForm,
) -> Response {
    let t = texts(&query, &headers);
    let request = pb::SaveSearchRequest {
        name: form.get("name").to_owned(),
        filter: Some(search_filter(
            form.get("text"),
            form.get("queue"),
            form.get("state"),
            form.get("priority"),
            form.get("customer"),
        )),
        ..Default::default()
    };
    match state.tickets(&s.principal).save_search(request).await {
        Ok(view) => Redirect::to(&format!("/desk/views/{}", view.into_inner().id)).into_response(),
        Err(status) => failure(t, Some(&s), status.into()),
    }
}

/// Deletes one of the agent's saved searches.
async fn delete_search(
    State(state): State<AppState>,
    Path(view_id): Path<String>,
    Query(query): Query<LangQuery>,
    headers: HeaderMap,
    AgentForm(s, _): AgentForm,
) -> Response {
    let t = texts(&query, &headers);
    match state
        .tickets(&s.principal)
        .delete_saved_search(pb::DeleteSavedSearchRequest { id: view_id })
        .await
    {
        Ok(_) => Redirect::to("/desk/").into_response(),
        Err(status) => failure(t, Some(&s), status.into()),
    }
}

/// Changes every selected ticket at once; back to the list, or a page naming those that were
/// not changed and why.
async fn bulk(
    State(state): State<AppState>,
    Query(query): Query<LangQuery>,
    headers: HeaderMap,
    AgentForm(s, form): AgentForm,
) -> Response {
    let t = texts(&query, &headers);
    let back = Some(form.get("back"))
        .filter(|b| b.starts_with("/desk/") && !b.starts_with("/desk//"))
        .unwrap_or("/desk/")
        .to_owned();
    let update = pb::UpdateTicketRequest {
        state: state_by_name(form.get("state")).map(Into::into),
        priority: form.get("priority").parse().ok(),
        queue_id: Some(form.get("queue").to_owned()).filter(|q| !q.is_empty()),
        owner_id: Some(form.get("owner").to_owned()).filter(|o| !o.is_empty()),
        locked: match form.get("lock") {
            "lock" => Some(true),
            "unlock" => Some(false),
            _ => None,
        },
        ..Default::default()
    };
    let ids = form.all("ticket").to_vec();
    if ids.is_empty() {
        return Redirect::to(&back).into_response();
    }
    let outcome = state
        .tickets(&s.principal)
        .bulk_update_tickets(pb::BulkUpdateTicketsRequest {
            ticket_ids: ids,
            update: Some(update),
        })
        .await;
    match outcome {
        Ok(r) => {
            let failed: Vec<String> = r
                .into_inner()
                .outcomes
                .into_iter()
                .filter(|o| o.ticket.is_none())
                .map(|o| format!("{}: {}", o.ticket_id, o.error_message))
                .collect();
            if failed.is_empty() {
                Redirect::to(&back).into_response()
            } else {
                let message = format!("{}: {}", t.bulk_failed, failed.join("; "));
                error_page(t, Some(&s), StatusCode::CONFLICT, &message)
            }
        }
        Err(status) => failure(t, Some(&s), status.into()),
    }
}

// ---------------------------------------------------------------------------------------------
// The ticket page
// ---------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "desk/ticket.html")]
struct TicketPage<'a> {
    t: &'static Texts,
    session: Option<&'a Session>,
    ticket: pb::Ticket,
    state: &'static str,
    priority: &'static str,
    queue: String,
    owner: String,
    responsible: String,
    customer: String,
    service: String,
    ticket_type: String,
    created: When,
    changed: When,
    pending: Option<When>,
    articles: Vec<DeskArticle>,
    history: Vec<HistoryLine>,
    links: Vec<pb::LinkedTicket>,
    children: Option<(usize, usize)>,
    watching: bool,
    /// The tenant's custom fields shown in the ticket's queue, with the ticket's values.
    fields: Vec<FieldInput>,
    tags: String,
    templates: Vec<Choice>,
    draft_subject: String,
    draft_body: String,
    states: Vec<Choice>,
    priorities: Vec<Choice>,
    queues: Vec<Choice>,
    services: Vec<Choice>,
    types: Vec<Choice>,
    agents: Vec<Choice>,
    responsibles: Vec<Choice>,
}

/// A custom field as the ticket page's form shows it.
struct FieldInput {
    key: String,
    label: String,
    /// text, number, date, select, multi or checkbox.
    kind: &'static str,
    options: Vec<Choice>,
    value: String,
    checked: bool,
}

impl FieldInput {
    fn of(field: pb::CustomField, values: &[String]) -> Self {
        let kind = match field.kind.as_str() {
            "number" => "number",
            "date" => "date",
            "single_select" => "select",
            "multi_select" => "multi",
            "checkbox" => "checkbox",
            _ => "text",
        };
        Self {
            options: field
                .options
                .iter()
                .map(|o| Choice {
                    value: o.clone(),
                    label: o.clone(),
                    selected: values.contains(o),
                })
                .collect(),
            value: values.first().cloned().unwrap_or_default(),
            checked: values.first().is_some_and(|v| v == "true"),
            key: field.key,
            label: field.label,
            kind,
        }
    }
}

/// The tenant's custom fields shown in a queue.
async fn fields_of(
    state: &AppState,
    p: &crate::auth::Principal,
    ticket: &pb::Ticket,
) -> Result<Vec<pb::CustomField>, tonic::Status> {
    Ok(state
        .tickets(p)
        .list_fields(pb::ListFieldsRequest {
            tenant_id: ticket.tenant_id.clone(),
        })
        .await?
        .into_inner()
        .fields
        .into_iter()
        .filter(|f| f.queue_ids.is_empty() || f.queue_ids.contains(&ticket.queue_id))
        .collect())
}

struct DeskArticle {
    id: String,
    row: ArticleRow,
    internal: bool,
    channel: &'static str,
    author: String,
    delivery: String,
}

struct HistoryLine {
    kind: String,
    actor: String,
    at: When,
    details: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct TicketQuery {
    #[serde(flatten)]
    lang: LangQuery,
    /// Fills the answer with this template, rendered for the ticket.
    template: Option<String>,
}

async fn ticket_page(
    State(state): State<AppState>,
    Path(key): Path<String>,
    Query(query): Query<TicketQuery>,
    headers: HeaderMap,
    AgentSession(s): AgentSession,
) -> Response {
    let lang = &query.lang;
    let t = texts(lang, &headers);
    let page = load_ticket(&state, t, &s, &key, query.template.as_deref()).await;
    let mut response = match page {
        Ok(page) => render(&page, StatusCode::OK),
        Err(status) if status.code() == tonic::Code::InvalidArgument => {
            error_page(t, Some(&s), StatusCode::NOT_FOUND, t.not_found)
        }
        Err(status) => failure(t, Some(&s), status.into()),
    };
    remember_lang(&mut response, lang, t);
    response
}

async fn load_ticket<'a>(
    state: &AppState,
    t: &'static Texts,
    s: &'a Session,
    key: &str,
    template: Option<&str>,
) -> Result<TicketPage<'a>, tonic::Status> {
    let p = &s.principal;
    let mut client = state.tickets(p);
    let ticket = client
        .get_ticket(pb::GetTicketRequest {
            ticket: key.to_owned(),
        })
        .await?
        .into_inner();
    let id = ticket.id.clone();
    let (articles, history, links, templates, services, types, names, watchers, defined) = tokio::try_join!(
        async {
            Ok::<_, tonic::Status>(
                state
                    .tickets(p)
                    .list_articles(pb::ListArticlesRequest {
                        ticket_id: id.clone(),
                    })
                    .await?
                    .into_inner()
                    .articles,
            )
        },
        async {
            Ok(state
                .tickets(p)
                .get_history(pb::GetHistoryRequest {
                    ticket_id: id.clone(),
                })
                .await?
                .into_inner()
                .entries)
        },
        async {
            Ok(state
                .tickets(p)
                .list_links(pb::ListLinksRequest {
                    ticket_id: id.clone(),
                })
                .await?
                .into_inner()
                .links)
        },
        async {
            Ok(state
                .tickets(p)
                .list_templates(pb::ListTemplatesRequest {
                    ticket_id: id.clone(),
                    ..Default::default()
                })
                .await?
                .into_inner()
                .templates)
        },
        async {
            Ok(state
                .tickets(p)
                .list_services(pb::ListCatalogueRequest {
                    tenant_id: ticket.tenant_id.clone(),
                })
                .await?
                .into_inner()
                .entries)
        },
        async {
            Ok(state
                .tickets(p)
                .list_ticket_types(pb::ListCatalogueRequest {
                    tenant_id: ticket.tenant_id.clone(),
                })
                .await?
                .into_inner()
                .entries)
        },
        Names::load(state, s),
        async {
            Ok(state
                .tickets(p)
                .list_watchers(pb::ListWatchersRequest {
                    ticket_id: id.clone(),
                })
                .await?
                .into_inner()
                .agent_ids)
        },
        fields_of(state, p, &ticket),
    )?;
    let (draft_subject, draft_body) = match template.filter(|id| !id.is_empty()) {
        Some(template_id) => {
            let rendered = client
                .render_template(pb::RenderTemplateRequest {
                    template_id: template_id.to_owned(),
                    ticket_id: id.clone(),
                })
                .await?
                .into_inner();
            (rendered.subject, rendered.body)
        }
        None => (format!("Re: {}", ticket.title), String::new()),
    };
    let children: Vec<&pb::LinkedTicket> = links.iter().filter(|l| l.relation == "child").collect();
    let children = (!children.is_empty()).then(|| {
        let done = children
            .iter()
            .filter(|c| matches!(c.state_type.as_str(), "closed" | "merged" | "removed"))
            .count();
        (done, children.len())
    });

    let current = ticket.state();
    Ok(TicketPage {
        t,
        session: Some(s),
        state: t.ticket_state(&state_name(current)),
        priority: t.priority(ticket.priority),
        queue: names.queue(&ticket.queue_id),
        owner: names.agent(&ticket.owner_id),
        responsible: names.agent(&ticket.responsible_id),
        customer: customer_label(&ticket),
        service: name_of(&services, &ticket.service_id),
        ticket_type: name_of(&types, &ticket.type_id),
        created: When::of(ticket.created_at_us),
        changed: When::of(ticket.updated_at_us),
        pending: (ticket.pending_until_us != 0).then(|| When::of(ticket.pending_until_us)),
        articles: articles
            .into_iter()
            .map(|a| DeskArticle {
                id: a.id.clone(),
                internal: !a.visible_to_customer,
                channel: match a.channel() {
                    pb::Channel::Email => t.by_email,
                    pb::Channel::Phone => t.by_phone,
                    pb::Channel::Portal => t.by_portal,
                    _ => t.note,
                },
                author: a.author.clone(),
                delivery: a
                    .delivery
                    .as_ref()
                    .map(|d| format!("{} ({})", d.state, d.detail))
                    .unwrap_or_default(),
                row: ArticleRow {
                    who: match a.sender() {
                        pb::SenderType::Customer => t.from_customer,
                        pb::SenderType::Agent => t.from_agent,
                        _ => t.from_system,
                    },
                    at: When::of(a.created_at_us),
                    subject: a.subject,
                    body: a.body,
                    attachments: a.attachments,
                },
            })
            .collect(),
        history: history
            .into_iter()
            .rev()
            .map(|h| HistoryLine {
                kind: h.kind,
                actor: h.actor,
                at: When::of(h.occurred_at_us),
                details: h.details_json,
            })
            .collect(),
        links,
        children,
        watching: watchers.contains(&p.claims.sub),
        fields: defined
            .into_iter()
            .map(|f| {
                let values = ticket
                    .fields
                    .iter()
                    .find(|v| v.key == f.key)
                    .map(|v| v.values.clone())
                    .unwrap_or_default();
                FieldInput::of(f, &values)
            })
            .collect(),
        tags: ticket.tags.join(" "),
        templates: templates
            .into_iter()
            .map(|tpl| Choice {
                selected: template == Some(tpl.id.as_str()),
                value: tpl.id,
                label: tpl.name,
            })
            .collect(),
        draft_subject,
        draft_body,
        states: state_choices(t, STATES, Some(current)),
        priorities: priority_choices(t, Some(ticket.priority)),
        queues: names.queue_choices(&ticket.queue_id),
        services: choices_of(&services, &ticket.service_id),
        types: choices_of(&types, &ticket.type_id),
        agents: names.agent_choices(&ticket.owner_id),
        responsibles: names.agent_choices(&ticket.responsible_id),
        ticket,
    })
}

/// A change made from the ticket page; which one, the last part of the form's address says.
async fn act(
    State(state): State<AppState>,
    Path((key, action)): Path<(String, String)>,
    headers: HeaderMap,
    AgentForm(s, form): AgentForm,
) -> Response {
    ticket_action(
        &state,
        &headers,
        &key,
        s,
        form,
        |state, s, ticket, form| async move {
            match action.as_str() {
                "articles" => add_article(state, s, ticket, form).await,
                "update" => update(state, s, ticket, form).await,
                "lock" => lock(state, s, ticket, form).await,
                "watch" => watch(state, s, ticket, form).await,
                "fields" => set_fields(state, s, ticket, form).await,
                "tags" => set_tags(state, s, ticket, form).await,
                "link" => link(state, s, ticket, form).await,
                "merge" => merge(state, s, ticket, form).await,
                _ => Err(tonic::Status::not_found(format!(
                    "the ticket page has no action `{}`",
                    action.chars().take(40).collect::<String>()
                ))),
            }
        },
    )
    .await
}

/// Runs a change for the ticket page's form, then shows the ticket again (303).
async fn ticket_action<F, Fut>(
    state: &AppState,
    headers: &HeaderMap,
    key: &str,
    s: Session,
    form: Submitted,
    change: F,
) -> Response
where
    F: FnOnce(AppState, Session, pb::Ticket, Submitted) -> Fut,
    Fut: std::future::Future<Output = Result<Option<String>, tonic::Status>>,
{
    let t = texts(&LangQuery::default(), headers);
    let ticket = match state
        .tickets(&s.principal)
        .get_ticket(pb::GetTicketRequest {
            ticket: key.to_owned(),
        })
        .await
    {
        Ok(r) => r.into_inner(),
        Err(status) => return failure(t, Some(&s), status.into()),
    };
    let number = ticket.number.clone();
    match change(state.clone(), s.clone(), ticket, form).await {
        Ok(to) => {
            Redirect::to(&to.unwrap_or_else(|| format!("/desk/tickets/{number}"))).into_response()
        }
        Err(status) => failure(t, Some(&s), status.into()),
    }
}

/// An answer by email, an internal note or a phone call, with attachments and time.
async fn add_article(
    state: AppState,
    s: Session,
    ticket: pb::Ticket,
    form: Submitted,
) -> Result<Option<String>, tonic::Status> {
    let (channel, visible) = match form.get("kind") {
        "answer" => (pb::Channel::Email, true),
        "phone" => (pb::Channel::Phone, form.get("visible") == "1"),
        _ => (pb::Channel::Note, false),
    };
    let body = form.get("body").to_owned();
    if body.is_empty() {
        return Err(tonic::Status::invalid_argument("the text is empty"));
    }
    state
        .tickets(&s.principal)
        .add_article(pb::AddArticleRequest {
            ticket_id: ticket.id,
            article: Some(pb::NewArticle {
                sender: pb::SenderType::Agent.into(),
                channel: channel.into(),
                visible_to_customer: visible,
                subject: form.get("subject").to_owned(),
                body,
                time_minutes: form.get("time").parse().unwrap_or(0),
                attachments: form.files,
                ..Default::default()
            }),
        })
        .await?;
    Ok(None)
}

/// The ticket's fields as the form left them: only what differs from the ticket is changed,
/// and only if nobody changed the ticket since the page was shown.
async fn update(
    state: AppState,
    s: Session,
    ticket: pb::Ticket,
    form: Submitted,
) -> Result<Option<String>, tonic::Status> {
    let request = changes(&ticket, &form)?;
    if request
        != (pb::UpdateTicketRequest {
            ticket_id: ticket.id.clone(),
            expected_version: request.expected_version,
            ..Default::default()
        })
    {
        state.tickets(&s.principal).update_ticket(request).await?;
    }
    Ok(None)
}

/// What the change form asks for, against the ticket as it is.
fn changes(
    ticket: &pb::Ticket,
    form: &Submitted,
) -> Result<pb::UpdateTicketRequest, tonic::Status> {
    let differs = |given: &str, current: &str| (given != current).then(|| given.to_owned());
    let mut request = pb::UpdateTicketRequest {
        ticket_id: ticket.id.clone(),
        expected_version: form.get("version").parse().unwrap_or(0),
        ..Default::default()
    };
    if let Some(next) = state_by_name(form.get("state")) {
        if next != ticket.state() {
            request.state = Some(next.into());
        }
        if is_pending(next) {
            let until = pending_until(form.get("pending_until"), form.get("tz_offset"))
                .ok_or_else(|| {
                    tonic::Status::invalid_argument(
                        "a pending state needs the date and time it is due",
                    )
                })?;
            if until != ticket.pending_until_us || request.state.is_some() {
                request.pending_until_us = Some(until);
            }
        }
    }
    if let Ok(p) = form.get("priority").parse::<u32>()
        && p != ticket.priority
    {
        request.priority = Some(p);
    }
    request.queue_id = differs(form.get("queue"), &ticket.queue_id).filter(|q| !q.is_empty());
    request.service_id = differs(form.get("service"), &ticket.service_id);
    request.type_id = differs(form.get("type"), &ticket.type_id);
    request.owner_id = differs(form.get("owner"), &ticket.owner_id);
    request.responsible_id = differs(form.get("responsible"), &ticket.responsible_id);
    Ok(request)
}

/// A `datetime-local` value in the agent's zone (the script sends the browser's offset from
/// UTC in minutes, as `Date.getTimezoneOffset` gives it; without it, UTC).
fn pending_until(local: &str, offset_minutes: &str) -> Option<i64> {
    let at = chrono::NaiveDateTime::parse_from_str(local, "%Y-%m-%dT%H:%M").ok()?;
    let offset: i64 = offset_minutes.parse().unwrap_or(0);
    Some(at.and_utc().timestamp_micros() + offset * 60_000_000)
}

async fn lock(
    state: AppState,
    s: Session,
    ticket: pb::Ticket,
    form: Submitted,
) -> Result<Option<String>, tonic::Status> {
    state
        .tickets(&s.principal)
        .update_ticket(pb::UpdateTicketRequest {
            ticket_id: ticket.id,
            expected_version: ticket.version,
            locked: Some(form.get("locked") == "1"),
            ..Default::default()
        })
        .await?;
    Ok(None)
}

/// The custom fields as the form left them (an empty field clears its value).
async fn set_fields(
    state: AppState,
    s: Session,
    ticket: pb::Ticket,
    form: Submitted,
) -> Result<Option<String>, tonic::Status> {
    let defined = fields_of(&state, &s.principal, &ticket).await?;
    let values = defined
        .into_iter()
        .map(|f| {
            let name = format!("field.{}", f.key);
            let values = match f.kind.as_str() {
                "multi_select" => form.all(&name).to_vec(),
                "checkbox" => vec![(form.get(&name) == "on").to_string()],
                _ => Some(form.get(&name).to_owned())
                    .filter(|v| !v.is_empty())
                    .into_iter()
                    .collect(),
            };
            pb::FieldValue { key: f.key, values }
        })
        .collect();
    state
        .tickets(&s.principal)
        .set_ticket_fields(pb::SetTicketFieldsRequest {
            ticket_id: ticket.id,
            values,
        })
        .await?;
    Ok(None)
}

/// The tags as the form lists them (separated by spaces or commas).
async fn set_tags(
    state: AppState,
    s: Session,
    ticket: pb::Ticket,
    form: Submitted,
) -> Result<Option<String>, tonic::Status> {
    let wanted: Vec<String> = form
        .get("tags")
        .split([' ', ','])
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();
    let add = wanted
        .iter()
        .filter(|t| !ticket.tags.contains(t))
        .cloned()
        .collect();
    let remove = ticket
        .tags
        .iter()
        .filter(|t| !wanted.contains(t))
        .cloned()
        .collect();
    state
        .tickets(&s.principal)
        .tag_ticket(pb::TagTicketRequest {
            ticket_id: ticket.id,
            add,
            remove,
        })
        .await?;
    Ok(None)
}

async fn watch(
    state: AppState,
    s: Session,
    ticket: pb::Ticket,
    form: Submitted,
) -> Result<Option<String>, tonic::Status> {
    state
        .tickets(&s.principal)
        .watch_ticket(pb::WatchTicketRequest {
            ticket_id: ticket.id,
            watch: form.get("watch") == "1",
        })
        .await?;
    Ok(None)
}

async fn link(
    state: AppState,
    s: Session,
    ticket: pb::Ticket,
    form: Submitted,
) -> Result<Option<String>, tonic::Status> {
    let mut client = state.tickets(&s.principal);
    let other = client
        .get_ticket(pb::GetTicketRequest {
            ticket: form.get("other").to_owned(),
        })
        .await?
        .into_inner();
    let kind = if form.get("kind") == "parent" {
        pb::LinkKind::ParentChild
    } else {
        pb::LinkKind::Related
    };
    client
        .link_tickets(pb::LinkTicketsRequest {
            source_ticket_id: ticket.id,
            target_ticket_id: other.id,
            kind: kind.into(),
        })
        .await?;
    Ok(None)
}

async fn merge(
    state: AppState,
    s: Session,
    ticket: pb::Ticket,
    form: Submitted,
) -> Result<Option<String>, tonic::Status> {
    let mut client = state.tickets(&s.principal);
    let target = client
        .get_ticket(pb::GetTicketRequest {
            ticket: form.get("target").to_owned(),
        })
        .await?
        .into_inner();
    let merged = client
        .merge_tickets(pb::MergeTicketsRequest {
            target_ticket_id: target.id,
            source_ticket_ids: vec![ticket.id],
        })
        .await?
        .into_inner();
    if let Some(failed) = merged.outcomes.iter().find(|o| o.ticket.is_none()) {
        return Err(tonic::Status::failed_precondition(
            failed.error_message.clone(),
        ));
    }
    Ok(Some(format!("/desk/tickets/{}", target.number)))
}

/// Splits an article off into a new ticket in the same queue, linked as the ticket's child.
async fn split(
    State(state): State<AppState>,
    Path((key, article_id)): Path<(String, String)>,
    headers: HeaderMap,
    AgentForm(s, form): AgentForm,
) -> Response {
    ticket_action(
        &state,
        &headers,
        &key,
        s,
        form,
        |state, s, ticket, form| async move {
            let title = match form.get("title") {
                "" => ticket.title.clone(),
                given => given.to_owned(),
            };
            let new = state
                .tickets(&s.principal)
                .split_article(pb::SplitArticleRequest {
                    article_id,
                    queue_id: ticket.queue_id,
                    title,
                    priority: ticket.priority,
                })
                .await?
                .into_inner();
            Ok(Some(format!("/desk/tickets/{}", new.number)))
        },
    )
    .await
}

// ---------------------------------------------------------------------------------------------
// Phone ticket
// ---------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "desk/phone.html")]
struct PhonePage<'a> {
    t: &'static Texts,
    session: Option<&'a Session>,
    queues: Vec<Choice>,
    priorities: Vec<Choice>,
    error: Option<String>,
    customer: String,
    title: String,
    body: String,
}

async fn phone_page(
    State(state): State<AppState>,
    Query(query): Query<LangQuery>,
    headers: HeaderMap,
    AgentSession(s): AgentSession,
) -> Response {
    let t = texts(&query, &headers);
    phone_form(&state, t, &s, None, "", "", "", "", StatusCode::OK).await
}

#[allow(clippy::too_many_arguments)]
async fn phone_form(
    state: &AppState,
    t: &'static Texts,
    s: &Session,
    error: Option<String>,
    queue: &str,
    customer: &str,
    title: &str,
    body: &str,
    status: StatusCode,
) -> Response {
    let names = match Names::load(state, s).await {
        Ok(n) => n,
        Err(e) => return failure(t, Some(s), e.into()),
    };
    let page = PhonePage {
        t,
        session: Some(s),
        queues: names.queue_choices(queue),
        priorities: priority_choices(t, Some(3)),
        error,
        customer: customer.to_owned(),
        title: title.to_owned(),
        body: body.to_owned(),
    };
    render(&page, status)
}

async fn phone_submit(
    State(state): State<AppState>,
    Query(query): Query<LangQuery>,
    headers: HeaderMap,
    AgentForm(s, form): AgentForm,
) -> Response {
    let t = texts(&query, &headers);
    let request = pb::CreateTicketRequest {
        queue_id: form.get("queue").to_owned(),
        title: form.get("title").to_owned(),
        priority: form.get("priority").parse().unwrap_or(0),
        customer: form.get("customer").to_owned(),
        contact: Some(form.get("customer"))
            .filter(|c| c.contains('@'))
            .map(|email| pb::Contact {
                email: email.to_owned(),
                ..Default::default()
            }),
        article: Some(pb::NewArticle {
            sender: pb::SenderType::Customer.into(),
            channel: pb::Channel::Phone.into(),
            visible_to_customer: true,
            subject: form.get("title").to_owned(),
            body: form.get("body").to_owned(),
            time_minutes: form.get("time").parse().unwrap_or(0),
            attachments: form.files.clone(),
            ..Default::default()
        }),
        ..Default::default()
    };
    match state.tickets(&s.principal).create_ticket(request).await {
        Ok(ticket) => {
            Redirect::to(&format!("/desk/tickets/{}", ticket.into_inner().number)).into_response()
        }
        Err(status) if status.code() == tonic::Code::InvalidArgument => {
            phone_form(
                &state,
                t,
                &s,
                Some(status.message().to_owned()),
                form.get("queue"),
                form.get("customer"),
                form.get("title"),
                form.get("body"),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(status) => failure(t, Some(&s), status.into()),
    }
}

// ---------------------------------------------------------------------------------------------
// Live updates
// ---------------------------------------------------------------------------------------------

/// Server-sent events for the agent's open pages: a `change` event per ticket change in the
/// agent's tenants. The page fetches what it shows again, through the usual checks.
async fn events(
    State(state): State<AppState>,
    AgentSession(s): AgentSession,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, Response> {
    let claims = s.principal.claims;
    let everything = claims.is_installation_admin();
    let tenants: Vec<String> = claims
        .agent
        .map(|a| a.tenants.into_keys().collect())
        .unwrap_or_default();
    let notices = state.live.listen();
    let stream = futures::stream::unfold(notices, move |mut notices| {
        let tenants = tenants.clone();
        async move {
            loop {
                match notices.recv().await {
                    Ok(n) if everything || tenants.contains(&n.tenant_id) => {
                        let event = Event::default()
                            .event("change")
                            .json_data(&n)
                            .unwrap_or_else(|_| Event::default().event("change"));
                        return Some((Ok(event), notices));
                    }
                    Ok(_) => {}
                    // Too slow a reader: tell the page to fetch afresh.
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        return Some((Ok(Event::default().event("stale").data("{}")), notices));
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                }
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// The desk's pages.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(login::router(Area::Desk))
        .route("/desk/", get(overview))
        .route("/desk", get(|| async { Redirect::permanent("/desk/") }))
        .route("/desk/queues/{queue_id}", get(queue_view))
        .route("/desk/views/{view_id}", get(view))
        .route("/desk/search", get(search))
        .route("/desk/bulk", post(bulk))
        .route("/desk/phone", get(phone_page).post(phone_submit))
        .route("/desk/tickets/{ticket}", get(ticket_page))
        .route("/desk/tickets/{ticket}/{action}", post(act))
        .route("/desk/searches", post(save_search))
        .route("/desk/views/{view_id}/delete", post(delete_search))
        .route(
            "/desk/tickets/{ticket}/articles/{article_id}/split",
            post(split),
        )
        .route("/desk/events", get(events))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_through_their_names() {
        for st in STATES {
            assert_eq!(state_by_name(&state_name(st)), Some(st));
        }
        assert_eq!(state_by_name("merged"), None, "only merging sets it");
        assert_eq!(state_name(pb::TicketState::Merged), "merged");
    }

    #[test]
    fn pending_dates_are_read_in_the_agents_zone() {
        // 09:30 in Berlin in winter (UTC+1, offset -60) is 08:30 UTC.
        let utc = pending_until("2026-12-01T08:30", "0").unwrap();
        assert_eq!(pending_until("2026-12-01T09:30", "-60"), Some(utc));
        assert_eq!(pending_until("2026-12-01T08:30", ""), Some(utc));
        assert_eq!(pending_until("tomorrow", "0"), None);
    }

    #[test]
    fn list_links_keep_filters_and_encode_them() {
        let q = ListQuery {
            text: Some("vpn & mail".into()),
            state: Some("open".into()),
            sort: Some("priority".into()),
            order: Some("desc".into()),
            ..ListQuery::default()
        };
        assert_eq!(
            q.link("/desk/search", None, Some("tok/1")),
            "/desk/search?sort=priority&order=desc&text=vpn%20%26%20mail&state=open&page=tok%2F1"
        );
        assert_eq!(
            q.link("/desk/search", Some(("created", "asc")), None),
            "/desk/search?sort=created&order=asc&text=vpn%20%26%20mail&state=open"
        );
    }
}
