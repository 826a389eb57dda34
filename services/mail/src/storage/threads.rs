//! Message-IDs that lead to tickets: those of mail we received and of mail we sent. An answer
//! names one of them and so finds its ticket; a mail we send names the thread's ids.

use docket_store::WriteTx;

use super::MailStore;
use crate::domain::{Micros, thread_references};
use crate::error::MailError;

const INSERT: &str = "INSERT INTO thread_ids (message_id, ticket_id, created_at) \
     VALUES ($1, $2, $3) ON CONFLICT (message_id) DO NOTHING";
const TICKET_OF: &str = "SELECT ticket_id FROM thread_ids WHERE message_id = $1";
const THREAD_OF: &str = "SELECT message_id FROM thread_ids WHERE ticket_id = $1 \
     ORDER BY created_at, message_id";

impl MailStore {
    /// Lets `message_id` lead to `ticket_id`; the first ticket a Message-ID led to stays.
    pub(super) async fn thread(
        tx: &mut WriteTx,
        message_id: &str,
        ticket_id: &str,
        now: Micros,
    ) -> Result<(), MailError> {
        sqlx::query(INSERT)
            .bind(message_id)
            .bind(ticket_id)
            .bind(now)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// The ticket the newest of `message_ids` leads to.
    pub async fn ticket_of(&self, message_ids: &[String]) -> Result<Option<String>, MailError> {
        for message_id in message_ids.iter().rev().filter(|m| !m.is_empty()) {
            let ticket: Option<String> = sqlx::query_scalar(TICKET_OF)
                .bind(message_id)
                .fetch_optional(self.db.pool())
                .await?;
            if ticket.is_some() {
                return Ok(ticket);
            }
        }
        Ok(None)
    }

    /// A ticket's Message-IDs, oldest first (at most `limit`, the first and the newest ones: see
    /// [`thread_references`]).
    pub async fn thread_of(&self, ticket_id: &str, limit: u32) -> Result<Vec<String>, MailError> {
        let ids: Vec<String> = sqlx::query_scalar(THREAD_OF)
            .bind(ticket_id)
            .fetch_all(self.db.pool())
            .await?;
        Ok(thread_references(ids, limit))
    }
}
