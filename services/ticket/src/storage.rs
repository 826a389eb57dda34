//! Where tickets live: the repository trait and its one implementation over both stores.
//!
//! Every write runs in one transaction that changes the state, appends the history entry and
//! appends the event to the outbox, so they commit or fail together.

use async_trait::async_trait;
use base64::Engine as _;
use docket_bus::inbox;
use docket_bus::outbox::{self, NewEvent, OutboxSignal};
use docket_proto::events::v1 as ev;
use docket_store::{Any, Backend, Db, Row, WriteTx};
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

/// The operations of ticket core. One conformance suite (`tests/conformance.rs`) runs against
/// every implementation and engine.
#[async_trait]
pub trait TicketStore: Send + Sync + 'static {
    /// Records a tenant the identity service created, with its groups, and gives it the default
    /// queues. `event_id` makes it idempotent: false when the event was applied before.
    async fn project_tenant(
        &self,
        event_id: &str,
        tenant: Tenant,
        groups: Vec<Group>,
    ) -> Result<bool, TicketError>;
    /// Records a group the identity service created (idempotent, as above).
    async fn project_group(&self, event_id: &str, group: Group) -> Result<bool, TicketError>;
    /// Records or updates a customer user (idempotent, as above).
    async fn project_customer(
        &self,
        event_id: &str,
        customer: CustomerRecord,
    ) -> Result<bool, TicketError>;
    async fn list_tenants(&self) -> Result<Vec<Tenant>, TicketError>;
    async fn create_queue(&self, queue: NewQueue, actor: &Actor) -> Result<Queue, TicketError>;
    async fn get_queue(&self, id: QueueId) -> Result<Queue, TicketError>;
    /// Changes a queue's group, portal flag, signature, follow-up policy or addresses.
    async fn update_queue(
        &self,
        id: QueueId,
        change: QueueChange,
        actor: &Actor,
    ) -> Result<Queue, TicketError>;
    /// The queue mail to `address` lands in, if any.
    async fn queue_by_address(&self, address: &EmailAddress) -> Result<Option<Queue>, TicketError>;
    /// Adds a service (its parent path must exist) or a ticket type to a tenant's catalogue;
    /// `portal`: customers may choose the service in the portal.
    async fn create_catalogue_entry(
        &self,
        catalogue: Catalogue,
        tenant_id: TenantId,
        name: &str,
        portal: bool,
        actor: &Actor,
    ) -> Result<CatalogueEntry, TicketError>;
    /// A tenant's services or ticket types, by name.
    async fn list_catalogue(
        &self,
        catalogue: Catalogue,
        tenant_id: TenantId,
    ) -> Result<Vec<CatalogueEntry>, TicketError>;
    async fn list_queues(&self, tenant_id: Option<TenantId>) -> Result<Vec<Queue>, TicketError>;
    /// How many tickets of the tenant are being worked on, per queue: new, open, pending, and
    /// among those not closed the ones past their target date (`now`). Queues without such
    /// tickets are left out.
    async fn queue_counts(
        &self,
        tenant_id: TenantId,
        now: i64,
    ) -> Result<Vec<QueueCounts>, TicketError>;
    async fn create_ticket(&self, ticket: NewTicket, actor: &Actor) -> Result<Ticket, TicketError>;
    async fn get_ticket(&self, id: TicketId) -> Result<Ticket, TicketError>;
    async fn get_ticket_by_number(&self, number: &TicketNumber) -> Result<Ticket, TicketError>;
    async fn list_tickets(&self, query: &TicketListQuery) -> Result<Page<Ticket>, TicketError>;
    async fn add_article(
        &self,
        ticket_id: TicketId,
        article: NewArticle,
        actor: &Actor,
    ) -> Result<Article, TicketError>;
    /// The ticket's articles; with `customer_visible_only`, only those its customer may read.
    async fn list_articles(
        &self,
        ticket_id: TicketId,
        customer_visible_only: bool,
    ) -> Result<Vec<Article>, TicketError>;
    async fn update_ticket(
        &self,
        id: TicketId,
        update: TicketUpdate,
        actor: &Actor,
    ) -> Result<Ticket, TicketError>;
    async fn history(&self, id: TicketId) -> Result<Vec<HistoryEntry>, TicketError>;
    /// Links two tickets of one tenant (`parent_child`: `source` is the parent). Both tickets get
    /// a history entry and a new version; refused when it would give a ticket a second parent or
    /// make a ticket its own ancestor.
    async fn link_tickets(
        &self,
        source: TicketId,
        target: TicketId,
        kind: LinkKind,
        actor: &Actor,
    ) -> Result<(), TicketError>;
    async fn unlink_tickets(
        &self,
        source: TicketId,
        target: TicketId,
        kind: LinkKind,
        actor: &Actor,
    ) -> Result<(), TicketError>;
    /// Merges `source` into `target` (one tenant): the source's articles are copied onto the
    /// target, the source becomes `merged`, points at the target and keeps its own history.
    /// Returns the target at its new version.
    async fn merge_tickets(
        &self,
        source: TicketId,
        target: TicketId,
        actor: &Actor,
    ) -> Result<Ticket, TicketError>;
    /// Opens a new ticket with a copy of one article, as a child of the article's ticket.
    async fn split_article(
        &self,
        article: ArticleId,
        new: NewTicket,
        actor: &Actor,
    ) -> Result<Ticket, TicketError>;
    /// The article with this id.
    async fn get_article(&self, id: ArticleId) -> Result<Article, TicketError>;
    /// Records how the mail an article went out as fares (reported by the mail service), on the
    /// article. It is not a change of the ticket: its version stays, so agents working on it
    /// meet no conflict because a mail went out.
    async fn record_delivery(
        &self,
        id: ArticleId,
        delivery: Delivery,
        actor: &Actor,
    ) -> Result<Article, TicketError>;
    /// An attachment with its ticket, article and bytes (checked against their hash).
    async fn attachment(
        &self,
        id: AttachmentId,
    ) -> Result<(TicketId, ArticleId, Attachment, Vec<u8>), TicketError>;
    /// Defines a custom field for a tenant's tickets (its key unique in the tenant).
    async fn define_field(
        &self,
        field: NewField,
        actor: &Actor,
    ) -> Result<FieldDefinition, TicketError>;
    /// A tenant's custom fields, by key.
    async fn list_fields(&self, tenant_id: TenantId) -> Result<Vec<FieldDefinition>, TicketError>;
    /// Sets custom fields of a ticket by key (an empty list clears one): checked against their
    /// definitions and the ticket's queue, recorded as one change. The ticket's values after it.
    async fn set_fields(
        &self,
        id: TicketId,
        values: Vec<(String, Vec<String>)>,
        actor: &Actor,
    ) -> Result<Vec<FieldValue>, TicketError>;
    /// A ticket's custom field values, by key.
    async fn field_values(&self, id: TicketId) -> Result<Vec<FieldValue>, TicketError>;
    /// Adds and removes tags as one change; the ticket's tags after it, sorted.
    async fn tag(
        &self,
        id: TicketId,
        add: Vec<Tag>,
        remove: Vec<Tag>,
        actor: &Actor,
    ) -> Result<Vec<Tag>, TicketError>;
    /// A ticket's tags, sorted.
    async fn tags(&self, id: TicketId) -> Result<Vec<Tag>, TicketError>;
    /// Adds (`true`) or removes an agent working the ticket jointly with its owner, as a
    /// change of the ticket; whether that changed anything.
    async fn collaborate(
        &self,
        id: TicketId,
        agent: AgentId,
        on: bool,
        actor: &Actor,
    ) -> Result<bool, TicketError>;
    /// The agents working a ticket jointly, in the order they joined.
    async fn collaborators(&self, id: TicketId) -> Result<Vec<AgentId>, TicketError>;
    /// Adds a template to a tenant (its name unique there).
    async fn create_template(
        &self,
        template: NewTemplate,
        actor: &Actor,
    ) -> Result<Template, TicketError>;
    /// A tenant's templates by name; with `queue`, those offered in it.
    async fn list_templates(
        &self,
        tenant_id: TenantId,
        queue: Option<QueueId>,
    ) -> Result<Vec<Template>, TicketError>;
    async fn get_template(&self, id: TemplateId) -> Result<Template, TicketError>;
    /// Replaces a template with `template` (its tenant stays; the name stays unique there).
    async fn update_template(
        &self,
        id: TemplateId,
        template: NewTemplate,
        actor: &Actor,
    ) -> Result<Template, TicketError>;
    async fn delete_template(&self, id: TemplateId, actor: &Actor) -> Result<(), TicketError>;
    /// A tenant's retention policy (the default unless set).
    async fn retention_policy(&self, tenant_id: TenantId) -> Result<RetentionPolicy, TicketError>;
    async fn set_retention_policy(
        &self,
        tenant_id: TenantId,
        policy: RetentionPolicy,
        actor: &Actor,
    ) -> Result<(), TicketError>;
    /// Puts a ticket on legal hold, or records its requester's objection to deletion (or lifts
    /// either), as a change of the ticket.
    async fn set_retention_hold(
        &self,
        id: TicketId,
        legal_hold: Option<bool>,
        objection: Option<bool>,
        actor: &Actor,
    ) -> Result<Ticket, TicketError>;
    /// Deletes or anonymises every closed (or merged, or removed) ticket past its tenant's
    /// period, except those on hold; logs what it removed. With `dry_run` only says what it
    /// would do. One run at a time across replicas (CONFLICT otherwise).
    async fn run_retention(
        &self,
        now: Micros,
        dry_run: bool,
        actor: &Actor,
    ) -> Result<RetentionRun, TicketError>;
    /// The latest retention runs, newest first.
    async fn retention_runs(&self, limit: u32) -> Result<Vec<RetentionRun>, TicketError>;
    /// Announces, each once, up to `limit` reminders whose pending time has come
    /// (`ticket.reminder_reached`) and up to `limit` tickets still being worked on past their
    /// target date (`ticket.escalated`). A new pending time or target date is announced again
    /// when it comes. Replicas may call it at once; each announcement is made by one of them.
    async fn announce_due(&self, now: Micros, limit: u32) -> Result<Due, TicketError>;
    /// Adds a state of the tenant's own, behaving as `base`.
    async fn define_state(
        &self,
        tenant_id: TenantId,
        name: &str,
        base: TicketState,
        actor: &Actor,
    ) -> Result<CustomState, TicketError>;
    /// The tenant's own states, by name.
    async fn custom_states(&self, tenant_id: TenantId) -> Result<Vec<CustomState>, TicketError>;
    /// Starts (`true`) or stops watching a ticket; whether that changed anything.
    async fn watch(&self, id: TicketId, agent: AgentId, on: bool) -> Result<bool, TicketError>;
    /// The agents watching a ticket, in the order they started.
    async fn watchers(&self, id: TicketId) -> Result<Vec<AgentId>, TicketError>;
    /// The tickets linked to `id`, with their states: a parent sees its children's progress.
    async fn links(&self, id: TicketId) -> Result<Vec<LinkedTicket>, TicketError>;
    /// Checks the ticket's history chain and its articles' bodies against what was recorded.
    async fn verify_history(&self, id: TicketId) -> Result<chain::Verdict, TicketError>;
    /// Saves an agent's search under a name unique among theirs.
    async fn save_search(&self, search: NewSavedSearch) -> Result<SavedSearch, TicketError>;
    /// An agent's saved searches, by name.
    async fn saved_searches(&self, agent: AgentId) -> Result<Vec<SavedSearch>, TicketError>;
    /// One saved search; NOT_FOUND unless it is `agent`'s.
    async fn saved_search(
        &self,
        id: SavedSearchId,
        agent: AgentId,
    ) -> Result<SavedSearch, TicketError>;
    /// Deletes one of `agent`'s saved searches.
    async fn delete_saved_search(
        &self,
        id: SavedSearchId,
        agent: AgentId,
    ) -> Result<(), TicketError>;
    /// Ticket ids in id order after `after`, `limit` at a time: for walking every ticket.
    async fn ticket_ids(
        &self,
        after: Option<TicketId>,
        limit: u32,
    ) -> Result<Vec<TicketId>, TicketError>;
}

/// One migration: `migrations/<file>.sql` for both engines, then each engine's own part.
macro_rules! migration {
    ($version:literal, $description:literal, $file:literal) => {
        docket_store::MigrationSql {
            version: $version,
            description: $description,
            portable: include_str!(concat!("../migrations/", $file, ".sql")),
            postgres: include_str!(concat!("../migrations/", $file, ".postgres.sql")),
            sqlite: include_str!(concat!("../migrations/", $file, ".sqlite.sql")),
        }
    };
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

/// How full text is matched on PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TextPlan {
    /// Collect the matching ticket ids from the GIN indexes, then filter and sort: fast when
    /// the words are rare.
    Collect,
    /// Walk the tickets in the listing's order and check each: fast when the words are common,
    /// since a page fills after a few tickets.
    Walk,
}

const TICKET_COLUMNS: &str = "id, tenant_id, number, queue_id, title, state, pending_until, locked, priority, owner_id, customer, customer_id, company_id, type_id, service_id, responsible_id, desired_at, target_at, created_at, updated_at, closed_at, merged_into, contact_name, contact_email, contact_phone, contact_organisation, time_minutes, custom_state, legal_hold, retention_objection, version";
const QUEUE_COLUMNS: &str = "id, tenant_id, name, parent_id, group_id, portal, signature, follow_up, addresses, created_at, version";
const ARTICLE_COLUMNS: &str = "id, ticket_id, sender, channel, visible_to_customer, subject, body, author, created_at, time_minutes, delivery";
const ATTACHMENT_COLUMNS: &str = "id, article_id, ticket_id, filename, content_type, declared_type, size, sha256, text, created_at";

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

    /// Which way to match `text` (PostgreSQL): the planner's estimate of the articles holding
    /// it decides.
    async fn text_plan(&self, text: &FullText) -> Result<TextPlan, TicketError> {
        let query = text.to_tsquery();
        // Words are letters and digits only (see `FullText`), so the literal cannot break out;
        // EXPLAIN takes no parameters.
        if query.contains(['\'', '\\']) {
            return Ok(TextPlan::Collect);
        }
        let plan: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "EXPLAIN SELECT 1 FROM articles WHERE to_tsvector('simple', left(subject || ' ' || body, 250000)) @@ to_tsquery('simple', '{query}')"
        )))
        .fetch_all(self.db.pool())
        .await?;
        let estimate = plan
            .first()
            .and_then(|line| line.split("rows=").nth(1))
            .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0);
        Ok(if estimate > self.dense_text_rows {
            TextPlan::Walk
        } else {
            TextPlan::Collect
        })
    }

    /// The service's schema plus the bus's outbox and inbox.
    pub async fn migrate(db: &Db) -> Result<(), docket_store::StoreError> {
        static MIGRATIONS: std::sync::LazyLock<docket_store::Migrations> = std::sync::LazyLock::new(
            || {
                docket_store::Migrations::new(
                    "_sqlx_migrations",
                    &[
                        migration!(
                            1,
                            "tenants, queues, tickets, articles, history",
                            "0001_ticket"
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
                            "0008_search"
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
                            "0013_attachments"
                        ),
                        migration!(14, "templates", "0014_templates"),
                        migration!(
                            15,
                            "retention: periods, holds, runs, the history gate",
                            "0015_retention"
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
                            "0018_desk"
                        ),
                        migration!(19, "reminders and escalations told once", "0019_due"),
                    ],
                )
            },
        );
        db.migrate(docket_bus::migrations()).await?;
        db.migrate(&MIGRATIONS).await
    }

    async fn commit(&self, tx: WriteTx) -> Result<(), TicketError> {
        tx.commit().await?;
        self.signal.committed();
        Ok(())
    }

    async fn fetch_ticket(tx: &mut WriteTx, id: TicketId) -> Result<Ticket, TicketError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {TICKET_COLUMNS} FROM tickets WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| TicketError::not_found("ticket", id))?;
        ticket_from_row(&row)
    }

    async fn next_ticket_number(
        &self,
        tx: &mut WriteTx,
        now: Micros,
    ) -> Result<TicketNumber, TicketError> {
        let day = chrono::DateTime::from_timestamp_micros(now)
            .ok_or_else(|| TicketError::Corrupt(format!("clock out of range: {now}")))?
            .date_naive();
        // An upsert on the day's row: atomic in both engines, and the row lock (PostgreSQL) or the
        // write lock (SQLite) makes concurrent creators, on any replica, take turns.
        let counter: i64 = sqlx::query_scalar(
            "INSERT INTO ticket_number_counters (day, value) VALUES ($1, 1) \
             ON CONFLICT (day) DO UPDATE SET value = ticket_number_counters.value + 1 \
             RETURNING value",
        )
        .bind(day.format("%Y%m%d").to_string())
        .fetch_one(&mut **tx)
        .await?;
        let counter = u64::try_from(counter)
            .map_err(|_| TicketError::Corrupt(format!("negative ticket counter {counter}")))?;
        Ok(TicketNumber::compose(day, self.system_id, counter))
    }

    /// Claims an article's idempotency key in this transaction. `Some` when an earlier change
    /// holds it already: the ticket and article it made. A concurrent claim of the same key waits
    /// for the other transaction (PostgreSQL) or cannot happen (SQLite's single writer).
    async fn claim_key(
        tx: &mut WriteTx,
        key: &str,
        now: Micros,
    ) -> Result<Option<(TicketId, ArticleId)>, TicketError> {
        let claimed = sqlx::query(
            "INSERT INTO idempotency_keys (key, created_at) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
        )
        .bind(key)
        .bind(now)
        .execute(&mut **tx)
        .await?
        .rows_affected();
        if claimed == 1 {
            return Ok(None);
        }
        let row = sqlx::query("SELECT ticket_id, article_id FROM idempotency_keys WHERE key = $1")
            .bind(key)
            .fetch_one(&mut **tx)
            .await?;
        let ids = (
            get::<String>(&row, "ticket_id")?.parse::<TicketId>(),
            get::<String>(&row, "article_id")?.parse::<ArticleId>(),
        );
        match ids {
            (Ok(ticket), Ok(article)) => Ok(Some((ticket, article))),
            _ => Err(TicketError::Corrupt(format!(
                "idempotency key `{key}` holds no article"
            ))),
        }
    }

    async fn insert_article(
        tx: &mut WriteTx,
        ticket_id: TicketId,
        article: &NewArticle,
        actor: &Actor,
        now: Micros,
    ) -> Result<Article, TicketError> {
        let mut stored = Article {
            id: ArticleId::new(),
            ticket_id,
            sender: article.sender,
            channel: article.channel,
            visible_to_customer: article.visible_to_customer,
            subject: article.subject.clone(),
            body: article.body.clone(),
            author: actor.as_str().to_owned(),
            created_at: now,
            attachments: Vec::new(),
            time_minutes: article.time_minutes,
            delivery: None,
        };
        Self::store_article(tx, &stored).await?;
        if let Some(key) = &article.idempotency_key {
            sqlx::query(
                "UPDATE idempotency_keys SET ticket_id = $1, article_id = $2 WHERE key = $3",
            )
            .bind(ticket_id)
            .bind(stored.id)
            .bind(key)
            .execute(&mut **tx)
            .await?;
        }
        stored.attachments =
            Self::insert_attachments(tx, stored.id, ticket_id, &article.attachments, now).await?;
        if stored.time_minutes > 0 {
            sqlx::query("UPDATE tickets SET time_minutes = time_minutes + $1 WHERE id = $2")
                .bind(i64::from(stored.time_minutes))
                .bind(ticket_id)
                .execute(&mut **tx)
                .await?;
        }
        Ok(stored)
    }

    /// The article's row.
    async fn store_article(tx: &mut WriteTx, stored: &Article) -> Result<(), TicketError> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO articles ({ARTICLE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        )))
        .bind(stored.id)
        .bind(stored.ticket_id)
        .bind(stored.sender.as_str())
        .bind(stored.channel.as_str())
        .bind(i64::from(stored.visible_to_customer))
        .bind(&stored.subject)
        .bind(&stored.body)
        .bind(&stored.author)
        .bind(stored.created_at)
        .bind(i64::from(stored.time_minutes))
        .bind(stored.delivery.as_ref().map(to_json).transpose()?)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Stores attachments of an article: each content once (by its hash), one row each.
    async fn insert_attachments(
        tx: &mut WriteTx,
        article_id: ArticleId,
        ticket_id: TicketId,
        list: &[NewAttachment],
        now: Micros,
    ) -> Result<Vec<Attachment>, TicketError> {
        let mut out = Vec::with_capacity(list.len());
        for a in list {
            let sha256 = a.sha256();
            let size = i64::try_from(a.size())
                .map_err(|_| TicketError::TooLarge("attachment size out of range".into()))?;
            if let Content::Bytes(bytes) = &a.content {
                sqlx::query(
                    "INSERT INTO attachment_blobs (sha256, size, content) VALUES ($1, $2, $3) \
                     ON CONFLICT (sha256) DO NOTHING",
                )
                .bind(&sha256)
                .bind(size)
                .bind(bytes.as_slice())
                .execute(&mut **tx)
                .await?;
            }
            let stored = Attachment {
                id: AttachmentId::new(),
                filename: a.filename.clone(),
                content_type: a.content_type.clone(),
                declared_type: a.declared_type.clone(),
                size: a.size(),
                sha256,
                created_at: now,
            };
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO attachments ({ATTACHMENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
            )))
            .bind(stored.id)
            .bind(article_id)
            .bind(ticket_id)
            .bind(&stored.filename)
            .bind(&stored.content_type)
            .bind(&stored.declared_type)
            .bind(size)
            .bind(&stored.sha256)
            .bind(a.text())
            .bind(now)
            .execute(&mut **tx)
            .await?;
            out.push(stored);
        }
        Ok(out)
    }

    /// An article's attachments as they would be attached again (a merge, a split).
    async fn stored_attachments<'e, E: sqlx::Executor<'e, Database = Any>>(
        db: E,
        article_id: ArticleId,
    ) -> Result<Vec<NewAttachment>, TicketError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ATTACHMENT_COLUMNS} FROM attachments WHERE article_id = $1 ORDER BY created_at, id"
        )))
        .bind(article_id)
        .fetch_all(db)
        .await?;
        rows.iter()
            .map(|row| {
                let (_, a) = attachment_from_row(row)?;
                Ok(NewAttachment {
                    filename: a.filename,
                    declared_type: a.declared_type,
                    content_type: a.content_type,
                    content: Content::Stored {
                        sha256: a.sha256,
                        size: a.size,
                        text: get(row, "text")?,
                    },
                })
            })
            .collect()
    }

    async fn append_history(
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
    async fn append_event(
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
    async fn announce(
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

    async fn ticket_event(
        tx: &mut WriteTx,
        ticket: &Ticket,
        event_type: &str,
        payload: Vec<u8>,
    ) -> Result<(), TicketError> {
        let aggregate = ("ticket", ticket.id.to_string(), ticket.version);
        Self::append_event(tx, event_type, ticket.tenant_id, aggregate, payload).await
    }

    /// Links `source` and `target` in the caller's transaction; returns both at their new versions.
    async fn link_in_tx(
        tx: &mut WriteTx,
        source: TicketId,
        target: TicketId,
        kind: LinkKind,
        actor: &Actor,
        now: Micros,
    ) -> Result<(Ticket, Ticket), TicketError> {
        if source == target {
            return Err(TicketError::invalid("a ticket cannot be linked to itself"));
        }
        let first = Self::fetch_ticket(tx, source).await?;
        let second = Self::fetch_ticket(tx, target).await?;
        if first.tenant_id != second.tenant_id {
            // Another tenant's ticket is unknown here.
            return Err(TicketError::not_found("ticket", target));
        }
        if kind == LinkKind::ParentChild {
            // No cycles: the new child must not be an ancestor of the parent.
            let mut ancestor = Some(source);
            let mut depth = 0;
            while let Some(a) = ancestor {
                if a == target {
                    return Err(TicketError::Conflict(format!(
                        "ticket {} is an ancestor of {}: it cannot become its child",
                        second.number, first.number
                    )));
                }
                depth += 1;
                if depth > 1000 {
                    return Err(TicketError::Corrupt("ticket parents form a cycle".into()));
                }
                ancestor = sqlx::query_scalar(
                    "SELECT source_id FROM ticket_links WHERE target_id = $1 AND kind = 'parent_child'",
                )
                .bind(a)
                .fetch_optional(&mut **tx)
                .await?;
            }
        }
        let (a, b) = link_key(source, target, kind);
        sqlx::query(
            "INSERT INTO ticket_links (tenant_id, source_id, target_id, kind, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(first.tenant_id)
        .bind(a)
        .bind(b)
        .bind(kind.as_str())
        .bind(now)
        .execute(&mut **tx)
        .await
        .map_err(exists_already(|| match kind {
            LinkKind::ParentChild => format!(
                "ticket {} has a parent already, or is this one's child already",
                second.number
            ),
            LinkKind::Related => format!("tickets {} and {} are related already", first.number, second.number),
        }))?;
        Self::record_link(tx, &first, &second, kind, "linked", actor, now).await
    }

    /// A history entry, a new version and an event on both linked tickets.
    async fn record_link(
        tx: &mut WriteTx,
        first: &Ticket,
        second: &Ticket,
        kind: LinkKind,
        what: &str,
        actor: &Actor,
        now: Micros,
    ) -> Result<(Ticket, Ticket), TicketError> {
        let mut out = Vec::with_capacity(2);
        for (this, other, relation) in [
            (
                first,
                second,
                if kind == LinkKind::ParentChild {
                    Relation::Child
                } else {
                    Relation::Related
                },
            ),
            (
                second,
                first,
                if kind == LinkKind::ParentChild {
                    Relation::Parent
                } else {
                    Relation::Related
                },
            ),
        ] {
            let mut next = this.clone();
            next.version += 1;
            next.updated_at = now;
            bump_version(tx, &next, this.version).await?;
            let details = serde_json::json!({
                "relation": relation, "ticket_id": other.id, "number": other.number,
            });
            Self::append_history(tx, &next, what, actor, details).await?;
            let event = ev::TicketLinked {
                ticket_id: next.id.to_string(),
                other_ticket_id: other.id.to_string(),
                relation: relation.to_string(),
                linked: what == "linked",
                actor: actor.as_str().to_owned(),
            };
            Self::ticket_event(tx, &next, &format!("ticket.{what}"), event.encode_to_vec()).await?;
            out.push(next);
        }
        let second = out
            .pop()
            .ok_or_else(|| TicketError::Corrupt("link".into()))?;
        let first = out
            .pop()
            .ok_or_else(|| TicketError::Corrupt("link".into()))?;
        Ok((first, second))
    }

    /// Adds an entry to a tenant's catalogue; a service's parent path must exist already.
    /// `portal`: customers may choose the service (ticket types are always offered).
    async fn insert_entry(
        tx: &mut WriteTx,
        catalogue: Catalogue,
        tenant_id: TenantId,
        name: &str,
        portal: bool,
    ) -> Result<CatalogueEntry, TicketError> {
        let name = catalogue_name(catalogue, name)?;
        let parent_id = match (catalogue, parent_path(&name)) {
            (Catalogue::Services, Some(parent)) => {
                let id: Option<String> = sqlx::query_scalar(
                    "SELECT id FROM services WHERE tenant_id = $1 AND name = $2",
                )
                .bind(tenant_id)
                .bind(parent)
                .fetch_optional(&mut **tx)
                .await?;
                let id = id.ok_or_else(|| {
                    TicketError::invalid(format!(
                        "service `{parent}` does not exist yet: create it before `{name}`"
                    ))
                })?;
                Some(uuid_of(&id)?)
            }
            _ => None,
        };
        let entry = CatalogueEntry {
            id: uuid::Uuid::now_v7(),
            tenant_id,
            name,
            parent_id,
            created_at: docket_platform::time::now_micros(),
            portal: portal || catalogue == Catalogue::TicketTypes,
        };
        let statement = match catalogue {
            Catalogue::Services => {
                "INSERT INTO services (id, tenant_id, name, parent_id, created_at, portal) \
                 VALUES ($1, $2, $3, $4, $5, $6)"
            }
            Catalogue::TicketTypes => {
                "INSERT INTO ticket_types (id, tenant_id, name, parent_id, created_at) \
                 VALUES ($1, $2, $3, $4, $5)"
            }
        };
        let query = sqlx::query(statement)
            .bind(entry.id.to_string())
            .bind(tenant_id)
            .bind(&entry.name)
            .bind(entry.parent_id.map(|p| p.to_string()))
            .bind(entry.created_at);
        let query = match catalogue {
            Catalogue::Services => query.bind(i64::from(entry.portal)),
            Catalogue::TicketTypes => query,
        };
        query.execute(&mut **tx).await.map_err(exists_already(|| {
            format!(
                "the tenant has a {} `{}` already",
                catalogue.kind(),
                entry.name
            )
        }))?;
        Ok(entry)
    }

    /// NOT_FOUND unless `id` is in the tenant's catalogue (another tenant's entries are unknown).
    async fn require_entry(
        tx: &mut WriteTx,
        catalogue: Catalogue,
        tenant_id: TenantId,
        id: uuid::Uuid,
    ) -> Result<(), TicketError> {
        let table = catalogue.table();
        let found: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT 1 FROM {table} WHERE id = $1 AND tenant_id = $2"
        )))
        .bind(id.to_string())
        .bind(tenant_id)
        .fetch_optional(&mut **tx)
        .await?;
        match found {
            Some(_) => Ok(()),
            None => Err(TicketError::not_found(catalogue.kind(), id)),
        }
    }

    async fn upsert_group(tx: &mut WriteTx, group: &Group) -> Result<(), TicketError> {
        sqlx::query(
            "INSERT INTO groups (id, tenant_id, name) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name",
        )
        .bind(group.id)
        .bind(group.tenant_id)
        .bind(&group.name)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    async fn insert_queue(
        tx: &mut WriteTx,
        queue: NewQueue,
        actor: &Actor,
    ) -> Result<Queue, TicketError> {
        let parent_id = match parent_path(&queue.name) {
            Some(parent) => Some(
                sqlx::query_scalar::<_, QueueId>(
                    "SELECT id FROM queues WHERE tenant_id = $1 AND name = $2",
                )
                .bind(queue.tenant_id)
                .bind(parent)
                .fetch_optional(&mut **tx)
                .await?
                .ok_or_else(|| {
                    TicketError::invalid(format!(
                        "queue `{parent}` does not exist yet: create it before `{}`",
                        queue.name
                    ))
                })?,
            ),
            None => None,
        };
        let stored = Queue {
            id: QueueId::new(),
            tenant_id: queue.tenant_id,
            name: queue.name,
            parent_id,
            group_id: Some(queue.group_id),
            portal: queue.portal,
            signature: queue.signature,
            follow_up: queue.follow_up,
            addresses: queue.addresses,
            created_at: docket_platform::time::now_micros(),
            version: 1,
        };
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO queues ({QUEUE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        )))
        .bind(stored.id)
        .bind(stored.tenant_id)
        .bind(&stored.name)
        .bind(stored.parent_id)
        .bind(stored.group_id)
        .bind(i64::from(stored.portal))
        .bind(&stored.signature)
        .bind(stored.follow_up.as_str())
        .bind(to_json(&stored.addresses)?)
        .bind(stored.created_at)
        .bind(1_i64)
        .execute(&mut **tx)
        .await
        .map_err(exists_already(|| {
            format!("the tenant has a queue named `{}` already", stored.name)
        }))?;
        Self::claim_addresses(tx, stored.id, &stored.addresses).await?;
        let payload = ev::QueueCreated {
            queue_id: stored.id.to_string(),
            tenant_id: stored.tenant_id.to_string(),
            name: stored.name.clone(),
            group_id: opt_text(stored.group_id),
            portal: stored.portal,
            parent_id: opt_text(stored.parent_id),
            follow_up: stored.follow_up.to_string(),
            addresses: strings(&stored.addresses),
        };
        let aggregate = ("queue", stored.id.to_string(), 1);
        Self::append_event(
            tx,
            "queue.created",
            stored.tenant_id,
            aggregate,
            payload.encode_to_vec(),
        )
        .await?;
        tracing::info!(queue_id = %stored.id, actor = %actor.as_str(), "queue created");
        Ok(stored)
    }

    /// Makes `addresses` the queue's, and only the queue's: another queue's address conflicts.
    async fn claim_addresses(
        tx: &mut WriteTx,
        queue_id: QueueId,
        addresses: &[EmailAddress],
    ) -> Result<(), TicketError> {
        sqlx::query("DELETE FROM queue_addresses WHERE queue_id = $1")
            .bind(queue_id)
            .execute(&mut **tx)
            .await?;
        for address in addresses {
            sqlx::query("INSERT INTO queue_addresses (address, queue_id) VALUES ($1, $2)")
                .bind(address.as_str())
                .bind(queue_id)
                .execute(&mut **tx)
                .await
                .map_err(exists_already(|| {
                    format!("the address {address} belongs to another queue already")
                }))?;
        }
        Ok(())
    }

    async fn fetch_queue(tx: &mut WriteTx, id: QueueId) -> Result<Queue, TicketError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {QUEUE_COLUMNS} FROM queues WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| TicketError::not_found("queue", id))?;
        queue_from_row(&row)
    }

    /// NOT_FOUND unless the tenant is known here.
    async fn require_tenant(tx: &mut WriteTx, tenant_id: TenantId) -> Result<(), TicketError> {
        let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM tenants WHERE id = $1")
            .bind(tenant_id)
            .fetch_optional(&mut **tx)
            .await?;
        match found {
            Some(_) => Ok(()),
            None => Err(TicketError::not_found("tenant", tenant_id)),
        }
    }

    /// NOT_FOUND for the first of `queues` that is not the tenant's (another tenant's is unknown).
    async fn require_queues_in(
        tx: &mut WriteTx,
        tenant_id: TenantId,
        queues: &[QueueId],
    ) -> Result<(), TicketError> {
        for q in queues {
            if Self::queue_in_tenant(tx, *q).await? != tenant_id {
                return Err(TicketError::not_found("queue", q));
            }
        }
        Ok(())
    }

    async fn queue_in_tenant(tx: &mut WriteTx, queue_id: QueueId) -> Result<TenantId, TicketError> {
        sqlx::query_scalar::<_, TenantId>("SELECT tenant_id FROM queues WHERE id = $1")
            .bind(queue_id)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or_else(|| TicketError::not_found("queue", queue_id))
    }
}

/// Where a customer's reply goes after its ticket's follow-up policy.
enum FollowUpOutcome {
    /// Onto the ticket (now at this version), as given.
    Continue(Box<Ticket>, NewArticle),
    /// It opened a new ticket, linked to the old one, as this article.
    NewTicket(Article),
}

/// How a link is stored: parent first, or for related tickets the smaller id first.
fn link_key(source: TicketId, target: TicketId, kind: LinkKind) -> (TicketId, TicketId) {
    match kind {
        LinkKind::Related if target < source => (target, source),
        _ => (source, target),
    }
}

fn uuid_of(s: &str) -> Result<uuid::Uuid, TicketError> {
    uuid::Uuid::try_parse(s).map_err(|e| TicketError::Corrupt(format!("id `{s}`: {e}")))
}

fn version_i64(v: u64) -> Result<i64, TicketError> {
    i64::try_from(v).map_err(|_| TicketError::Corrupt(format!("version {v} out of range")))
}

fn get<T>(row: &AnyRow, column: &str) -> Result<T, TicketError>
where
    T: for<'r> sqlx::Decode<'r, Any> + sqlx::Type<Any>,
{
    row.try_get(column)
        .map_err(|e| TicketError::Corrupt(format!("column {column}: {e}")))
}

fn ticket_from_row(row: &AnyRow) -> Result<Ticket, TicketError> {
    let corrupt = |e: TicketError| TicketError::Corrupt(e.to_string());
    Ok(Ticket {
        id: get(row, "id")?,
        tenant_id: get(row, "tenant_id")?,
        number: get::<String>(row, "number")?.parse().map_err(corrupt)?,
        queue_id: get(row, "queue_id")?,
        title: get(row, "title")?,
        state: get::<String>(row, "state")?.parse().map_err(corrupt)?,
        pending_until: get(row, "pending_until")?,
        locked: get::<i64>(row, "locked")? != 0,
        priority: Priority::new(get::<i64>(row, "priority")?).map_err(corrupt)?,
        owner_id: get(row, "owner_id")?,
        customer: get(row, "customer")?,
        customer_id: get(row, "customer_id")?,
        company_id: get(row, "company_id")?,
        type_id: get(row, "type_id")?,
        service_id: get(row, "service_id")?,
        responsible_id: get(row, "responsible_id")?,
        desired_at: get(row, "desired_at")?,
        target_at: get(row, "target_at")?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
        closed_at: get(row, "closed_at")?,
        merged_into: get(row, "merged_into")?,
        contact: Contact {
            name: get(row, "contact_name")?,
            email: get(row, "contact_email")?,
            phone: get(row, "contact_phone")?,
            organisation: get(row, "contact_organisation")?,
        },
        time_minutes: u64::try_from(get::<i64>(row, "time_minutes")?)
            .map_err(|e| TicketError::Corrupt(e.to_string()))?,
        custom_state: get(row, "custom_state")?,
        legal_hold: get::<i64>(row, "legal_hold")? != 0,
        retention_objection: get::<i64>(row, "retention_objection")? != 0,
        version: u64::try_from(get::<i64>(row, "version")?)
            .map_err(|e| TicketError::Corrupt(e.to_string()))?,
    })
}

fn article_from_row(row: &AnyRow) -> Result<Article, TicketError> {
    let corrupt = |e: TicketError| TicketError::Corrupt(e.to_string());
    Ok(Article {
        id: get(row, "id")?,
        ticket_id: get(row, "ticket_id")?,
        sender: get::<String>(row, "sender")?.parse().map_err(corrupt)?,
        channel: get::<String>(row, "channel")?.parse().map_err(corrupt)?,
        visible_to_customer: get::<i64>(row, "visible_to_customer")? != 0,
        subject: get(row, "subject")?,
        body: get(row, "body")?,
        author: get(row, "author")?,
        created_at: get(row, "created_at")?,
        attachments: Vec::new(),
        time_minutes: u32::try_from(get::<i64>(row, "time_minutes")?)
            .map_err(|e| TicketError::Corrupt(e.to_string()))?,
        delivery: get::<Option<String>>(row, "delivery")?
            .map(|json| serde_json::from_str(&json))
            .transpose()
            .map_err(|e| TicketError::Corrupt(format!("article delivery: {e}")))?,
    })
}

fn attachment_from_row(row: &AnyRow) -> Result<(ArticleId, Attachment), TicketError> {
    Ok((
        get(row, "article_id")?,
        Attachment {
            id: get(row, "id")?,
            filename: get(row, "filename")?,
            content_type: get(row, "content_type")?,
            declared_type: get(row, "declared_type")?,
            size: u64::try_from(get::<i64>(row, "size")?)
                .map_err(|e| TicketError::Corrupt(e.to_string()))?,
            sha256: get(row, "sha256")?,
            created_at: get(row, "created_at")?,
        },
    ))
}

/// What an article's history entry records: enough to tell later whether the article, its body
/// or its attachments were changed.
fn article_details(a: &Article) -> serde_json::Value {
    let mut details = serde_json::json!({
        "article_id": a.id, "sender": a.sender, "channel": a.channel,
        "visible_to_customer": a.visible_to_customer, "subject": a.subject,
        "body_sha256": chain::sha256_hex(a.body.as_bytes()),
    });
    if !a.attachments.is_empty() {
        details["attachments"] = a
            .attachments
            .iter()
            .map(|x| serde_json::json!({ "filename": x.filename, "size": x.size, "sha256": x.sha256 }))
            .collect();
    }
    if a.time_minutes > 0 {
        details["time_minutes"] = a.time_minutes.into();
    }
    details
}

fn saved_search_from_row(row: &AnyRow) -> Result<SavedSearch, TicketError> {
    let corrupt = |e: String| TicketError::Corrupt(format!("saved search: {e}"));
    let sort = match get::<String>(row, "sort")?.as_str() {
        "created_at" => SortField::CreatedAt,
        "updated_at" => SortField::UpdatedAt,
        "priority" => SortField::Priority,
        other => return Err(corrupt(format!("sort `{other}`"))),
    };
    Ok(SavedSearch {
        id: get(row, "id")?,
        agent_id: get(row, "agent_id")?,
        name: get(row, "name")?,
        filter: serde_json::from_str(&get::<String>(row, "filter")?)
            .map_err(|e| corrupt(e.to_string()))?,
        sort,
        descending: get::<i64>(row, "descending")? != 0,
        created_at: get(row, "created_at")?,
    })
}

fn field_from_row(row: &AnyRow) -> Result<FieldDefinition, TicketError> {
    let corrupt = |e: String| TicketError::Corrupt(format!("custom field: {e}"));
    Ok(FieldDefinition {
        id: get(row, "id")?,
        tenant_id: get(row, "tenant_id")?,
        key: get(row, "key")?,
        label: get(row, "label")?,
        kind: get::<String>(row, "kind")?
            .parse::<FieldKind>()
            .map_err(|e| corrupt(e.to_string()))?,
        options: serde_json::from_str(&get::<String>(row, "options")?)
            .map_err(|e| corrupt(e.to_string()))?,
        queue_ids: serde_json::from_str(&get::<String>(row, "queue_ids")?)
            .map_err(|e| corrupt(e.to_string()))?,
        created_at: get(row, "created_at")?,
    })
}

/// A value as JSON text, for the columns that hold lists.
fn to_json<T: serde::Serialize + ?Sized>(value: &T) -> Result<String, TicketError> {
    serde_json::to_string(value).map_err(|e| TicketError::Corrupt(format!("json: {e}")))
}

fn template_from_row(row: &AnyRow) -> Result<Template, TicketError> {
    let corrupt = |e: String| TicketError::Corrupt(format!("template: {e}"));
    Ok(Template {
        id: get(row, "id")?,
        tenant_id: get(row, "tenant_id")?,
        name: get(row, "name")?,
        kind: get::<String>(row, "kind")?
            .parse::<TemplateKind>()
            .map_err(|e| corrupt(e.to_string()))?,
        subject: get(row, "subject")?,
        body: get(row, "body")?,
        queue_ids: serde_json::from_str(&get::<String>(row, "queue_ids")?)
            .map_err(|e| corrupt(e.to_string()))?,
        language: get(row, "language")?,
        created_at: get(row, "created_at")?,
    })
}

fn tenant_from_row(row: &AnyRow) -> Result<Tenant, TicketError> {
    Ok(Tenant {
        id: get(row, "id")?,
        slug: get(row, "slug")?,
        name: get(row, "name")?,
        created_at: get(row, "created_at")?,
    })
}

fn queue_from_row(row: &AnyRow) -> Result<Queue, TicketError> {
    let corrupt = |e: String| TicketError::Corrupt(format!("queue: {e}"));
    Ok(Queue {
        id: get(row, "id")?,
        tenant_id: get(row, "tenant_id")?,
        name: get(row, "name")?,
        parent_id: get(row, "parent_id")?,
        group_id: get(row, "group_id")?,
        portal: get::<i64>(row, "portal")? != 0,
        signature: get(row, "signature")?,
        follow_up: get::<String>(row, "follow_up")?
            .parse()
            .map_err(|e: TicketError| corrupt(e.to_string()))?,
        addresses: serde_json::from_str(&get::<String>(row, "addresses")?)
            .map_err(|e| corrupt(e.to_string()))?,
        created_at: get(row, "created_at")?,
        version: u64::try_from(get::<i64>(row, "version")?).map_err(|e| corrupt(e.to_string()))?,
    })
}

/// A WHERE clause under construction: fixed SQL fragments, with every value bound as `$n`.
#[derive(Default)]
struct Filter {
    values: Vec<Value>,
}

enum Value {
    Text(String),
    Int(i64),
}

impl Filter {
    fn text(&mut self, v: impl ToString) -> String {
        self.values.push(Value::Text(v.to_string()));
        format!("${}", self.values.len())
    }

    fn int(&mut self, v: i64) -> String {
        self.values.push(Value::Int(v));
        format!("${}", self.values.len())
    }

    fn list(&mut self, values: impl IntoIterator<Item = impl ToString>) -> String {
        let marks: Vec<String> = values.into_iter().map(|v| self.text(v)).collect();
        marks.join(", ")
    }

    /// The condition a ticket row must meet to be visible.
    fn visibility(&mut self, visibility: &Visibility) -> String {
        match visibility {
            Visibility::All => "1 = 1".to_owned(),
            Visibility::Agent {
                groups,
                owners,
                collaborator,
            } => {
                let mut any = Vec::new();
                if let Some((tenants, agent)) = collaborator
                    && !tenants.is_empty()
                {
                    any.push(format!(
                        "(tenant_id IN ({}) AND id IN (SELECT ticket_id FROM ticket_collaborators WHERE agent_id = {}))",
                        self.list(tenants),
                        self.text(agent)
                    ));
                }
                if !groups.is_empty() {
                    any.push(format!(
                        "queue_id IN (SELECT id FROM queues WHERE group_id IN ({}))",
                        self.list(groups)
                    ));
                }
                for (tenant, owner) in owners {
                    any.push(format!(
                        "(tenant_id = {} AND owner_id = {})",
                        self.text(tenant),
                        self.text(owner)
                    ));
                }
                if any.is_empty() {
                    "1 = 0".to_owned()
                } else {
                    format!("({})", any.join(" OR "))
                }
            }
            Visibility::Customer {
                tenant_id,
                customer_id,
                company_id,
            } => {
                let tenant = self.text(tenant_id);
                let customer = self.text(customer_id);
                match company_id {
                    Some(company) => format!(
                        "(tenant_id = {tenant} AND (customer_id = {customer} OR company_id = {}))",
                        self.text(company)
                    ),
                    None => format!("(tenant_id = {tenant} AND customer_id = {customer})"),
                }
            }
        }
    }

    /// The conditions of a search filter, one per field set. The full-text condition differs per
    /// engine: PostgreSQL's GIN indexes over `to_tsvector('simple', …)`, SQLite's FTS5 tables.
    /// With `visible_only`, text matches only in articles the customer may read.
    fn search(
        &mut self,
        backend: Backend,
        f: &TicketFilter,
        visible_only: bool,
        plan: TextPlan,
    ) -> Vec<String> {
        let mut clauses = Vec::new();
        let (visible, visible_attachment) = if visible_only {
            (
                "visible_to_customer = 1 AND",
                "article_id IN (SELECT id FROM articles WHERE visible_to_customer = 1) AND",
            )
        } else {
            ("", "")
        };
        if let Some(text) = &f.text {
            // One set of matching ticket ids from both indexes, so each engine can use them.
            clauses.push(match backend {
                Backend::Postgres if plan == TextPlan::Walk => {
                    let q = self.text(text.to_tsquery());
                    format!(
                        "(to_tsvector('simple', title) @@ to_tsquery('simple', {q}) \
                         OR EXISTS (SELECT 1 FROM articles a WHERE a.ticket_id = tickets.id AND {visible} \
                                    to_tsvector('simple', left(a.subject || ' ' || a.body, 250000)) @@ to_tsquery('simple', {q})) \
                         OR EXISTS (SELECT 1 FROM attachments x WHERE x.ticket_id = tickets.id AND {visible_attachment} \
                                    to_tsvector('simple', left(x.text, 250000)) @@ to_tsquery('simple', {q})))"
                    )
                }
                Backend::Postgres => {
                    let q = self.text(text.to_tsquery());
                    format!(
                        "id IN (SELECT id FROM tickets WHERE to_tsvector('simple', title) @@ to_tsquery('simple', {q}) \
                         UNION SELECT ticket_id FROM articles \
                                WHERE {visible} to_tsvector('simple', left(subject || ' ' || body, 250000)) @@ to_tsquery('simple', {q}) \
                         UNION SELECT ticket_id FROM attachments \
                                WHERE {visible_attachment} to_tsvector('simple', left(text, 250000)) @@ to_tsquery('simple', {q}))"
                    )
                }
                Backend::Sqlite => {
                    let q = self.text(text.to_fts5());
                    format!(
                        "id IN (SELECT id FROM tickets WHERE rowid IN (SELECT rowid FROM tickets_fts WHERE tickets_fts MATCH {q}) \
                         UNION SELECT a.ticket_id FROM articles a \
                                WHERE {visible} a.rowid IN (SELECT rowid FROM articles_fts WHERE articles_fts MATCH {q}) \
                         UNION SELECT ticket_id FROM attachments \
                                WHERE {visible_attachment} rowid IN (SELECT rowid FROM attachments_fts WHERE attachments_fts MATCH {q}))"
                    )
                }
            });
        }
        let mut any_of = |column: &str, values: Vec<String>, this: &mut Self| {
            if !values.is_empty() {
                clauses.push(format!("{column} IN ({})", this.list(values)));
            }
        };
        any_of("queue_id", strings(&f.queue_ids), self);
        let mut states: Vec<String> = strings(&f.states);
        if !f.state_types.is_empty() {
            // A state type is the states of that type.
            let of_types = TicketState::ALL
                .iter()
                .filter(|s| f.state_types.contains(&s.state_type()))
                .map(|s| s.to_string());
            states = if states.is_empty() {
                of_types.collect()
            } else {
                of_types.filter(|s| states.contains(s)).collect()
            };
            if states.is_empty() {
                states.push(String::new());
            }
        }
        any_of("state", states, self);
        any_of("custom_state", f.custom_states.clone(), self);
        any_of("service_id", strings(&f.service_ids), self);
        any_of("type_id", strings(&f.type_ids), self);
        if !f.priorities.is_empty() {
            let marks: Vec<String> = f
                .priorities
                .iter()
                .map(|p| self.int(i64::from(p.get())))
                .collect();
            clauses.push(format!("priority IN ({})", marks.join(", ")));
        }
        let mut equals = |column: &str, value: Option<String>, this: &mut Self| {
            if let Some(v) = value {
                clauses.push(format!("{column} = {}", this.text(v)));
            }
        };
        equals("owner_id", f.owner_id.map(|v| v.to_string()), self);
        equals(
            "responsible_id",
            f.responsible_id.map(|v| v.to_string()),
            self,
        );
        equals("customer_id", f.customer_id.map(|v| v.to_string()), self);
        equals("company_id", f.company_id.map(|v| v.to_string()), self);
        if let Some(locked) = f.locked {
            clauses.push(format!("locked = {}", self.int(i64::from(locked))));
        }
        if let Some(customer) = &f.customer {
            let pattern = format!("%{}%", like_escape(&customer.to_lowercase()));
            clauses.push(format!(
                "LOWER(customer) LIKE {} ESCAPE '\\'",
                self.text(pattern)
            ));
        }
        if let Some(agent) = f.collaborator {
            clauses.push(format!(
                "id IN (SELECT ticket_id FROM ticket_collaborators WHERE agent_id = {})",
                self.text(agent)
            ));
        }
        if let Some(agent) = f.watched_by {
            clauses.push(format!(
                "id IN (SELECT ticket_id FROM ticket_watchers WHERE agent_id = {})",
                self.text(agent)
            ));
        }
        for tag in &f.tags {
            clauses.push(format!(
                "id IN (SELECT ticket_id FROM ticket_tags WHERE tag = {})",
                self.text(tag)
            ));
        }
        for m in &f.fields {
            let (key, value) = (self.text(&m.key), self.text(&m.value));
            clauses.push(format!(
                "id IN (SELECT v.ticket_id FROM ticket_field_values v JOIN custom_fields cf ON cf.id = v.field_id \
                 WHERE cf.key = {key} AND v.value = {value})"
            ));
        }
        for (column, range) in [
            ("created_at", f.created),
            ("updated_at", f.changed),
            ("closed_at", f.closed),
        ] {
            if let Some(from) = range.from {
                clauses.push(format!("{column} >= {}", self.int(from)));
            }
            if let Some(until) = range.until {
                clauses.push(format!("{column} < {}", self.int(until)));
            }
        }
        clauses
    }

    fn bind_all<'q>(
        self,
        mut query: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments>,
    ) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments> {
        for value in self.values {
            query = match value {
                Value::Text(t) => query.bind(t),
                Value::Int(i) => query.bind(i),
            };
        }
        query
    }
}

fn strings<T: ToString>(values: &[T]) -> Vec<String> {
    values.iter().map(ToString::to_string).collect()
}

/// `s` with LIKE's wildcards (and the escape character) escaped by `\`.
fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Where a page ends: the sort key and id of its last ticket, tied to the sort it was made for.
#[derive(Debug, PartialEq, Eq)]
struct Cursor {
    sort: &'static str,
    descending: bool,
    key: i64,
    id: TicketId,
}

impl Cursor {
    fn encode(&self) -> String {
        let raw = format!(
            "{}|{}|{}|{}",
            self.sort,
            u8::from(self.descending),
            self.key,
            self.id
        );
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
    }

    fn decode(token: &str, sort: SortField, descending: bool) -> Result<Self, TicketError> {
        let bad = || TicketError::invalid("page token is not valid for this listing");
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token.trim())
            .map_err(|_| bad())?;
        let raw = String::from_utf8(raw).map_err(|_| bad())?;
        let mut parts = raw.split('|');
        let (Some(s), Some(d), Some(k), Some(i), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(bad());
        };
        if s != sort.as_str() || d != if descending { "1" } else { "0" } {
            return Err(bad());
        }
        Ok(Self {
            sort: sort.as_str(),
            descending,
            key: k.parse().map_err(|_| bad())?,
            id: i.parse().map_err(|_| bad())?,
        })
    }
}

fn sort_key(ticket: &Ticket, sort: SortField) -> i64 {
    match sort {
        SortField::CreatedAt => ticket.created_at,
        SortField::UpdatedAt => ticket.updated_at,
        SortField::Priority => i64::from(ticket.priority.get()),
    }
}

/// Maps a unique-constraint violation to `AlreadyExists` with `message`; other errors pass.
fn exists_already(message: impl FnOnce() -> String) -> impl FnOnce(sqlx::Error) -> TicketError {
    move |e| match docket_store::unique_violation(&e) {
        Some(_) => TicketError::AlreadyExists(message()),
        None => e.into(),
    }
}

#[async_trait]
impl TicketStore for SqlTicketStore {
    async fn project_tenant(
        &self,
        event_id: &str,
        tenant: Tenant,
        groups: Vec<Group>,
    ) -> Result<bool, TicketError> {
        let mut tx = self.db.begin_write().await?;
        if !inbox::claim(&mut tx, CONSUMER, event_id).await? {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO tenants (id, slug, name, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(tenant.id)
        .bind(&tenant.slug)
        .bind(&tenant.name)
        .bind(tenant.created_at)
        .execute(&mut *tx)
        .await?;
        for group in &groups {
            Self::upsert_group(&mut tx, group).await?;
        }
        for name in DEFAULT_TICKET_TYPES {
            Self::insert_entry(&mut tx, Catalogue::TicketTypes, tenant.id, name, true).await?;
        }
        let home = groups.iter().find(|g| g.name == DEFAULT_QUEUE_GROUP);
        if let Some(home) = home {
            let actor = Actor::system();
            for (name, portal) in DEFAULT_QUEUES {
                let queue = NewQueue::parse(tenant.id, name, home.id, portal)?;
                Self::insert_queue(&mut tx, queue, &actor).await?;
            }
        }
        self.commit(tx).await?;
        tracing::info!(tenant_id = %tenant.id, slug = %tenant.slug, "tenant recorded with its default queues");
        Ok(true)
    }

    async fn project_group(&self, event_id: &str, group: Group) -> Result<bool, TicketError> {
        let mut tx = self.db.begin_write().await?;
        if !inbox::claim(&mut tx, CONSUMER, event_id).await? {
            return Ok(false);
        }
        Self::upsert_group(&mut tx, &group).await?;
        self.commit(tx).await?;
        Ok(true)
    }

    async fn project_customer(
        &self,
        event_id: &str,
        customer: CustomerRecord,
    ) -> Result<bool, TicketError> {
        let mut tx = self.db.begin_write().await?;
        if !inbox::claim(&mut tx, CONSUMER, event_id).await? {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO customers (id, tenant_id, company_id, name, email, phone, organisation) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (id) DO UPDATE SET company_id = excluded.company_id, name = excluded.name, \
             email = excluded.email, phone = excluded.phone, organisation = excluded.organisation",
        )
        .bind(customer.id)
        .bind(customer.tenant_id)
        .bind(customer.company_id)
        .bind(&customer.contact.name)
        .bind(&customer.contact.email)
        .bind(&customer.contact.phone)
        .bind(&customer.contact.organisation)
        .execute(&mut *tx)
        .await?;
        self.commit(tx).await?;
        Ok(true)
    }

    async fn list_tenants(&self) -> Result<Vec<Tenant>, TicketError> {
        sqlx::query("SELECT id, slug, name, created_at FROM tenants ORDER BY slug")
            .fetch_all(self.db.pool())
            .await?
            .iter()
            .map(tenant_from_row)
            .collect()
    }

    async fn create_queue(&self, queue: NewQueue, actor: &Actor) -> Result<Queue, TicketError> {
        let mut tx = self.db.begin_write().await?;
        Self::require_tenant(&mut tx, queue.tenant_id).await?;
        let group: Option<TenantId> =
            sqlx::query_scalar("SELECT tenant_id FROM groups WHERE id = $1")
                .bind(queue.group_id)
                .fetch_optional(&mut *tx)
                .await?;
        if group != Some(queue.tenant_id) {
            // Another tenant's group is as unknown here as one that does not exist.
            return Err(TicketError::not_found("group", queue.group_id));
        }
        let stored = Self::insert_queue(&mut tx, queue, actor).await?;
        self.commit(tx).await?;
        Ok(stored)
    }

    async fn create_catalogue_entry(
        &self,
        catalogue: Catalogue,
        tenant_id: TenantId,
        name: &str,
        portal: bool,
        actor: &Actor,
    ) -> Result<CatalogueEntry, TicketError> {
        let mut tx = self.db.begin_write().await?;
        Self::require_tenant(&mut tx, tenant_id).await?;
        let entry = Self::insert_entry(&mut tx, catalogue, tenant_id, name, portal).await?;
        self.commit(tx).await?;
        tracing::info!(kind = catalogue.kind(), id = %entry.id, actor = %actor.as_str(), "catalogue entry created");
        Ok(entry)
    }

    async fn list_catalogue(
        &self,
        catalogue: Catalogue,
        tenant_id: TenantId,
    ) -> Result<Vec<CatalogueEntry>, TicketError> {
        let table = catalogue.table();
        let portal = match catalogue {
            Catalogue::Services => "portal",
            Catalogue::TicketTypes => "1",
        };
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT id, tenant_id, name, parent_id, created_at, {portal} AS portal FROM {table} \
             WHERE tenant_id = $1 ORDER BY name"
        )))
        .bind(tenant_id)
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(CatalogueEntry {
                    id: uuid_of(&get::<String>(row, "id")?)?,
                    tenant_id: get(row, "tenant_id")?,
                    name: get(row, "name")?,
                    parent_id: get::<Option<String>>(row, "parent_id")?
                        .map(|p| uuid_of(&p))
                        .transpose()?,
                    created_at: get(row, "created_at")?,
                    portal: get::<i64>(row, "portal")? != 0,
                })
            })
            .collect()
    }

    async fn get_queue(&self, id: QueueId) -> Result<Queue, TicketError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {QUEUE_COLUMNS} FROM queues WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.db.pool())
        .await?
        .ok_or_else(|| TicketError::not_found("queue", id))?;
        queue_from_row(&row)
    }

    async fn update_queue(
        &self,
        id: QueueId,
        change: QueueChange,
        actor: &Actor,
    ) -> Result<Queue, TicketError> {
        let mut tx = self.db.begin_write().await?;
        let current = Self::fetch_queue(&mut tx, id).await?;
        let mut next = current.clone();
        if let Some(group_id) = change.group_id {
            let tenant: Option<TenantId> =
                sqlx::query_scalar("SELECT tenant_id FROM groups WHERE id = $1")
                    .bind(group_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            if tenant != Some(current.tenant_id) {
                return Err(TicketError::not_found("group", group_id));
            }
            next.group_id = Some(group_id);
        }
        next.portal = change.portal.unwrap_or(current.portal);
        next.signature = change.signature.unwrap_or(current.signature.clone());
        next.follow_up = change.follow_up.unwrap_or(current.follow_up);
        if let Some(addresses) = change.addresses {
            Self::claim_addresses(&mut tx, id, &addresses).await?;
            next.addresses = addresses;
        }
        if next == current {
            return Ok(current);
        }
        next.version = current.version + 1;
        sqlx::query(
            "UPDATE queues SET group_id = $1, portal = $2, signature = $3, follow_up = $4, addresses = $5, version = $6 \
             WHERE id = $7 AND version = $8",
        )
        .bind(next.group_id)
        .bind(i64::from(next.portal))
        .bind(&next.signature)
        .bind(next.follow_up.as_str())
        .bind(to_json(&next.addresses)?)
        .bind(version_i64(next.version)?)
        .bind(id)
        .bind(version_i64(current.version)?)
        .execute(&mut *tx)
        .await?;
        let payload = ev::QueueUpdated {
            queue_id: id.to_string(),
            group_id: opt_text(next.group_id),
            portal: next.portal,
            follow_up: next.follow_up.to_string(),
            addresses: strings(&next.addresses),
            actor: actor.as_str().to_owned(),
        };
        let aggregate = ("queue", id.to_string(), next.version);
        Self::append_event(
            &mut tx,
            "queue.updated",
            next.tenant_id,
            aggregate,
            payload.encode_to_vec(),
        )
        .await?;
        self.commit(tx).await?;
        tracing::info!(queue_id = %id, actor = %actor.as_str(), "queue updated");
        Ok(next)
    }

    async fn queue_by_address(&self, address: &EmailAddress) -> Result<Option<Queue>, TicketError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {QUEUE_COLUMNS} FROM queues WHERE id = (SELECT queue_id FROM queue_addresses WHERE address = $1)"
        )))
        .bind(address.as_str())
        .fetch_optional(self.db.pool())
        .await?;
        row.as_ref().map(queue_from_row).transpose()
    }

    async fn queue_counts(
        &self,
        tenant_id: TenantId,
        now: i64,
    ) -> Result<Vec<QueueCounts>, TicketError> {
        // The counts per queue and state (kept by triggers), then the few tickets past their
        // target date (a range of `tickets_escalation`, whose predicate this repeats).
        let rows = sqlx::query(
            "SELECT c.queue_id, c.state, c.n FROM queue_state_counts c \
             JOIN queues q ON q.id = c.queue_id \
             WHERE q.tenant_id = $1 AND c.n > 0 AND c.state IN ('new', 'open', \
                 'pending_reminder', 'pending_auto_close_successful', 'pending_auto_close_unsuccessful')",
        )
        .bind(tenant_id)
        .fetch_all(self.db.pool())
        .await?;
        let late = sqlx::query(
            "SELECT queue_id, COUNT(*) AS n FROM tickets \
             WHERE tenant_id = $1 AND target_at IS NOT NULL AND target_at < $2 AND state IN ('new', \
                 'open', 'pending_reminder', 'pending_auto_close_successful', \
                 'pending_auto_close_unsuccessful') \
             GROUP BY queue_id",
        )
        .bind(tenant_id)
        .bind(now)
        .fetch_all(self.db.pool())
        .await?;
        let mut counts: Vec<QueueCounts> = Vec::new();
        let mut entry = |queue_id: QueueId| -> usize {
            match counts.iter().position(|c| c.queue_id == queue_id) {
                Some(i) => i,
                None => {
                    counts.push(QueueCounts::new(queue_id));
                    counts.len() - 1
                }
            }
        };
        let mut by_state = Vec::with_capacity(rows.len());
        for row in rows {
            let queue_id: QueueId = row.try_get::<String, _>("queue_id")?.parse()?;
            let state: TicketState = row.try_get::<String, _>("state")?.parse()?;
            let n = u64::try_from(row.try_get::<i64, _>("n")?).unwrap_or(0);
            by_state.push((entry(queue_id), state, n));
        }
        let mut escalated = Vec::with_capacity(late.len());
        for row in late {
            let queue_id: QueueId = row.try_get::<String, _>("queue_id")?.parse()?;
            let n = u64::try_from(row.try_get::<i64, _>("n")?).unwrap_or(0);
            escalated.push((entry(queue_id), n));
        }
        for (i, state, n) in by_state {
            counts[i].add(state.state_type(), n);
        }
        for (i, n) in escalated {
            counts[i].escalated += n;
        }
        Ok(counts)
    }

    async fn list_queues(&self, tenant_id: Option<TenantId>) -> Result<Vec<Queue>, TicketError> {
        let rows = match tenant_id {
            Some(t) => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {QUEUE_COLUMNS} FROM queues WHERE tenant_id = $1 ORDER BY name, id"
                )))
                .bind(t)
                .fetch_all(self.db.pool())
                .await?
            }
            None => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {QUEUE_COLUMNS} FROM queues ORDER BY tenant_id, name, id"
                )))
                .fetch_all(self.db.pool())
                .await?
            }
        };
        rows.iter().map(queue_from_row).collect()
    }

    async fn create_ticket(&self, new: NewTicket, actor: &Actor) -> Result<Ticket, TicketError> {
        let now = docket_platform::time::now_micros();
        let mut tx = self.db.begin_write().await?;
        if let Some(key) = new
            .article
            .as_ref()
            .and_then(|a| a.idempotency_key.as_deref())
            && let Some((ticket, _)) = Self::claim_key(&mut tx, key, now).await?
        {
            drop(tx);
            return self.get_ticket(ticket).await;
        }
        let (ticket, _) = self.create_in_tx(&mut tx, new, actor, now).await?;
        self.commit(tx).await?;
        tracing::info!(ticket_id = %ticket.id, number = %ticket.number, actor = %actor.as_str(), "ticket created");
        Ok(ticket)
    }

    async fn get_ticket(&self, id: TicketId) -> Result<Ticket, TicketError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {TICKET_COLUMNS} FROM tickets WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.db.pool())
        .await?
        .ok_or_else(|| TicketError::not_found("ticket", id))?;
        ticket_from_row(&row)
    }

    async fn get_ticket_by_number(&self, number: &TicketNumber) -> Result<Ticket, TicketError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {TICKET_COLUMNS} FROM tickets WHERE number = $1"
        )))
        .bind(number.as_str())
        .fetch_optional(self.db.pool())
        .await?
        .ok_or_else(|| TicketError::not_found("ticket", number))?;
        ticket_from_row(&row)
    }

    async fn list_tickets(&self, query: &TicketListQuery) -> Result<Page<Ticket>, TicketError> {
        let page_size = query.page_size()?;
        let cursor = query
            .page_token
            .as_deref()
            .filter(|t| !t.is_empty())
            .map(|t| Cursor::decode(t, query.sort, query.descending))
            .transpose()?;
        // Only fixed fragments go into the statement; every value is bound.
        query.filter.check()?;
        let mut sql = Filter::default();
        let visible_only = matches!(query.visibility, Visibility::Customer { .. });
        let plan = match (self.db.backend(), &query.filter.text) {
            (Backend::Postgres, Some(text)) => self.text_plan(text).await?,
            _ => TextPlan::Collect,
        };
        let mut clauses = sql.search(self.db.backend(), &query.filter, visible_only, plan);
        clauses.push(sql.visibility(&query.visibility));
        let column = query.sort.as_str();
        let (cmp, dir) = if query.descending {
            ("<", "DESC")
        } else {
            (">", "ASC")
        };
        if let Some(c) = &cursor {
            let (key, id) = (sql.int(c.key), sql.text(c.id));
            clauses.push(format!(
                "({column} {cmp} {key} OR ({column} = {key} AND id {cmp} {id}))"
            ));
        }
        let limit = sql.int(i64::from(page_size) + 1);
        let statement = format!(
            "SELECT {TICKET_COLUMNS} FROM tickets WHERE {} ORDER BY {column} {dir}, id {dir} LIMIT {limit}",
            clauses.join(" AND ")
        );
        let rows = sql
            .bind_all(sqlx::query(sqlx::AssertSqlSafe(statement)))
            .fetch_all(self.db.pool())
            .await?;
        let mut items = rows
            .iter()
            .map(ticket_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let more = items.len() > page_size as usize;
        items.truncate(page_size as usize);
        let next_page_token = match (more, items.last()) {
            (true, Some(last)) => Some(
                Cursor {
                    sort: query.sort.as_str(),
                    descending: query.descending,
                    key: sort_key(last, query.sort),
                    id: last.id,
                }
                .encode(),
            ),
            _ => None,
        };
        Ok(Page {
            items,
            next_page_token,
        })
    }

    async fn add_article(
        &self,
        ticket_id: TicketId,
        mut article: NewArticle,
        actor: &Actor,
    ) -> Result<Article, TicketError> {
        let now = docket_platform::time::now_micros();
        let mut tx = self.db.begin_write().await?;
        if let Some(key) = article.idempotency_key.as_deref()
            && let Some((_, made)) = Self::claim_key(&mut tx, key, now).await?
        {
            drop(tx);
            return self.get_article(made).await;
        }
        let mut ticket = Self::fetch_ticket(&mut tx, ticket_id).await?;
        if article.sender == SenderType::Customer {
            // A reply to a merged ticket belongs to the ticket it was merged into.
            let mut hops = 0;
            while let (TicketState::Merged, Some(into)) = (ticket.state, ticket.merged_into) {
                hops += 1;
                if hops > 16 {
                    return Err(TicketError::Corrupt("merged tickets form a cycle".into()));
                }
                ticket = Self::fetch_ticket(&mut tx, into).await?;
            }
            match self.follow_up(&mut tx, ticket, article, actor, now).await? {
                FollowUpOutcome::Continue(current, given) => {
                    ticket = *current;
                    article = given;
                }
                FollowUpOutcome::NewTicket(stored) => {
                    self.commit(tx).await?;
                    return Ok(stored);
                }
            }
        }
        let previous = ticket.version;
        ticket.version += 1;
        ticket.updated_at = now;
        let stored = self
            .article_in_tx(&mut tx, &ticket, &article, actor, now)
            .await?;
        bump_version(&mut tx, &ticket, previous).await?;
        self.commit(tx).await?;
        Ok(stored)
    }

    async fn list_articles(
        &self,
        ticket_id: TicketId,
        customer_visible_only: bool,
    ) -> Result<Vec<Article>, TicketError> {
        let only_visible = if customer_visible_only {
            "AND visible_to_customer = 1"
        } else {
            ""
        };
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ARTICLE_COLUMNS} FROM articles WHERE ticket_id = $1 {only_visible} ORDER BY created_at, id"
        )))
        .bind(ticket_id)
        .fetch_all(self.db.pool())
        .await?;
        if rows.is_empty() {
            self.get_ticket(ticket_id).await?;
            return Ok(Vec::new());
        }
        let mut articles = rows
            .iter()
            .map(article_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let attached = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ATTACHMENT_COLUMNS} FROM attachments WHERE ticket_id = $1 ORDER BY created_at, id"
        )))
        .bind(ticket_id)
        .fetch_all(self.db.pool())
        .await?;
        for row in &attached {
            let (article_id, a) = attachment_from_row(row)?;
            if let Some(article) = articles.iter_mut().find(|x| x.id == article_id) {
                article.attachments.push(a);
            }
        }
        Ok(articles)
    }

    async fn update_ticket(
        &self,
        id: TicketId,
        update: TicketUpdate,
        actor: &Actor,
    ) -> Result<Ticket, TicketError> {
        if update.is_empty() {
            return Err(TicketError::invalid(
                "the update changes nothing: give one of the fields to change",
            ));
        }
        let now = docket_platform::time::now_micros();
        let mut tx = self.db.begin_write().await?;
        let current = Self::fetch_ticket(&mut tx, id).await?;
        let next = Self::update_in_tx(&mut tx, current.clone(), update, actor, now).await?;
        if next != current {
            self.commit(tx).await?;
        }
        Ok(next)
    }

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
            .map(|row| {
                let details: String = get(row, "details")?;
                Ok(HistoryEntry {
                    seq: u64::try_from(get::<i64>(row, "seq")?)
                        .map_err(|e| TicketError::Corrupt(e.to_string()))?,
                    kind: get(row, "kind")?,
                    actor: get(row, "actor")?,
                    occurred_at: get(row, "occurred_at")?,
                    details: serde_json::from_str(&details)
                        .map_err(|e| TicketError::Corrupt(e.to_string()))?,
                })
            })
            .collect()
    }

    async fn link_tickets(
        &self,
        source: TicketId,
        target: TicketId,
        kind: LinkKind,
        actor: &Actor,
    ) -> Result<(), TicketError> {
        let now = docket_platform::time::now_micros();
        let mut tx = self.db.begin_write().await?;
        Self::link_in_tx(&mut tx, source, target, kind, actor, now).await?;
        self.commit(tx).await
    }

    async fn unlink_tickets(
        &self,
        source: TicketId,
        target: TicketId,
        kind: LinkKind,
        actor: &Actor,
    ) -> Result<(), TicketError> {
        let now = docket_platform::time::now_micros();
        let mut tx = self.db.begin_write().await?;
        let (a, b) = link_key(source, target, kind);
        let removed = sqlx::query(
            "DELETE FROM ticket_links WHERE source_id = $1 AND target_id = $2 AND kind = $3",
        )
        .bind(a)
        .bind(b)
        .bind(kind.as_str())
        .execute(&mut *tx)
        .await?;
        if removed.rows_affected() == 0 {
            return Err(TicketError::not_found(
                "link",
                format!("{source} → {target}"),
            ));
        }
        let first = Self::fetch_ticket(&mut tx, source).await?;
        let second = Self::fetch_ticket(&mut tx, target).await?;
        Self::record_link(&mut tx, &first, &second, kind, "unlinked", actor, now).await?;
        self.commit(tx).await
    }

    async fn merge_tickets(
        &self,
        source: TicketId,
        target: TicketId,
        actor: &Actor,
    ) -> Result<Ticket, TicketError> {
        if source == target {
            return Err(TicketError::invalid(
                "a ticket cannot be merged into itself",
            ));
        }
        let now = docket_platform::time::now_micros();
        let mut tx = self.db.begin_write().await?;
        let from = Self::fetch_ticket(&mut tx, source).await?;
        let mut into = Self::fetch_ticket(&mut tx, target).await?;
        if from.tenant_id != into.tenant_id {
            return Err(TicketError::not_found("ticket", target));
        }
        for t in [&from, &into] {
            if matches!(t.state.state_type(), StateType::Merged | StateType::Removed) {
                return Err(TicketError::Conflict(format!(
                    "ticket {} is {}: it cannot be merged",
                    t.number, t.state
                )));
            }
        }
        // The source's articles, copied onto the target in their order, each recorded there.
        let articles = self.list_articles(source, false).await?;
        let previous = into.version;
        into.updated_at = now;
        for a in &articles {
            into.version += 1;
            // Copies keep their author and time; the time they account stays with the original.
            let mut copy = Article {
                id: ArticleId::new(),
                ticket_id: into.id,
                attachments: Vec::new(),
                time_minutes: 0,
                ..a.clone()
            };
            Self::store_article(&mut tx, &copy).await?;
            let attached = Self::stored_attachments(&mut *tx, a.id).await?;
            copy.attachments =
                Self::insert_attachments(&mut tx, copy.id, into.id, &attached, now).await?;
            let mut details = article_details(&copy);
            details["merged_from"] = serde_json::json!(from.number);
            details["original_article_id"] = serde_json::json!(a.id);
            Self::append_history(&mut tx, &into, "article_added", actor, details).await?;
        }
        into.version += 1;
        bump_version(&mut tx, &into, previous).await?;
        let count = u32::try_from(articles.len()).unwrap_or(u32::MAX);
        Self::append_history(
            &mut tx,
            &into,
            "merged_in",
            actor,
            serde_json::json!({ "ticket_id": from.id, "number": from.number, "articles": count }),
        )
        .await?;
        let event = ev::TicketMerged {
            ticket_id: into.id.to_string(),
            other_ticket_id: from.id.to_string(),
            into: false,
            articles: count,
            actor: actor.as_str().to_owned(),
        };
        Self::ticket_event(&mut tx, &into, "ticket.merged", event.encode_to_vec()).await?;

        // The source: merged, unlocked, no pending date, pointing at the target.
        let mut merged = from.clone();
        merged.state = TicketState::Merged;
        merged.locked = false;
        merged.pending_until = None;
        merged.merged_into = Some(into.id);
        merged.version += 1;
        merged.updated_at = now;
        let updated = sqlx::query(
            "UPDATE tickets SET state = $1, locked = 0, pending_until = NULL, merged_into = $2, version = $3, updated_at = $4 \
             WHERE id = $5 AND version = $6",
        )
        .bind(merged.state.as_str())
        .bind(into.id)
        .bind(version_i64(merged.version)?)
        .bind(now)
        .bind(from.id)
        .bind(version_i64(from.version)?)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() != 1 {
            return Err(TicketError::Conflict(format!(
                "ticket {} was changed meanwhile; try again",
                from.number
            )));
        }
        Self::append_history(
            &mut tx,
            &merged,
            "merged",
            actor,
            serde_json::json!({
                "into": into.id, "number": into.number,
                "state": { "old": from.state, "new": merged.state },
            }),
        )
        .await?;
        let event = ev::TicketMerged {
            ticket_id: merged.id.to_string(),
            other_ticket_id: into.id.to_string(),
            into: true,
            articles: count,
            actor: actor.as_str().to_owned(),
        };
        Self::ticket_event(&mut tx, &merged, "ticket.merged", event.encode_to_vec()).await?;
        self.commit(tx).await?;
        tracing::info!(source = %from.id, target = %into.id, actor = %actor.as_str(), "tickets merged");
        Ok(into)
    }

    async fn split_article(
        &self,
        article: ArticleId,
        mut new: NewTicket,
        actor: &Actor,
    ) -> Result<Ticket, TicketError> {
        let original = self.get_article(article).await?;
        new.article = Some(NewArticle {
            sender: original.sender,
            channel: original.channel,
            visible_to_customer: original.visible_to_customer,
            subject: original.subject,
            body: original.body,
            attachments: Self::stored_attachments(self.db.pool(), original.id).await?,
            time_minutes: 0,
            idempotency_key: None,
        });
        new.parent_id = Some(original.ticket_id);
        let now = docket_platform::time::now_micros();
        let mut tx = self.db.begin_write().await?;
        let parent = Self::fetch_ticket(&mut tx, original.ticket_id).await?;
        if Self::queue_in_tenant(&mut tx, new.queue_id).await? != parent.tenant_id {
            return Err(TicketError::not_found("queue", new.queue_id));
        }
        let (ticket, _) = self.create_in_tx(&mut tx, new, actor, now).await?;
        self.commit(tx).await?;
        Ok(ticket)
    }

    async fn record_delivery(
        &self,
        id: ArticleId,
        delivery: Delivery,
        actor: &Actor,
    ) -> Result<Article, TicketError> {
        let mut tx = self.db.begin_write().await?;
        let updated = sqlx::query("UPDATE articles SET delivery = $1 WHERE id = $2")
            .bind(to_json(&delivery)?)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if updated == 0 {
            return Err(TicketError::not_found("article", id));
        }
        self.commit(tx).await?;
        tracing::debug!(article = %id, state = delivery.state.as_str(), actor = %actor.as_str(), "delivery recorded");
        self.get_article(id).await
    }

    async fn get_article(&self, id: ArticleId) -> Result<Article, TicketError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ARTICLE_COLUMNS} FROM articles WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.db.pool())
        .await?
        .ok_or_else(|| TicketError::not_found("article", id))?;
        let mut article = article_from_row(&row)?;
        article.attachments = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ATTACHMENT_COLUMNS} FROM attachments WHERE article_id = $1 ORDER BY created_at, id"
        )))
        .bind(id)
        .fetch_all(self.db.pool())
        .await?
        .iter()
        .map(|row| attachment_from_row(row).map(|(_, a)| a))
        .collect::<Result<_, _>>()?;
        Ok(article)
    }

    async fn attachment(
        &self,
        id: AttachmentId,
    ) -> Result<(TicketId, ArticleId, Attachment, Vec<u8>), TicketError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ATTACHMENT_COLUMNS} FROM attachments WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.db.pool())
        .await?
        .ok_or_else(|| TicketError::not_found("attachment", id))?;
        let ticket_id: TicketId = get(&row, "ticket_id")?;
        let (article_id, meta) = attachment_from_row(&row)?;
        let content: Vec<u8> =
            sqlx::query_scalar("SELECT content FROM attachment_blobs WHERE sha256 = $1")
                .bind(&meta.sha256)
                .fetch_optional(self.db.pool())
                .await?
                .ok_or_else(|| TicketError::Corrupt(format!("attachment {id} has no content")))?;
        // Served only as recorded: content changed behind our back is an error, not a download.
        if chain::sha256_hex(&content) != meta.sha256 {
            return Err(TicketError::Corrupt(format!(
                "attachment {id}: its content does not match its hash"
            )));
        }
        Ok((ticket_id, article_id, meta, content))
    }

    async fn define_field(
        &self,
        field: NewField,
        actor: &Actor,
    ) -> Result<FieldDefinition, TicketError> {
        let mut tx = self.db.begin_write().await?;
        Self::require_tenant(&mut tx, field.tenant_id).await?;
        Self::require_queues_in(&mut tx, field.tenant_id, &field.queue_ids).await?;
        let stored = FieldDefinition {
            id: FieldId::new(),
            tenant_id: field.tenant_id,
            key: field.key,
            label: field.label,
            kind: field.kind,
            options: field.options,
            queue_ids: field.queue_ids,
            created_at: docket_platform::time::now_micros(),
        };
        sqlx::query(
            "INSERT INTO custom_fields (id, tenant_id, key, label, kind, options, queue_ids, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(stored.id)
        .bind(stored.tenant_id)
        .bind(&stored.key)
        .bind(&stored.label)
        .bind(stored.kind.as_str())
        .bind(to_json(&stored.options)?)
        .bind(to_json(&stored.queue_ids)?)
        .bind(stored.created_at)
        .execute(&mut *tx)
        .await
        .map_err(exists_already(|| format!("the tenant has a field `{}` already", stored.key)))?;
        self.commit(tx).await?;
        tracing::info!(field = %stored.key, actor = %actor.as_str(), "custom field defined");
        Ok(stored)
    }

    async fn list_fields(&self, tenant_id: TenantId) -> Result<Vec<FieldDefinition>, TicketError> {
        sqlx::query(
            "SELECT id, tenant_id, key, label, kind, options, queue_ids, created_at FROM custom_fields \
             WHERE tenant_id = $1 ORDER BY key",
        )
        .bind(tenant_id)
        .fetch_all(self.db.pool())
        .await?
        .iter()
        .map(field_from_row)
        .collect()
    }

    async fn set_fields(
        &self,
        id: TicketId,
        values: Vec<(String, Vec<String>)>,
        actor: &Actor,
    ) -> Result<Vec<FieldValue>, TicketError> {
        if values.is_empty() {
            return Err(TicketError::invalid("no fields to set"));
        }
        let now = docket_platform::time::now_micros();
        let mut tx = self.db.begin_write().await?;
        let current = Self::fetch_ticket(&mut tx, id).await?;
        let definitions = self.list_fields(current.tenant_id).await?;
        let before = Self::values_in(&mut *tx, id).await?;
        let mut changes = Vec::new();
        let mut details = serde_json::Map::new();
        for (key, given) in values {
            let field = definitions
                .iter()
                .find(|f| f.key == key.trim())
                .ok_or_else(|| TicketError::not_found("custom field", key.trim()))?;
            if !field.shown_in(current.queue_id) {
                return Err(TicketError::invalid(format!(
                    "field `{}` is not used in this ticket's queue",
                    field.key
                )));
            }
            let mut new = field.values(&given)?;
            new.sort();
            let old = before
                .iter()
                .find(|v| v.key == field.key)
                .map(|v| v.values.clone())
                .unwrap_or_default();
            if old == new {
                continue;
            }
            sqlx::query("DELETE FROM ticket_field_values WHERE ticket_id = $1 AND field_id = $2")
                .bind(id)
                .bind(field.id)
                .execute(&mut *tx)
                .await?;
            for v in &new {
                sqlx::query("INSERT INTO ticket_field_values (ticket_id, field_id, value) VALUES ($1, $2, $3)")
                    .bind(id)
                    .bind(field.id)
                    .bind(v)
                    .execute(&mut *tx)
                    .await?;
            }
            details.insert(
                field.key.clone(),
                serde_json::json!({ "old": old, "new": new }),
            );
            changes.push(ev::FieldChange {
                field: format!("field.{}", field.key),
                old_value: old.join(", "),
                new_value: new.join(", "),
            });
        }
        if !changes.is_empty() {
            let mut next = current.clone();
            next.version += 1;
            next.updated_at = now;
            bump_version(&mut tx, &next, current.version).await?;
            Self::append_history(
                &mut tx,
                &next,
                "fields_changed",
                actor,
                serde_json::Value::Object(details),
            )
            .await?;
            let event = ev::TicketUpdated {
                ticket_id: id.to_string(),
                actor: actor.as_str().to_owned(),
                changes,
            };
            Self::ticket_event(&mut tx, &next, "ticket.updated", event.encode_to_vec()).await?;
        }
        let after = Self::values_in(&mut *tx, id).await?;
        self.commit(tx).await?;
        Ok(after)
    }

    async fn field_values(&self, id: TicketId) -> Result<Vec<FieldValue>, TicketError> {
        self.get_ticket(id).await?;
        Self::values_in(self.db.pool(), id).await
    }

    async fn tag(
        &self,
        id: TicketId,
        add: Vec<Tag>,
        remove: Vec<Tag>,
        actor: &Actor,
    ) -> Result<Vec<Tag>, TicketError> {
        let now = docket_platform::time::now_micros();
        let mut tx = self.db.begin_write().await?;
        let current = Self::fetch_ticket(&mut tx, id).await?;
        let before = Self::tags_in(&mut *tx, id).await?;
        let added: Vec<&Tag> = add
            .iter()
            .filter(|t| !before.contains(t) && !remove.contains(t))
            .collect();
        let removed: Vec<&Tag> = remove.iter().filter(|t| before.contains(t)).collect();
        if before.len() + added.len() - removed.len() > MAX_TAGS {
            return Err(TicketError::invalid(format!(
                "a ticket has at most {MAX_TAGS} tags"
            )));
        }
        if added.is_empty() && removed.is_empty() {
            return Ok(before);
        }
        for t in &added {
            sqlx::query("INSERT INTO ticket_tags (ticket_id, tag, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
                .bind(id)
                .bind(t.as_str())
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        for t in &removed {
            sqlx::query("DELETE FROM ticket_tags WHERE ticket_id = $1 AND tag = $2")
                .bind(id)
                .bind(t.as_str())
                .execute(&mut *tx)
                .await?;
        }
        let after = Self::tags_in(&mut *tx, id).await?;
        let mut next = current.clone();
        next.version += 1;
        next.updated_at = now;
        bump_version(&mut tx, &next, current.version).await?;
        Self::append_history(
            &mut tx,
            &next,
            "tags_changed",
            actor,
            serde_json::json!({ "added": added, "removed": removed }),
        )
        .await?;
        let join = |tags: &[Tag]| tags.iter().map(Tag::as_str).collect::<Vec<_>>().join(", ");
        let event = ev::TicketUpdated {
            ticket_id: id.to_string(),
            actor: actor.as_str().to_owned(),
            changes: vec![ev::FieldChange {
                field: "tags".into(),
                old_value: join(&before),
                new_value: join(&after),
            }],
        };
        Self::ticket_event(&mut tx, &next, "ticket.updated", event.encode_to_vec()).await?;
        self.commit(tx).await?;
        Ok(after)
    }

    async fn tags(&self, id: TicketId) -> Result<Vec<Tag>, TicketError> {
        self.get_ticket(id).await?;
        Self::tags_in(self.db.pool(), id).await
    }

    async fn collaborate(
        &self,
        id: TicketId,
        agent: AgentId,
        on: bool,
        actor: &Actor,
    ) -> Result<bool, TicketError> {
        let now = docket_platform::time::now_micros();
        let mut tx = self.db.begin_write().await?;
        let current = Self::fetch_ticket(&mut tx, id).await?;
        let changed = if on {
            sqlx::query(
                "INSERT INTO ticket_collaborators (ticket_id, agent_id, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (ticket_id, agent_id) DO NOTHING",
            )
            .bind(id)
            .bind(agent)
            .bind(now)
            .execute(&mut *tx)
            .await?
        } else {
            sqlx::query("DELETE FROM ticket_collaborators WHERE ticket_id = $1 AND agent_id = $2")
                .bind(id)
                .bind(agent)
                .execute(&mut *tx)
                .await?
        };
        if changed.rows_affected() == 0 {
            return Ok(false);
        }
        let mut next = current.clone();
        next.version += 1;
        next.updated_at = now;
        bump_version(&mut tx, &next, current.version).await?;
        let kind = if on {
            "collaborator_added"
        } else {
            "collaborator_removed"
        };
        Self::append_history(
            &mut tx,
            &next,
            kind,
            actor,
            serde_json::json!({ "agent_id": agent }),
        )
        .await?;
        let (old, new) = if on {
            (String::new(), agent.to_string())
        } else {
            (agent.to_string(), String::new())
        };
        let event = ev::TicketUpdated {
            ticket_id: id.to_string(),
            actor: actor.as_str().to_owned(),
            changes: vec![ev::FieldChange {
                field: "collaborator".into(),
                old_value: old,
                new_value: new,
            }],
        };
        Self::ticket_event(&mut tx, &next, "ticket.updated", event.encode_to_vec()).await?;
        self.commit(tx).await?;
        Ok(true)
    }

    async fn collaborators(&self, id: TicketId) -> Result<Vec<AgentId>, TicketError> {
        self.agents_of(id, "ticket_collaborators").await
    }

    async fn create_template(
        &self,
        template: NewTemplate,
        actor: &Actor,
    ) -> Result<Template, TicketError> {
        let mut tx = self.db.begin_write().await?;
        Self::require_tenant(&mut tx, template.tenant_id).await?;
        Self::require_queues_in(&mut tx, template.tenant_id, &template.queue_ids).await?;
        let stored = Template {
            id: TemplateId::new(),
            tenant_id: template.tenant_id,
            name: template.name,
            kind: template.kind,
            subject: template.subject,
            body: template.body,
            queue_ids: template.queue_ids,
            language: template.language,
            created_at: docket_platform::time::now_micros(),
        };
        sqlx::query(
            "INSERT INTO templates (id, tenant_id, name, kind, subject, body, queue_ids, created_at, language) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(stored.id)
        .bind(stored.tenant_id)
        .bind(&stored.name)
        .bind(stored.kind.as_str())
        .bind(&stored.subject)
        .bind(&stored.body)
        .bind(to_json(&stored.queue_ids)?)
        .bind(stored.created_at)
        .bind(&stored.language)
        .execute(&mut *tx)
        .await
        .map_err(exists_already(|| format!("the tenant has a template `{}` already", stored.name)))?;
        self.commit(tx).await?;
        tracing::info!(template = %stored.id, actor = %actor.as_str(), "template created");
        Ok(stored)
    }

    async fn list_templates(
        &self,
        tenant_id: TenantId,
        queue: Option<QueueId>,
    ) -> Result<Vec<Template>, TicketError> {
        let all = sqlx::query(
            "SELECT id, tenant_id, name, kind, subject, body, queue_ids, created_at, language FROM templates \
             WHERE tenant_id = $1 ORDER BY name, id",
        )
        .bind(tenant_id)
        .fetch_all(self.db.pool())
        .await?
        .iter()
        .map(template_from_row)
        .collect::<Result<Vec<_>, _>>()?;
        Ok(match queue {
            Some(q) => all.into_iter().filter(|t| t.offered_in(q)).collect(),
            None => all,
        })
    }

    async fn get_template(&self, id: TemplateId) -> Result<Template, TicketError> {
        let row = sqlx::query(
            "SELECT id, tenant_id, name, kind, subject, body, queue_ids, created_at, language FROM templates WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.db.pool())
        .await?
        .ok_or_else(|| TicketError::not_found("template", id))?;
        template_from_row(&row)
    }

    async fn update_template(
        &self,
        id: TemplateId,
        template: NewTemplate,
        actor: &Actor,
    ) -> Result<Template, TicketError> {
        let before = self.get_template(id).await?;
        let mut tx = self.db.begin_write().await?;
        Self::require_queues_in(&mut tx, before.tenant_id, &template.queue_ids).await?;
        let stored = Template {
            name: template.name,
            kind: template.kind,
            subject: template.subject,
            body: template.body,
            queue_ids: template.queue_ids,
            language: template.language,
            ..before
        };
        let updated = sqlx::query(
            "UPDATE templates SET name = $1, kind = $2, subject = $3, body = $4, queue_ids = $5, \
             language = $6 WHERE id = $7",
        )
        .bind(&stored.name)
        .bind(stored.kind.as_str())
        .bind(&stored.subject)
        .bind(&stored.body)
        .bind(to_json(&stored.queue_ids)?)
        .bind(&stored.language)
        .bind(stored.id)
        .execute(&mut *tx)
        .await
        .map_err(exists_already(|| {
            format!("the tenant has a template `{}` already", stored.name)
        }))?;
        if updated.rows_affected() == 0 {
            return Err(TicketError::not_found("template", id));
        }
        self.commit(tx).await?;
        tracing::info!(template = %stored.id, actor = %actor.as_str(), "template changed");
        Ok(stored)
    }

    async fn delete_template(&self, id: TemplateId, actor: &Actor) -> Result<(), TicketError> {
        let mut tx = self.db.begin_write().await?;
        let deleted = sqlx::query("DELETE FROM templates WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if deleted.rows_affected() == 0 {
            return Err(TicketError::not_found("template", id));
        }
        self.commit(tx).await?;
        tracing::info!(template = %id, actor = %actor.as_str(), "template deleted");
        Ok(())
    }

    async fn retention_policy(&self, tenant_id: TenantId) -> Result<RetentionPolicy, TicketError> {
        let row: Option<(i64, String)> =
            sqlx::query_as("SELECT days, action FROM tenant_retention WHERE tenant_id = $1")
                .bind(tenant_id)
                .fetch_optional(self.db.pool())
                .await?;
        match row {
            Some((days, action)) => Ok(RetentionPolicy {
                days: u32::try_from(days).map_err(|e| TicketError::Corrupt(e.to_string()))?,
                action: action
                    .parse::<RetentionAction>()
                    .map_err(|e| TicketError::Corrupt(e.to_string()))?,
            }),
            None => Ok(RetentionPolicy::DEFAULT),
        }
    }

    async fn set_retention_policy(
        &self,
        tenant_id: TenantId,
        policy: RetentionPolicy,
        actor: &Actor,
    ) -> Result<(), TicketError> {
        let mut tx = self.db.begin_write().await?;
        Self::require_tenant(&mut tx, tenant_id).await?;
        sqlx::query(
            "INSERT INTO tenant_retention (tenant_id, days, action) VALUES ($1, $2, $3) \
             ON CONFLICT (tenant_id) DO UPDATE SET days = excluded.days, action = excluded.action",
        )
        .bind(tenant_id)
        .bind(i64::from(policy.days))
        .bind(policy.action.as_str())
        .execute(&mut *tx)
        .await?;
        self.commit(tx).await?;
        tracing::info!(tenant_id = %tenant_id, days = policy.days, action = policy.action.as_str(), actor = %actor.as_str(), "retention policy set");
        Ok(())
    }

    async fn set_retention_hold(
        &self,
        id: TicketId,
        legal_hold: Option<bool>,
        objection: Option<bool>,
        actor: &Actor,
    ) -> Result<Ticket, TicketError> {
        let now = docket_platform::time::now_micros();
        let mut tx = self.db.begin_write().await?;
        let current = Self::fetch_ticket(&mut tx, id).await?;
        let mut next = current.clone();
        next.legal_hold = legal_hold.unwrap_or(current.legal_hold);
        next.retention_objection = objection.unwrap_or(current.retention_objection);
        if next == current {
            return Ok(current);
        }
        next.version += 1;
        next.updated_at = now;
        let updated = sqlx::query(
            "UPDATE tickets SET legal_hold = $1, retention_objection = $2, version = $3, updated_at = $4 \
             WHERE id = $5 AND version = $6",
        )
        .bind(i64::from(next.legal_hold))
        .bind(i64::from(next.retention_objection))
        .bind(version_i64(next.version)?)
        .bind(now)
        .bind(id)
        .bind(version_i64(current.version)?)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() != 1 {
            return Err(TicketError::Conflict(format!(
                "ticket {id} was changed meanwhile; try again"
            )));
        }
        let mut changes = Vec::new();
        for (field, old, new) in [
            ("legal_hold", current.legal_hold, next.legal_hold),
            (
                "retention_objection",
                current.retention_objection,
                next.retention_objection,
            ),
        ] {
            if old != new {
                changes.push(ev::FieldChange {
                    field: field.into(),
                    old_value: old.to_string(),
                    new_value: new.to_string(),
                });
            }
        }
        let details = serde_json::Value::Object(
            changes
                .iter()
                .map(|c| {
                    (
                        c.field.clone(),
                        serde_json::json!({ "old": c.old_value, "new": c.new_value }),
                    )
                })
                .collect(),
        );
        Self::append_history(&mut tx, &next, "retention_hold", actor, details).await?;
        let event = ev::TicketUpdated {
            ticket_id: id.to_string(),
            actor: actor.as_str().to_owned(),
            changes,
        };
        Self::ticket_event(&mut tx, &next, "ticket.updated", event.encode_to_vec()).await?;
        self.commit(tx).await?;
        Ok(next)
    }

    async fn announce_due(&self, now: Micros, limit: u32) -> Result<Due, TicketError> {
        let mut tx = self.db.begin_write().await?;
        let reminders = Self::announce(&mut tx, DueKind::Reminder, now, limit).await?;
        let escalations = Self::announce(&mut tx, DueKind::Escalation, now, limit).await?;
        self.commit(tx).await?;
        Ok(Due {
            reminders,
            escalations,
        })
    }

    async fn run_retention(
        &self,
        now: Micros,
        dry_run: bool,
        actor: &Actor,
    ) -> Result<RetentionRun, TicketError> {
        let run_id = uuid::Uuid::now_v7();
        if !dry_run {
            // A lease of an hour: one run at a time, whichever replica; a crashed run's lease lapses.
            let mut tx = self.db.begin_write().await?;
            let taken = sqlx::query(
                "UPDATE retention_lease SET holder = $1, until_at = $2 WHERE id = 1 AND until_at < $3",
            )
            .bind(run_id.to_string())
            .bind(now + 3_600_000_000)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            if taken.rows_affected() != 1 {
                return Err(TicketError::Conflict(
                    "another retention run is in progress".into(),
                ));
            }
            tx.commit().await?;
        }
        let result = self.retention_pass(now, dry_run, actor, run_id).await;
        if !dry_run {
            let mut tx = self.db.begin_write().await?;
            sqlx::query(
                "UPDATE retention_lease SET holder = '', until_at = 0 WHERE id = 1 AND holder = $1",
            )
            .bind(run_id.to_string())
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        }
        result
    }

    async fn retention_runs(&self, limit: u32) -> Result<Vec<RetentionRun>, TicketError> {
        let rows = sqlx::query(
            "SELECT id, started_at, finished_at, actor, deleted, anonymised, kept FROM retention_runs \
             ORDER BY started_at DESC, id DESC LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(self.db.pool())
        .await?;
        let corrupt = |e: String| TicketError::Corrupt(format!("retention run: {e}"));
        rows.iter()
            .map(|row| {
                Ok(RetentionRun {
                    id: uuid_of(&get::<String>(row, "id")?)?,
                    started_at: get(row, "started_at")?,
                    finished_at: get(row, "finished_at")?,
                    actor: get(row, "actor")?,
                    deleted: serde_json::from_str(&get::<String>(row, "deleted")?)
                        .map_err(|e| corrupt(e.to_string()))?,
                    anonymised: serde_json::from_str(&get::<String>(row, "anonymised")?)
                        .map_err(|e| corrupt(e.to_string()))?,
                    kept: u64::try_from(get::<i64>(row, "kept")?)
                        .map_err(|e| corrupt(e.to_string()))?,
                    dry_run: false,
                })
            })
            .collect()
    }

    async fn define_state(
        &self,
        tenant_id: TenantId,
        name: &str,
        base: TicketState,
        actor: &Actor,
    ) -> Result<CustomState, TicketError> {
        let name = custom_state_name(name)?;
        if base == TicketState::Merged {
            return Err(TicketError::invalid("only merging makes a ticket merged"));
        }
        let mut tx = self.db.begin_write().await?;
        Self::require_tenant(&mut tx, tenant_id).await?;
        let state = CustomState {
            id: uuid::Uuid::now_v7(),
            tenant_id,
            name,
            base,
            created_at: docket_platform::time::now_micros(),
        };
        sqlx::query(
            "INSERT INTO ticket_states (id, tenant_id, name, base, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(state.id.to_string())
        .bind(tenant_id)
        .bind(&state.name)
        .bind(state.base.as_str())
        .bind(state.created_at)
        .execute(&mut *tx)
        .await
        .map_err(exists_already(|| format!("the tenant has a state `{}` already", state.name)))?;
        self.commit(tx).await?;
        tracing::info!(state = %state.name, actor = %actor.as_str(), "state defined");
        Ok(state)
    }

    async fn custom_states(&self, tenant_id: TenantId) -> Result<Vec<CustomState>, TicketError> {
        let rows: Vec<(String, TenantId, String, String, i64)> = sqlx::query_as(
            "SELECT id, tenant_id, name, base, created_at FROM ticket_states WHERE tenant_id = $1 ORDER BY name, id",
        )
        .bind(tenant_id)
        .fetch_all(self.db.pool())
        .await?;
        rows.into_iter()
            .map(|(id, tenant_id, name, base, created_at)| {
                Ok(CustomState {
                    id: uuid_of(&id)?,
                    tenant_id,
                    name,
                    base: base
                        .parse()
                        .map_err(|e: TicketError| TicketError::Corrupt(e.to_string()))?,
                    created_at,
                })
            })
            .collect()
    }

    async fn watch(&self, id: TicketId, agent: AgentId, on: bool) -> Result<bool, TicketError> {
        self.get_ticket(id).await?;
        let mut tx = self.db.begin_write().await?;
        let changed = if on {
            sqlx::query(
                "INSERT INTO ticket_watchers (ticket_id, agent_id, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (ticket_id, agent_id) DO NOTHING",
            )
            .bind(id)
            .bind(agent)
            .bind(docket_platform::time::now_micros())
            .execute(&mut *tx)
            .await?
        } else {
            sqlx::query("DELETE FROM ticket_watchers WHERE ticket_id = $1 AND agent_id = $2")
                .bind(id)
                .bind(agent)
                .execute(&mut *tx)
                .await?
        };
        self.commit(tx).await?;
        Ok(changed.rows_affected() == 1)
    }

    async fn watchers(&self, id: TicketId) -> Result<Vec<AgentId>, TicketError> {
        self.agents_of(id, "ticket_watchers").await
    }

    async fn links(&self, id: TicketId) -> Result<Vec<LinkedTicket>, TicketError> {
        self.get_ticket(id).await?;
        let rows = sqlx::query(
            "SELECT l.source_id, l.target_id, l.kind, t.id AS other_id, t.number, t.title, t.state, t.queue_id, t.owner_id \
               FROM ticket_links l JOIN tickets t \
                 ON t.id = CASE WHEN l.source_id = $1 THEN l.target_id ELSE l.source_id END \
              WHERE l.source_id = $1 OR l.target_id = $1 \
              ORDER BY t.created_at, t.id",
        )
        .bind(id)
        .fetch_all(self.db.pool())
        .await?;
        let corrupt = |e: TicketError| TicketError::Corrupt(e.to_string());
        rows.iter()
            .map(|row| {
                let kind: LinkKind = get::<String>(row, "kind")?.parse().map_err(corrupt)?;
                let source: TicketId = get(row, "source_id")?;
                let relation = match kind {
                    LinkKind::Related => Relation::Related,
                    LinkKind::ParentChild if source == id => Relation::Child,
                    LinkKind::ParentChild => Relation::Parent,
                };
                Ok(LinkedTicket {
                    relation,
                    ticket_id: get(row, "other_id")?,
                    number: get::<String>(row, "number")?.parse().map_err(corrupt)?,
                    title: get(row, "title")?,
                    state: get::<String>(row, "state")?.parse().map_err(corrupt)?,
                    queue_id: get(row, "queue_id")?,
                    owner_id: get(row, "owner_id")?,
                })
            })
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
            .map(|row| {
                Ok(chain::StoredEntry {
                    seq: u64::try_from(get::<i64>(row, "seq")?)
                        .map_err(|e| TicketError::Corrupt(e.to_string()))?,
                    kind: get(row, "kind")?,
                    actor: get(row, "actor")?,
                    occurred_at: get(row, "occurred_at")?,
                    details: get(row, "details")?,
                    prev_hash: get(row, "prev_hash")?,
                    hash: get(row, "hash")?,
                })
            })
            .collect::<Result<Vec<_>, TicketError>>()?;
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

    async fn save_search(&self, search: NewSavedSearch) -> Result<SavedSearch, TicketError> {
        let stored = SavedSearch {
            id: SavedSearchId::new(),
            agent_id: search.agent_id,
            name: search.name,
            filter: search.filter,
            sort: search.sort,
            descending: search.descending,
            created_at: docket_platform::time::now_micros(),
        };
        let filter = serde_json::to_string(&stored.filter)
            .map_err(|e| TicketError::Corrupt(format!("saved search filter: {e}")))?;
        let mut tx = self.db.begin_write().await?;
        sqlx::query(
            "INSERT INTO saved_searches (id, agent_id, name, filter, sort, descending, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(stored.id)
        .bind(stored.agent_id)
        .bind(&stored.name)
        .bind(filter)
        .bind(stored.sort.as_str())
        .bind(i64::from(stored.descending))
        .bind(stored.created_at)
        .execute(&mut *tx)
        .await
        .map_err(exists_already(|| {
            format!("you have a saved search named `{}` already", stored.name)
        }))?;
        tx.commit().await?;
        Ok(stored)
    }

    async fn saved_searches(&self, agent: AgentId) -> Result<Vec<SavedSearch>, TicketError> {
        sqlx::query(
            "SELECT id, agent_id, name, filter, sort, descending, created_at FROM saved_searches \
             WHERE agent_id = $1 ORDER BY name, id",
        )
        .bind(agent)
        .fetch_all(self.db.pool())
        .await?
        .iter()
        .map(saved_search_from_row)
        .collect()
    }

    async fn saved_search(
        &self,
        id: SavedSearchId,
        agent: AgentId,
    ) -> Result<SavedSearch, TicketError> {
        let row = sqlx::query(
            "SELECT id, agent_id, name, filter, sort, descending, created_at FROM saved_searches \
             WHERE id = $1 AND agent_id = $2",
        )
        .bind(id)
        .bind(agent)
        .fetch_optional(self.db.pool())
        .await?
        .ok_or_else(|| TicketError::not_found("saved search", id))?;
        saved_search_from_row(&row)
    }

    async fn delete_saved_search(
        &self,
        id: SavedSearchId,
        agent: AgentId,
    ) -> Result<(), TicketError> {
        let mut tx = self.db.begin_write().await?;
        let deleted = sqlx::query("DELETE FROM saved_searches WHERE id = $1 AND agent_id = $2")
            .bind(id)
            .bind(agent)
            .execute(&mut *tx)
            .await?;
        if deleted.rows_affected() == 0 {
            return Err(TicketError::not_found("saved search", id));
        }
        tx.commit().await?;
        Ok(())
    }

    async fn ticket_ids(
        &self,
        after: Option<TicketId>,
        limit: u32,
    ) -> Result<Vec<TicketId>, TicketError> {
        let rows: Vec<TicketId> = match after {
            Some(after) => {
                sqlx::query_scalar("SELECT id FROM tickets WHERE id > $1 ORDER BY id LIMIT $2")
                    .bind(after)
                    .bind(i64::from(limit))
                    .fetch_all(self.db.pool())
                    .await?
            }
            None => {
                sqlx::query_scalar("SELECT id FROM tickets ORDER BY id LIMIT $1")
                    .bind(i64::from(limit))
                    .fetch_all(self.db.pool())
                    .await?
            }
        };
        Ok(rows)
    }
}

impl SqlTicketStore {
    /// Creates a ticket (with its first article, and linked to its parent) in the caller's
    /// transaction.
    async fn create_in_tx(
        &self,
        tx: &mut WriteTx,
        new: NewTicket,
        actor: &Actor,
        now: Micros,
    ) -> Result<(Ticket, Option<Article>), TicketError> {
        let tenant_id = Self::queue_in_tenant(tx, new.queue_id).await?;
        // A ticket for an address (mail, a phone call) belongs to the customer user with that
        // address, when exactly one of the tenant's has it.
        let customer_id = match new.customer_id {
            Some(id) => Some(id),
            None if !new.contact.email.trim().is_empty() => {
                let ids: Vec<CustomerId> = sqlx::query_scalar(
                    "SELECT id FROM customers WHERE tenant_id = $1 AND lower(email) = lower($2) LIMIT 2",
                )
                .bind(tenant_id)
                .bind(new.contact.email.trim())
                .fetch_all(&mut **tx)
                .await?;
                match ids.as_slice() {
                    [one] => Some(*one),
                    _ => None,
                }
            }
            None => None,
        };
        let (company_id, known) = match customer_id {
            Some(customer) => {
                let row = sqlx::query(
                    "SELECT tenant_id, company_id, name, email, phone, organisation FROM customers WHERE id = $1",
                )
                .bind(customer)
                .fetch_optional(&mut **tx)
                .await?;
                match row {
                    Some(row) if get::<TenantId>(&row, "tenant_id")? == tenant_id => (
                        get(&row, "company_id")?,
                        Contact {
                            name: get(&row, "name")?,
                            email: get(&row, "email")?,
                            phone: get(&row, "phone")?,
                            organisation: get(&row, "organisation")?,
                        },
                    ),
                    // Another tenant's customer is as unknown here as one that does not exist.
                    _ => return Err(TicketError::not_found("customer", customer)),
                }
            }
            None => (None, Contact::default()),
        };
        // What the agent took down wins; else the customer's record.
        let contact = if new.contact.is_empty() {
            known
        } else {
            new.contact
        };
        if let Some(t) = new.type_id {
            Self::require_entry(tx, Catalogue::TicketTypes, tenant_id, *t.as_uuid()).await?;
        }
        if let Some(s) = new.service_id {
            Self::require_entry(tx, Catalogue::Services, tenant_id, *s.as_uuid()).await?;
        }
        let number = self.next_ticket_number(tx, now).await?;
        let mut ticket = Ticket {
            id: TicketId::new(),
            tenant_id,
            number,
            queue_id: new.queue_id,
            title: new.title,
            state: TicketState::New,
            pending_until: None,
            locked: false,
            priority: new.priority,
            owner_id: None,
            customer: new.customer,
            customer_id,
            company_id,
            type_id: new.type_id,
            service_id: new.service_id,
            responsible_id: None,
            desired_at: new.desired_at,
            target_at: None,
            created_at: now,
            updated_at: now,
            closed_at: None,
            merged_into: None,
            contact,
            time_minutes: 0,
            custom_state: None,
            legal_hold: false,
            retention_objection: false,
            version: 1,
        };
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO tickets ({TICKET_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31)"
        )))
        .bind(ticket.id)
        .bind(ticket.tenant_id)
        .bind(ticket.number.as_str())
        .bind(ticket.queue_id)
        .bind(&ticket.title)
        .bind(ticket.state.as_str())
        .bind(ticket.pending_until)
        .bind(i64::from(ticket.locked))
        .bind(i64::from(ticket.priority.get()))
        .bind(ticket.owner_id)
        .bind(ticket.customer.as_deref())
        .bind(ticket.customer_id)
        .bind(ticket.company_id)
        .bind(ticket.type_id)
        .bind(ticket.service_id)
        .bind(ticket.responsible_id)
        .bind(ticket.desired_at)
        .bind(ticket.target_at)
        .bind(ticket.created_at)
        .bind(ticket.updated_at)
        .bind(ticket.closed_at)
        .bind(ticket.merged_into)
        .bind(&ticket.contact.name)
        .bind(&ticket.contact.email)
        .bind(&ticket.contact.phone)
        .bind(&ticket.contact.organisation)
        .bind(0_i64)
        .bind(ticket.custom_state.as_deref())
        .bind(0_i64)
        .bind(0_i64)
        .bind(1_i64)
        .execute(&mut **tx)
        .await?;
        Self::append_history(
            tx,
            &ticket,
            "created",
            actor,
            serde_json::json!({
                "number": ticket.number, "queue_id": ticket.queue_id, "title": ticket.title,
                "state": ticket.state, "priority": ticket.priority, "customer": ticket.customer,
                "customer_id": ticket.customer_id, "company_id": ticket.company_id,
                "type_id": ticket.type_id, "service_id": ticket.service_id,
                "desired_at": ticket.desired_at,
            }),
        )
        .await?;
        let created = ev::TicketCreated {
            ticket_id: ticket.id.to_string(),
            number: ticket.number.to_string(),
            queue_id: ticket.queue_id.to_string(),
            title: ticket.title.clone(),
            state: ticket.state.to_string(),
            priority: u32::from(ticket.priority.get()),
            customer: ticket.customer.clone().unwrap_or_default(),
            actor: actor.as_str().to_owned(),
            customer_id: ticket
                .customer_id
                .map(|c| c.to_string())
                .unwrap_or_default(),
            company_id: ticket.company_id.map(|c| c.to_string()).unwrap_or_default(),
        };
        Self::ticket_event(tx, &ticket, "ticket.created", created.encode_to_vec()).await?;
        let mut first = None;
        if let Some(article) = new.article {
            ticket.version += 1;
            let stored = self
                .article_in_tx(tx, &ticket, &article, actor, now)
                .await?;
            ticket.time_minutes += u64::from(stored.time_minutes);
            first = Some(stored);
            sqlx::query("UPDATE tickets SET version = $1 WHERE id = $2")
                .bind(version_i64(ticket.version)?)
                .bind(ticket.id)
                .execute(&mut **tx)
                .await?;
        }
        if let Some(parent) = new.parent_id {
            ticket = Self::link_in_tx(tx, parent, ticket.id, LinkKind::ParentChild, actor, now)
                .await?
                .1;
        }
        Ok((ticket, first))
    }

    /// Applies `update` to `current` (read in this transaction): the row, a history entry and
    /// the event. Returns `current` unchanged when the update changes nothing.
    async fn update_in_tx(
        tx: &mut WriteTx,
        current: Ticket,
        update: TicketUpdate,
        actor: &Actor,
        now: Micros,
    ) -> Result<Ticket, TicketError> {
        let id = current.id;
        let owner = update.owner;
        if let Some(expected) = update.expected_version
            && expected != current.version
        {
            return Err(TicketError::Conflict(format!(
                "ticket {id} is at version {}, not {expected}: it was changed meanwhile; reload and try again",
                current.version
            )));
        }
        let mut next = current.clone();
        let mut changes = Vec::new();
        let mut change = |field: &str, old: String, new: String| {
            if old != new {
                changes.push(ev::FieldChange {
                    field: field.to_owned(),
                    old_value: old,
                    new_value: new,
                });
            }
        };
        let mut update = update;
        if let Some(name) = update.custom_state.take() {
            if update.state.is_some() {
                return Err(TicketError::invalid(
                    "give a built-in state or one of the tenant's own, not both",
                ));
            }
            let base: Option<String> = sqlx::query_scalar(
                "SELECT base FROM ticket_states WHERE tenant_id = $1 AND name = $2",
            )
            .bind(current.tenant_id)
            .bind(name.trim())
            .fetch_optional(&mut **tx)
            .await?;
            let base = base.ok_or_else(|| TicketError::not_found("state", name.trim()))?;
            update.state = Some(
                base.parse()
                    .map_err(|e: TicketError| TicketError::Corrupt(e.to_string()))?,
            );
            next.custom_state = Some(name.trim().to_owned());
        } else if update.state.is_some() {
            next.custom_state = None;
        }
        change(
            "custom_state",
            opt_text(current.custom_state.as_deref()),
            opt_text(next.custom_state.as_deref()),
        );
        if let Some(state) = update.state {
            if current.state == TicketState::Merged && state != TicketState::Merged {
                return Err(TicketError::Conflict(format!(
                    "ticket {} was merged into another ticket: work on that one",
                    current.number
                )));
            }
            if state == TicketState::Merged && current.state != TicketState::Merged {
                return Err(TicketError::invalid(
                    "a ticket becomes `merged` by merging it into another, not by setting the state",
                ));
            }
            change("state", current.state.to_string(), state.to_string());
            next.state = state;
        }
        // A pending state needs the date it is due; no other state has one.
        next.pending_until = match (next.state.is_pending(), update.pending_until) {
            (true, Some(at)) => Some(at),
            (true, None) if current.state.is_pending() => current.pending_until,
            (true, None) => {
                return Err(TicketError::invalid(format!(
                    "the state `{}` needs pending_until, the date it is due",
                    next.state
                )));
            }
            (false, Some(_)) => {
                return Err(TicketError::invalid(format!(
                    "pending_until is only for pending states, not `{}`",
                    next.state
                )));
            }
            (false, None) => None,
        };
        change(
            "pending_until",
            opt_text(current.pending_until),
            opt_text(next.pending_until),
        );
        if let Some(priority) = update.priority {
            change(
                "priority",
                current.priority.get().to_string(),
                priority.get().to_string(),
            );
            next.priority = priority;
        }
        if let Some(owner) = owner {
            change("owner_id", opt_text(current.owner_id), opt_text(owner));
            next.owner_id = owner;
        }
        // Classification, with entries of the ticket's own tenant only.
        let classification = [
            (
                Catalogue::TicketTypes,
                "type_id",
                current.type_id.map(|t| *t.as_uuid()),
                update.type_id.map(|t| t.map(|t| *t.as_uuid())),
            ),
            (
                Catalogue::Services,
                "service_id",
                current.service_id.map(|s| *s.as_uuid()),
                update.service_id.map(|s| s.map(|s| *s.as_uuid())),
            ),
        ];
        for (catalogue, field, old, new) in classification {
            let Some(new) = new else { continue };
            if let Some(id) = new {
                Self::require_entry(tx, catalogue, current.tenant_id, id).await?;
            }
            change(field, opt_text(old), opt_text(new));
        }
        if let Some(type_id) = update.type_id {
            next.type_id = type_id;
        }
        if let Some(service_id) = update.service_id {
            next.service_id = service_id;
        }
        if let Some(responsible) = update.responsible {
            let text = |o: Option<AgentId>| o.map(|o| o.to_string()).unwrap_or_default();
            change(
                "responsible_id",
                text(current.responsible_id),
                text(responsible),
            );
            next.responsible_id = responsible;
        }
        if let Some(desired) = update.desired_at {
            change(
                "desired_at",
                opt_text(current.desired_at),
                opt_text(desired),
            );
            next.desired_at = desired;
        }
        if let Some(contact) = update.contact {
            for (field, old, new) in [
                ("contact_name", &current.contact.name, &contact.name),
                ("contact_email", &current.contact.email, &contact.email),
                ("contact_phone", &current.contact.phone, &contact.phone),
                (
                    "contact_organisation",
                    &current.contact.organisation,
                    &contact.organisation,
                ),
            ] {
                change(field, old.clone(), new.clone());
            }
            next.contact = contact;
        }
        if let Some(target) = update.target_at {
            change("target_at", opt_text(current.target_at), opt_text(target));
            next.target_at = target;
        }
        // The owner locks a ticket while working on it; releasing or closing it (or merging,
        // removing) unlocks it.
        next.locked = update
            .locked
            .unwrap_or(current.locked && next.owner_id.is_some())
            && !next.state.is_final();
        if next.locked && next.owner_id.is_none() {
            return Err(TicketError::invalid(
                "a locked ticket needs an owner: give owner_id, or take the ticket",
            ));
        }
        change(
            "locked",
            current.locked.to_string(),
            next.locked.to_string(),
        );
        if let Some(queue_id) = update.queue_id {
            let target_tenant = Self::queue_in_tenant(tx, queue_id).await?;
            if target_tenant != current.tenant_id {
                // A queue of another tenant is invisible from here.
                return Err(TicketError::not_found("queue", queue_id));
            }
            change(
                "queue_id",
                current.queue_id.to_string(),
                queue_id.to_string(),
            );
            next.queue_id = queue_id;
        }
        if changes.is_empty() {
            return Ok(current);
        }
        next.version = current.version + 1;
        next.updated_at = now;
        // Closing dates the close; reopening clears it (closed to closed keeps the first date).
        let closed = |t: &Ticket| t.state.state_type() == StateType::Closed;
        next.closed_at = match (closed(&current), closed(&next)) {
            (false, true) => Some(now),
            (_, false) => None,
            (true, true) => current.closed_at,
        };
        let updated = sqlx::query(
            "UPDATE tickets SET state = $1, priority = $2, owner_id = $3, queue_id = $4, updated_at = $5, version = $6, \
             pending_until = $9, locked = $10, type_id = $11, service_id = $12, \
             responsible_id = $13, desired_at = $14, target_at = $15, closed_at = $16, \
             contact_name = $17, contact_email = $18, contact_phone = $19, contact_organisation = $20, \
             custom_state = $21 WHERE id = $7 AND version = $8",
        )
        .bind(next.state.as_str())
        .bind(i64::from(next.priority.get()))
        .bind(next.owner_id)
        .bind(next.queue_id)
        .bind(next.updated_at)
        .bind(version_i64(next.version)?)
        .bind(id)
        .bind(version_i64(current.version)?)
        .bind(next.pending_until)
        .bind(i64::from(next.locked))
        .bind(next.type_id)
        .bind(next.service_id)
        .bind(next.responsible_id)
        .bind(next.desired_at)
        .bind(next.target_at)
        .bind(next.closed_at)
        .bind(&next.contact.name)
        .bind(&next.contact.email)
        .bind(&next.contact.phone)
        .bind(&next.contact.organisation)
        .bind(next.custom_state.as_deref())
        .execute(&mut **tx)
        .await?;
        if updated.rows_affected() != 1 {
            return Err(TicketError::Conflict(format!(
                "ticket {id} was changed meanwhile; reload and try again"
            )));
        }
        let details = serde_json::Value::Object(
            changes
                .iter()
                .map(|c| {
                    (
                        c.field.clone(),
                        serde_json::json!({ "old": c.old_value, "new": c.new_value }),
                    )
                })
                .collect(),
        );
        Self::append_history(tx, &next, "updated", actor, details).await?;
        let event = ev::TicketUpdated {
            ticket_id: id.to_string(),
            actor: actor.as_str().to_owned(),
            changes,
        };
        Self::ticket_event(tx, &next, "ticket.updated", event.encode_to_vec()).await?;
        Ok(next)
    }

    /// What a customer's reply does to the ticket it answers: a pending ticket opens again; a
    /// closed one follows its queue's policy (reopen, a new linked ticket, or a refusal); a merged
    /// or removed one takes no replies.
    async fn follow_up(
        &self,
        tx: &mut WriteTx,
        ticket: Ticket,
        article: NewArticle,
        actor: &Actor,
        now: Micros,
    ) -> Result<FollowUpOutcome, TicketError> {
        let policy = match ticket.state.state_type() {
            StateType::New | StateType::Open => {
                return Ok(FollowUpOutcome::Continue(Box::new(ticket), article));
            }
            StateType::PendingReminder | StateType::PendingAuto => FollowUp::Reopen,
            StateType::Closed => Self::fetch_queue(tx, ticket.queue_id).await?.follow_up,
            StateType::Merged | StateType::Removed => {
                return Err(TicketError::Conflict(format!(
                    "ticket {} is {} and takes no replies",
                    ticket.number, ticket.state
                )));
            }
        };
        match policy {
            FollowUp::Reopen => {
                let reopen = TicketUpdate {
                    state: Some(TicketState::Open),
                    ..TicketUpdate::default()
                };
                let reopened = Self::update_in_tx(tx, ticket, reopen, actor, now).await?;
                Ok(FollowUpOutcome::Continue(Box::new(reopened), article))
            }
            FollowUp::Reject => Err(TicketError::Conflict(format!(
                "ticket {} is closed and its queue takes no replies to closed tickets: please open a new ticket",
                ticket.number
            ))),
            FollowUp::NewTicket => {
                let new = NewTicket {
                    queue_id: ticket.queue_id,
                    title: ticket.title.clone(),
                    priority: ticket.priority,
                    customer: ticket.customer.clone(),
                    customer_id: ticket.customer_id,
                    type_id: ticket.type_id,
                    service_id: ticket.service_id,
                    parent_id: None,
                    desired_at: None,
                    contact: ticket.contact.clone(),
                    article: Some(article),
                };
                let (created, stored) = self.create_in_tx(tx, new, actor, now).await?;
                Self::link_in_tx(tx, ticket.id, created.id, LinkKind::Related, actor, now).await?;
                let stored = stored
                    .ok_or_else(|| TicketError::Corrupt("follow-up without its article".into()))?;
                Ok(FollowUpOutcome::NewTicket(stored))
            }
        }
    }

    async fn tags_in<'e, E: sqlx::Executor<'e, Database = Any>>(
        db: E,
        id: TicketId,
    ) -> Result<Vec<Tag>, TicketError> {
        let rows: Vec<String> =
            sqlx::query_scalar("SELECT tag FROM ticket_tags WHERE ticket_id = $1")
                .bind(id)
                .fetch_all(db)
                .await?;
        let mut tags = rows
            .iter()
            .map(|t| Tag::parse(t).map_err(|e| TicketError::Corrupt(e.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        tags.sort();
        Ok(tags)
    }

    async fn values_in<'e, E: sqlx::Executor<'e, Database = Any>>(
        db: E,
        id: TicketId,
    ) -> Result<Vec<FieldValue>, TicketError> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT cf.key, v.value FROM ticket_field_values v JOIN custom_fields cf ON cf.id = v.field_id \
             WHERE v.ticket_id = $1",
        )
        .bind(id)
        .fetch_all(db)
        .await?;
        // Sorted here, not by the engines' collations, so both stores answer alike.
        let mut by_key: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        for (key, value) in rows {
            by_key.entry(key).or_default().push(value);
        }
        Ok(by_key
            .into_iter()
            .map(|(key, mut values)| {
                values.sort();
                FieldValue { key, values }
            })
            .collect())
    }

    /// The agents a ticket has in `table` (watchers, collaborators), in the order they came.
    async fn agents_of(
        &self,
        id: TicketId,
        table: &'static str,
    ) -> Result<Vec<AgentId>, TicketError> {
        self.get_ticket(id).await?;
        Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT agent_id FROM {table} WHERE ticket_id = $1 ORDER BY created_at, agent_id"
        )))
        .bind(id)
        .fetch_all(self.db.pool())
        .await?)
    }

    /// One retention pass over every tenant, ticket by ticket (each in its own transaction).
    async fn retention_pass(
        &self,
        now: Micros,
        dry_run: bool,
        actor: &Actor,
        run_id: uuid::Uuid,
    ) -> Result<RetentionRun, TicketError> {
        let mut run = RetentionRun {
            id: run_id,
            started_at: now,
            finished_at: now,
            actor: actor.as_str().to_owned(),
            deleted: Vec::new(),
            anonymised: Vec::new(),
            kept: 0,
            dry_run,
        };
        let done_states: Vec<String> = TicketState::ALL
            .iter()
            .filter(|s| s.is_final())
            .map(|s| s.to_string())
            .collect();
        for tenant in self.list_tenants().await? {
            let policy = self.retention_policy(tenant.id).await?;
            let cutoff = policy.cutoff(now);
            let mut sql = Filter::default();
            let states = sql.list(&done_states);
            let (tenant_mark, cutoff_mark) = (sql.text(tenant.id), sql.int(cutoff));
            // Closed tickets by their closing date; merged and removed ones by their last change.
            let due = format!(
                "tenant_id = {tenant_mark} AND anonymised = 0 AND state IN ({states}) AND COALESCE(closed_at, updated_at) < {cutoff_mark}"
            );
            let kept_sql = format!(
                "SELECT COUNT(*) FROM tickets WHERE {due} AND (legal_hold <> 0 OR retention_objection <> 0)"
            );
            let ids_sql = format!(
                "SELECT id, number FROM tickets WHERE {due} AND legal_hold = 0 AND retention_objection = 0 ORDER BY id"
            );
            let kept: i64 = {
                let mut q = sqlx::query_scalar(sqlx::AssertSqlSafe(kept_sql));
                for v in &sql.values {
                    q = match v {
                        Value::Text(t) => q.bind(t.clone()),
                        Value::Int(i) => q.bind(*i),
                    };
                }
                q.fetch_one(self.db.pool()).await?
            };
            run.kept += u64::try_from(kept).unwrap_or(0);
            let due_tickets: Vec<(TicketId, String)> = {
                let mut q = sqlx::query_as(sqlx::AssertSqlSafe(ids_sql));
                for v in &sql.values {
                    q = match v {
                        Value::Text(t) => q.bind(t.clone()),
                        Value::Int(i) => q.bind(*i),
                    };
                }
                q.fetch_all(self.db.pool()).await?
            };
            for (id, number) in due_tickets {
                if !dry_run {
                    self.remove_ticket(id, policy.action, actor, run_id).await?;
                }
                match policy.action {
                    RetentionAction::Delete => run.deleted.push(number),
                    RetentionAction::Anonymise => run.anonymised.push(number),
                }
            }
        }
        run.finished_at = docket_platform::time::now_micros().max(now);
        if !dry_run {
            let mut tx = self.db.begin_write().await?;
            // Contents no attachment refers to any more.
            sqlx::query(
                "DELETE FROM attachment_blobs WHERE sha256 NOT IN (SELECT sha256 FROM attachments)",
            )
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO retention_runs (id, started_at, finished_at, actor, deleted, anonymised, kept) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(run.id.to_string())
            .bind(run.started_at)
            .bind(run.finished_at)
            .bind(&run.actor)
            .bind(to_json(&run.deleted)?)
            .bind(to_json(&run.anonymised)?)
            .bind(i64::try_from(run.kept).unwrap_or(i64::MAX))
            .execute(&mut *tx)
            .await?;
            self.commit(tx).await?;
            tracing::info!(run = %run.id, deleted = run.deleted.len(), anonymised = run.anonymised.len(), kept = run.kept, "retention run");
        }
        Ok(run)
    }

    /// Deletes or anonymises one ticket in one transaction, through the history gate.
    async fn remove_ticket(
        &self,
        id: TicketId,
        action: RetentionAction,
        actor: &Actor,
        run_id: uuid::Uuid,
    ) -> Result<(), TicketError> {
        let now = docket_platform::time::now_micros();
        let mut tx = self.db.begin_write().await?;
        let ticket = Self::fetch_ticket(&mut tx, id).await?;
        sqlx::query("INSERT INTO retention_gate (ticket_id) VALUES ($1)")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        // What holds personal data goes in both cases.
        for statement in [
            "DELETE FROM attachments WHERE ticket_id = $1",
            "DELETE FROM ticket_field_values WHERE ticket_id = $1",
            "DELETE FROM articles WHERE ticket_id = $1",
            "DELETE FROM ticket_history WHERE ticket_id = $1",
        ] {
            sqlx::query(statement).bind(id).execute(&mut *tx).await?;
        }
        let event_type = match action {
            RetentionAction::Delete => {
                for statement in [
                    "DELETE FROM ticket_tags WHERE ticket_id = $1",
                    "DELETE FROM ticket_watchers WHERE ticket_id = $1",
                    "DELETE FROM ticket_collaborators WHERE ticket_id = $1",
                    "DELETE FROM ticket_links WHERE source_id = $1 OR target_id = $1",
                    "UPDATE tickets SET merged_into = NULL WHERE merged_into = $1",
                    "DELETE FROM tickets WHERE id = $1",
                ] {
                    sqlx::query(statement).bind(id).execute(&mut *tx).await?;
                }
                "ticket.deleted"
            }
            RetentionAction::Anonymise => {
                sqlx::query(
                    "UPDATE tickets SET title = 'Anonymised', customer = NULL, customer_id = NULL, \
                     contact_name = '', contact_email = '', contact_phone = '', contact_organisation = '', \
                     anonymised = 1, version = 1, updated_at = $1 WHERE id = $2",
                )
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                // A new chain of one entry: what remains, and why.
                let anonymised = Self::fetch_ticket(&mut tx, id).await?;
                Self::append_history(
                    &mut tx,
                    &anonymised,
                    "anonymised",
                    actor,
                    serde_json::json!({ "retention_run": run_id, "closed_at": ticket.closed_at }),
                )
                .await?;
                "ticket.anonymised"
            }
        };
        sqlx::query("DELETE FROM retention_gate WHERE ticket_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let aggregate = ("ticket", id.to_string(), ticket.version + 1);
        let event = ev::TicketUpdated {
            ticket_id: id.to_string(),
            actor: actor.as_str().to_owned(),
            changes: vec![ev::FieldChange {
                field: "retention".into(),
                old_value: String::new(),
                new_value: action.as_str().into(),
            }],
        };
        Self::append_event(
            &mut tx,
            event_type,
            ticket.tenant_id,
            aggregate,
            event.encode_to_vec(),
        )
        .await?;
        self.commit(tx).await
    }

    /// Inserts an article for `ticket` (already at its new version), with history and event.
    async fn article_in_tx(
        &self,
        tx: &mut WriteTx,
        ticket: &Ticket,
        article: &NewArticle,
        actor: &Actor,
        now: Micros,
    ) -> Result<Article, TicketError> {
        let stored = Self::insert_article(tx, ticket.id, article, actor, now).await?;
        let mut at = ticket.clone();
        at.updated_at = now;
        Self::append_history(tx, &at, "article_added", actor, article_details(&stored)).await?;
        let event = ev::ArticleAdded {
            ticket_id: ticket.id.to_string(),
            article_id: stored.id.to_string(),
            sender: stored.sender.to_string(),
            channel: stored.channel.to_string(),
            visible_to_customer: stored.visible_to_customer,
            subject: stored.subject.clone(),
            actor: actor.as_str().to_owned(),
        };
        Self::ticket_event(tx, &at, "ticket.article.added", event.encode_to_vec()).await?;
        Ok(stored)
    }
}

/// Moves a ticket from `previous` to its new version, or fails with a conflict if it moved.
async fn bump_version(tx: &mut WriteTx, ticket: &Ticket, previous: u64) -> Result<(), TicketError> {
    let updated = sqlx::query(
        "UPDATE tickets SET version = $1, updated_at = $2 WHERE id = $3 AND version = $4",
    )
    .bind(version_i64(ticket.version)?)
    .bind(ticket.updated_at)
    .bind(ticket.id)
    .bind(version_i64(previous)?)
    .execute(&mut **tx)
    .await?;
    if updated.rows_affected() == 1 {
        Ok(())
    } else {
        Err(TicketError::Conflict(format!(
            "ticket {} was changed meanwhile; try again",
            ticket.id
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_are_tied_to_their_sort() {
        let c = Cursor {
            sort: "priority",
            descending: true,
            key: 4,
            id: TicketId::new(),
        };
        let token = c.encode();
        assert_eq!(
            Cursor::decode(&token, SortField::Priority, true).unwrap(),
            c
        );
        assert!(Cursor::decode(&token, SortField::Priority, false).is_err());
        assert!(Cursor::decode(&token, SortField::CreatedAt, true).is_err());
        assert!(Cursor::decode("garbage!", SortField::Priority, true).is_err());
        assert!(Cursor::decode("", SortField::Priority, true).is_err());
    }
}
