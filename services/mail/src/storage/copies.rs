//! The first message of each Message-ID within a tenant. A worker claims a message's key (see
//! [`CopyKey`]) once it knows the tenant, before it changes any ticket; the claim is a row with
//! the key as its primary key, so of two copies processed at once exactly one gets it, and the
//! other learns which message has it and, once that one is processed, its ticket.

use docket_store::WriteTx;

use super::MailStore;
use crate::domain::{CopyKey, InboundId, InboundState, Micros};
use crate::error::MailError;

/// `sent_at` of a mail without a Date header: no Date parses to the lowest BIGINT.
const NO_DATE: Micros = i64::MIN;

/// Who holds a message's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The message that asked: it is processed.
    Ours,
    /// Another message came first: it is `state` (pending, done, held) and went to `ticket_id`
    /// ('' until it is processed).
    First {
        id: InboundId,
        state: InboundState,
        ticket_id: String,
    },
}

const INSERT: &str = "INSERT INTO message_claims \
     (tenant_id, message_id, sender, sent_at, inbound_id, ticket_id, created_at) \
     VALUES ($1, $2, $3, $4, $5, '', $6) \
     ON CONFLICT (tenant_id, message_id, sender, sent_at) DO NOTHING";
const HOLDER: &str = "SELECT c.inbound_id, c.ticket_id, COALESCE(m.state, '') \
     FROM message_claims c LEFT JOIN inbound_messages m ON m.id = c.inbound_id \
     WHERE c.tenant_id = $1 AND c.message_id = $2 AND c.sender = $3 AND c.sent_at = $4";
const TAKE_OVER: &str = "UPDATE message_claims SET inbound_id = $1, ticket_id = '' \
     WHERE tenant_id = $2 AND message_id = $3 AND sender = $4 AND sent_at = $5 \
     AND inbound_id = $6";
const TICKET: &str =
    "UPDATE message_claims SET ticket_id = $1 WHERE inbound_id = $2 AND ticket_id = ''";

impl MailStore {
    /// Claims `key` for message `id`, or says which message has it. A message that claimed it
    /// before (a retry) gets it again; a claim whose message is no longer kept passes to `id`.
    pub async fn claim_copy(&self, key: &CopyKey, id: InboundId) -> Result<Claim, MailError> {
        let now = docket_platform::time::now_micros();
        let sent_at = key.sent_at.unwrap_or(NO_DATE);
        let mut tx = self.db.begin_write().await?;
        sqlx::query(INSERT)
            .bind(&key.tenant_id)
            .bind(&key.message_id)
            .bind(&key.sender)
            .bind(sent_at)
            .bind(id.to_string())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        let (holder, ticket_id, state): (String, String, String) = sqlx::query_as(HOLDER)
            .bind(&key.tenant_id)
            .bind(&key.message_id)
            .bind(&key.sender)
            .bind(sent_at)
            .fetch_one(&mut *tx)
            .await?;
        let claim = if holder == id.to_string() {
            Claim::Ours
        } else if state.is_empty() {
            sqlx::query(TAKE_OVER)
                .bind(id.to_string())
                .bind(&key.tenant_id)
                .bind(&key.message_id)
                .bind(&key.sender)
                .bind(sent_at)
                .bind(&holder)
                .execute(&mut *tx)
                .await?;
            Claim::Ours
        } else {
            Claim::First {
                id: holder.parse()?,
                state: state.parse()?,
                ticket_id,
            }
        };
        tx.commit().await?;
        Ok(claim)
    }

    /// Records the ticket a message that holds claims went to (in the transaction that finishes
    /// it), for the copies that come later.
    pub(super) async fn claimed_ticket(
        tx: &mut WriteTx,
        id: InboundId,
        ticket_id: &str,
    ) -> Result<(), MailError> {
        sqlx::query(TICKET)
            .bind(ticket_id)
            .bind(id.to_string())
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}
