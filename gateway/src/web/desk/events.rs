//! Live updates: server-sent events that keep the agent's open pages current.
//!
//! Who hears what:
//! - A notice reaches an agent only about a ticket they may read now, decided by ticket core
//!   exactly as when they open the ticket: the stream asks for it with the agent's own token. A
//!   ticket in a queue the agent holds no `ro` on, or of another tenant, answers "not found" and
//!   its notice is dropped; owners, substitutes and collaborators hear about the tickets they read
//!   that way. No rule of access is written here: most events do not name the ticket's queue,
//!   and reading follows the owner and the collaborators too, which only ticket core knows.
//! - Notices of tenants the agent is no member of are dropped without asking (installation
//!   administrators too: they read tickets only with group permissions, like everybody else).
//! - A notice names at most the queue the ticket is in now, which the agent then sees anyway;
//!   the queue a move came from is left out. The pages still refetch a list showing the ticket.
//! - A ticket moved out of the agent's queues into one they may not read is no longer theirs:
//!   its notice is dropped, and a list still showing it is current again at its next fetch.
//! - The stream ends when the agent's access token expires (or ticket core stops accepting it):
//!   the browser reconnects with a fresh one, so a change of permissions or a session that ends
//!   reaches the stream as it reaches every other request. It also ends when the gateway shuts
//!   down.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::Response;
use axum::response::sse::{Event, KeepAlive, Sse};
use docket_auth::Claims;
use docket_proto::ticket::v1 as pb;
use futures::{Stream, StreamExt as _};
use tokio::sync::broadcast;
use tonic::{Code, Status};

use crate::live::Notice;
use crate::web::AgentSession;
use crate::{AppState, TicketApi};

/// Server-sent events for the agent's open pages: a `change` event per change of a ticket the
/// agent may read (see the module's rules). The page fetches what it shows again, through the
/// usual checks.
pub(super) async fn events(
    State(state): State<AppState>,
    AgentSession(s): AgentSession,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, Response> {
    let principal = s.principal;
    let left = principal.claims.exp - chrono::Utc::now().timestamp();
    let expires = tokio::time::sleep(Duration::from_secs(u64::try_from(left).unwrap_or(0)));
    let live = state.live.clone();
    let ends = async move {
        tokio::select! {
            () = expires => {}
            () = live.stopping() => {}
        }
    };
    let listener = Listener {
        notices: state.live.listen(),
        tickets: state.tickets(&principal),
        claims: principal.claims,
    };
    let stream = futures::stream::unfold(listener, |mut listener| async move {
        let event = listener.next().await?;
        Some((Ok(event), listener))
    })
    .take_until(ends);
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// One agent's stream: the notices of the hub, told only as the agent may hear them.
struct Listener {
    notices: broadcast::Receiver<Notice>,
    /// Ticket core, called as the agent.
    tickets: TicketApi,
    claims: Claims,
}

impl Listener {
    /// The next event for the agent; `None` ends the stream.
    async fn next(&mut self) -> Option<Event> {
        loop {
            let notice = match self.notices.recv().await {
                Ok(notice) => notice,
                // Too slow a reader: tell the page to fetch afresh.
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    return Some(Event::default().event("stale").data("{}"));
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            };
            if self.claims.tenant(&notice.tenant_id).is_none() {
                continue;
            }
            let read = self.tickets.ticket(&notice.ticket_id).await;
            match told(notice, read) {
                Told::Tell(notice) => {
                    let event = Event::default()
                        .event("change")
                        .json_data(&notice)
                        .unwrap_or_else(|_| Event::default().event("change"));
                    return Some(event);
                }
                Told::Skip => {}
                Told::End => return None,
            }
        }
    }
}

/// What the stream does with a notice, given how reading its ticket as the agent went.
#[derive(Debug, PartialEq, Eq)]
enum Told {
    /// Send it, naming no queue but the ticket's own.
    Tell(Notice),
    /// Not for this agent (or not to be decided now).
    Skip,
    /// The agent's token is no longer accepted: end the stream, the browser reconnects.
    End,
}

fn told(mut notice: Notice, read: Result<pb::Ticket, Status>) -> Told {
    match read {
        Ok(ticket) => {
            notice.queue_ids.retain(|q| *q == ticket.queue_id);
            Told::Tell(notice)
        }
        Err(status) if status.code() == Code::Unauthenticated => Told::End,
        Err(status) => {
            // Not found or not allowed: not the agent's. Anything else (ticket core away) tells
            // nothing either rather than something unchecked.
            if !matches!(status.code(), Code::NotFound | Code::PermissionDenied) {
                tracing::debug!(ticket_id = %notice.ticket_id, error = %status, "a live notice could not be checked");
            }
            Told::Skip
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(queue_ids: &[&str]) -> Notice {
        Notice {
            kind: "ticket.updated".into(),
            ticket_id: "k1".into(),
            tenant_id: "t1".into(),
            queue_ids: queue_ids.iter().map(|q| (*q).to_owned()).collect(),
        }
    }

    fn in_queue(queue_id: &str) -> Result<pb::Ticket, Status> {
        Ok(pb::Ticket {
            id: "k1".into(),
            queue_id: queue_id.into(),
            ..Default::default()
        })
    }

    #[test]
    fn a_readable_ticket_is_told_with_its_own_queue_only() {
        assert_eq!(
            told(notice(&["q1"]), in_queue("q1")),
            Told::Tell(notice(&["q1"]))
        );
        // Moved from a queue the agent may not know into theirs: the old one is not named.
        assert_eq!(
            told(notice(&["secret", "q1"]), in_queue("q1")),
            Told::Tell(notice(&["q1"]))
        );
        // Events that name no queue are told as they are.
        assert_eq!(told(notice(&[]), in_queue("q1")), Told::Tell(notice(&[])));
    }

    #[test]
    fn what_the_agent_may_not_read_is_not_told_and_a_refused_token_ends_the_stream() {
        for code in [
            Code::NotFound,
            Code::PermissionDenied,
            Code::Unavailable,
            Code::Internal,
        ] {
            assert_eq!(
                told(notice(&["q1"]), Err(Status::new(code, "x"))),
                Told::Skip,
                "{code:?}"
            );
        }
        assert_eq!(
            told(notice(&["q1"]), Err(Status::unauthenticated("expired"))),
            Told::End
        );
    }
}
