//! The phone ticket: an agent records a customer's call as a new ticket.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use docket_proto::ticket::v1 as pb;

use super::{Names, priority_choices};
use crate::AppState;
use crate::web::portal::Choice;
use crate::web::{DeskForm, DeskPage, Page, Posted, Session, Texts, failure, render};

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

pub(super) async fn phone_page(Page { state, s, t, .. }: DeskPage) -> Response {
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

pub(super) async fn phone_submit(
    Posted {
        state, s, t, form, ..
    }: DeskForm,
) -> Response {
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
