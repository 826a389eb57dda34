//! The workers' side of received messages: a worker claims due messages with a lease (another
//! worker or replica skips them until it ends; a worker that dies leaves them to the next one),
//! puts one back for later, or records what it became, its thread ids and the automatic answer
//! in one transaction.

use super::inbound::inbound_from_row;
use super::{InboundMessage, Lease, MailStore, NewOutgoing};
use crate::domain::{InboundId, InboundState, Micros, Outcome};
use crate::error::MailError;

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

const DUE: &str = "SELECT id FROM inbound_messages WHERE state = $3 AND next_attempt_at <= $1 \
     AND lease_until <= $1 ORDER BY id LIMIT $2";
// The lease condition again: on PostgreSQL a concurrent claimer that got there first makes this
// update match nothing.
const CLAIM: &str = concat!(
    "UPDATE inbound_messages SET lease_until = $1, attempts = attempts + 1 \
     WHERE id = $2 AND state = $4 AND lease_until <= $3 RETURNING ",
    inbound_columns!(),
    ", raw"
);
const DEFER: &str = "UPDATE inbound_messages SET next_attempt_at = $1, lease_until = 0, \
     reason = $2 WHERE id = $3 AND state = $4";
const FINISH: &str = "UPDATE inbound_messages SET state = $1, reason = $2, outcome = $3, \
     ticket_id = $4, article_id = $5, processed_at = $6, lease_until = 0 WHERE id = $7";

impl MailStore {
    /// Takes up to `limit` pending messages that are due, oldest first, for `lease_secs`: another
    /// worker (or replica) skips them until then. A worker that dies leaves them to the next one.
    pub async fn claim_due(
        &self,
        limit: u32,
        lease_secs: i64,
    ) -> Result<Vec<InboundMessage>, MailError> {
        let lease = Lease {
            due: DUE,
            claim: CLAIM,
            states: &[InboundState::Pending.as_str()],
            from_row: inbound_from_row,
        };
        self.claim_leased(lease, limit, lease_secs).await
    }

    /// Puts a claimed message back, due again at `at` (a transient failure, or waiting for the
    /// message it answers).
    pub async fn defer(&self, id: InboundId, at: Micros, reason: &str) -> Result<(), MailError> {
        let mut tx = self.db.begin_write().await?;
        sqlx::query(DEFER)
            .bind(at)
            .bind(reason)
            .bind(id.to_string())
            .bind(InboundState::Pending.as_str())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records what a message became: its state, its ticket (also on the claims it holds, for
    /// later copies), the Message-IDs that now lead to the ticket, and the automatic answer to
    /// send, together.
    pub async fn finish(&self, id: InboundId, finish: Finish) -> Result<(), MailError> {
        let now = docket_platform::time::now_micros();
        let mut tx = self.db.begin_write().await?;
        sqlx::query(FINISH)
            .bind(finish.state.as_str())
            .bind(&finish.reason)
            .bind(finish.outcome.map(Outcome::as_str).unwrap_or(""))
            .bind(&finish.ticket_id)
            .bind(&finish.article_id)
            .bind(now)
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        if finish.outcome.is_some_and(|o| o != Outcome::Duplicate) && !finish.ticket_id.is_empty() {
            Self::claimed_ticket(&mut tx, id, &finish.ticket_id).await?;
        }
        for message_id in finish.thread_ids.iter().filter(|m| !m.is_empty()) {
            Self::thread(&mut tx, message_id, &finish.ticket_id, now).await?;
        }
        if let Some(outgoing) = finish.outgoing {
            Self::insert_outgoing(&mut tx, outgoing, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
