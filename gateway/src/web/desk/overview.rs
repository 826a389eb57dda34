//! The desk's start page: the agent's queues with their counts, and the agent's views.

use askama::Template;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::Response;
use docket_proto::ticket::v1 as pb;

use crate::web::{DeskPage, LangQuery, Page, Session, Texts, failure, remember_lang, render};

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

pub(super) async fn overview(
    Query(query): Query<LangQuery>,
    Page { state, s, t, .. }: DeskPage,
) -> Result<Response, Response> {
    let loaded = async {
        let counts = state
            .tickets(&s.principal)
            .queue_overview(pb::QueueOverviewRequest::default())
            .await?
            .into_inner()
            .queues;
        let views = state.tickets(&s.principal).views().await?;
        Ok::<_, tonic::Status>((counts, views))
    }
    .await;
    let (counts, views) = loaded.map_err(|status| failure(t, Some(&s), status.into()))?;
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
    Ok(response)
}
