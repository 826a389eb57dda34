//! The append-only history with its hash chain, and the events beside it.

use super::*;

#[async_trait]
pub trait History: Send + Sync + 'static {
    async fn history(&self, id: TicketId) -> Result<Vec<HistoryEntry>, TicketError>;
    /// Checks the ticket's history chain and its articles' bodies against what was recorded.
    async fn verify_history(&self, id: TicketId) -> Result<chain::Verdict, TicketError>;
}

/// A row of `ticket_history` as the database holds it, without its hashes.
#[derive(sqlx::FromRow)]
struct HistoryRow {
    seq: i64,
    kind: String,
    actor: String,
    occurred_at: i64,
    /// JSON.
    details: String,
}

impl TryFrom<HistoryRow> for HistoryEntry {
    type Error = TicketError;

    fn try_from(row: HistoryRow) -> Result<Self, TicketError> {
        Ok(HistoryEntry {
            seq: u64::try_from(row.seq).map_err(|e| TicketError::Corrupt(e.to_string()))?,
            kind: row.kind,
            actor: row.actor,
            occurred_at: row.occurred_at,
            details: serde_json::from_str(&row.details)
                .map_err(|e| TicketError::Corrupt(e.to_string()))?,
        })
    }
}

/// A row of `ticket_history` with its hashes, as the database holds it.
#[derive(sqlx::FromRow)]
struct StoredRow {
    seq: i64,
    kind: String,
    actor: String,
    occurred_at: i64,
    /// The text as written, which the hash covers.
    details: String,
    prev_hash: Option<String>,
    hash: Option<String>,
}

impl TryFrom<StoredRow> for chain::StoredEntry {
    type Error = TicketError;

    fn try_from(row: StoredRow) -> Result<Self, TicketError> {
        Ok(chain::StoredEntry {
            seq: u64::try_from(row.seq).map_err(|e| TicketError::Corrupt(e.to_string()))?,
            kind: row.kind,
            actor: row.actor,
            occurred_at: row.occurred_at,
            details: row.details,
            prev_hash: row.prev_hash,
            hash: row.hash,
        })
    }
}

#[async_trait]
impl History for SqlTicketStore {
    async fn history(&self, id: TicketId) -> Result<Vec<HistoryEntry>, TicketError> {
        let rows = sqlx::query(
            "SELECT seq, kind, actor, occurred_at, details FROM ticket_history WHERE ticket_id = $1 ORDER BY seq",
        )
        .bind(id)
        .fetch_all(self.db.pool())
        .await?;
        if rows.is_empty() {
            self.get_ticket(id).await?;
        }
        rows.iter()
            .map(|row| docket_store::decode::<HistoryRow>(row)?.try_into())
            .collect()
    }

    async fn verify_history(&self, id: TicketId) -> Result<chain::Verdict, TicketError> {
        let ticket = self.get_ticket(id).await?;
        let rows = sqlx::query(
            "SELECT seq, kind, actor, occurred_at, details, prev_hash, hash \
             FROM ticket_history WHERE ticket_id = $1 ORDER BY seq",
        )
        .bind(id)
        .fetch_all(self.db.pool())
        .await?;
        let entries = rows
            .iter()
            .map(|row| docket_store::decode::<StoredRow>(row)?.try_into())
            .collect::<Result<Vec<chain::StoredEntry>, TicketError>>()?;
        let bodies: std::collections::HashMap<String, String> = self
            .list_articles(id, false)
            .await?
            .into_iter()
            .map(|a| (a.id.to_string(), chain::sha256_hex(a.body.as_bytes())))
            .collect();
        Ok(chain::verify(id, ticket.version, &entries, |article| {
            bodies.get(article).cloned()
        }))
    }
}

impl SqlTicketStore {
    pub(super) async fn append_history(
        tx: &mut WriteTx,
        ticket: &Ticket,
        kind: &str,
        actor: &Actor,
        details: serde_json::Value,
    ) -> Result<(), TicketError> {
        // The chain: the previous entry's hash (inside this write transaction, so no other
        // change of the ticket can come between).
        let prev: Option<Option<String>> = sqlx::query_scalar(
            "SELECT hash FROM ticket_history WHERE ticket_id = $1 ORDER BY seq DESC LIMIT 1",
        )
        .bind(ticket.id)
        .fetch_optional(&mut **tx)
        .await?;
        let prev = prev.flatten().unwrap_or_else(|| chain::GENESIS.to_owned());
        let details = details.to_string();
        let hash = chain::entry_hash(
            &prev,
            ticket.id,
            ticket.version,
            kind,
            actor.as_str(),
            ticket.updated_at,
            &details,
        );
        sqlx::query(
            "INSERT INTO ticket_history (ticket_id, seq, kind, actor, occurred_at, details, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(ticket.id)
        .bind(version_i64(ticket.version)?)
        .bind(kind)
        .bind(actor.as_str())
        .bind(ticket.updated_at)
        .bind(details)
        .bind(prev)
        .bind(hash)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Appends an event about `(aggregate type, id, version after the change)` to the outbox.
    pub(super) async fn append_event(
        tx: &mut WriteTx,
        event_type: &str,
        tenant_id: TenantId,
        (aggregate_type, aggregate_id, aggregate_version): (&str, String, u64),
        payload: Vec<u8>,
    ) -> Result<(), TicketError> {
        outbox::append(
            tx,
            NewEvent {
                event_type,
                tenant_id: tenant_id.to_string(),
                aggregate_type,
                aggregate_id,
                aggregate_version,
                payload,
            },
        )
        .await?;
        Ok(())
    }

    /// Marks up to `limit` tickets of `kind` that are due and not yet told, and appends their
    /// events; returns how many. The conditions are checked again on each row as it is updated,
    /// so a replica that raced for the same rows finds them told and skips them.
    pub(super) async fn announce(
        tx: &mut WriteTx,
        kind: DueKind,
        now: Micros,
        limit: u32,
    ) -> Result<usize, TicketError> {
        let (due, told, event_type) = match kind {
            DueKind::Reminder => ("pending_until", "reminded_for", "ticket.reminder_reached"),
            DueKind::Escalation => ("target_at", "escalated_for", "ticket.escalated"),
        };
        // The escalation condition is the one of the `tickets_escalation` partial index.
        let states = match kind {
            DueKind::Reminder => "state = 'pending_reminder'",
            DueKind::Escalation => {
                "state IN ('new', 'open', 'pending_reminder', 'pending_auto_close_successful', \
                 'pending_auto_close_unsuccessful')"
            }
        };
        let condition = format!(
            "{states} AND {due} IS NOT NULL AND {due} <= $1 AND ({told} IS NULL OR {told} <> {due})"
        );
        // Only fixed column names and state lists go into the text.
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE tickets SET {told} = {due} \
             WHERE id IN (SELECT id FROM tickets WHERE {condition} ORDER BY {due} LIMIT $2) \
             AND {condition} \
             RETURNING id, tenant_id, queue_id, owner_id, {due} AS due_at, version"
        )))
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&mut **tx)
        .await?;
        for row in &rows {
            let ticket_id: String = row.try_get("id")?;
            let due_at: i64 = row.try_get("due_at")?;
            let version: i64 = row.try_get("version")?;
            let payload = ev::TicketDue {
                ticket_id: ticket_id.clone(),
                queue_id: row.try_get("queue_id")?,
                owner_id: row
                    .try_get::<Option<String>, _>("owner_id")?
                    .unwrap_or_default(),
                due_at_us: due_at,
            };
            outbox::append(
                tx,
                NewEvent {
                    event_type,
                    tenant_id: row.try_get("tenant_id")?,
                    aggregate_type: "ticket",
                    aggregate_id: ticket_id,
                    aggregate_version: u64::try_from(version).unwrap_or_default(),
                    payload: payload.encode_to_vec(),
                },
            )
            .await?;
        }
        Ok(rows.len())
    }

    pub(super) async fn ticket_event(
        tx: &mut WriteTx,
        ticket: &Ticket,
        event_type: &str,
        payload: Vec<u8>,
    ) -> Result<(), TicketError> {
        let aggregate = ("ticket", ticket.id.to_string(), ticket.version);
        Self::append_event(tx, event_type, ticket.tenant_id, aggregate, payload).await
    }
}
