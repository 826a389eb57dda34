//! The mail service's own tables: received messages (raw, byte for byte), the Message-IDs that
//! thread onto tickets, and outgoing mail with its state. PostgreSQL or SQLite, one code path.

use docket_store::{Db, Row, WriteTx};
use sqlx::any::AnyRow;

use crate::error::MailError;

pub type Micros = i64;

docket_platform::typed_id!(pub InboundId, "inbound message");
docket_platform::typed_id!(pub OutgoingId, "outgoing mail");

docket_platform::text_enum!(MailError;
    /// Where a received message is.
    InboundState, "message state" {
        Pending = "pending",
        Done = "done",
        Quarantined = "quarantined",
        Refused = "refused",
    }
);

docket_platform::text_enum!(MailError;
    /// What a processed message became.
    Outcome, "outcome" {
        NewTicket = "new_ticket",
        FollowUp = "follow_up",
        Bounce = "bounce",
    }
);

docket_platform::text_enum!(MailError;
    /// Where an outgoing mail is (the same names as an article's delivery state).
    OutgoingState, "outgoing state" {
        Queued = "queued",
        Retrying = "retrying",
        Sent = "sent",
        Failed = "failed",
    }
);

docket_platform::text_enum!(MailError;
    /// What an outgoing mail is.
    OutgoingKind, "outgoing kind" {
        Confirmation = "confirmation",
        Reply = "reply",
        Notice = "notice",
    }
);

/// A message as it arrived, before it is stored.
#[derive(Debug, Clone)]
pub struct NewInbound {
    pub source: String,
    pub envelope_from: String,
    pub recipients: Vec<String>,
    pub raw: Vec<u8>,
    /// The Message-ID header ('' when there is none).
    pub message_id: String,
    pub sha256: String,
    pub sender: String,
    pub subject: String,
    /// `Pending` normally; `Refused` or `Quarantined` (with the reason) when it cannot become a
    /// ticket as it is, and must still be kept.
    pub state: InboundState,
    pub reason: String,
}

/// A stored message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundMessage {
    pub id: InboundId,
    pub received_at: Micros,
    pub source: String,
    pub envelope_from: String,
    pub recipients: Vec<String>,
    pub message_id: String,
    pub sha256: String,
    pub size: u64,
    pub sender: String,
    pub subject: String,
    pub state: InboundState,
    pub reason: String,
    pub outcome: Option<Outcome>,
    pub ticket_id: String,
    pub article_id: String,
    pub attempts: u32,
    /// Empty in listings.
    pub raw: Vec<u8>,
}

/// What processing a message came to, written in one transaction.
#[derive(Debug, Clone)]
pub struct Finish {
    pub state: InboundState,
    pub reason: String,
    pub outcome: Option<Outcome>,
    pub ticket_id: String,
    pub article_id: String,
    /// Message-IDs that now lead to the ticket.
    pub thread_ids: Vec<String>,
    /// An automatic answer to send.
    pub outgoing: Option<NewOutgoing>,
}

/// A mail to send.
#[derive(Debug, Clone)]
pub struct NewOutgoing {
    pub kind: OutgoingKind,
    pub source_key: String,
    pub ticket_id: String,
    pub article_id: String,
    pub mail_from: String,
    pub recipients: Vec<String>,
    pub message_id: String,
    pub raw: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub id: OutgoingId,
    pub kind: OutgoingKind,
    pub source_key: String,
    pub ticket_id: String,
    pub article_id: String,
    pub mail_from: String,
    pub recipients: Vec<String>,
    pub message_id: String,
    pub raw: Vec<u8>,
    pub state: OutgoingState,
    pub attempts: u32,
    pub detail: String,
}

/// The mail service's store.
#[derive(Clone)]
pub struct MailStore {
    db: Db,
}

fn migrations() -> &'static docket_store::Migrations {
    static MIGRATIONS: std::sync::LazyLock<docket_store::Migrations> =
        std::sync::LazyLock::new(|| {
            docket_store::Migrations::new(
                "_docket_mail_migrations",
                &[docket_store::MigrationSql {
                    version: 1,
                    description: "received messages, thread ids, outgoing mail",
                    portable: include_str!("../migrations/0001_mail.sql"),
                    postgres: include_str!("../migrations/0001_mail.postgres.sql"),
                    sqlite: include_str!("../migrations/0001_mail.sqlite.sql"),
                }],
            )
        });
    &MIGRATIONS
}

fn get<T>(row: &AnyRow, column: &str) -> Result<T, MailError>
where
    T: for<'r> sqlx::Decode<'r, docket_store::Any> + sqlx::Type<docket_store::Any>,
{
    row.try_get(column)
        .map_err(|e| MailError::Corrupt(format!("column {column}: {e}")))
}

fn count(value: i64) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

fn json_list(row: &AnyRow, column: &str) -> Result<Vec<String>, MailError> {
    serde_json::from_str(&get::<String>(row, column)?)
        .map_err(|e| MailError::Corrupt(format!("column {column}: {e}")))
}

fn to_json(list: &[String]) -> Result<String, MailError> {
    serde_json::to_string(list).map_err(|e| MailError::Corrupt(format!("json: {e}")))
}

const INBOUND_COLUMNS: &str = "id, received_at, source, envelope_from, recipients, message_id, sha256, size, sender, subject, state, reason, outcome, ticket_id, article_id, attempts";
const OUTGOING_COLUMNS: &str = "id, kind, source_key, ticket_id, article_id, mail_from, recipients, message_id, raw, state, attempts, detail";

fn inbound_from_row(row: &AnyRow, with_raw: bool) -> Result<InboundMessage, MailError> {
    let outcome: String = get(row, "outcome")?;
    Ok(InboundMessage {
        id: get::<String>(row, "id")?.parse()?,
        received_at: get(row, "received_at")?,
        source: get(row, "source")?,
        envelope_from: get(row, "envelope_from")?,
        recipients: json_list(row, "recipients")?,
        message_id: get(row, "message_id")?,
        sha256: get(row, "sha256")?,
        size: u64::try_from(get::<i64>(row, "size")?).unwrap_or(0),
        sender: get(row, "sender")?,
        subject: get(row, "subject")?,
        state: get::<String>(row, "state")?.parse()?,
        reason: get(row, "reason")?,
        outcome: (!outcome.is_empty()).then(|| outcome.parse()).transpose()?,
        ticket_id: get(row, "ticket_id")?,
        article_id: get(row, "article_id")?,
        attempts: count(get(row, "attempts")?),
        raw: if with_raw {
            get(row, "raw")?
        } else {
            Vec::new()
        },
    })
}

fn outgoing_from_row(row: &AnyRow) -> Result<Outgoing, MailError> {
    Ok(Outgoing {
        id: get::<String>(row, "id")?.parse()?,
        kind: get::<String>(row, "kind")?.parse()?,
        source_key: get(row, "source_key")?,
        ticket_id: get(row, "ticket_id")?,
        article_id: get(row, "article_id")?,
        mail_from: get(row, "mail_from")?,
        recipients: json_list(row, "recipients")?,
        message_id: get(row, "message_id")?,
        raw: get(row, "raw")?,
        state: get::<String>(row, "state")?.parse()?,
        attempts: count(get(row, "attempts")?),
        detail: get(row, "detail")?,
    })
}

/// One page of a listing.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_page_token: Option<String>,
}

impl MailStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    pub async fn migrate(db: &Db) -> Result<(), docket_store::StoreError> {
        db.migrate(migrations()).await
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Stores a received message. Returns its id and whether it was there before (the same
    /// Message-ID and content); a message stored before is not stored again.
    pub async fn store_inbound(&self, new: NewInbound) -> Result<(InboundId, bool), MailError> {
        let now = docket_platform::time::now_micros();
        let id = InboundId::new();
        let size = i64::try_from(new.raw.len())
            .map_err(|_| MailError::TooLarge("message size out of range".into()))?;
        let mut tx = self.db.begin_write().await?;
        let inserted = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO inbound_messages ({INBOUND_COLUMNS}, raw, next_attempt_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, '', '', '', 0, $13, $14) \
             ON CONFLICT (message_id, sha256) DO NOTHING"
        )))
        .bind(id.to_string())
        .bind(now)
        .bind(&new.source)
        .bind(&new.envelope_from)
        .bind(to_json(&new.recipients)?)
        .bind(&new.message_id)
        .bind(&new.sha256)
        .bind(size)
        .bind(&new.sender)
        .bind(&new.subject)
        .bind(new.state.as_str())
        .bind(&new.reason)
        .bind(new.raw.as_slice())
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let stored = if inserted == 1 {
            (id, false)
        } else {
            let existing: String = sqlx::query_scalar(
                "SELECT id FROM inbound_messages WHERE message_id = $1 AND sha256 = $2",
            )
            .bind(&new.message_id)
            .bind(&new.sha256)
            .fetch_one(&mut *tx)
            .await?;
            (existing.parse()?, true)
        };
        tx.commit().await?;
        Ok(stored)
    }

    /// A stored message with its raw bytes.
    pub async fn get_inbound(&self, id: InboundId) -> Result<InboundMessage, MailError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {INBOUND_COLUMNS}, raw FROM inbound_messages WHERE id = $1"
        )))
        .bind(id.to_string())
        .fetch_optional(self.db.pool())
        .await?
        .ok_or_else(|| MailError::not_found("message", id))?;
        inbound_from_row(&row, true)
    }

    /// Messages newest first (without their bytes), optionally in one state.
    pub async fn list_inbound(
        &self,
        state: Option<InboundState>,
        page_size: u32,
        page_token: Option<&str>,
    ) -> Result<Page<InboundMessage>, MailError> {
        let limit = i64::from(page_size.clamp(1, 500));
        let before = page_token
            .filter(|t| !t.is_empty())
            .map(|t| t.parse::<InboundId>())
            .transpose()?;
        // Ids are time-ordered (UUIDv7), so they page in arrival order; `~` sorts after every id.
        let before = before.map_or_else(|| "~".to_owned(), |b| b.to_string());
        let rows = match state {
            Some(state) => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {INBOUND_COLUMNS} FROM inbound_messages \
                     WHERE state = $1 AND id < $2 ORDER BY id DESC LIMIT $3"
                )))
                .bind(state.as_str())
                .bind(before)
                .bind(limit + 1)
                .fetch_all(self.db.pool())
                .await?
            }
            None => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {INBOUND_COLUMNS} FROM inbound_messages \
                     WHERE id < $1 ORDER BY id DESC LIMIT $2"
                )))
                .bind(before)
                .bind(limit + 1)
                .fetch_all(self.db.pool())
                .await?
            }
        };
        let mut items = rows
            .iter()
            .map(|r| inbound_from_row(r, false))
            .collect::<Result<Vec<_>, _>>()?;
        let more = items.len() as i64 > limit;
        items.truncate(usize::try_from(limit).unwrap_or(500));
        let next_page_token = more
            .then(|| items.last().map(|m| m.id.to_string()))
            .flatten();
        Ok(Page {
            items,
            next_page_token,
        })
    }

    /// Takes up to `limit` pending messages that are due, oldest first, for `lease_secs`: another
    /// worker (or replica) skips them until then. A worker that dies leaves them to the next one.
    pub async fn claim_due(
        &self,
        limit: u32,
        lease_secs: i64,
    ) -> Result<Vec<InboundMessage>, MailError> {
        let now = docket_platform::time::now_micros();
        let mut tx = self.db.begin_write().await?;
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM inbound_messages WHERE state = 'pending' AND next_attempt_at <= $1 \
             AND lease_until <= $1 ORDER BY id LIMIT $2",
        )
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await?;
        let mut claimed = Vec::with_capacity(ids.len());
        for id in ids {
            // The lease condition again: on PostgreSQL a concurrent claimer that got there first
            // makes this update match nothing.
            let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE inbound_messages SET lease_until = $1, attempts = attempts + 1 \
                 WHERE id = $2 AND state = 'pending' AND lease_until <= $3 \
                 RETURNING {INBOUND_COLUMNS}, raw"
            )))
            .bind(now + lease_secs * 1_000_000)
            .bind(&id)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(row) = row {
                claimed.push(inbound_from_row(&row, true)?);
            }
        }
        tx.commit().await?;
        Ok(claimed)
    }

    /// Puts a claimed message back, due again at `at` (a transient failure, or waiting for the
    /// message it answers).
    pub async fn defer(&self, id: InboundId, at: Micros, reason: &str) -> Result<(), MailError> {
        let mut tx = self.db.begin_write().await?;
        sqlx::query(
            "UPDATE inbound_messages SET next_attempt_at = $1, lease_until = 0, reason = $2 \
             WHERE id = $3 AND state = 'pending'",
        )
        .bind(at)
        .bind(reason)
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records what a message became: its state, its ticket, the Message-IDs that now lead to the
    /// ticket, and the automatic answer to send, together.
    pub async fn finish(&self, id: InboundId, finish: Finish) -> Result<(), MailError> {
        let now = docket_platform::time::now_micros();
        let mut tx = self.db.begin_write().await?;
        sqlx::query(
            "UPDATE inbound_messages SET state = $1, reason = $2, outcome = $3, ticket_id = $4, \
             article_id = $5, processed_at = $6, lease_until = 0 WHERE id = $7",
        )
        .bind(finish.state.as_str())
        .bind(&finish.reason)
        .bind(finish.outcome.map(Outcome::as_str).unwrap_or(""))
        .bind(&finish.ticket_id)
        .bind(&finish.article_id)
        .bind(now)
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        for message_id in finish.thread_ids.iter().filter(|m| !m.is_empty()) {
            Self::thread(&mut tx, message_id, &finish.ticket_id, now).await?;
        }
        if let Some(outgoing) = finish.outgoing {
            Self::insert_outgoing(&mut tx, outgoing, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn thread(
        tx: &mut WriteTx,
        message_id: &str,
        ticket_id: &str,
        now: Micros,
    ) -> Result<(), MailError> {
        sqlx::query(
            "INSERT INTO thread_ids (message_id, ticket_id, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (message_id) DO NOTHING",
        )
        .bind(message_id)
        .bind(ticket_id)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Sends a quarantined or refused message through processing again, with `note` as its
    /// reason until then.
    pub async fn reprocess(&self, id: InboundId, note: &str) -> Result<InboundMessage, MailError> {
        let now = docket_platform::time::now_micros();
        let mut tx = self.db.begin_write().await?;
        let updated = sqlx::query(
            "UPDATE inbound_messages SET state = 'pending', next_attempt_at = $1, lease_until = 0, \
             attempts = 0, reason = $2 WHERE id = $3 AND state IN ('quarantined', 'refused')",
        )
        .bind(now)
        .bind(note)
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        let message = self.get_inbound(id).await?;
        if updated == 0 {
            return Err(MailError::Conflict(format!(
                "message {id} is {}: only quarantined or refused messages are processed again",
                message.state
            )));
        }
        Ok(message)
    }

    /// How many messages `sender` sent from `since` up to `up_to` (that one included).
    pub async fn sender_count(
        &self,
        sender: &str,
        since: Micros,
        up_to: InboundId,
    ) -> Result<u64, MailError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM inbound_messages WHERE sender = $1 AND received_at >= $2 AND id <= $3",
        )
        .bind(sender)
        .bind(since)
        .bind(up_to.to_string())
        .fetch_one(self.db.pool())
        .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Whether one of `message_ids` belongs to a message received before `id` and not processed
    /// yet (an answer waits for the message it answers).
    pub async fn earlier_pending(
        &self,
        id: InboundId,
        message_ids: &[String],
    ) -> Result<bool, MailError> {
        for message_id in message_ids.iter().filter(|m| !m.is_empty()) {
            let n: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM inbound_messages WHERE message_id = $1 AND state = 'pending' AND id < $2",
            )
            .bind(message_id)
            .bind(id.to_string())
            .fetch_one(self.db.pool())
            .await?;
            if n > 0 {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The ticket the newest of `message_ids` leads to.
    pub async fn ticket_of(&self, message_ids: &[String]) -> Result<Option<String>, MailError> {
        for message_id in message_ids.iter().rev().filter(|m| !m.is_empty()) {
            let ticket: Option<String> =
                sqlx::query_scalar("SELECT ticket_id FROM thread_ids WHERE message_id = $1")
                    .bind(message_id)
                    .fetch_optional(self.db.pool())
                    .await?;
            if ticket.is_some() {
                return Ok(ticket);
            }
        }
        Ok(None)
    }

    /// A ticket's Message-IDs, oldest first (at most `limit`, the first and the newest ones).
    pub async fn thread_of(&self, ticket_id: &str, limit: u32) -> Result<Vec<String>, MailError> {
        let mut ids: Vec<String> = sqlx::query_scalar(
            "SELECT message_id FROM thread_ids WHERE ticket_id = $1 ORDER BY created_at, message_id",
        )
        .bind(ticket_id)
        .fetch_all(self.db.pool())
        .await?;
        let limit = usize::try_from(limit).unwrap_or(usize::MAX).max(2);
        if ids.len() > limit {
            let newest = ids.split_off(ids.len() - (limit - 1));
            ids.truncate(1);
            ids.extend(newest);
        }
        Ok(ids)
    }

    /// Forgets a ticket's mail (retention deleted or anonymised the ticket): the received messages
    /// that went to it, its thread ids and its outgoing mail. Returns how many messages went.
    pub async fn forget_ticket(&self, ticket_id: &str) -> Result<u64, MailError> {
        let mut tx = self.db.begin_write().await?;
        let messages = sqlx::query("DELETE FROM inbound_messages WHERE ticket_id = $1")
            .bind(ticket_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        for table in ["thread_ids", "outgoing_mail"] {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE ticket_id = $1"
            )))
            .bind(ticket_id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(messages)
    }

    /// Queues a mail to send; one per source key (a second call returns the first's id).
    pub async fn queue_outgoing(&self, new: NewOutgoing) -> Result<(OutgoingId, bool), MailError> {
        let now = docket_platform::time::now_micros();
        let mut tx = self.db.begin_write().await?;
        let made = Self::insert_outgoing(&mut tx, new, now).await?;
        tx.commit().await?;
        Ok(made)
    }

    async fn insert_outgoing(
        tx: &mut WriteTx,
        new: NewOutgoing,
        now: Micros,
    ) -> Result<(OutgoingId, bool), MailError> {
        let id = OutgoingId::new();
        let inserted = sqlx::query(
            "INSERT INTO outgoing_mail (id, kind, source_key, ticket_id, article_id, mail_from, \
             recipients, message_id, raw, state, attempts, next_attempt_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'queued', 0, $10, $10) \
             ON CONFLICT (source_key) DO NOTHING",
        )
        .bind(id.to_string())
        .bind(new.kind.as_str())
        .bind(&new.source_key)
        .bind(&new.ticket_id)
        .bind(&new.article_id)
        .bind(&new.mail_from)
        .bind(to_json(&new.recipients)?)
        .bind(&new.message_id)
        .bind(new.raw.as_slice())
        .bind(now)
        .execute(&mut **tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            let existing: String =
                sqlx::query_scalar("SELECT id FROM outgoing_mail WHERE source_key = $1")
                    .bind(&new.source_key)
                    .fetch_one(&mut **tx)
                    .await?;
            return Ok((existing.parse()?, false));
        }
        // Answers to this mail come back to its ticket.
        Self::thread(tx, &new.message_id, &new.ticket_id, now).await?;
        Ok((id, true))
    }

    /// Takes up to `limit` outgoing mails that are due, for `lease_secs`.
    pub async fn claim_due_outgoing(
        &self,
        limit: u32,
        lease_secs: i64,
    ) -> Result<Vec<Outgoing>, MailError> {
        let now = docket_platform::time::now_micros();
        let mut tx = self.db.begin_write().await?;
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM outgoing_mail WHERE state IN ('queued', 'retrying') \
             AND next_attempt_at <= $1 AND lease_until <= $1 ORDER BY next_attempt_at, id LIMIT $2",
        )
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await?;
        let mut claimed = Vec::with_capacity(ids.len());
        for id in ids {
            let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE outgoing_mail SET lease_until = $1 WHERE id = $2 \
                 AND state IN ('queued', 'retrying') AND lease_until <= $3 RETURNING {OUTGOING_COLUMNS}"
            )))
            .bind(now + lease_secs * 1_000_000)
            .bind(&id)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(row) = row {
                claimed.push(outgoing_from_row(&row)?);
            }
        }
        tx.commit().await?;
        Ok(claimed)
    }

    /// Records an attempt: sent, to be retried at `retry_at`, or (`retry_at` None) failed for good.
    pub async fn record_attempt(
        &self,
        id: OutgoingId,
        state: OutgoingState,
        detail: &str,
        retry_at: Option<Micros>,
    ) -> Result<Outgoing, MailError> {
        let now = docket_platform::time::now_micros();
        let mut tx = self.db.begin_write().await?;
        sqlx::query(
            "UPDATE outgoing_mail SET state = $1, detail = $2, attempts = attempts + 1, \
             next_attempt_at = $3, lease_until = 0, sent_at = $4 WHERE id = $5",
        )
        .bind(state.as_str())
        .bind(detail)
        .bind(retry_at.unwrap_or(now))
        .bind((state == OutgoingState::Sent).then_some(now))
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.get_outgoing(id).await
    }

    pub async fn get_outgoing(&self, id: OutgoingId) -> Result<Outgoing, MailError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {OUTGOING_COLUMNS} FROM outgoing_mail WHERE id = $1"
        )))
        .bind(id.to_string())
        .fetch_optional(self.db.pool())
        .await?
        .ok_or_else(|| MailError::not_found("outgoing mail", id))?;
        outgoing_from_row(&row)
    }

    /// The mail we sent with this Message-ID (a bounce names it).
    pub async fn outgoing_by_message_id(
        &self,
        message_id: &str,
    ) -> Result<Option<Outgoing>, MailError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {OUTGOING_COLUMNS} FROM outgoing_mail WHERE message_id = $1"
        )))
        .bind(message_id)
        .fetch_optional(self.db.pool())
        .await?;
        row.as_ref().map(outgoing_from_row).transpose()
    }

    /// Outgoing mails of a ticket, oldest first.
    pub async fn outgoing_of_ticket(&self, ticket_id: &str) -> Result<Vec<Outgoing>, MailError> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {OUTGOING_COLUMNS} FROM outgoing_mail WHERE ticket_id = $1 ORDER BY created_at, id"
        )))
        .bind(ticket_id)
        .fetch_all(self.db.pool())
        .await?
        .iter()
        .map(outgoing_from_row)
        .collect()
    }
}
