//! The agent desk: the queue overview with its counts, list views (queues, the agent's views
//! and saved searches, search) with sorting, filters, paging and bulk changes, the ticket page
//! with its thread, history, links and every action of the daily work, the phone ticket, and a
//! stream of server-sent events that keeps open pages current.
//!
//! Every call goes to the services with the agent's own token: what an agent may not see or do,
//! ticket core refuses, and the page says so.
//!
//! A module per page: `overview`, `lists` (queues, views, search, saved searches), `bulk`,
//! `ticket` (the page) and `actions` (its forms), `phone`, `events`. Here: the states an agent
//! sets and the names the pages look up.

mod actions;
mod bulk;
mod events;
mod lists;
mod overview;
mod phone;
mod ticket;

use std::collections::HashMap;

use axum::Router;
use axum::response::Redirect;
use axum::routing::{get, post};
use docket_proto::identity::v1 as ipb;
use docket_proto::ticket::v1 as pb;

use super::login::{self, Area};
use super::portal::Choice;
use super::{Session, Texts, choices_of, name_of};
use crate::AppState;

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

/// The state an API name (`pending_reminder`) names, as the protobuf spells it; ticket core
/// decides whether it may be set.
pub(super) fn state_by_name(name: &str) -> Option<pb::TicketState> {
    pb::TicketState::from_str_name(&format!("TICKET_STATE_{}", name.to_ascii_uppercase()))
        .filter(|s| *s != pb::TicketState::Unspecified)
}

/// The built-in states ticket core lets changes set, in the order forms offer them.
pub(super) async fn settable_states(
    state: &AppState,
    s: &Session,
) -> Result<Vec<pb::BuiltInState>, tonic::Status> {
    Ok(state
        .tickets(&s.principal)
        .list_states(pb::ListStatesRequest::default())
        .await?
        .into_inner()
        .built_in)
}

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

/// The desk's pages.
pub fn router() -> Router<AppState> {
    use actions::{act, split};
    use bulk::bulk;
    use events::events;
    use lists::{delete_search, queue_view, save_search, search, view};
    use overview::overview;
    use phone::{phone_page, phone_submit};
    use ticket::ticket_page;

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
        for st in (1..).map_while(|i| pb::TicketState::try_from(i).ok()) {
            assert_eq!(state_by_name(&state_name(st)), Some(st));
        }
        assert_eq!(state_name(pb::TicketState::Merged), "merged");
        assert_eq!(state_by_name("unspecified"), None);
        assert_eq!(state_by_name("sudo"), None);
    }
}
