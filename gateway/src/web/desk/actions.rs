//! The ticket page's actions: answers and notes, changes of state, owner, queue and priority,
//! locking, custom fields, tags, watching, links, merging and splitting.

use axum::extract::Path;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use docket_proto::ticket::v1 as pb;

use super::state_by_name;
use super::ticket::fields_of;
use crate::AppState;
use crate::web::{DeskForm, LangQuery, Posted, Session, Submitted, failure, texts};

/// A change made from the ticket page; which one, the last part of the form's address says.
pub(super) async fn act(
    Path((key, action)): Path<(String, String)>,
    headers: HeaderMap,
    Posted { state, s, form, .. }: DeskForm,
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
        // The version the page showed: without it the change could overwrite another's.
        expected_version: Some(form.get("version").parse().map_err(|_| {
            tonic::Status::invalid_argument(
                "the form does not say which version of the ticket it shows: reload the page",
            )
        })?),
        ..Default::default()
    };
    if let Some(next) = state_by_name(form.get("state")) {
        if next != ticket.state() {
            request.state = Some(next.into());
        }
        let pending = ticket
            .actions
            .as_ref()
            .is_some_and(|a| a.pending_states.contains(&i32::from(next)));
        if pending {
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
            expected_version: Some(ticket.version),
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
            let values = match pb::FieldKind::try_from(f.kind) {
                Ok(pb::FieldKind::MultiSelect) => form.all(&name).to_vec(),
                Ok(pb::FieldKind::Checkbox) => vec![(form.get(&name) == "on").to_string()],
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
    let other = client.ticket(form.get("other")).await?;
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
    let target = client.ticket(form.get("target")).await?;
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
pub(super) async fn split(
    Path((key, article_id)): Path<(String, String)>,
    headers: HeaderMap,
    Posted { state, s, form, .. }: DeskForm,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_dates_are_read_in_the_agents_zone() {
        // 09:30 in Berlin in winter (UTC+1, offset -60) is 08:30 UTC.
        let utc = pending_until("2026-12-01T08:30", "0").unwrap();
        assert_eq!(pending_until("2026-12-01T09:30", "-60"), Some(utc));
        assert_eq!(pending_until("2026-12-01T08:30", ""), Some(utc));
        assert_eq!(pending_until("tomorrow", "0"), None);
    }
}
