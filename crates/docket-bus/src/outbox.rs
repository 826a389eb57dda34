//! The transactional outbox and its relay.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use docket_platform::Shutdown;
use docket_store::{Backend, Db, Row, WriteTx};
use prost::Message as _;
use tokio::sync::Notify;

use crate::{Bus, BusError, BusMessage, Envelope};

/// An event to append: what happened to which aggregate.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub event_type: &'a str,
    pub tenant_id: String,
    pub aggregate_type: &'a str,
    pub aggregate_id: String,
    pub aggregate_version: u64,
    pub payload: Vec<u8>,
}

/// Appends an event to the outbox inside the caller's transaction. It is published only if the
/// transaction commits. The current span's trace context travels with it.
pub async fn append(tx: &mut WriteTx, event: NewEvent<'_>) -> Result<Envelope, sqlx::Error> {
    let now = docket_platform::time::now_micros();
    let envelope = Envelope {
        event_id: uuid::Uuid::now_v7().to_string(),
        event_type: event.event_type.to_owned(),
        tenant_id: event.tenant_id,
        occurred_at_us: now,
        aggregate_type: event.aggregate_type.to_owned(),
        aggregate_id: event.aggregate_id,
        aggregate_version: event.aggregate_version,
        payload: event.payload,
    };
    let trace = serde_json::to_string(&docket_platform::propagation::current_context())
        .unwrap_or_else(|_| "{}".to_owned());
    sqlx::query(
        "INSERT INTO bus_outbox (event_id, event_type, envelope, trace_context, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&envelope.event_id)
    .bind(&envelope.event_type)
    .bind(envelope.encode_to_vec())
    .bind(trace)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(envelope)
}

/// Wakes the relay after a commit so events leave at once instead of at the next poll.
#[derive(Clone, Default, Debug)]
pub struct OutboxSignal(Arc<Notify>);

impl OutboxSignal {
    pub fn new() -> Self {
        Self::default()
    }

    /// Call after committing a transaction that appended events.
    pub fn committed(&self) {
        self.0.notify_one();
    }
}

/// Publishes pending outbox rows in order and marks them published once the bus confirmed them.
pub struct Relay {
    db: Db,
    bus: Arc<dyn Bus>,
    signal: OutboxSignal,
    batch_size: i64,
    poll_interval: Duration,
    /// Published rows are deleted after this long.
    keep_published: Duration,
}

impl Relay {
    pub fn new(db: Db, bus: Arc<dyn Bus>, signal: OutboxSignal) -> Self {
        Self {
            db,
            bus,
            signal,
            batch_size: 200,
            poll_interval: Duration::from_secs(1),
            keep_published: Duration::from_secs(7 * 24 * 3600),
        }
    }

    /// Runs until shutdown; what is pending when it stops is published by the next start.
    pub async fn run(self, shutdown: Shutdown) {
        let mut backoff = Duration::from_millis(100);
        let mut last_prune = std::time::Instant::now();
        loop {
            if shutdown.is_triggered() {
                break;
            }
            match self.publish_batch().await {
                Ok(n) => {
                    backoff = Duration::from_millis(100);
                    if n > 0 {
                        continue;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "outbox relay cannot publish");
                    tokio::select! {
                        () = tokio::time::sleep(backoff) => {},
                        () = shutdown.cancelled() => break,
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                    continue;
                }
            }
            if last_prune.elapsed() > Duration::from_secs(3600) {
                last_prune = std::time::Instant::now();
                if let Err(e) = self.prune().await {
                    tracing::warn!(error = %e, "cannot prune the outbox");
                }
            }
            tokio::select! {
                () = self.signal.0.notified() => {},
                () = tokio::time::sleep(self.poll_interval) => {},
                () = shutdown.cancelled() => break,
            }
        }
        tracing::debug!("outbox relay stopped");
    }

    /// Publishes up to one batch of pending events; returns how many were published.
    pub async fn publish_batch(&self) -> Result<usize, BusError> {
        // On PostgreSQL several replicas relay at once: each locks the rows it takes and skips
        // rows another replica holds. SQLite has one writer, so a plain select is enough.
        let select = match self.db.backend() {
            Backend::Postgres => {
                "SELECT seq, event_id, event_type, envelope, trace_context FROM bus_outbox \
                 WHERE published_at IS NULL ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED"
            }
            Backend::Sqlite => {
                "SELECT seq, event_id, event_type, envelope, trace_context FROM bus_outbox \
                 WHERE published_at IS NULL ORDER BY seq LIMIT $1"
            }
        };
        let (published, failure) = match self.db.backend() {
            Backend::Postgres => {
                let mut tx = self.db.pool().begin().await?;
                let (published, failure) = self.publish_rows(&mut tx, select).await?;
                mark_published(&mut tx, &published).await?;
                tx.commit().await?;
                (published, failure)
            }
            Backend::Sqlite => {
                // No transaction around publishing: the in-process bus runs consumers inside
                // `publish`, and they must be free to write. Marking takes a writer's turn.
                let mut conn = self.db.pool().acquire().await?;
                let (published, failure) = self.publish_rows(&mut conn, select).await?;
                drop(conn);
                if !published.is_empty() {
                    let mut tx = self.db.begin_write().await?;
                    mark_published(&mut tx, &published).await?;
                    tx.commit().await?;
                }
                (published, failure)
            }
        };
        metrics::counter!("docket_outbox_published_total").increment(published.len() as u64);
        match failure {
            Some(e) => Err(e),
            None => Ok(published.len()),
        }
    }

    /// Publishes the selected rows in order, stopping at the first failure. Returns the sequence
    /// numbers published and the failure, if any.
    async fn publish_rows(
        &self,
        conn: &mut sqlx::AnyConnection,
        select: &'static str,
    ) -> Result<(Vec<i64>, Option<BusError>), BusError> {
        let rows = sqlx::query(select)
            .bind(self.batch_size)
            .fetch_all(&mut *conn)
            .await?;
        let mut published = Vec::with_capacity(rows.len());
        for row in &rows {
            let seq: i64 = row.try_get("seq")?;
            let trace: String = row.try_get("trace_context")?;
            let message = BusMessage {
                event_id: row.try_get("event_id")?,
                routing_key: row.try_get("event_type")?,
                body: row.try_get("envelope")?,
                headers: serde_json::from_str::<HashMap<String, String>>(&trace)
                    .unwrap_or_default(),
            };
            if let Err(e) = self.bus.publish(&message).await {
                return Ok((published, Some(e)));
            }
            published.push(seq);
        }
        Ok((published, None))
    }

    /// Number of events not yet published.
    pub async fn pending(db: &Db) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("SELECT COUNT(*) FROM bus_outbox WHERE published_at IS NULL")
            .fetch_one(db.pool())
            .await
    }

    async fn prune(&self) -> Result<(), sqlx::Error> {
        let cutoff = docket_platform::time::now_micros()
            - i64::try_from(self.keep_published.as_micros()).unwrap_or(i64::MAX);
        sqlx::query("DELETE FROM bus_outbox WHERE published_at IS NOT NULL AND published_at < $1")
            .bind(cutoff)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }
}

/// Marks outbox rows as published.
async fn mark_published(conn: &mut sqlx::AnyConnection, seqs: &[i64]) -> Result<(), sqlx::Error> {
    let now = docket_platform::time::now_micros();
    for chunk in seqs.chunks(100) {
        // Only integers go into the list.
        let list = chunk
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(",");
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE bus_outbox SET published_at = $1 WHERE seq IN ({list})"
        )))
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
