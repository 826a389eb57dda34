//! Lists of tickets: a queue, one of the agent's views or saved searches, the search, with
//! sorting, filters and paging; saving and deleting a search.

use askama::Template;
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use docket_proto::ticket::v1 as pb;
use serde::Deserialize;

use super::{Names, priority_choices, settable_states, state_choices, state_name};
use crate::AppState;
use crate::rest::percent_encode;
use crate::rest::tickets::state_type_of;
use crate::rest::vocabulary::StateType;
use crate::web::portal::Choice;
use crate::web::{
    DeskForm, DeskPage, LangQuery, Page, Posted, Session, Texts, When, customer_label, error_page,
    failure, remember_lang, render, texts,
};

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
                parts.push(format!("{k}={}", percent_encode(v)));
            }
        }
        if let Some(p) = page {
            parts.push(format!("page={}", percent_encode(p)));
        }
        format!("{path}?{}", parts.join("&"))
    }
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
    let (names, states) = match tokio::try_join!(Names::load(state, &s), settable_states(state, &s))
    {
        Ok(loaded) => loaded,
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
        states: SEARCHABLE_STATE_TYPES
            .into_iter()
            .map(|st| {
                let value = StateType::name_of(st.into()).to_owned();
                Choice {
                    label: t.state(st).to_owned(),
                    selected: query.state.as_deref() == Some(value.as_str()),
                    value,
                }
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
        // A bulk change gives no date, so pending states are not offered.
        bulk_states: state_choices(
            t,
            states
                .iter()
                .filter(|st| !st.needs_pending_until)
                .map(|st| st.state()),
            None,
        ),
        bulk_queues: names.queue_choices(""),
        bulk_agents: names.agent_choices(""),
    };
    let mut response = render(&page, StatusCode::OK);
    remember_lang(&mut response, lang, t);
    response
}

/// The state types the search form offers: all but merged and removed, which nobody looks for.
const SEARCHABLE_STATE_TYPES: [pb::StateType; 5] = [
    pb::StateType::New,
    pb::StateType::Open,
    pb::StateType::PendingReminder,
    pb::StateType::PendingAuto,
    pb::StateType::Closed,
];

pub(super) async fn queue_view(
    Path(queue_id): Path<String>,
    Query(query): Query<ListQuery>,
    headers: HeaderMap,
    Page { state, s, .. }: DeskPage,
) -> Response {
    let (sort, descending) = query.sort();
    let (state_types, worked_on) = match query.show.as_deref() {
        Some("all") => (vec![], false),
        Some("closed") => (vec![pb::StateType::Closed.into()], false),
        _ => (vec![], true),
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
                    worked_on,
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

pub(super) async fn view(
    Path(view_id): Path<String>,
    Query(query): Query<ListQuery>,
    headers: HeaderMap,
    Page { state, s, .. }: DeskPage,
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

pub(super) async fn search(
    Query(query): Query<ListQuery>,
    headers: HeaderMap,
    Page { state, s, .. }: DeskPage,
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
        state_types: some(state_type)
            .map(|n| state_type_of(&n))
            .into_iter()
            .collect(),
        priorities: priority.parse().ok().into_iter().collect(),
        ..Default::default()
    }
}

/// Saves the search form's filter under a name: it joins the agent's views.
pub(super) async fn save_search(
    Posted {
        state, s, t, form, ..
    }: DeskForm,
) -> Response {
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
pub(super) async fn delete_search(
    Path(view_id): Path<String>,
    Posted { state, s, t, .. }: DeskForm,
) -> Response {
    match state
        .tickets(&s.principal)
        .delete_saved_search(pb::DeleteSavedSearchRequest { id: view_id })
        .await
    {
        Ok(_) => Redirect::to("/desk/").into_response(),
        Err(status) => failure(t, Some(&s), status.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
