//! Live updates for the desk: the gateway listens to the ticket events on a transient
//! subscription of its own (every replica hears every event) and passes a short notice of each
//! to the desk pages open in browsers, as server-sent events. A notice names the ticket, its
//! tenant and, where the event tells it, the queue. Each agent's stream passes on only the
//! notices of tickets the agent may read, as ticket core decides (`web::desk::events`); the page
//! asks the server again for what it shows. Notices missed while nobody listens are not kept:
//! the pages fetch afresh when they reconnect.

use std::sync::Arc;

use async_trait::async_trait;
use docket_bus::{Bus, BusError, Delivery, Handler, HandlerError, Subscription};
use docket_proto::events::v1 as ev;
use serde::Serialize;
use tokio::sync::broadcast;

/// What changed, as sent to the browser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notice {
    /// `ticket.created`, `ticket.updated`, `ticket.article.added`, …
    pub kind: String,
    pub ticket_id: String,
    #[serde(skip)]
    pub tenant_id: String,
    /// The queues the ticket is in or left (a move names both); empty when the event does not say.
    pub queue_ids: Vec<String>,
}

/// The hub the desk's event streams listen to.
#[derive(Clone)]
pub struct Live {
    notices: broadcast::Sender<Notice>,
    /// The gateway's shutdown: the open streams end with it.
    shutdown: docket_platform::Shutdown,
}

impl Default for Live {
    fn default() -> Self {
        Self {
            notices: broadcast::channel(1024).0,
            shutdown: docket_platform::Shutdown::default(),
        }
    }
}

impl Live {
    /// Subscribes to the ticket events on `bus` until `shutdown`.
    pub async fn start(
        bus: &dyn Bus,
        shutdown: docket_platform::Shutdown,
    ) -> Result<Self, BusError> {
        let live = Self {
            shutdown: shutdown.clone(),
            ..Self::default()
        };
        let name = format!("gateway-live-{}", uuid::Uuid::now_v7().simple());
        bus.subscribe(
            Subscription::transient(name, &["ticket.#"]),
            Arc::new(Forward(live.notices.clone())),
            shutdown,
        )
        .await?;
        Ok(live)
    }

    pub fn listen(&self) -> broadcast::Receiver<Notice> {
        self.notices.subscribe()
    }

    /// Completes when the gateway begins to shut down. A stream of server-sent events never
    /// ends by itself: the streams end then, so an open desk page does not hold the graceful
    /// shutdown until its timeout.
    pub async fn stopping(&self) {
        self.shutdown.cancelled().await;
    }
}

struct Forward(broadcast::Sender<Notice>);

#[async_trait]
impl Handler for Forward {
    async fn handle(&self, delivery: &Delivery) -> Result<(), HandlerError> {
        if let Some(notice) = notice(delivery) {
            // Nobody listening is fine.
            let _ = self.0.send(notice);
        }
        Ok(())
    }
}

/// The notice of a ticket event; `None` for events that are not about a ticket.
fn notice(delivery: &Delivery) -> Option<Notice> {
    let envelope = &delivery.envelope;
    if envelope.aggregate_type != "ticket" || envelope.aggregate_id.is_empty() {
        return None;
    }
    let queue_ids = match envelope.event_type.as_str() {
        "ticket.created" => delivery
            .payload::<ev::TicketCreated>()
            .map(|e| vec![e.queue_id])
            .unwrap_or_default(),
        "ticket.updated" => delivery
            .payload::<ev::TicketUpdated>()
            .map(|e| {
                e.changes
                    .into_iter()
                    .filter(|c| c.field == "queue_id")
                    .flat_map(|c| [c.old_value, c.new_value])
                    .filter(|q| !q.is_empty())
                    .collect()
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    Some(Notice {
        kind: envelope.event_type.clone(),
        ticket_id: envelope.aggregate_id.clone(),
        tenant_id: envelope.tenant_id.clone(),
        queue_ids,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message as _;

    fn delivery(event_type: &str, payload: Vec<u8>) -> Delivery {
        Delivery {
            envelope: ev::Envelope {
                event_id: "e1".into(),
                event_type: event_type.into(),
                tenant_id: "t1".into(),
                aggregate_type: "ticket".into(),
                aggregate_id: "k1".into(),
                payload,
                ..Default::default()
            },
            headers: Default::default(),
            attempt: 0,
        }
    }

    #[test]
    fn notices_name_the_ticket_and_the_queues_it_is_in_or_left() {
        let created = ev::TicketCreated {
            queue_id: "q1".into(),
            ..Default::default()
        };
        let n = notice(&delivery("ticket.created", created.encode_to_vec())).unwrap();
        assert_eq!(
            (n.ticket_id.as_str(), n.tenant_id.as_str(), n.queue_ids),
            ("k1", "t1", vec!["q1".to_owned()])
        );
        let moved = ev::TicketUpdated {
            changes: vec![
                ev::FieldChange {
                    field: "queue_id".into(),
                    old_value: "q1".into(),
                    new_value: "q2".into(),
                },
                ev::FieldChange {
                    field: "priority".into(),
                    old_value: "3".into(),
                    new_value: "4".into(),
                },
            ],
            ..Default::default()
        };
        let n = notice(&delivery("ticket.updated", moved.encode_to_vec())).unwrap();
        assert_eq!(n.queue_ids, vec!["q1".to_owned(), "q2".to_owned()]);
        let n = notice(&delivery("ticket.article.added", vec![])).unwrap();
        assert!(n.queue_ids.is_empty());
        let mut other = delivery("queue.created", vec![]);
        other.envelope.aggregate_type = "queue".into();
        assert!(notice(&other).is_none());
    }
}
