//! Live updates: server-sent events that keep the agent's open pages current.

use std::convert::Infallible;

use axum::extract::State;
use axum::response::Response;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;

use crate::AppState;
use crate::web::AgentSession;

/// Server-sent events for the agent's open pages: a `change` event per ticket change in the
/// agent's tenants. The page fetches what it shows again, through the usual checks.
pub(super) async fn events(
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
