//! The outbox relay, the inbox and both buses against real servers: PostgreSQL and SQLite for the
//! outbox and inbox, a RabbitMQ broker for [`RabbitBus`].
//!
//! The servers are required: a test fails (it is never skipped) when PostgreSQL
//! (`DOCKET_TEST_POSTGRES`, default `postgres://postgres@127.0.0.1:5432`) or RabbitMQ
//! (`DOCKET_TEST_AMQP`, default `amqp://guest:guest@127.0.0.1:5672/%2f`) is not reachable.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use docket_bus::memory::MemoryBus;
use docket_bus::outbox::{self, NewEvent, OutboxSignal, Relay};
use docket_bus::rabbit::{RabbitBus, RabbitConfig};
use docket_bus::{
    Bus, BusError, BusMessage, Delivery, Envelope, Handler, HandlerError, Subscription, inbox,
};
use docket_platform::Shutdown;
use docket_store::{Backend, Db};
use prost::Message as _;

// ---------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------

/// A fresh database of `backend` with the bus's tables.
async fn setup(backend: Backend) -> Db {
    let db = docket_store::testing::fresh_db(backend)
        .await
        .unwrap_or_else(|e| {
            panic!("cannot open a fresh {backend:?} database (is it running?): {e}")
        });
    db.migrate(docket_bus::migrations())
        .await
        .unwrap_or_else(|e| panic!("migrating the {backend:?} database failed: {e}"));
    db
}

/// Drops the test's database (after a passing test; a failing one leaves it for inspection).
async fn teardown(db: Db) {
    docket_store::testing::discard(db).await.unwrap();
}

/// One `#[tokio::test]` per engine for each case: `mod case { fn postgres; fn sqlite }`.
macro_rules! on_both_engines {
    ($($case:ident),+ $(,)?) => {
        $(
            mod $case {
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn postgres() {
                    let db = super::setup(docket_store::Backend::Postgres).await;
                    super::$case(&db).await;
                    super::teardown(db).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn sqlite() {
                    let db = super::setup(docket_store::Backend::Sqlite).await;
                    super::$case(&db).await;
                    super::teardown(db).await;
                }
            }
        )+
    };
}

on_both_engines!(
    case_relay_publishes_in_order_once,
    case_relay_never_publishes_a_rolled_back_event,
    case_relay_keeps_events_while_the_bus_fails,
    case_relay_run_publishes_after_commit,
    case_inbox_claims_once_per_consumer,
    case_inbox_claim_rolled_back_does_not_count,
    case_republished_event_is_processed_once_through_the_inbox,
);

/// Waits until `condition` holds, polling every 20 ms, and fails after `timeout`.
async fn wait_until<F, Fut>(what: &str, timeout: Duration, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if condition().await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

const DEADLINE: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------------------------

/// Every delivery a handler saw, in order.
#[derive(Clone, Default)]
struct Recorder {
    deliveries: Arc<Mutex<Vec<Delivery>>>,
}

impl Recorder {
    fn deliveries(&self) -> Vec<Delivery> {
        self.deliveries.lock().unwrap().clone()
    }

    fn event_ids(&self) -> Vec<String> {
        self.deliveries()
            .into_iter()
            .map(|d| d.envelope.event_id)
            .collect()
    }

    fn event_types(&self) -> Vec<String> {
        self.deliveries()
            .into_iter()
            .map(|d| d.envelope.event_type)
            .collect()
    }

    fn len(&self) -> usize {
        self.deliveries.lock().unwrap().len()
    }

    /// A handler that records each delivery, then answers with `outcome`.
    fn handler<F>(&self, outcome: F) -> Arc<dyn Handler>
    where
        F: Fn(&Delivery) -> Result<(), HandlerError> + Send + Sync + 'static,
    {
        Arc::new(Recording {
            recorder: self.clone(),
            outcome,
        })
    }

    /// A handler that records and accepts every delivery.
    fn accepting(&self) -> Arc<dyn Handler> {
        self.handler(|_| Ok(()))
    }
}

struct Recording<F> {
    recorder: Recorder,
    outcome: F,
}

#[async_trait]
impl<F> Handler for Recording<F>
where
    F: Fn(&Delivery) -> Result<(), HandlerError> + Send + Sync + 'static,
{
    async fn handle(&self, delivery: &Delivery) -> Result<(), HandlerError> {
        self.recorder
            .deliveries
            .lock()
            .unwrap()
            .push(delivery.clone());
        (self.outcome)(delivery)
    }
}

// ---------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------

fn new_event(event_type: &str, i: u64) -> NewEvent<'_> {
    NewEvent {
        event_type,
        tenant_id: "tenant-1".to_owned(),
        aggregate_type: "ticket",
        aggregate_id: format!("ticket-{i}"),
        aggregate_version: i,
        payload: format!("payload {i}").into_bytes(),
    }
}

/// Appends one event in its own committed write transaction.
async fn append_committed(db: &Db, event_type: &str, i: u64) -> Envelope {
    let mut tx = db.begin_write().await.unwrap();
    let envelope = outbox::append(&mut tx, new_event(event_type, i))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    envelope
}

/// A bus message carrying a valid envelope of `event_type`.
fn message(event_type: &str) -> BusMessage {
    let envelope = Envelope {
        event_id: uuid::Uuid::now_v7().to_string(),
        event_type: event_type.to_owned(),
        tenant_id: "tenant-1".to_owned(),
        occurred_at_us: docket_platform::time::now_micros(),
        aggregate_type: "ticket".to_owned(),
        aggregate_id: "ticket-1".to_owned(),
        aggregate_version: 1,
        payload: b"payload".to_vec(),
    };
    BusMessage {
        event_id: envelope.event_id.clone(),
        routing_key: event_type.to_owned(),
        body: envelope.encode_to_vec(),
        headers: HashMap::from([("x-test".to_owned(), "yes".to_owned())]),
    }
}

/// A memory bus with one subscriber for every event that records what it handles.
async fn recording_memory_bus(shutdown: &Shutdown) -> (MemoryBus, Recorder) {
    let bus = MemoryBus::new();
    let recorder = Recorder::default();
    bus.subscribe(
        Subscription::new("recorder", &["#"]),
        recorder.accepting(),
        shutdown.clone(),
    )
    .await
    .unwrap();
    (bus, recorder)
}

// ---------------------------------------------------------------------------------------------
// A bus that fails on demand
// ---------------------------------------------------------------------------------------------

/// A test double for a broker outage: passes `budget` publishes on to the inner bus, then fails
/// every publish until the budget is raised again (negative: unlimited).
struct FailingBus {
    inner: MemoryBus,
    budget: AtomicI64,
    attempts: AtomicU32,
}

impl FailingBus {
    fn new(inner: MemoryBus, budget: i64) -> Self {
        Self {
            inner,
            budget: AtomicI64::new(budget),
            attempts: AtomicU32::new(0),
        }
    }

    fn heal(&self) {
        self.budget.store(-1, Ordering::SeqCst);
    }
}

#[async_trait]
impl Bus for FailingBus {
    async fn publish(&self, message: &BusMessage) -> Result<(), BusError> {
        self.attempts.fetch_add(1, Ordering::SeqCst);
        let allowed = self
            .budget
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |b| match b {
                b if b < 0 => Some(b),
                0 => None,
                b => Some(b - 1),
            })
            .is_ok();
        if !allowed {
            return Err(BusError::Unavailable("broker down (test double)".into()));
        }
        self.inner.publish(message).await
    }

    async fn declare(&self, subscription: &Subscription) -> Result<(), BusError> {
        self.inner.declare(subscription).await
    }

    async fn subscribe(
        &self,
        subscription: Subscription,
        handler: Arc<dyn Handler>,
        shutdown: Shutdown,
    ) -> Result<tokio::task::JoinHandle<()>, BusError> {
        self.inner.subscribe(subscription, handler, shutdown).await
    }

    fn is_connected(&self) -> bool {
        self.budget.load(Ordering::SeqCst) != 0
    }
}

// ---------------------------------------------------------------------------------------------
// Outbox and relay, on both engines
// ---------------------------------------------------------------------------------------------

async fn case_relay_publishes_in_order_once(db: &Db) {
    let shutdown = Shutdown::new();
    let (bus, recorder) = recording_memory_bus(&shutdown).await;
    let relay = Relay::new(db.clone(), Arc::new(bus), OutboxSignal::new());
    assert_eq!(Relay::pending(db).await.unwrap(), 0);
    assert_eq!(relay.publish_batch().await.unwrap(), 0);

    let mut appended = Vec::new();
    for i in 0..5 {
        appended.push(append_committed(db, "ticket.created", i).await);
    }
    // Two events in one transaction.
    let mut tx = db.begin_write().await.unwrap();
    appended.push(
        outbox::append(&mut tx, new_event("ticket.article.added", 5))
            .await
            .unwrap(),
    );
    appended.push(
        outbox::append(&mut tx, new_event("ticket.updated", 6))
            .await
            .unwrap(),
    );
    tx.commit().await.unwrap();
    assert_eq!(Relay::pending(db).await.unwrap(), 7);
    assert!(
        recorder.deliveries().is_empty(),
        "nothing leaves before the relay runs"
    );

    assert_eq!(relay.publish_batch().await.unwrap(), 7);
    assert_eq!(Relay::pending(db).await.unwrap(), 0);
    // The in-process bus returns once the subscriber handled each event: all are there, in order,
    // each exactly as appended.
    let delivered: Vec<Envelope> = recorder
        .deliveries()
        .into_iter()
        .map(|d| d.envelope)
        .collect();
    assert_eq!(delivered, appended);
    assert!(recorder.deliveries().iter().all(|d| d.attempt == 0));

    // Published rows are not published again.
    assert_eq!(relay.publish_batch().await.unwrap(), 0);
    assert_eq!(recorder.len(), 7);

    // New events go out after the earlier ones.
    let later = append_committed(db, "queue.created", 7).await;
    assert_eq!(relay.publish_batch().await.unwrap(), 1);
    assert_eq!(recorder.event_ids().last(), Some(&later.event_id));
    assert_eq!(recorder.len(), 8);
    shutdown.trigger();
}

async fn case_relay_never_publishes_a_rolled_back_event(db: &Db) {
    let shutdown = Shutdown::new();
    let (bus, recorder) = recording_memory_bus(&shutdown).await;
    let relay = Relay::new(db.clone(), Arc::new(bus), OutboxSignal::new());

    let before = append_committed(db, "ticket.created", 1).await;
    let mut tx = db.begin_write().await.unwrap();
    let rolled_back = outbox::append(&mut tx, new_event("ticket.created", 2))
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    // A transaction dropped without commit rolls back too.
    {
        let mut tx = db.begin_write().await.unwrap();
        outbox::append(&mut tx, new_event("ticket.created", 3))
            .await
            .unwrap();
    }
    let after = append_committed(db, "ticket.created", 4).await;

    assert_eq!(Relay::pending(db).await.unwrap(), 2);
    assert_eq!(relay.publish_batch().await.unwrap(), 2);
    assert_eq!(recorder.event_ids(), [before.event_id, after.event_id]);
    assert!(!recorder.event_ids().contains(&rolled_back.event_id));
    assert_eq!(Relay::pending(db).await.unwrap(), 0);
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM bus_outbox")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(rows, 2, "the rolled-back rows were never written");
    shutdown.trigger();
}

async fn case_relay_keeps_events_while_the_bus_fails(db: &Db) {
    let shutdown = Shutdown::new();
    let (inner, recorder) = recording_memory_bus(&shutdown).await;
    // The broker takes two events, then goes down.
    let bus = Arc::new(FailingBus::new(inner, 2));
    let relay = Relay::new(db.clone(), bus.clone(), OutboxSignal::new());
    let mut appended = Vec::new();
    for i in 0..5 {
        appended.push(append_committed(db, "ticket.created", i).await.event_id);
    }

    let failed = relay.publish_batch().await;
    assert!(
        matches!(failed, Err(BusError::Unavailable(_))),
        "a failing bus fails the batch: {failed:?}"
    );
    // What the bus confirmed is marked; the rest waits, and nothing was skipped.
    assert_eq!(recorder.event_ids(), appended[..2]);
    assert_eq!(Relay::pending(db).await.unwrap(), 3);

    // While it stays down, every attempt fails and nothing is lost or reordered.
    for _ in 0..3 {
        assert!(relay.publish_batch().await.is_err());
        assert_eq!(Relay::pending(db).await.unwrap(), 3);
    }
    assert_eq!(recorder.len(), 2);
    // It stops at the first failure instead of trying every row.
    assert_eq!(bus.attempts.load(Ordering::SeqCst), 2 + 1 + 3);

    bus.heal();
    assert_eq!(relay.publish_batch().await.unwrap(), 3);
    assert_eq!(Relay::pending(db).await.unwrap(), 0);
    assert_eq!(recorder.event_ids(), appended, "all, once each, in order");
    shutdown.trigger();
}

async fn case_relay_run_publishes_after_commit(db: &Db) {
    let shutdown = Shutdown::new();
    let (inner, recorder) = recording_memory_bus(&shutdown).await;
    // The background relay meets an outage first and retries on its own.
    let bus = Arc::new(FailingBus::new(inner, 0));
    let signal = OutboxSignal::new();
    let relay = Relay::new(db.clone(), bus.clone(), signal.clone());
    let relay_stop = Shutdown::new();
    let running = tokio::spawn(relay.run(relay_stop.clone()));

    let first = append_committed(db, "ticket.created", 1).await;
    signal.committed();
    wait_until("the relay to try the broken bus", DEADLINE, || async {
        bus.attempts.load(Ordering::SeqCst) > 0
    })
    .await;
    assert_eq!(Relay::pending(db).await.unwrap(), 1);

    bus.heal();
    wait_until(
        "the event to be delivered after the outage",
        DEADLINE,
        || async { recorder.len() == 1 },
    )
    .await;
    let second = append_committed(db, "ticket.updated", 2).await;
    signal.committed();
    wait_until("the second event to be delivered", DEADLINE, || async {
        recorder.len() == 2
    })
    .await;
    wait_until("the outbox to drain", DEADLINE, || async {
        Relay::pending(db).await.unwrap() == 0
    })
    .await;
    assert_eq!(recorder.event_ids(), [first.event_id, second.event_id]);

    relay_stop.trigger();
    tokio::time::timeout(DEADLINE, running)
        .await
        .expect("the relay stops on shutdown")
        .unwrap();
    shutdown.trigger();
}

// ---------------------------------------------------------------------------------------------
// Inbox, on both engines
// ---------------------------------------------------------------------------------------------

async fn inbox_rows(db: &Db) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM bus_inbox")
        .fetch_one(db.pool())
        .await
        .unwrap()
}

async fn claim_committed(db: &Db, consumer: &str, event_id: &str) -> bool {
    let mut tx = db.begin_write().await.unwrap();
    let claimed = inbox::claim(&mut tx, consumer, event_id).await.unwrap();
    tx.commit().await.unwrap();
    claimed
}

async fn case_inbox_claims_once_per_consumer(db: &Db) {
    assert!(
        claim_committed(db, "workflow", "event-1").await,
        "first claim"
    );
    assert!(
        !claim_committed(db, "workflow", "event-1").await,
        "same consumer, same event"
    );
    assert!(
        claim_committed(db, "reporting", "event-1").await,
        "another consumer"
    );
    assert!(
        claim_committed(db, "workflow", "event-2").await,
        "another event"
    );
    assert!(!claim_committed(db, "reporting", "event-1").await);

    // Within one transaction the second claim sees the first.
    let mut tx = db.begin_write().await.unwrap();
    assert!(inbox::claim(&mut tx, "search", "event-9").await.unwrap());
    assert!(!inbox::claim(&mut tx, "search", "event-9").await.unwrap());
    tx.commit().await.unwrap();

    assert_eq!(inbox_rows(db).await, 4);
}

async fn case_inbox_claim_rolled_back_does_not_count(db: &Db) {
    let mut tx = db.begin_write().await.unwrap();
    assert!(inbox::claim(&mut tx, "workflow", "event-1").await.unwrap());
    tx.rollback().await.unwrap();
    assert_eq!(inbox_rows(db).await, 0);
    {
        // Dropped without commit: rolled back as well.
        let mut tx = db.begin_write().await.unwrap();
        assert!(inbox::claim(&mut tx, "workflow", "event-1").await.unwrap());
    }
    assert_eq!(inbox_rows(db).await, 0);

    // The event is still to be processed: the next claim wins and then holds.
    assert!(claim_committed(db, "workflow", "event-1").await);
    assert!(!claim_committed(db, "workflow", "event-1").await);
    assert_eq!(inbox_rows(db).await, 1);
}

/// A consumer that applies each event at most once: claim and effect in one transaction.
struct IdempotentConsumer {
    db: Db,
    applied: Recorder,
}

#[async_trait]
impl Handler for IdempotentConsumer {
    async fn handle(&self, delivery: &Delivery) -> Result<(), HandlerError> {
        let mut tx = self.db.begin_write().await?;
        if !inbox::claim(&mut tx, "counter", &delivery.envelope.event_id).await? {
            return Ok(());
        }
        self.applied
            .deliveries
            .lock()
            .unwrap()
            .push(delivery.clone());
        tx.commit().await?;
        Ok(())
    }
}

async fn case_republished_event_is_processed_once_through_the_inbox(db: &Db) {
    let shutdown = Shutdown::new();
    let bus = MemoryBus::new();
    let seen = Recorder::default();
    let applied = Recorder::default();
    bus.subscribe(
        Subscription::new("seen", &["#"]),
        seen.accepting(),
        shutdown.clone(),
    )
    .await
    .unwrap();
    bus.subscribe(
        Subscription::new("counter", &["ticket.*"]),
        Arc::new(IdempotentConsumer {
            db: db.clone(),
            applied: applied.clone(),
        }),
        shutdown.clone(),
    )
    .await
    .unwrap();
    let relay = Relay::new(db.clone(), Arc::new(bus), OutboxSignal::new());
    let a = append_committed(db, "ticket.created", 1).await;
    let b = append_committed(db, "ticket.updated", 2).await;
    assert_eq!(relay.publish_batch().await.unwrap(), 2);

    // A relay that crashed after publishing but before marking publishes them again.
    sqlx::query("UPDATE bus_outbox SET published_at = NULL")
        .execute(db.pool())
        .await
        .unwrap();
    assert_eq!(Relay::pending(db).await.unwrap(), 2);
    assert_eq!(relay.publish_batch().await.unwrap(), 2);

    assert_eq!(seen.len(), 4, "at least once: delivered twice");
    assert_eq!(
        applied.event_ids(),
        [a.event_id, b.event_id],
        "exactly once through the inbox"
    );
    assert_eq!(inbox_rows(db).await, 2);
    shutdown.trigger();
}

/// Two relays on one PostgreSQL database (two replicas) never publish an event twice: each locks
/// the rows it takes and skips the other's.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_relay_replicas_publish_each_event_once() {
    let db = setup(Backend::Postgres).await;
    let shutdown = Shutdown::new();
    let (bus, recorder) = recording_memory_bus(&shutdown).await;
    let bus: Arc<dyn Bus> = Arc::new(bus);
    const N: u64 = 60;
    for i in 0..N {
        append_committed(&db, "ticket.created", i).await;
    }
    let relays: Vec<_> = (0..3)
        .map(|_| {
            let relay = Relay::new(db.clone(), bus.clone(), OutboxSignal::new());
            tokio::spawn(async move {
                let mut total = 0;
                loop {
                    match relay.publish_batch().await.unwrap() {
                        0 => break total,
                        n => total += n,
                    }
                }
            })
        })
        .collect();
    let mut total = 0;
    for r in relays {
        total += r.await.unwrap();
    }
    assert_eq!(total, N as usize);
    assert_eq!(Relay::pending(&db).await.unwrap(), 0);
    let ids = recorder.event_ids();
    let distinct: std::collections::HashSet<_> = ids.iter().collect();
    assert_eq!(ids.len(), N as usize, "each event delivered once");
    assert_eq!(distinct.len(), N as usize);
    shutdown.trigger();
    teardown(db).await;
}

// ---------------------------------------------------------------------------------------------
// MemoryBus
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn memory_bus_routes_by_topic_pattern() {
    let shutdown = Shutdown::new();
    let bus = MemoryBus::new();
    let mut recorders = Vec::new();
    for (name, patterns) in [
        ("one-word", &["ticket.*"][..]),
        ("any-words", &["ticket.#"][..]),
        ("exact", &["queue.created"][..]),
        ("everything", &["#"][..]),
        ("two-patterns", &["tenant.created", "*.article.*"][..]),
        ("nothing", &["workflow.#"][..]),
    ] {
        let recorder = Recorder::default();
        bus.subscribe(
            Subscription::new(name, patterns),
            recorder.accepting(),
            shutdown.clone(),
        )
        .await
        .unwrap();
        recorders.push((name, recorder));
    }
    let keys = [
        "ticket.created",
        "ticket.article.added",
        "queue.created",
        "tenant.created",
    ];
    for key in keys {
        bus.publish(&message(key)).await.unwrap();
    }
    let got: HashMap<&str, Vec<String>> = recorders
        .iter()
        .map(|(name, r)| (*name, r.event_types()))
        .collect();
    assert_eq!(got["one-word"], ["ticket.created"]);
    assert_eq!(got["any-words"], ["ticket.created", "ticket.article.added"]);
    assert_eq!(got["exact"], ["queue.created"]);
    assert_eq!(got["everything"], keys);
    assert_eq!(
        got["two-patterns"],
        ["ticket.article.added", "tenant.created"]
    );
    assert!(got["nothing"].is_empty());
    // Headers travel with the message.
    let (_, everything) = &recorders[3];
    assert!(
        everything
            .deliveries()
            .iter()
            .all(|d| d.headers.get("x-test").map(String::as_str) == Some("yes"))
    );
    // A message nobody wants is accepted (and dropped).
    bus.publish(&message("nobody.listens.here")).await.unwrap();
    assert!(bus.dead_letters().is_empty());
    shutdown.trigger();
}

#[tokio::test]
async fn memory_bus_keeps_events_for_a_declared_consumer_until_it_starts() {
    let shutdown = Shutdown::new();
    let bus = MemoryBus::new();
    bus.declare(&Subscription::new("late", &["tenant.*"]))
        .await
        .unwrap();
    // Declaring twice changes nothing.
    bus.declare(&Subscription::new("late", &["tenant.*"]))
        .await
        .unwrap();
    let early = message("tenant.created");
    // The publisher waits until the consumer has processed the event, as always.
    let publisher = {
        let bus = bus.clone();
        let early = early.clone();
        tokio::spawn(async move { bus.publish(&early).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!publisher.is_finished(), "nobody has processed it yet");
    let recorder = Recorder::default();
    bus.subscribe(
        Subscription::new("late", &["tenant.*"]),
        recorder.accepting(),
        shutdown.clone(),
    )
    .await
    .unwrap();
    publisher.await.unwrap().unwrap();
    assert_eq!(recorder.event_ids(), [early.event_id]);
    // A second consumer under the same name is refused, not silently starved.
    assert!(
        bus.subscribe(
            Subscription::new("late", &["tenant.*"]),
            Recorder::default().accepting(),
            shutdown.clone(),
        )
        .await
        .is_err()
    );
    shutdown.trigger();
}

#[tokio::test]
async fn memory_bus_retries_then_dead_letters() {
    let shutdown = Shutdown::new();
    let bus = MemoryBus::new();
    let failing = Recorder::default();
    let healthy = Recorder::default();
    let mut subscription = Subscription::new("flaky", &["ticket.*"]);
    subscription.max_deliveries = 3;
    bus.subscribe(
        subscription,
        failing.handler(|_| Err(HandlerError::Retry("database down".into()))),
        shutdown.clone(),
    )
    .await
    .unwrap();
    bus.subscribe(
        Subscription::new("healthy", &["ticket.*"]),
        healthy.accepting(),
        shutdown.clone(),
    )
    .await
    .unwrap();

    let msg = message("ticket.created");
    bus.publish(&msg).await.unwrap();
    let attempts: Vec<u32> = failing.deliveries().iter().map(|d| d.attempt).collect();
    assert_eq!(attempts, [0, 1, 2], "delivered max_deliveries times");
    assert_eq!(healthy.len(), 1, "other consumers are unaffected");
    let dead = bus.dead_letters();
    assert_eq!(dead.len(), 1);
    let (consumer, dead_msg, error) = &dead[0];
    assert_eq!(consumer, "flaky");
    assert_eq!(dead_msg.event_id, msg.event_id);
    assert_eq!(dead_msg.body, msg.body);
    assert!(error.contains("database down"), "{error}");
    shutdown.trigger();
}

#[tokio::test]
async fn memory_bus_retry_that_succeeds_is_not_dead_lettered() {
    let shutdown = Shutdown::new();
    let bus = MemoryBus::new();
    let recorder = Recorder::default();
    bus.subscribe(
        Subscription::new("recovers", &["#"]),
        recorder.handler(|d| {
            if d.attempt == 0 {
                Err(HandlerError::Retry("not yet".into()))
            } else {
                Ok(())
            }
        }),
        shutdown.clone(),
    )
    .await
    .unwrap();
    bus.publish(&message("ticket.created")).await.unwrap();
    let attempts: Vec<u32> = recorder.deliveries().iter().map(|d| d.attempt).collect();
    assert_eq!(attempts, [0, 1]);
    assert!(bus.dead_letters().is_empty());
    shutdown.trigger();
}

#[tokio::test]
async fn memory_bus_reject_dead_letters_at_once() {
    let shutdown = Shutdown::new();
    let bus = MemoryBus::new();
    let recorder = Recorder::default();
    let mut subscription = Subscription::new("strict", &["#"]);
    subscription.max_deliveries = 5;
    bus.subscribe(
        subscription,
        recorder.handler(|_| Err(HandlerError::Reject("malformed".into()))),
        shutdown.clone(),
    )
    .await
    .unwrap();
    let msg = message("ticket.created");
    bus.publish(&msg).await.unwrap();
    assert_eq!(recorder.len(), 1, "no retry after a reject");
    let dead = bus.dead_letters();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].0, "strict");
    assert_eq!(dead[0].1.event_id, msg.event_id);
    assert!(dead[0].2.contains("malformed"), "{}", dead[0].2);

    // An undecodable message is dead-lettered without reaching the handler.
    let mut garbage = message("ticket.created");
    garbage.body = vec![0xff; 7];
    bus.publish(&garbage).await.unwrap();
    assert_eq!(recorder.len(), 1);
    assert_eq!(bus.dead_letters().len(), 2);
    shutdown.trigger();
}

#[tokio::test]
async fn memory_bus_publish_fails_when_a_consumer_stopped() {
    let shutdown = Shutdown::new();
    let bus = MemoryBus::new();
    let recorder = Recorder::default();
    let task = bus
        .subscribe(
            Subscription::new("stops", &["#"]),
            recorder.accepting(),
            shutdown.clone(),
        )
        .await
        .unwrap();
    bus.publish(&message("ticket.created")).await.unwrap();
    shutdown.trigger();
    tokio::time::timeout(DEADLINE, task)
        .await
        .expect("the consumer stops on shutdown")
        .unwrap();
    // The event must stay in the outbox: publish reports the failure.
    let result = bus.publish(&message("ticket.created")).await;
    assert!(
        matches!(result, Err(BusError::Unavailable(_))),
        "publish to a stopped consumer: {result:?}"
    );
    assert_eq!(recorder.len(), 1);
}

// ---------------------------------------------------------------------------------------------
// RabbitBus against the real broker
// ---------------------------------------------------------------------------------------------

fn amqp_url() -> String {
    std::env::var("DOCKET_TEST_AMQP")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned())
}

/// A test's own exchanges and queues on the broker, deleted when it ends (also when it fails).
struct RabbitScope {
    config: RabbitConfig,
    consumers: Vec<String>,
    shutdown: Shutdown,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    cleaned: bool,
}

impl RabbitScope {
    fn new() -> Self {
        let id = uuid::Uuid::now_v7().simple().to_string();
        let mut config = RabbitConfig::new(amqp_url());
        config.exchange = format!("docket.test.{id}");
        config.connection_name = format!("docket-bus-test-{id}");
        Self {
            config,
            consumers: Vec::new(),
            shutdown: Shutdown::new(),
            tasks: Vec::new(),
            cleaned: false,
        }
    }

    /// A consumer name no other test uses (it names the queues).
    fn consumer(&mut self, role: &str) -> String {
        let name = format!("test-{role}-{}", uuid::Uuid::now_v7().simple());
        self.consumers.push(name.clone());
        name
    }

    async fn bus(&self) -> RabbitBus {
        RabbitBus::connect(self.config.clone())
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "cannot connect to RabbitMQ at {} (is it running?): {e}",
                    docket_store::redact(&self.config.url)
                )
            })
    }

    async fn subscribe(
        &mut self,
        bus: &RabbitBus,
        subscription: Subscription,
        handler: Arc<dyn Handler>,
    ) {
        let task = bus
            .subscribe(subscription, handler, self.shutdown.clone())
            .await
            .unwrap();
        self.tasks.push(task);
    }

    fn dead_queue(&self, consumer: &str) -> String {
        format!("{}.dead", self.config.queue_name(consumer))
    }

    /// Stops the consumers, then deletes the queues and exchanges.
    async fn finish(mut self) {
        self.shutdown.trigger();
        for task in std::mem::take(&mut self.tasks) {
            tokio::time::timeout(DEADLINE, task)
                .await
                .expect("a consumer stops on shutdown")
                .unwrap();
        }
        delete_topology(&self.config, &self.consumers).await;
        self.cleaned = true;
    }
}

impl Drop for RabbitScope {
    fn drop(&mut self) {
        if self.cleaned {
            return;
        }
        // A failed test: stop the consumers (so they do not re-declare their queues) and clean up
        // on a runtime of our own, since this one is unwinding.
        self.shutdown.trigger();
        let config = self.config.clone();
        let consumers = self.consumers.clone();
        let cleanup = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(500));
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(delete_topology(&config, &consumers));
        });
        let _ = cleanup.join();
    }
}

async fn delete_topology(config: &RabbitConfig, consumers: &[String]) {
    use lapin::options::{ExchangeDeleteOptions, QueueDeleteOptions};
    let conn = lapin::Connection::connect(&config.url, lapin::ConnectionProperties::default())
        .await
        .unwrap();
    let channel = conn.create_channel().await.unwrap();
    for consumer in consumers {
        let queue = config.queue_name(consumer);
        for q in [queue.clone(), format!("{queue}.dead")] {
            channel
                .queue_delete(q.as_str().into(), QueueDeleteOptions::default())
                .await
                .unwrap();
        }
    }
    for exchange in [config.exchange.clone(), format!("{}.dlx", config.exchange)] {
        channel
            .exchange_delete(exchange.as_str().into(), ExchangeDeleteOptions::default())
            .await
            .unwrap();
    }
    let _ = conn.close(200, "test done".into()).await;
}

/// Opens a plain channel on the broker, for looking at queues directly.
async fn inspect_channel(url: &str) -> (lapin::Connection, lapin::Channel) {
    let conn = lapin::Connection::connect(url, lapin::ConnectionProperties::default())
        .await
        .unwrap();
    let channel = conn.create_channel().await.unwrap();
    (conn, channel)
}

/// Waits until a message is in `queue` and takes it off (ack).
async fn get_one(channel: &lapin::Channel, queue: &str) -> lapin::message::BasicGetMessage {
    use lapin::options::{BasicAckOptions, BasicGetOptions};
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        if let Some(message) = channel
            .basic_get(queue.into(), BasicGetOptions::default())
            .await
            .unwrap()
        {
            message
                .delivery
                .acker
                .ack(BasicAckOptions::default())
                .await
                .unwrap();
            return message;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for a message in {queue}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// How many messages wait in `queue` (a passive declare).
async fn queue_depth(channel: &lapin::Channel, queue: &str) -> u32 {
    let declared = channel
        .queue_declare(
            queue.into(),
            lapin::options::QueueDeclareOptions {
                passive: true,
                ..Default::default()
            },
            lapin::types::FieldTable::default(),
        )
        .await
        .unwrap();
    declared.message_count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rabbit_delivers_every_message_by_pattern() {
    const N: usize = 25;
    let mut scope = RabbitScope::new();
    let bus = scope.bus().await;
    assert!(bus.is_connected());
    let consumer = scope.consumer("all");
    let recorder = Recorder::default();
    scope
        .subscribe(
            &bus,
            Subscription::new(&consumer, &["ticket.*", "queue.created"]),
            recorder.accepting(),
        )
        .await;

    let mut wanted = Vec::new();
    for i in 0..N {
        let mut m = message(if i % 2 == 0 {
            "ticket.created"
        } else {
            "queue.created"
        });
        m.headers.insert("seq".to_owned(), i.to_string());
        bus.publish(&m).await.unwrap();
        wanted.push(m.event_id);
        // Events the patterns do not match are never delivered.
        bus.publish(&message("ticket.article.added")).await.unwrap();
        bus.publish(&message("tenant.created")).await.unwrap();
    }
    wait_until("every matching message to be handled", DEADLINE, || async {
        recorder.len() >= N
    })
    .await;
    let deliveries = recorder.deliveries();
    assert_eq!(
        recorder.event_ids(),
        wanted,
        "all, once each, in publish order"
    );
    for (i, d) in deliveries.iter().enumerate() {
        assert_eq!(d.attempt, 0);
        assert_eq!(d.headers.get("seq"), Some(&i.to_string()), "headers travel");
        assert_eq!(d.headers.get("x-test").map(String::as_str), Some("yes"));
        assert_eq!(d.envelope.payload, b"payload");
    }
    let (conn, channel) = inspect_channel(&scope.config.url).await;
    wait_until("the queue to be acknowledged empty", DEADLINE, || async {
        queue_depth(&channel, &scope.config.queue_name(&consumer)).await == 0
    })
    .await;
    assert_eq!(queue_depth(&channel, &scope.dead_queue(&consumer)).await, 0);
    assert_eq!(recorder.len(), N, "no unmatched or duplicate delivery");
    let _ = conn.close(200, "done".into()).await;
    scope.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rabbit_keeps_events_for_a_declared_consumer_until_it_starts() {
    let mut scope = RabbitScope::new();
    let bus = scope.bus().await;
    let consumer = scope.consumer("late");
    let subscription = Subscription::new(&consumer, &["tenant.*"]);
    bus.declare(&subscription).await.unwrap();
    bus.declare(&subscription).await.unwrap();
    let early = message("tenant.created");
    bus.publish(&early).await.unwrap();
    let recorder = Recorder::default();
    scope
        .subscribe(&bus, subscription, recorder.accepting())
        .await;
    wait_until("the early event to be handled", DEADLINE, || async {
        recorder.len() >= 1
    })
    .await;
    assert_eq!(recorder.event_ids(), [early.event_id]);
    scope.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rabbit_rejected_message_goes_to_the_dead_letter_queue() {
    let mut scope = RabbitScope::new();
    let bus = scope.bus().await;
    let consumer = scope.consumer("rejects");
    let recorder = Recorder::default();
    scope
        .subscribe(
            &bus,
            Subscription::new(&consumer, &["#"]),
            recorder.handler(|_| Err(HandlerError::Reject("never valid".into()))),
        )
        .await;
    let msg = message("ticket.created");
    bus.publish(&msg).await.unwrap();

    let (conn, channel) = inspect_channel(&scope.config.url).await;
    let dead = get_one(&channel, &scope.dead_queue(&consumer)).await;
    assert_eq!(
        dead.delivery
            .properties
            .message_id()
            .as_ref()
            .map(ToString::to_string),
        Some(msg.event_id.clone())
    );
    assert_eq!(dead.delivery.data, msg.body, "the event is kept intact");
    assert_eq!(
        recorder.event_ids(),
        [msg.event_id],
        "rejected at once, no retry"
    );
    assert_eq!(
        queue_depth(&channel, &scope.config.queue_name(&consumer)).await,
        0
    );
    let _ = conn.close(200, "done".into()).await;
    scope.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rabbit_retried_message_is_dead_lettered_after_max_deliveries() {
    let mut scope = RabbitScope::new();
    let bus = scope.bus().await;
    // Two consumers of the same event with different bounds, each delivered that many times.
    let mut consumers = Vec::new();
    for max_deliveries in [1, 3] {
        let consumer = scope.consumer(&format!("retries{max_deliveries}"));
        let recorder = Recorder::default();
        let mut subscription = Subscription::new(&consumer, &["#"]);
        subscription.max_deliveries = max_deliveries;
        scope
            .subscribe(
                &bus,
                subscription,
                recorder.handler(|_| Err(HandlerError::Retry("dependency down".into()))),
            )
            .await;
        consumers.push((consumer, max_deliveries, recorder));
    }
    let msg = message("ticket.updated");
    bus.publish(&msg).await.unwrap();

    let (conn, channel) = inspect_channel(&scope.config.url).await;
    for (consumer, max_deliveries, recorder) in &consumers {
        let dead = get_one(&channel, &scope.dead_queue(consumer)).await;
        assert_eq!(
            dead.delivery
                .properties
                .message_id()
                .as_ref()
                .map(ToString::to_string),
            Some(msg.event_id.clone())
        );
        assert_eq!(dead.delivery.data, msg.body, "the event is kept intact");
        let deliveries = recorder.deliveries();
        assert!(
            deliveries
                .iter()
                .all(|d| d.envelope.event_id == msg.event_id)
        );
        let attempts: Vec<u32> = deliveries.iter().map(|d| d.attempt).collect();
        assert_eq!(
            attempts,
            (0..*max_deliveries).collect::<Vec<_>>(),
            "{consumer}: delivered max_deliveries times, counting the attempts"
        );
        assert_eq!(
            queue_depth(&channel, &scope.config.queue_name(consumer)).await,
            0
        );
        assert_eq!(queue_depth(&channel, &scope.dead_queue(consumer)).await, 0);
    }
    let _ = conn.close(200, "done".into()).await;
    scope.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rabbit_relay_publishes_the_outbox() {
    let db = setup(Backend::Sqlite).await;
    let mut scope = RabbitScope::new();
    let bus = Arc::new(scope.bus().await);
    let consumer = scope.consumer("relay");
    let recorder = Recorder::default();
    scope
        .subscribe(
            &bus,
            Subscription::new(&consumer, &["#"]),
            recorder.accepting(),
        )
        .await;
    let relay = Relay::new(db.clone(), bus.clone(), OutboxSignal::new());
    let mut appended = Vec::new();
    for i in 0..10 {
        appended.push(append_committed(&db, "ticket.created", i).await);
    }
    assert_eq!(relay.publish_batch().await.unwrap(), 10);
    assert_eq!(
        Relay::pending(&db).await.unwrap(),
        0,
        "confirmed, so marked"
    );
    wait_until("the relayed events to arrive", DEADLINE, || async {
        recorder.len() >= 10
    })
    .await;
    let delivered: Vec<Envelope> = recorder
        .deliveries()
        .into_iter()
        .map(|d| d.envelope)
        .collect();
    assert_eq!(delivered, appended);
    scope.finish().await;
    teardown(db).await;
}

/// Live notices: every replica gets every event on a queue of its own, which goes away with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rabbit_transient_subscriptions_reach_every_replica_and_vanish_with_it() {
    let mut scope = RabbitScope::new();
    let first_bus = scope.bus().await;
    let second_bus = scope.bus().await;
    let names = [
        format!("test-live-{}", uuid::Uuid::now_v7().simple()),
        format!("test-live-{}", uuid::Uuid::now_v7().simple()),
    ];
    let (first, second) = (Recorder::default(), Recorder::default());
    for (bus, name, recorder) in [
        (&first_bus, &names[0], &first),
        (&second_bus, &names[1], &second),
    ] {
        scope
            .subscribe(
                bus,
                Subscription::transient(name, &["ticket.*"]),
                recorder.accepting(),
            )
            .await;
    }
    let (conn, _) = inspect_channel(&scope.config.url).await;
    // Subscribing returned with each queue declared and bound, exclusive to its consumer's
    // connection: from here a look finds it locked (which closes the channel: one per look).
    for name in &names {
        let queue = scope.config.queue_name(name);
        let looked = conn
            .create_channel()
            .await
            .unwrap()
            .queue_declare(
                queue.as_str().into(),
                lapin::options::QueueDeclareOptions {
                    passive: true,
                    ..Default::default()
                },
                lapin::types::FieldTable::default(),
            )
            .await;
        assert!(
            looked
                .as_ref()
                .is_err_and(|e| e.to_string().contains("RESOURCE_LOCKED")),
            "{looked:?}"
        );
    }
    let _ = conn.close(200, "done".into()).await;
    let m = message("ticket.updated");
    first_bus.publish(&m).await.unwrap();
    wait_until("both replicas to see the event", DEADLINE, || async {
        first.len() == 1 && second.len() == 1
    })
    .await;
    assert_eq!(first.event_ids(), vec![m.event_id.clone()]);
    assert_eq!(second.event_ids(), vec![m.event_id]);
    let config = scope.config.clone();
    scope.finish().await;
    // Gone with their connections: a passive declare finds nothing (404 closes the channel).
    let (conn, _) = inspect_channel(&config.url).await;
    for name in &names {
        let channel = conn.create_channel().await.unwrap();
        let found = channel
            .queue_declare(
                config.queue_name(name).as_str().into(),
                lapin::options::QueueDeclareOptions {
                    passive: true,
                    ..Default::default()
                },
                lapin::types::FieldTable::default(),
            )
            .await;
        assert!(
            found
                .as_ref()
                .is_err_and(|e| e.to_string().contains("NOT_FOUND")),
            "{found:?}"
        );
    }
    let _ = conn.close(200, "done".into()).await;
}
