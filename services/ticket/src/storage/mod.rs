//! Where tickets live: the repository trait and its one implementation over both stores.
//!
//! Every write runs in one transaction that changes the state, appends the history entry and
//! appends the event to the outbox, so they commit or fail together.

mod articles;
mod classification;
mod directory;
mod due;
mod fields;
mod history;
mod links;
mod people;
mod queues;
mod retention;
mod rows;
mod search;
mod templates;
mod tickets;

use async_trait::async_trait;
use base64::Engine as _;
use docket_bus::inbox;
use docket_bus::outbox::{self, NewEvent, OutboxSignal};
use docket_proto::events::v1 as ev;
use docket_store::{Any, Backend, Db, Params, Row, WriteTx};
use prost::Message as _;
use sqlx::any::AnyRow;

use crate::attachments::*;
use crate::chain;
use crate::domain::*;
use crate::error::TicketError;
use crate::fields::*;
use crate::retention::*;
use crate::search::*;
use crate::templates::*;
use rows::*;
use search::strings;
use tickets::{FollowUpOutcome, bump_version, touch};

pub use articles::Articles;
pub use classification::Classification;
pub use directory::Directory;
pub use due::DueTimes;
pub use fields::Fields;
pub use history::History;
pub use links::Links;
pub use people::People;
pub use queues::Queues;
pub use retention::Retention;
pub use search::Search;
pub use templates::Templates;
pub use tickets::Tickets;

/// The operations of ticket core, by feature. One conformance suite (`tests/conformance.rs`) runs against
/// every implementation and engine.
pub trait TicketStore:
    Directory
    + Queues
    + Classification
    + Tickets
    + Articles
    + History
    + Links
    + Fields
    + People
    + Templates
    + Retention
    + DueTimes
    + Search
{
}

impl<T> TicketStore for T where
    T: Directory
        + Queues
        + Classification
        + Tickets
        + Articles
        + History
        + Links
        + Fields
        + People
        + Templates
        + Retention
        + DueTimes
        + Search
{
}

/// Every feature trait, for callers that hold a concrete store or `dyn TicketStore`.
pub mod prelude {
    pub use super::{
        Articles as _, Classification as _, Directory as _, DueTimes as _, Fields as _,
        History as _, Links as _, People as _, Queues as _, Retention as _, Search as _,
        Templates as _, Tickets as _,
    };
}

/// One migration: `migrations/<file>.sql` for both engines; with `per_engine`, then each engine's
/// own part, `<file>.postgres.sql` and `<file>.sqlite.sql`.
macro_rules! migration {
    ($version:literal, $description:literal, $file:literal) => {
        docket_store::MigrationSql::portable(
            $version,
            $description,
            include_str!(concat!("../../migrations/", $file, ".sql")),
        )
    };
    ($version:literal, $description:literal, $file:literal, per_engine) => {
        docket_store::MigrationSql {
            version: $version,
            description: $description,
            portable: include_str!(concat!("../../migrations/", $file, ".sql")),
            postgres: include_str!(concat!("../../migrations/", $file, ".postgres.sql")),
            sqlite: include_str!(concat!("../../migrations/", $file, ".sqlite.sql")),
        }
    };
}

/// The service's own schema, step by step.
fn migrations() -> &'static docket_store::Migrations {
    static MIGRATIONS: std::sync::LazyLock<docket_store::Migrations> = std::sync::LazyLock::new(
        || {
            docket_store::Migrations::new(
                "_sqlx_migrations",
                &[
                    migration!(
                        1,
                        "tenants, queues, tickets, articles, history",
                        "0001_ticket",
                        per_engine
                    ),
                    migration!(
                        2,
                        "groups and customers from identity, queue groups, ticket owner and customer ids",
                        "0002_access"
                    ),
                    migration!(3, "the history's hash chain", "0003_history_chain"),
                    migration!(
                        4,
                        "states with state types, pending dates, locks",
                        "0004_states"
                    ),
                    migration!(
                        5,
                        "service catalogue and ticket types",
                        "0005_classification"
                    ),
                    migration!(6, "links between tickets", "0006_links"),
                    migration!(
                        7,
                        "responsible agent, desired and target dates, watchers",
                        "0007_people"
                    ),
                    migration!(
                        8,
                        "closing dates, full-text indexes, saved searches",
                        "0008_search",
                        per_engine
                    ),
                    migration!(
                        9,
                        "queue hierarchy, signatures, follow-up policies, addresses",
                        "0009_queue_settings"
                    ),
                    migration!(10, "merged tickets point at their target", "0010_merge"),
                    migration!(11, "tags and custom fields", "0011_tags_fields"),
                    migration!(
                        12,
                        "customer contact on tickets, collaborators",
                        "0012_contacts"
                    ),
                    migration!(
                        13,
                        "attachments outside the rows, their text indexed; time accounting",
                        "0013_attachments",
                        per_engine
                    ),
                    migration!(14, "templates", "0014_templates"),
                    migration!(
                        15,
                        "retention: periods, holds, runs, the history gate",
                        "0015_retention",
                        per_engine
                    ),
                    migration!(16, "tenants' own states", "0016_tenant_states"),
                    migration!(
                        17,
                        "idempotency keys, delivery state of articles, template languages",
                        "0017_mail"
                    ),
                    migration!(
                        18,
                        "queue counts for the desk, services offered in the portal",
                        "0018_desk",
                        per_engine
                    ),
                    migration!(19, "reminders and escalations told once", "0019_due"),
                    migration!(
                        20,
                        "what automatic mail to closed tickets does, per queue",
                        "0020_automatic_mail"
                    ),
                    migration!(
                        21,
                        "ticket numbers per tenant: tenant codes and counters",
                        "0021_ticket_numbers"
                    ),
                ],
            )
        },
    );
    &MIGRATIONS
}

/// The name ticket core consumes events under (its queue, its inbox rows).
pub const CONSUMER: &str = "ticket";

/// Ticket core on PostgreSQL or SQLite.
#[derive(Clone)]
pub struct SqlTicketStore {
    db: Db,
    signal: OutboxSignal,
    system_id: SystemId,
    /// On PostgreSQL, full text whose words the planner expects in more articles than this is
    /// matched ticket by ticket in the listing's order instead of collecting every match first.
    dense_text_rows: u64,
}

impl SqlTicketStore {
    pub fn new(db: Db, signal: OutboxSignal, system_id: SystemId) -> Self {
        Self {
            db,
            signal,
            system_id,
            dense_text_rows: 50_000,
        }
    }

    /// The same store, matching full text ticket by ticket once the planner expects more than
    /// `rows` matching articles (for tests of both ways; the default is 50,000).
    pub fn with_dense_text_rows(mut self, rows: u64) -> Self {
        self.dense_text_rows = rows;
        self
    }

    /// The service's schema plus the bus's outbox and inbox.
    pub async fn migrate(db: &Db) -> Result<(), docket_store::StoreError> {
        db.migrate(docket_bus::migrations()).await?;
        db.migrate(migrations()).await
    }

    pub(super) async fn commit(&self, tx: WriteTx) -> Result<(), TicketError> {
        tx.commit().await?;
        self.signal.committed();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use docket_store::Backend;

    /// Applied migrations must never change: sqlx refuses a database whose recorded checksum
    /// differs. These are the checksums the steps were first applied with.
    #[test]
    fn applied_migrations_keep_their_checksums() {
        assert_eq!(
            super::migrations().fingerprint(Backend::Postgres),
            "1:e84ef9e1 2:3f459662 3:c6850a6b 4:42c000e1 5:88882a2f 6:1a8f2ba4 7:83a09ff9 8:a2bc3e43 9:c42f1727 10:0e71781f 11:545c8872 12:7ea375a5 13:5ef9f498 14:cfb82d26 15:7b48bc25 16:6c686e01 17:1a0477ad 18:8818a252 19:546d72d1 20:eb8e052f 21:fe4ed77a"
        );
        assert_eq!(
            super::migrations().fingerprint(Backend::Sqlite),
            "1:f2b8fe2f 2:3f459662 3:c6850a6b 4:42c000e1 5:88882a2f 6:1a8f2ba4 7:83a09ff9 8:9dd38551 9:c42f1727 10:0e71781f 11:545c8872 12:7ea375a5 13:64dee2c3 14:cfb82d26 15:7a92f23d 16:6c686e01 17:1a0477ad 18:c48eae4d 19:546d72d1 20:eb8e052f 21:fe4ed77a"
        );
    }
}
