//! Outgoing mail: queued once per source key (an article, a confirmation, a notice), claimed by
//! the sender with a lease, and each attempt's outcome recorded. A queued mail's Message-ID leads
//! back to its ticket, so answers to it thread there.

use docket_store::WriteTx;
use sqlx::any::AnyRow;

use super::{Lease, MailStore, count, from_json, to_json};
use crate::domain::{Micros, OutgoingId, OutgoingKind, OutgoingState};
use crate::error::MailError;

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

/// A row of `outgoing_mail` as the database holds it.
#[derive(sqlx::FromRow)]
struct OutgoingRow {
    id: String,
    kind: String,
    source_key: String,
    ticket_id: String,
    article_id: String,
    mail_from: String,
    /// A JSON list.
    recipients: String,
    message_id: String,
    raw: Vec<u8>,
    state: String,
    attempts: i64,
    detail: String,
}

impl TryFrom<OutgoingRow> for Outgoing {
    type Error = MailError;

    fn try_from(row: OutgoingRow) -> Result<Self, MailError> {
        Ok(Self {
            id: row.id.parse()?,
            kind: row.kind.parse()?,
            source_key: row.source_key,
            ticket_id: row.ticket_id,
            article_id: row.article_id,
            mail_from: row.mail_from,
            recipients: from_json(&row.recipients, "recipients")?,
            message_id: row.message_id,
            raw: row.raw,
            state: row.state.parse()?,
            attempts: count(row.attempts),
            detail: row.detail,
        })
    }
}

fn outgoing_from_row(row: &AnyRow) -> Result<Outgoing, MailError> {
    docket_store::decode::<OutgoingRow>(row)?.try_into()
}

const INSERT: &str = "INSERT INTO outgoing_mail (id, kind, source_key, ticket_id, article_id, \
     mail_from, recipients, message_id, raw, state, attempts, next_attempt_at, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $11, 0, $10, $10) \
     ON CONFLICT (source_key) DO NOTHING";
const ID_OF_SOURCE: &str = "SELECT id FROM outgoing_mail WHERE source_key = $1";
const DUE: &str = "SELECT id FROM outgoing_mail WHERE state IN ($3, $4) \
     AND next_attempt_at <= $1 AND lease_until <= $1 ORDER BY next_attempt_at, id LIMIT $2";
const CLAIM: &str = concat!(
    "UPDATE outgoing_mail SET lease_until = $1 WHERE id = $2 \
     AND state IN ($4, $5) AND lease_until <= $3 RETURNING ",
    outgoing_columns!()
);
const RECORD_ATTEMPT: &str = "UPDATE outgoing_mail SET state = $1, detail = $2, \
     attempts = attempts + 1, next_attempt_at = $3, lease_until = 0, sent_at = $4 WHERE id = $5";
const GET: &str = concat!(
    "SELECT ",
    outgoing_columns!(),
    " FROM outgoing_mail WHERE id = $1"
);
const BY_MESSAGE_ID: &str = concat!(
    "SELECT ",
    outgoing_columns!(),
    " FROM outgoing_mail WHERE message_id = $1"
);
const OF_TICKET: &str = concat!(
    "SELECT ",
    outgoing_columns!(),
    " FROM outgoing_mail WHERE ticket_id = $1 ORDER BY created_at, id"
);

impl MailStore {
    /// Queues a mail to send; one per source key (a second call returns the first's id).
    pub async fn queue_outgoing(&self, new: NewOutgoing) -> Result<(OutgoingId, bool), MailError> {
        let now = docket_platform::time::now_micros();
        let mut tx = self.db.begin_write().await?;
        let made = Self::insert_outgoing(&mut tx, new, now).await?;
        tx.commit().await?;
        Ok(made)
    }

    pub(super) async fn insert_outgoing(
        tx: &mut WriteTx,
        new: NewOutgoing,
        now: Micros,
    ) -> Result<(OutgoingId, bool), MailError> {
        let id = OutgoingId::new();
        let inserted = sqlx::query(INSERT)
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
            .bind(OutgoingState::Queued.as_str())
            .execute(&mut **tx)
            .await?
            .rows_affected();
        if inserted == 0 {
            let existing: String = sqlx::query_scalar(ID_OF_SOURCE)
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
        let lease = Lease {
            due: DUE,
            claim: CLAIM,
            states: &OutgoingState::WAITING.map(OutgoingState::as_str),
            from_row: outgoing_from_row,
        };
        self.claim_leased(lease, limit, lease_secs).await
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
        sqlx::query(RECORD_ATTEMPT)
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
        let row = sqlx::query(GET)
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
        let row = sqlx::query(BY_MESSAGE_ID)
            .bind(message_id)
            .fetch_optional(self.db.pool())
            .await?;
        row.as_ref().map(outgoing_from_row).transpose()
    }

    /// Outgoing mails of a ticket, oldest first.
    pub async fn outgoing_of_ticket(&self, ticket_id: &str) -> Result<Vec<Outgoing>, MailError> {
        sqlx::query(OF_TICKET)
            .bind(ticket_id)
            .fetch_all(self.db.pool())
            .await?
            .iter()
            .map(outgoing_from_row)
            .collect()
    }
}
