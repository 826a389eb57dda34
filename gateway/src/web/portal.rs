//! The customer portal: sign in, report a request (service, type, subject, description,
//! attachments, the date it is wanted by), follow one's own requests and, where the company
//! grants it, the colleagues', read the messages meant for the customer (never internal notes:
//! ticket core leaves them out), reply with attachments, close, and reopen where the queue lets
//! follow-ups reopen tickets.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use docket_proto::ticket::v1 as pb;
use serde::Deserialize;

use super::login::{self, Area};
use super::{
    LangQuery, Session, Texts, When, choices_of, customer_label, error_page, failure,
    remember_lang, render, texts,
};
use crate::AppState;
use crate::error::ApiError;
use crate::web::{Page, PortalForm, PortalPage, Posted};

#[derive(Template)]
#[template(path = "tickets.html")]
struct TicketsPage<'a> {
    t: &'static Texts,
    session: Option<&'a Session>,
    closed: bool,
    tickets: Vec<TicketRow>,
    next: Option<String>,
}

struct TicketRow {
    number: String,
    title: String,
    state: &'static str,
    changed: When,
    /// Set for a colleague's request (company tickets): who asked.
    requester: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(flatten)]
    lang: LangQuery,
    show: Option<String>,
    page: Option<String>,
}

/// The customer's requests, open or closed, most recently changed first.
async fn my_tickets(
    Query(query): Query<ListQuery>,
    Page { state, s, t, .. }: PortalPage,
) -> Response {
    let lang = &query.lang;
    let closed = query.show.as_deref() == Some("closed");
    let state_types = if closed {
        vec![pb::StateType::Closed.into()]
    } else {
        vec![]
    };
    let found = state
        .tickets(&s.principal)
        .search_tickets(pb::SearchTicketsRequest {
            filter: Some(pb::TicketFilter {
                state_types,
                worked_on: !closed,
                ..Default::default()
            }),
            sort: pb::SortField::UpdatedAt.into(),
            descending: true,
            page_size: 50,
            page_token: query.page.clone().unwrap_or_default(),
            ..Default::default()
        })
        .await;
    let found = match found {
        Ok(r) => r.into_inner(),
        Err(status) => return failure(t, Some(&s), status.into()),
    };
    let me = s.principal.claims.sub.clone();
    let tickets = found
        .tickets
        .into_iter()
        .map(|ticket| TicketRow {
            state: t.state(ticket.state_type()),
            changed: When::of(ticket.updated_at_us),
            requester: (ticket.customer_id != me).then(|| customer_label(&ticket)),
            number: ticket.number,
            title: ticket.title,
        })
        .collect();
    let page = TicketsPage {
        t,
        session: Some(&s),
        closed,
        tickets,
        next: Some(found.next_page_token).filter(|n| !n.is_empty()),
    };
    let mut response = render(&page, StatusCode::OK);
    remember_lang(&mut response, lang, t);
    response
}

#[derive(Template)]
#[template(path = "new_ticket.html")]
struct NewTicketPage<'a> {
    t: &'static Texts,
    session: Option<&'a Session>,
    queues: Vec<Choice>,
    services: Vec<Choice>,
    types: Vec<Choice>,
    draft: Draft,
    title_error: bool,
    body_error: bool,
    error: Option<String>,
}

/// An option of a select, and whether it is chosen.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Default)]
struct Draft {
    queue: String,
    service: String,
    ticket_type: String,
    title: String,
    body: String,
    desired: String,
}

async fn new_ticket_page(Page { state, s, t, .. }: PortalPage) -> Response {
    new_ticket_form(&state, t, &s, Draft::default(), None, StatusCode::OK).await
}

/// The form for a new request, with what the customer gave so far and what is wrong with it.
async fn new_ticket_form(
    state: &AppState,
    t: &'static Texts,
    s: &Session,
    draft: Draft,
    problem: Option<NewTicketProblem>,
    status: StatusCode,
) -> Response {
    let tenant_id = s
        .principal
        .claims
        .customer
        .as_ref()
        .map(|c| c.tenant_id.clone())
        .unwrap_or_default();
    let choices = async {
        let queues = state.tickets(&s.principal).queues(&tenant_id).await?;
        let services = state
            .tickets(&s.principal)
            .list_services(pb::ListCatalogueRequest {
                tenant_id: tenant_id.clone(),
            })
            .await?
            .into_inner()
            .entries;
        let types = state
            .tickets(&s.principal)
            .list_ticket_types(pb::ListCatalogueRequest {
                tenant_id: tenant_id.clone(),
            })
            .await?
            .into_inner()
            .entries;
        Ok::<_, tonic::Status>((queues, services, types))
    }
    .await;
    let (queues, services, types) = match choices {
        Ok(c) => c,
        Err(status) => return failure(t, Some(s), status.into()),
    };
    let page = NewTicketPage {
        t,
        session: Some(s),
        queues: choices_of(&queues, &draft.queue),
        services: choices_of(&services, &draft.service),
        types: choices_of(&types, &draft.ticket_type),
        title_error: matches!(problem, Some(NewTicketProblem::Missing { title: true, .. })),
        body_error: matches!(problem, Some(NewTicketProblem::Missing { body: true, .. })),
        error: match problem {
            Some(NewTicketProblem::Refused(message)) => Some(message),
            _ => None,
        },
        draft,
    };
    render(&page, status)
}

enum NewTicketProblem {
    Missing { title: bool, body: bool },
    Refused(String),
}

/// A date from a date input (`YYYY-MM-DD`) as noon UTC of that day, which is that day in
/// every European time zone; empty is none.
fn desired_at(date: &str) -> Result<i64, ()> {
    if date.is_empty() {
        return Ok(0);
    }
    chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(12, 0, 0))
        .map(|d| d.and_utc().timestamp_micros())
        .ok_or(())
}

async fn new_ticket_submit(
    Posted {
        state, s, t, form, ..
    }: PortalForm,
) -> Response {
    let draft = Draft {
        queue: form.get("queue").to_owned(),
        service: form.get("service").to_owned(),
        ticket_type: form.get("type").to_owned(),
        title: form.get("title").to_owned(),
        body: form.get("body").to_owned(),
        desired: form.get("desired").to_owned(),
    };
    if draft.title.is_empty() || draft.body.is_empty() {
        let missing = NewTicketProblem::Missing {
            title: draft.title.is_empty(),
            body: draft.body.is_empty(),
        };
        return new_ticket_form(
            &state,
            t,
            &s,
            draft,
            Some(missing),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let Ok(desired_at_us) = desired_at(&draft.desired) else {
        let problem = NewTicketProblem::Refused(format!("{}: {}", t.desired_date, draft.desired));
        return new_ticket_form(
            &state,
            t,
            &s,
            draft,
            Some(problem),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let request = pb::CreateTicketRequest {
        queue_id: draft.queue.clone(),
        title: draft.title.clone(),
        service_id: draft.service.clone(),
        type_id: draft.ticket_type.clone(),
        desired_at_us,
        article: Some(pb::NewArticle {
            sender: pb::SenderType::Customer.into(),
            channel: pb::Channel::Portal.into(),
            visible_to_customer: true,
            subject: draft.title.clone(),
            body: draft.body.clone(),
            attachments: form.files,
            ..Default::default()
        }),
        ..Default::default()
    };
    match state.tickets(&s.principal).create_ticket(request).await {
        Ok(ticket) => {
            Redirect::to(&format!("/portal/tickets/{}", ticket.into_inner().number)).into_response()
        }
        Err(status) if status.code() == tonic::Code::InvalidArgument => {
            let problem = NewTicketProblem::Refused(status.message().to_owned());
            new_ticket_form(
                &state,
                t,
                &s,
                draft,
                Some(problem),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(status) => failure(t, Some(&s), status.into()),
    }
}

#[derive(Template)]
#[template(path = "ticket.html")]
struct TicketPage<'a> {
    t: &'static Texts,
    session: Option<&'a Session>,
    number: String,
    title: String,
    state: &'static str,
    changed: When,
    created: When,
    closed: bool,
    /// What ticket core lets the customer do: reply, close, reopen.
    replyable: bool,
    closable: bool,
    reopenable: bool,
    articles: Vec<ArticleRow>,
    draft: String,
    reply_error: bool,
}

pub struct ArticleRow {
    pub who: &'static str,
    pub at: When,
    pub subject: String,
    pub body: String,
    pub attachments: Vec<pb::Attachment>,
}

/// One of the customer's requests with the messages she may read; another's request is as
/// unknown as a missing one.
async fn ticket_page(Path(key): Path<String>, Page { state, s, t, .. }: PortalPage) -> Response {
    show_ticket(&state, t, &s, &key, "", false, StatusCode::OK).await
}

async fn show_ticket(
    state: &AppState,
    t: &'static Texts,
    s: &Session,
    key: &str,
    draft: &str,
    reply_error: bool,
    status: StatusCode,
) -> Response {
    let loaded = async {
        let mut client = state.tickets(&s.principal);
        let ticket = client.ticket(key).await?;
        let articles = client.articles(&ticket.id).await?;
        Ok::<_, tonic::Status>((ticket, articles))
    }
    .await;
    let (ticket, articles) = match loaded {
        Ok(l) => l,
        // A malformed number is as unknown as a missing one.
        Err(status) if status.code() == tonic::Code::InvalidArgument => {
            return error_page(t, Some(s), StatusCode::NOT_FOUND, t.not_found);
        }
        Err(status) => return failure(t, Some(s), status.into()),
    };
    // What the customer may do, as ticket core says.
    let actions = ticket.actions.clone().unwrap_or_default();
    let may_set = |st: pb::TicketState| actions.states().any(|s| s == st);
    let page = TicketPage {
        t,
        session: Some(s),
        state: t.state(ticket.state_type()),
        changed: When::of(ticket.updated_at_us),
        created: When::of(ticket.created_at_us),
        replyable: actions.reply,
        closable: may_set(pb::TicketState::ClosedSuccessful),
        closed: ticket.state_type() == pb::StateType::Closed,
        reopenable: may_set(pb::TicketState::Open),
        articles: articles
            .into_iter()
            .filter(|a| a.visible_to_customer)
            .map(|a| ArticleRow {
                who: if a.sender == pb::SenderType::Customer as i32 {
                    t.you
                } else {
                    t.service_desk
                },
                at: When::of(a.created_at_us),
                subject: a.subject,
                body: a.body,
                attachments: a.attachments,
            })
            .collect(),
        number: ticket.number,
        title: ticket.title,
        draft: draft.to_owned(),
        reply_error,
    };
    render(&page, status)
}

/// The customer's reply, with attachments.
async fn reply(
    Path(key): Path<String>,
    Posted {
        state, s, t, form, ..
    }: PortalForm,
) -> Response {
    let body = form.get("body").to_owned();
    if body.is_empty() {
        return show_ticket(
            &state,
            t,
            &s,
            &key,
            "",
            true,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let added = async {
        let mut client = state.tickets(&s.principal);
        let ticket = client.ticket(&key).await?;
        client
            .add_article(pb::AddArticleRequest {
                ticket_id: ticket.id,
                article: Some(pb::NewArticle {
                    sender: pb::SenderType::Customer.into(),
                    channel: pb::Channel::Portal.into(),
                    visible_to_customer: true,
                    subject: format!("Re: {}", ticket.title),
                    body,
                    attachments: form.files,
                    ..Default::default()
                }),
            })
            .await?;
        Ok::<_, tonic::Status>(ticket.number)
    }
    .await;
    match added {
        Ok(number) => back_to(&number),
        Err(status) => failure(t, Some(&s), ApiError::from(status)),
    }
}

fn back_to(number: &str) -> Response {
    Redirect::to(&format!("/portal/tickets/{number}")).into_response()
}

/// Closes the request (`close`), or reopens it (`reopen`): ticket core decides whether the
/// customer may.
async fn set_state(
    State(state): State<AppState>,
    Path((key, action)): Path<(String, String)>,
    Query(query): Query<LangQuery>,
    headers: HeaderMap,
    // Taken as a result: an unknown action is answered 404 before the session is looked at.
    signed: Result<PortalForm, Response>,
) -> Response {
    let state = &state;
    let key = key.as_str();
    let t = texts(&query, &headers);
    let to = match action.as_str() {
        "close" => pb::TicketState::ClosedSuccessful,
        "reopen" => pb::TicketState::Open,
        _ => return error_page(t, None, StatusCode::NOT_FOUND, t.not_found),
    };
    let Posted { s, .. } = match signed {
        Ok(signed) => signed,
        Err(r) => return r,
    };
    let changed = async {
        let mut client = state.tickets(&s.principal);
        let ticket = client.ticket(key).await?;
        client
            .update_ticket(pb::UpdateTicketRequest {
                ticket_id: ticket.id,
                expected_version: Some(ticket.version),
                state: Some(to.into()),
                ..Default::default()
            })
            .await?;
        Ok::<_, tonic::Status>(ticket.number)
    }
    .await;
    match changed {
        Ok(number) => back_to(&number),
        Err(status) => failure(t, Some(&s), status.into()),
    }
}

/// The portal's pages.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(login::router(Area::Portal))
        .route("/portal/", get(my_tickets))
        .route("/portal/new", get(new_ticket_page).post(new_ticket_submit))
        .route("/portal/tickets/{ticket}", get(ticket_page))
        .route("/portal/tickets/{ticket}/reply", post(reply))
        .route("/portal/tickets/{ticket}/{action}", post(set_state))
        .route("/portal", get(|| async { Redirect::permanent("/portal/") }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::EN;

    #[test]
    fn desired_dates_are_noon_utc_of_the_day() {
        assert_eq!(desired_at(""), Ok(0));
        assert_eq!(desired_at("2026-12-24"), Ok(1_798_113_600_000_000));
        assert!(desired_at("24.12.2026").is_err());
        assert!(desired_at("2026-02-30").is_err());
    }

    #[test]
    fn missing_fields_are_marked_and_described() {
        let page = NewTicketPage {
            t: &EN,
            session: None,
            queues: vec![],
            services: vec![Choice {
                value: "s1".into(),
                label: "E-Mail".into(),
                selected: true,
            }],
            types: vec![],
            draft: Draft {
                body: "the beamer".into(),
                ..Draft::default()
            },
            title_error: true,
            body_error: false,
            error: None,
        };
        let html = page.render().unwrap();
        assert!(html.contains(r#"aria-describedby="title-error""#), "{html}");
        assert!(html.contains(r#"id="title-error""#));
        assert!(!html.contains(r#"id="body-error""#));
        assert!(html.contains("the beamer"), "what she wrote stays");
        assert!(html.contains(r#"<option value="s1" selected>"#), "{html}");
        assert!(html.contains(r#"enctype="multipart/form-data""#));
    }
}
