//! The ticket page: the ticket, its thread, history, links, custom fields and the forms of
//! every action.

use askama::Template;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::Response;
use docket_proto::ticket::v1 as pb;
use serde::Deserialize;

use super::{Names, priority_choices, state_choices, state_name};
use crate::AppState;
use crate::web::portal::{ArticleRow, Choice};
use crate::web::{
    DeskPage, LangQuery, Page, Session, Texts, When, choices_of, customer_label, error_page,
    failure, name_of, remember_lang, render,
};

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
        let kind = match pb::FieldKind::try_from(field.kind) {
            Ok(pb::FieldKind::Number) => "number",
            Ok(pb::FieldKind::Date) => "date",
            Ok(pb::FieldKind::SingleSelect) => "select",
            Ok(pb::FieldKind::MultiSelect) => "multi",
            Ok(pb::FieldKind::Checkbox) => "checkbox",
            Ok(pb::FieldKind::Text | pb::FieldKind::Unspecified) | Err(_) => "text",
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
pub(super) async fn fields_of(
    state: &AppState,
    p: &crate::auth::Principal,
    ticket: &pb::Ticket,
) -> Result<Vec<pb::CustomField>, tonic::Status> {
    Ok(state
        .tickets(p)
        .fields(&ticket.tenant_id)
        .await?
        .into_iter()
        .filter(|f| f.queue_ids.is_empty() || f.queue_ids.contains(&ticket.queue_id))
        .collect())
}

struct DeskArticle {
    id: String,
    row: ArticleRow,
    /// The body, with the addresses of a received mail's parts as links.
    body: Vec<Piece>,
    internal: bool,
    channel: &'static str,
    author: String,
    delivery: String,
}

/// A stretch of an article's body: text, or the address of a received mail's part.
#[derive(Debug, PartialEq, Eq)]
struct Piece {
    text: String,
    link: bool,
}

/// `body` cut into text and the addresses the mail service names a received mail's parts by
/// (`/api/v1/mail/messages/<id>/parts/<n>`, in the note on what an article could not take).
fn with_part_links(body: &str) -> Vec<Piece> {
    const PREFIX: &str = "/api/v1/mail/messages/";
    let mut pieces = Vec::new();
    let mut rest = body;
    while let Some(at) = rest.find(PREFIX) {
        let tail = &rest[at + PREFIX.len()..];
        let id_len = tail
            .find(|c: char| !(c.is_ascii_hexdigit() || c == '-'))
            .unwrap_or(tail.len());
        let number_len = tail[id_len..]
            .strip_prefix("/parts/")
            .map(|n| n.find(|c: char| !c.is_ascii_digit()).unwrap_or(n.len()))
            .unwrap_or(0);
        let len = PREFIX.len() + id_len + "/parts/".len() + number_len;
        if id_len == 0 || number_len == 0 {
            pieces.push(Piece {
                text: rest[..at + PREFIX.len()].to_owned(),
                link: false,
            });
            rest = &rest[at + PREFIX.len()..];
            continue;
        }
        pieces.push(Piece {
            text: rest[..at].to_owned(),
            link: false,
        });
        pieces.push(Piece {
            text: rest[at..at + len].to_owned(),
            link: true,
        });
        rest = &rest[at + len..];
    }
    pieces.push(Piece {
        text: rest.to_owned(),
        link: false,
    });
    pieces.retain(|p| !p.text.is_empty());
    pieces
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

pub(super) async fn ticket_page(
    Path(key): Path<String>,
    Query(query): Query<TicketQuery>,
    Page { state, s, t, .. }: DeskPage,
) -> Response {
    let lang = &query.lang;
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
    let ticket = client.ticket(key).await?;
    let id = ticket.id.clone();
    let (articles, history, links, templates, services, types, names, watchers, defined) = tokio::try_join!(
        async { state.tickets(p).articles(&id).await },
        async { state.tickets(p).history(&id).await },
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
        let done = children.iter().filter(|c| c.done).count();
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
                body: with_part_links(&a.body),
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
        states: state_choices(t, offered_states(&ticket, current), Some(current)),
        priorities: priority_choices(t, Some(ticket.priority)),
        queues: names.queue_choices(&ticket.queue_id),
        services: choices_of(&services, &ticket.service_id),
        types: choices_of(&types, &ticket.type_id),
        agents: names.agent_choices(&ticket.owner_id),
        responsibles: names.agent_choices(&ticket.responsible_id),
        ticket,
    })
}

/// The states the change form offers: those ticket core lets this agent set, with the current
/// one first when it is not among them (so that saving other changes leaves it as it is).
fn offered_states(ticket: &pb::Ticket, current: pb::TicketState) -> Vec<pb::TicketState> {
    let mut offered: Vec<pb::TicketState> =
        ticket.actions.iter().flat_map(|a| a.states()).collect();
    if !offered.is_empty() && !offered.contains(&current) {
        offered.insert(0, current);
    }
    offered
}

#[cfg(test)]
mod tests {
    use super::*;

    fn piece(text: &str, link: bool) -> Piece {
        Piece {
            text: text.into(),
            link,
        }
    }

    #[test]
    fn addresses_of_a_mails_parts_become_links_and_nothing_else_does() {
        let id = "0195f0a0-1c2d-7e3f-8a4b-5c6d7e8f9a0b";
        let body = format!(
            "- a.pdf (1 KiB): /api/v1/mail/messages/{id}/parts/21\n- b.pdf: \
             /api/v1/mail/messages/{id}/parts/3."
        );
        assert_eq!(
            with_part_links(&body),
            [
                piece("- a.pdf (1 KiB): ", false),
                piece(&format!("/api/v1/mail/messages/{id}/parts/21"), true),
                piece("\n- b.pdf: ", false),
                piece(&format!("/api/v1/mail/messages/{id}/parts/3"), true),
                piece(".", false),
            ]
        );
        for plain in [
            "see /api/v1/mail/messages/ for more",
            "/api/v1/mail/messages/abc/raw",
            "/api/v1/mail/messages/<script>/parts/1",
            "",
        ] {
            let pieces = with_part_links(plain);
            assert!(pieces.iter().all(|p| !p.link), "{plain}: {pieces:?}");
            let joined: String = pieces.iter().map(|p| p.text.as_str()).collect();
            assert_eq!(joined, plain);
        }
    }
}
