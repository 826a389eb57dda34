//! The mail service's own tables: received messages (raw, byte for byte), the Message-IDs that
//! thread onto tickets, and outgoing mail with its state. PostgreSQL or SQLite, one code path.
//!
//! One module per feature, each with its SQL: `inbound` (messages as they arrived, listings, the
//! sender count, holding and processing again), `copies` (the first message of each Message-ID
//! within a tenant, so that copies make nothing), `answers` (the automatic answers each sender
//! got lately), `processing` (the workers' leases on received
//! messages, and what processing records, in one transaction), `threads` (Message-IDs that lead
//! to tickets) and `outgoing` (the send queue and its leases). Rows are read into `FromRow`
//! structs of what the database holds and converted into the types here. The rules (which states
//! wait, which messages may be processed again, which thread ids a mail names) are in
//! [`crate::domain`]; the store saves what they decide.

use docket_store::Db;
use sqlx::any::AnyRow;

use crate::error::MailError;

/// The column list of `inbound_messages` without `raw` (listings leave the bytes out), as a
/// literal so that queries stay `&'static str`.
macro_rules! inbound_columns {
    () => {
        "id, received_at, source, envelope_from, recipients, message_id, sha256, size, sender, \
         subject, state, reason, outcome, ticket_id, article_id, attempts"
    };
}

/// The column list of `outgoing_mail`, as a literal.
macro_rules! outgoing_columns {
    () => {
        "id, kind, source_key, ticket_id, article_id, mail_from, recipients, message_id, raw, \
         state, attempts, detail"
    };
}

mod answers;
mod copies;
mod inbound;
mod outgoing;
mod processing;
mod threads;

pub use crate::domain::{
    AutoAnswer, CopyKey, InboundId, InboundState, Micros, Outcome, OutgoingId, OutgoingKind,
    OutgoingState,
};
pub use copies::Claim;
pub use inbound::{InboundMessage, NewInbound};
pub use outgoing::{NewOutgoing, Outgoing};
pub use processing::Finish;

/// The mail service's store.
#[derive(Clone)]
pub struct MailStore {
    db: Db,
}

/// One page of a listing.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_page_token: Option<String>,
}

fn migrations() -> &'static docket_store::Migrations {
    static MIGRATIONS: std::sync::LazyLock<docket_store::Migrations> =
        std::sync::LazyLock::new(|| {
            docket_store::Migrations::new(
                "_docket_mail_migrations",
                &[
                    docket_store::MigrationSql::typed(
                        1,
                        "received messages, thread ids, outgoing mail",
                        include_str!("../../migrations/0001_mail.sql"),
                        include_str!("../../migrations/0001_mail.typed.sql"),
                    ),
                    docket_store::MigrationSql::portable(
                        2,
                        "message claims per tenant, automatic answers per sender",
                        include_str!("../../migrations/0002_copies_and_answers.sql"),
                    ),
                ],
            )
        });
    &MIGRATIONS
}

/// How a queue of due rows is leased: `due` selects the ids (`$1` now, `$2` the limit, then the
/// waiting states); `claim` leases one of them and returns the row (`$1` the lease's end, `$2`
/// the id, `$3` now, then the waiting states again), matching nothing when another claimer got
/// there first.
struct Lease<'a, T> {
    due: &'static str,
    claim: &'static str,
    states: &'a [&'static str],
    from_row: fn(&AnyRow) -> Result<T, MailError>,
}

impl MailStore {
    /// Takes up to `limit` due rows of `lease` for `lease_secs`, in one transaction.
    async fn claim_leased<T>(
        &self,
        lease: Lease<'_, T>,
        limit: u32,
        lease_secs: i64,
    ) -> Result<Vec<T>, MailError> {
        let now = docket_platform::time::now_micros();
        let mut tx = self.db.begin_write().await?;
        let mut due = sqlx::query_scalar(lease.due)
            .bind(now)
            .bind(i64::from(limit));
        for state in lease.states {
            due = due.bind(*state);
        }
        let ids: Vec<String> = due.fetch_all(&mut *tx).await?;
        let mut claimed = Vec::with_capacity(ids.len());
        for id in ids {
            let mut claim = sqlx::query(lease.claim)
                .bind(now + lease_secs * 1_000_000)
                .bind(&id)
                .bind(now);
            for state in lease.states {
                claim = claim.bind(*state);
            }
            if let Some(row) = claim.fetch_optional(&mut *tx).await? {
                claimed.push((lease.from_row)(&row)?);
            }
        }
        tx.commit().await?;
        Ok(claimed)
    }
}

const FORGET_MESSAGES: &str = "DELETE FROM inbound_messages WHERE ticket_id = $1";
const FORGET_THREAD: &str = "DELETE FROM thread_ids WHERE ticket_id = $1";
const FORGET_OUTGOING: &str = "DELETE FROM outgoing_mail WHERE ticket_id = $1";
const FORGET_CLAIMS: &str = "DELETE FROM message_claims WHERE ticket_id = $1";

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

    /// Forgets a ticket's mail (retention deleted or anonymised the ticket): the received messages
    /// that went to it, its thread ids, its outgoing mail and its messages' claims (a copy that
    /// arrives later makes a new ticket). Returns how many messages went.
    pub async fn forget_ticket(&self, ticket_id: &str) -> Result<u64, MailError> {
        let mut tx = self.db.begin_write().await?;
        let messages = sqlx::query(FORGET_MESSAGES)
            .bind(ticket_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        for sql in [FORGET_THREAD, FORGET_OUTGOING, FORGET_CLAIMS] {
            sqlx::query(sql).bind(ticket_id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(messages)
    }
}

/// A row that does not decode ([`docket_store::decode`]) is corrupt data, not a database failure
/// (which could be retried).
impl From<docket_store::CorruptRow> for MailError {
    fn from(e: docket_store::CorruptRow) -> Self {
        Self::Corrupt(e.to_string())
    }
}

fn count(value: i64) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

fn from_json(list: &str, column: &str) -> Result<Vec<String>, MailError> {
    serde_json::from_str(list).map_err(|e| MailError::Corrupt(format!("column {column}: {e}")))
}

fn to_json(list: &[String]) -> Result<String, MailError> {
    serde_json::to_string(list).map_err(|e| MailError::Corrupt(format!("json: {e}")))
}

#[cfg(test)]
mod tests {
    use docket_store::Backend;

    fn step_checksum(backend: Backend, step: i64) -> Option<String> {
        super::migrations()
            .checksum(backend, step)
            .map(|c| c.iter().map(|b| format!("{b:02x}")).collect::<String>())
    }

    /// Applied migrations must never change: sqlx refuses a database whose recorded checksum
    /// differs. These are the checksums each step was first applied with.
    #[test]
    fn applied_migrations_keep_their_checksums() {
        let hex = |backend| step_checksum(backend, 1);
        assert_eq!(
            hex(Backend::Postgres).as_deref(),
            Some(
                "d0275e41719320d9857e2bf84fd806220735ea9b59e8c8930f13cf1038891d258db656c9f3d960876c0a96df044fcf63"
            )
        );
        assert_eq!(
            hex(Backend::Sqlite).as_deref(),
            Some(
                "cc821c23179957f5dddc1f46b6809095b6129375a0dc905ef3fbb0ebc8a6af5261141d22cd1ba823c6958a7274211a72"
            )
        );
    }

    #[test]
    fn step_2_keeps_its_checksums() {
        // Portable: both engines run the same text.
        let expected = "6950caf9acc965b17f6375a371c3dad1104cb167abbd2159c7c750c9f0475aeb541166c025a8c48925b61c500f77ecdc";
        assert_eq!(
            step_checksum(Backend::Postgres, 2).as_deref(),
            Some(expected)
        );
        assert_eq!(step_checksum(Backend::Sqlite, 2).as_deref(), Some(expected));
    }
}
