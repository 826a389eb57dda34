//! Received messages as they arrived: kept byte for byte and once (the same Message-ID and
//! content is the same message), listed newest first, counted per sender, and the held ones
//! (quarantined or refused) sent through processing again.

use sqlx::any::AnyRow;

use super::{MailStore, Page, count, from_json, to_json};
use crate::domain::{InboundId, InboundState, Micros, Outcome};
use crate::error::MailError;

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

/// A row of `inbound_messages` as the database holds it.
#[derive(sqlx::FromRow)]
struct InboundRow {
    id: String,
    received_at: i64,
    source: String,
    envelope_from: String,
    /// A JSON list.
    recipients: String,
    message_id: String,
    sha256: String,
    size: i64,
    sender: String,
    subject: String,
    state: String,
    reason: String,
    /// '' until processed.
    outcome: String,
    ticket_id: String,
    article_id: String,
    attempts: i64,
    /// Not selected by listings.
    #[sqlx(default)]
    raw: Vec<u8>,
}

impl TryFrom<InboundRow> for InboundMessage {
    type Error = MailError;

    fn try_from(row: InboundRow) -> Result<Self, MailError> {
        Ok(Self {
            id: row.id.parse()?,
            received_at: row.received_at,
            source: row.source,
            envelope_from: row.envelope_from,
            recipients: from_json(&row.recipients, "recipients")?,
            message_id: row.message_id,
            sha256: row.sha256,
            size: u64::try_from(row.size).unwrap_or(0),
            sender: row.sender,
            subject: row.subject,
            state: row.state.parse()?,
            reason: row.reason,
            outcome: (!row.outcome.is_empty())
                .then(|| row.outcome.parse())
                .transpose()?,
            ticket_id: row.ticket_id,
            article_id: row.article_id,
            attempts: count(row.attempts),
            raw: row.raw,
        })
    }
}

/// A selected row of `inbound_messages` (with or without `raw`) as a message.
pub(super) fn inbound_from_row(row: &AnyRow) -> Result<InboundMessage, MailError> {
    docket_store::decode::<InboundRow>(row)?.try_into()
}

const INSERT: &str = concat!(
    "INSERT INTO inbound_messages (",
    inbound_columns!(),
    ", raw, next_attempt_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, '', '', '', 0, $13, $14) \
     ON CONFLICT (message_id, sha256) DO NOTHING"
);
const ID_OF_SAME: &str = "SELECT id FROM inbound_messages WHERE message_id = $1 AND sha256 = $2";
const GET: &str = concat!(
    "SELECT ",
    inbound_columns!(),
    ", raw FROM inbound_messages WHERE id = $1"
);
const LIST_IN_STATE: &str = concat!(
    "SELECT ",
    inbound_columns!(),
    " FROM inbound_messages WHERE state = $1 AND id < $2 ORDER BY id DESC LIMIT $3"
);
const LIST_ALL: &str = concat!(
    "SELECT ",
    inbound_columns!(),
    " FROM inbound_messages WHERE id < $1 ORDER BY id DESC LIMIT $2"
);
const REPROCESS: &str = "UPDATE inbound_messages SET state = $1, next_attempt_at = $2, \
     lease_until = 0, attempts = 0, reason = $3 WHERE id = $4 AND state IN ($5, $6)";
const SENDER_COUNT: &str = "SELECT COUNT(*) FROM inbound_messages \
     WHERE sender = $1 AND received_at >= $2 AND id <= $3 AND outcome NOT IN ($4, $5)";
const EARLIER_IN_STATE: &str =
    "SELECT COUNT(*) FROM inbound_messages WHERE message_id = $1 AND state = $2 AND id < $3";

impl MailStore {
    /// Stores a received message. Returns its id and whether it was there before (the same
    /// Message-ID and content); a message stored before is not stored again.
    pub async fn store_inbound(&self, new: NewInbound) -> Result<(InboundId, bool), MailError> {
        let now = docket_platform::time::now_micros();
        let id = InboundId::new();
        let size = i64::try_from(new.raw.len())
            .map_err(|_| MailError::TooLarge("message size out of range".into()))?;
        let mut tx = self.db.begin_write().await?;
        let inserted = sqlx::query(INSERT)
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
            let existing: String = sqlx::query_scalar(ID_OF_SAME)
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
        let row = sqlx::query(GET)
            .bind(id.to_string())
            .fetch_optional(self.db.pool())
            .await?
            .ok_or_else(|| MailError::not_found("message", id))?;
        inbound_from_row(&row)
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
                sqlx::query(LIST_IN_STATE)
                    .bind(state.as_str())
                    .bind(before)
                    .bind(limit + 1)
                    .fetch_all(self.db.pool())
                    .await?
            }
            None => {
                sqlx::query(LIST_ALL)
                    .bind(before)
                    .bind(limit + 1)
                    .fetch_all(self.db.pool())
                    .await?
            }
        };
        let mut items = rows
            .iter()
            .map(inbound_from_row)
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

    /// Sends a held (quarantined or refused) message through processing again, with `note` as
    /// its reason until then.
    pub async fn reprocess(&self, id: InboundId, note: &str) -> Result<InboundMessage, MailError> {
        let now = docket_platform::time::now_micros();
        let [held, also_held] = InboundState::HELD;
        let mut tx = self.db.begin_write().await?;
        let updated = sqlx::query(REPROCESS)
            .bind(InboundState::Pending.as_str())
            .bind(now)
            .bind(note)
            .bind(id.to_string())
            .bind(held.as_str())
            .bind(also_held.as_str())
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

    /// How many messages `sender` sent from `since` up to `up_to` (that one included), copies and
    /// spam left out ([`Outcome::NOT_COUNTED`]).
    pub async fn sender_count(
        &self,
        sender: &str,
        since: Micros,
        up_to: InboundId,
    ) -> Result<u64, MailError> {
        let n: i64 = sqlx::query_scalar(SENDER_COUNT)
            .bind(sender)
            .bind(since)
            .bind(up_to.to_string())
            .bind(Outcome::NOT_COUNTED[0].as_str())
            .bind(Outcome::NOT_COUNTED[1].as_str())
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
            let n: i64 = sqlx::query_scalar(EARLIER_IN_STATE)
                .bind(message_id)
                .bind(InboundState::Pending.as_str())
                .bind(id.to_string())
                .fetch_one(self.db.pool())
                .await?;
            if n > 0 {
                return Ok(true);
            }
        }
        Ok(false)
    }
}
