//! A queue's own page: its settings, changed.

use askama::Template;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::Response;
use docket_proto::ticket::v1 as pb;

use super::{AdminQuery, Item, Section, back_to_list, list, names_with, optional_choice, tenants};
use crate::rest::vocabulary::{AutomaticMail, FollowUp};
use crate::web::portal::Choice;
use crate::web::{DeskForm, DeskPage, Page, Posted, Session, Texts, choices_of, failure, render};

#[derive(Template)]
#[template(path = "desk/admin_queue.html")]
struct QueuePage<'a> {
    t: &'static Texts,
    session: Option<&'a Session>,
    tenant: String,
    item: Item,
    queue: pb::Queue,
    groups: Vec<Choice>,
    follow_ups: Vec<Choice>,
    automatic_mails: Vec<Choice>,
}

/// One queue's settings, to change them.
pub(super) async fn queue_page(
    Path(queue_id): Path<String>,
    Query(query): Query<AdminQuery>,
    Page { state, s, t, .. }: DeskPage,
) -> Result<Response, Response> {
    let loaded = async {
        let (tenant, _) = tenants(&state, &s, query.tenant.as_deref()).await?;
        let queue = state
            .tickets(&s.principal)
            .queues(&tenant)
            .await?
            .into_iter()
            .find(|q| q.id == queue_id)
            .ok_or_else(|| tonic::Status::not_found("queue not found"))?;
        let groups = state.identity_admin(&s.principal).groups(&tenant).await?;
        Ok::<_, tonic::Status>((tenant, queue, groups))
    }
    .await;
    let (tenant, queue, groups) = loaded.map_err(|status| failure(t, Some(&s), status.into()))?;
    let page = QueuePage {
        t,
        session: Some(&s),
        item: Item::new(t, Section::Queues, t.queue, &queue.id, &queue.name),
        groups: choices_of(&groups, &queue.group_id),
        follow_ups: names_with(
            FollowUp::all(),
            FollowUp::name,
            FollowUp::name_of(queue.follow_up),
        ),
        automatic_mails: names_with(
            AutomaticMail::all(),
            AutomaticMail::name,
            AutomaticMail::name_of(queue.automatic_mail),
        ),
        tenant,
        queue,
    };
    Ok(render(&page, StatusCode::OK))
}

/// Saves a queue's settings as the form left them.
pub(super) async fn queue_save(
    Path(queue_id): Path<String>,
    Query(query): Query<AdminQuery>,
    Posted {
        state, s, t, form, ..
    }: DeskForm,
) -> Response {
    let saved = async {
        let update = pb::UpdateQueueRequest {
            queue_id,
            group_id: Some(form.get("group").to_owned()),
            portal: Some(form.get("portal") == "on"),
            signature: Some(form.get("signature").to_owned()),
            follow_up: optional_choice(FollowUp::named, form.get("follow_up"), "follow-up policy")?
                .map(FollowUp::to_pb),
            automatic_mail: optional_choice(
                AutomaticMail::named,
                form.get("automatic_mail"),
                "policy for automatic mail",
            )?
            .map(AutomaticMail::to_pb),
            set_addresses: true,
            addresses: list(form.get("addresses")),
        };
        state.tickets(&s.principal).update_queue(update).await
    }
    .await;
    back_to_list(
        t,
        &s,
        Section::Queues,
        saved.map(|_| query.tenant.unwrap_or_default()),
    )
}
