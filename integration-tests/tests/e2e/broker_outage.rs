//! The broker goes away while tickets are being created: nothing is lost, nothing is processed twice.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use docket_bus::{Delivery, Handler, HandlerError, Subscription, inbox};
use docket_integration_tests::{
    Mode, Proxy, TestApp, amqp_url, eventually, soak_scale, test_settings, wait_until, when,
};
use docket_platform::config::Secret;
use docket_store::{Backend, Db};
use serde_json::json;

/// A consumer with its own database: it records each ticket.created once, through the inbox.
struct CountingConsumer {
    db: Db,
    deliveries: AtomicUsize,
    duplicates: AtomicUsize,
}

#[async_trait]
impl Handler for CountingConsumer {
    async fn handle(&self, d: &Delivery) -> Result<(), HandlerError> {
        self.deliveries.fetch_add(1, Ordering::SeqCst);
        let mut tx = self.db.begin_write().await?;
        if !inbox::claim(&mut tx, "outage-test", &d.envelope.event_id).await? {
            self.duplicates.fetch_add(1, Ordering::SeqCst);
            return Ok(());
        }
        sqlx::query("INSERT INTO effects (ticket_id) VALUES ($1)")
            .bind(&d.envelope.aggregate_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

async fn count(db: &Db, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(db.pool()).await.unwrap()
}

#[tokio::test]
async fn broker_outage_loses_and_duplicates_nothing() {
    // Every step has its own deadline; this one makes a broker that stops answering altogether
    // fail the test instead of hanging the run.
    let minutes = 5 * soak_scale() as u64;
    tokio::time::timeout(Duration::from_secs(60 * minutes), outage())
        .await
        .unwrap_or_else(|_| panic!("the outage scenario finishes within {minutes} minutes"));
}

async fn outage() {
    // 120 tickets (`make soak`: `DOCKET_SOAK_SCALE` times as many); the cut comes after a third
    // of them and the broker returns after two thirds, at a batch boundary either way.
    let n = 120 * soak_scale();
    let broker: SocketAddr = "127.0.0.1:5672".parse().unwrap();
    let proxy = Proxy::start(broker).await;
    let data = tempfile::tempdir().unwrap();
    let mut settings = test_settings(Mode::Production, data.path()).await;
    let via_proxy = amqp_url().replace("127.0.0.1:5672", &proxy.addr.to_string());
    assert_ne!(
        via_proxy,
        amqp_url(),
        "the test broker must be 127.0.0.1:5672 to be proxied"
    );
    settings.bus.amqp_url = Some(Secret::new(via_proxy));
    let ticket_db_url = settings.ticket.database_url.clone().unwrap();
    let app = TestApp::spawn_with(settings, data, None).await;

    // The consumer also reaches the broker through the proxy, so the cut hits it too.
    let consumer_db = docket_store::testing::fresh_db(Backend::Postgres)
        .await
        .unwrap();
    consumer_db.migrate(docket_bus::migrations()).await.unwrap();
    sqlx::query("CREATE TABLE effects (ticket_id TEXT PRIMARY KEY)")
        .execute(consumer_db.pool())
        .await
        .unwrap();
    let consumer = Arc::new(CountingConsumer {
        db: consumer_db.clone(),
        deliveries: AtomicUsize::new(0),
        duplicates: AtomicUsize::new(0),
    });
    let subscription = Subscription::new(
        format!("outage-{}", uuid::Uuid::now_v7().simple()),
        &["ticket.created"],
    );
    app.bus
        .subscribe(subscription, consumer.clone(), app.shutdown.clone())
        .await
        .unwrap();

    let queue = app.queue_id("Raw").await;
    let ticket_db = Db::connect(
        ticket_db_url.expose(),
        docket_store::PoolSize { max_connections: 1 },
    )
    .await
    .unwrap();
    let mut created = BTreeSet::new();
    let create = |from: usize| {
        // Four at a time, so the cut lands in the middle of requests and publishes.
        let futures = (from..from + 4).map(|i| {
            app.post(
                "/tickets",
                json!({"queue_id": queue, "title": format!("ticket {i}")}),
            )
        });
        futures::future::join_all(futures)
    };
    for batch in (0..n).step_by(4) {
        if batch == n / 3 {
            proxy.cut();
            eventually(
                "the bus notices the outage",
                Duration::from_secs(10),
                || async {
                    // A publish attempt is what notices; tickets keep being created meanwhile.
                    !app.bus.is_connected()
                },
            )
            .await;
        }
        if batch == 2 * n / 3 {
            let pending = docket_bus::outbox::Relay::pending(&ticket_db)
                .await
                .unwrap();
            assert!(
                pending > 0,
                "with the broker cut off, events wait in the outbox"
            );
            proxy.restore();
        }
        for r in create(batch).await {
            assert_eq!(
                r.status(),
                201,
                "tickets are created whatever the broker does"
            );
            created.insert(
                r.json::<serde_json::Value>().await.unwrap()["id"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        }
    }
    assert_eq!(created.len(), n);

    let processing = Duration::from_secs(90 * soak_scale() as u64);
    wait_until(processing, "every event processed", || async {
        let effects = count(&consumer_db, "SELECT COUNT(*) FROM effects").await;
        when(effects >= n as i64, effects)
    })
    .await;
    wait_until(Duration::from_secs(30), "the outbox drained", || async {
        let pending = docket_bus::outbox::Relay::pending(&ticket_db)
            .await
            .unwrap();
        when(pending == 0, pending)
    })
    .await;
    // Deliberately a fixed time, the thing under test: stray redeliveries get a moment to
    // arrive, and must not add effects.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let effects: Vec<String> = sqlx::query_scalar("SELECT ticket_id FROM effects")
        .fetch_all(consumer_db.pool())
        .await
        .unwrap();
    assert_eq!(effects.len(), n, "each event processed exactly once");
    assert_eq!(
        effects.into_iter().collect::<BTreeSet<_>>(),
        created,
        "and exactly the created tickets"
    );
    let (deliveries, duplicates) = (
        consumer.deliveries.load(Ordering::SeqCst),
        consumer.duplicates.load(Ordering::SeqCst),
    );
    assert_eq!(
        deliveries,
        n + duplicates,
        "every delivery beyond the first of an event was dropped by the inbox"
    );
    eprintln!(
        "broker outage: {n} events, {deliveries} deliveries, {duplicates} duplicates dropped"
    );
    app.stop().await;
}
