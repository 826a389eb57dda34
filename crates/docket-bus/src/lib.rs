//! Events between services.
//!
//! A service changes state and appends the event to its **outbox** in the same database
//! transaction ([`outbox::append`]). The [`outbox::Relay`] publishes pending events to the [`Bus`]
//! and marks them sent only after the bus confirmed them, so a crash or a broker outage loses
//! nothing (at worst an event is published twice). Consumers are idempotent through the
//! [`inbox`]: an event id processed once is skipped the second time.
//!
//! Two buses implement the same trait: [`rabbit::RabbitBus`] (a topic exchange, one durable quorum
//! queue per consuming service, publisher confirms, manual acks, a dead-letter exchange with a
//! bounded delivery count, reconnect with backoff) and [`memory::MemoryBus`] for the embedded mode.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use prost::Message as ProstMessage;

pub use docket_proto::events::v1::Envelope;

pub mod inbox;
pub mod memory;
pub mod outbox;
pub mod rabbit;

/// The bus's own tables (outbox, inbox), in every service database that publishes or consumes.
/// They keep their own bookkeeping table, so they never collide with the service's migrations.
pub fn migrations() -> &'static docket_store::Migrations {
    static MIGRATIONS: std::sync::LazyLock<docket_store::Migrations> =
        std::sync::LazyLock::new(|| {
            docket_store::Migrations::new(
                "_docket_bus_migrations",
                &[docket_store::MigrationSql {
                    version: 1,
                    description: "outbox and inbox",
                    portable: include_str!("../migrations/0001_bus.sql"),
                    postgres: include_str!("../migrations/0001_bus.postgres.sql"),
                    sqlite: include_str!("../migrations/0001_bus.sqlite.sql"),
                }],
            )
        });
    &MIGRATIONS
}

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("message broker unavailable: {0}")]
    Unavailable(String),
    #[error("the broker refused the message {event_id}")]
    Refused { event_id: String },
    #[error("malformed event on the bus: {0}")]
    Malformed(#[from] prost::DecodeError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// An event as it travels: the encoded envelope plus transport headers (trace context).
#[derive(Debug, Clone)]
pub struct BusMessage {
    pub event_id: String,
    pub routing_key: String,
    pub body: Vec<u8>,
    pub headers: HashMap<String, String>,
}

/// One event as a consumer receives it.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub envelope: Envelope,
    pub headers: HashMap<String, String>,
    /// How many times it was delivered before (0 the first time).
    pub attempt: u32,
}

impl Delivery {
    pub fn decode(message: &BusMessage, attempt: u32) -> Result<Self, BusError> {
        Ok(Self {
            envelope: Envelope::decode(message.body.as_slice())?,
            headers: message.headers.clone(),
            attempt,
        })
    }

    /// Decodes the payload as the event message `M`.
    pub fn payload<M: ProstMessage + Default>(&self) -> Result<M, HandlerError> {
        M::decode(self.envelope.payload.as_slice()).map_err(|e| {
            HandlerError::Reject(format!(
                "payload of {} is not valid: {e}",
                self.envelope.event_type
            ))
        })
    }
}

/// Why a handler did not process an event.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// Try again later (a dependency was unavailable); after the bounded number of deliveries the
    /// event goes to the dead-letter queue.
    #[error("retry: {0}")]
    Retry(String),
    /// The event can never be processed; it goes to the dead-letter queue at once.
    #[error("reject: {0}")]
    Reject(String),
}

impl From<sqlx::Error> for HandlerError {
    fn from(e: sqlx::Error) -> Self {
        Self::Retry(e.to_string())
    }
}

#[async_trait]
pub trait Handler: Send + Sync + 'static {
    async fn handle(&self, delivery: &Delivery) -> Result<(), HandlerError>;
}

/// A consumer's queue: its name (the consuming service) and the event types it wants.
#[derive(Debug, Clone)]
pub struct Subscription {
    /// Names the durable queue, e.g. `workflow`.
    pub consumer: String,
    /// Routing patterns: `ticket.created`, `ticket.*`, `#`.
    pub patterns: Vec<String>,
    /// Deliveries before an event is dead-lettered.
    pub max_deliveries: u32,
    /// A notice board rather than a work queue: every process gets its own queue, which lives
    /// only as long as its connection (RabbitMQ: exclusive, auto-delete, no dead letters). For
    /// what may be missed while nobody listens, such as the desk's live updates; the consumer
    /// name must be unique per process.
    pub transient: bool,
}

impl Subscription {
    pub fn new(consumer: impl Into<String>, patterns: &[&str]) -> Self {
        Self {
            consumer: consumer.into(),
            patterns: patterns.iter().map(|p| (*p).to_owned()).collect(),
            max_deliveries: 5,
            transient: false,
        }
    }

    /// A [transient](Self::transient) subscription.
    pub fn transient(consumer: impl Into<String>, patterns: &[&str]) -> Self {
        Self {
            max_deliveries: 1,
            transient: true,
            ..Self::new(consumer, patterns)
        }
    }
}

/// A message bus. `publish` returns once the bus has taken responsibility for the message (the
/// broker confirmed it; in-process: every subscriber processed it).
#[async_trait]
pub trait Bus: Send + Sync + 'static {
    async fn publish(&self, message: &BusMessage) -> Result<(), BusError>;

    /// Makes sure the consumer's queue exists and keeps every matching event published from now
    /// on, before the consumer runs: declared at startup for every consumer of the suite, so a
    /// producer that starts first loses nothing. Idempotent.
    async fn declare(&self, subscription: &Subscription) -> Result<(), BusError>;

    /// Starts consuming (declaring the queue first if needed); the consumer runs until `shutdown` and then finishes its current event.
    async fn subscribe(
        &self,
        subscription: Subscription,
        handler: Arc<dyn Handler>,
        shutdown: docket_platform::Shutdown,
    ) -> Result<tokio::task::JoinHandle<()>, BusError>;

    /// Whether the bus is connected (for readiness).
    fn is_connected(&self) -> bool;
}

/// Whether a topic pattern (`*` one word, `#` zero or more words) matches a routing key.
pub fn topic_matches(pattern: &str, key: &str) -> bool {
    fn go(p: &[&str], k: &[&str]) -> bool {
        match (p.first(), k.first()) {
            (None, None) => true,
            (Some(&"#"), _) => go(&p[1..], k) || (!k.is_empty() && go(p, &k[1..])),
            (Some(&"*"), Some(_)) => go(&p[1..], &k[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &k[1..]),
            _ => false,
        }
    }
    let p: Vec<&str> = pattern.split('.').collect();
    let k: Vec<&str> = key.split('.').collect();
    go(&p, &k)
}

/// Runs a handler for one delivery inside a span parented to the publisher's trace.
pub(crate) async fn handle_traced(
    handler: &dyn Handler,
    consumer: &str,
    delivery: &Delivery,
) -> Result<(), HandlerError> {
    use tracing::Instrument;
    let span = tracing::info_span!(
        "bus.consume",
        otel.kind = "consumer",
        consumer = %consumer,
        event_type = %delivery.envelope.event_type,
        event_id = %delivery.envelope.event_id,
    );
    docket_platform::propagation::set_parent_from(&span, &delivery.headers);
    let result = handler.handle(delivery).instrument(span).await;
    let outcome = match &result {
        Ok(()) => "ok",
        Err(HandlerError::Retry(_)) => "retry",
        Err(HandlerError::Reject(_)) => "reject",
    };
    metrics::counter!("docket_bus_consumed_total", "consumer" => consumer.to_owned(), "outcome" => outcome)
        .increment(1);
    result
}

#[cfg(test)]
mod tests {
    use super::topic_matches;

    #[test]
    fn topic_patterns() {
        assert!(topic_matches("ticket.created", "ticket.created"));
        assert!(topic_matches("ticket.*", "ticket.created"));
        assert!(!topic_matches("ticket.*", "ticket.article.added"));
        assert!(topic_matches("ticket.#", "ticket.article.added"));
        assert!(topic_matches("#", "queue.created"));
        assert!(topic_matches("#.added", "ticket.article.added"));
        assert!(!topic_matches("queue.*", "ticket.created"));
    }
}
