//! Row mapping shared by the store's modules: the column lists, and each row read into a
//! `FromRow` struct of what the database holds and converted into its domain type (a value that
//! does not convert is `Corrupt`).

use super::*;
use docket_store::{decode, flag};

pub(super) const TICKET_COLUMNS: &str = "id, tenant_id, number, queue_id, title, state, pending_until, locked, priority, owner_id, customer, customer_id, company_id, type_id, service_id, responsible_id, desired_at, target_at, created_at, updated_at, closed_at, merged_into, contact_name, contact_email, contact_phone, contact_organisation, time_minutes, custom_state, legal_hold, retention_objection, version";

pub(super) const QUEUE_COLUMNS: &str = "id, tenant_id, name, parent_id, group_id, portal, signature, follow_up, addresses, created_at, version, automatic_mail";

pub(super) const ARTICLE_COLUMNS: &str = "id, ticket_id, sender, channel, visible_to_customer, subject, body, author, created_at, time_minutes, delivery";

pub(super) const ATTACHMENT_COLUMNS: &str = "id, article_id, ticket_id, filename, content_type, declared_type, size, sha256, text, created_at";

pub(super) fn uuid_of(s: &str) -> Result<uuid::Uuid, TicketError> {
    uuid::Uuid::try_parse(s).map_err(|e| TicketError::Corrupt(format!("id `{s}`: {e}")))
}

pub(super) fn version_i64(v: u64) -> Result<i64, TicketError> {
    i64::try_from(v).map_err(|_| TicketError::Corrupt(format!("version {v} out of range")))
}

/// A row that does not decode into its struct is corrupt stored data.
impl From<docket_store::CorruptRow> for TicketError {
    fn from(e: docket_store::CorruptRow) -> Self {
        Self::Corrupt(e.to_string())
    }
}

/// A row of `tickets` ([`TICKET_COLUMNS`]) as the database holds it.
#[derive(sqlx::FromRow)]
struct TicketRow {
    id: TicketId,
    tenant_id: TenantId,
    number: String,
    queue_id: QueueId,
    title: String,
    state: String,
    pending_until: Option<i64>,
    locked: i64,
    priority: i64,
    owner_id: Option<AgentId>,
    customer: Option<String>,
    customer_id: Option<CustomerId>,
    company_id: Option<CompanyId>,
    type_id: Option<TicketTypeId>,
    service_id: Option<ServiceId>,
    responsible_id: Option<AgentId>,
    desired_at: Option<i64>,
    target_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
    closed_at: Option<i64>,
    merged_into: Option<TicketId>,
    contact_name: String,
    contact_email: String,
    contact_phone: String,
    contact_organisation: String,
    time_minutes: i64,
    custom_state: Option<String>,
    legal_hold: i64,
    retention_objection: i64,
    version: i64,
}

impl TryFrom<TicketRow> for Ticket {
    type Error = TicketError;

    fn try_from(row: TicketRow) -> Result<Self, TicketError> {
        let corrupt = |e: TicketError| TicketError::Corrupt(e.to_string());
        Ok(Ticket {
            id: row.id,
            tenant_id: row.tenant_id,
            number: row.number.parse().map_err(corrupt)?,
            queue_id: row.queue_id,
            title: row.title,
            state: row.state.parse().map_err(corrupt)?,
            pending_until: row.pending_until,
            locked: flag(row.locked),
            priority: Priority::new(row.priority).map_err(corrupt)?,
            owner_id: row.owner_id,
            customer: row.customer,
            customer_id: row.customer_id,
            company_id: row.company_id,
            type_id: row.type_id,
            service_id: row.service_id,
            responsible_id: row.responsible_id,
            desired_at: row.desired_at,
            target_at: row.target_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
            closed_at: row.closed_at,
            merged_into: row.merged_into,
            contact: Contact {
                name: row.contact_name,
                email: row.contact_email,
                phone: row.contact_phone,
                organisation: row.contact_organisation,
            },
            time_minutes: u64::try_from(row.time_minutes)
                .map_err(|e| TicketError::Corrupt(e.to_string()))?,
            custom_state: row.custom_state,
            legal_hold: flag(row.legal_hold),
            retention_objection: flag(row.retention_objection),
            version: u64::try_from(row.version).map_err(|e| TicketError::Corrupt(e.to_string()))?,
        })
    }
}

pub(super) fn ticket_from_row(row: &AnyRow) -> Result<Ticket, TicketError> {
    decode::<TicketRow>(row)?.try_into()
}

/// A row of `articles` ([`ARTICLE_COLUMNS`]) as the database holds it.
#[derive(sqlx::FromRow)]
struct ArticleRow {
    id: ArticleId,
    ticket_id: TicketId,
    sender: String,
    channel: String,
    visible_to_customer: i64,
    subject: String,
    body: String,
    author: String,
    created_at: i64,
    time_minutes: i64,
    /// JSON, for articles sent by mail.
    delivery: Option<String>,
}

impl TryFrom<ArticleRow> for Article {
    type Error = TicketError;

    /// The article without its attachments (they are rows of their own).
    fn try_from(row: ArticleRow) -> Result<Self, TicketError> {
        let corrupt = |e: TicketError| TicketError::Corrupt(e.to_string());
        Ok(Article {
            id: row.id,
            ticket_id: row.ticket_id,
            sender: row.sender.parse().map_err(corrupt)?,
            channel: row.channel.parse().map_err(corrupt)?,
            visible_to_customer: flag(row.visible_to_customer),
            subject: row.subject,
            body: row.body,
            author: row.author,
            created_at: row.created_at,
            attachments: Vec::new(),
            time_minutes: u32::try_from(row.time_minutes)
                .map_err(|e| TicketError::Corrupt(e.to_string()))?,
            delivery: row
                .delivery
                .map(|json| serde_json::from_str(&json))
                .transpose()
                .map_err(|e| TicketError::Corrupt(format!("article delivery: {e}")))?,
        })
    }
}

pub(super) fn article_from_row(row: &AnyRow) -> Result<Article, TicketError> {
    decode::<ArticleRow>(row)?.try_into()
}

/// A row of `attachments` ([`ATTACHMENT_COLUMNS`], of which the mapping reads these) as the
/// database holds it.
#[derive(sqlx::FromRow)]
struct AttachmentRow {
    article_id: ArticleId,
    id: AttachmentId,
    filename: String,
    content_type: String,
    declared_type: String,
    size: i64,
    sha256: String,
    created_at: i64,
}

impl TryFrom<AttachmentRow> for (ArticleId, Attachment) {
    type Error = TicketError;

    /// The attachment with the article it belongs to.
    fn try_from(row: AttachmentRow) -> Result<Self, TicketError> {
        Ok((
            row.article_id,
            Attachment {
                id: row.id,
                filename: row.filename,
                content_type: row.content_type,
                declared_type: row.declared_type,
                size: u64::try_from(row.size).map_err(|e| TicketError::Corrupt(e.to_string()))?,
                sha256: row.sha256,
                created_at: row.created_at,
            },
        ))
    }
}

pub(super) fn attachment_from_row(row: &AnyRow) -> Result<(ArticleId, Attachment), TicketError> {
    decode::<AttachmentRow>(row)?.try_into()
}

/// What an article's history entry records: enough to tell later whether the article, its body
/// or its attachments were changed.
pub(super) fn article_details(a: &Article) -> serde_json::Value {
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

/// A value as JSON text, for the columns that hold lists.
pub(super) fn to_json<T: serde::Serialize + ?Sized>(value: &T) -> Result<String, TicketError> {
    serde_json::to_string(value).map_err(|e| TicketError::Corrupt(format!("json: {e}")))
}

/// A row of `templates` as the database holds it.
#[derive(sqlx::FromRow)]
struct TemplateRow {
    id: TemplateId,
    tenant_id: TenantId,
    name: String,
    kind: String,
    subject: String,
    body: String,
    /// A JSON list.
    queue_ids: String,
    language: String,
    created_at: i64,
}

impl TryFrom<TemplateRow> for Template {
    type Error = TicketError;

    fn try_from(row: TemplateRow) -> Result<Self, TicketError> {
        let corrupt = |e: String| TicketError::Corrupt(format!("template: {e}"));
        Ok(Template {
            id: row.id,
            tenant_id: row.tenant_id,
            name: row.name,
            kind: row
                .kind
                .parse::<TemplateKind>()
                .map_err(|e| corrupt(e.to_string()))?,
            subject: row.subject,
            body: row.body,
            queue_ids: serde_json::from_str(&row.queue_ids).map_err(|e| corrupt(e.to_string()))?,
            language: row.language,
            created_at: row.created_at,
        })
    }
}

pub(super) fn template_from_row(row: &AnyRow) -> Result<Template, TicketError> {
    decode::<TemplateRow>(row)?.try_into()
}

/// A row of `tenants` as the database holds it.
#[derive(sqlx::FromRow)]
struct TenantRow {
    id: TenantId,
    slug: String,
    name: String,
    created_at: i64,
}

impl From<TenantRow> for Tenant {
    fn from(row: TenantRow) -> Self {
        Tenant {
            id: row.id,
            slug: row.slug,
            name: row.name,
            created_at: row.created_at,
        }
    }
}

pub(super) fn tenant_from_row(row: &AnyRow) -> Result<Tenant, TicketError> {
    Ok(decode::<TenantRow>(row)?.into())
}

/// A row of `queues` ([`QUEUE_COLUMNS`]) as the database holds it.
#[derive(sqlx::FromRow)]
struct QueueRow {
    id: QueueId,
    tenant_id: TenantId,
    name: String,
    parent_id: Option<QueueId>,
    group_id: Option<GroupId>,
    portal: i64,
    signature: String,
    follow_up: String,
    /// A JSON list.
    addresses: String,
    created_at: i64,
    version: i64,
    automatic_mail: String,
}

impl TryFrom<QueueRow> for Queue {
    type Error = TicketError;

    fn try_from(row: QueueRow) -> Result<Self, TicketError> {
        let corrupt = |e: String| TicketError::Corrupt(format!("queue: {e}"));
        Ok(Queue {
            id: row.id,
            tenant_id: row.tenant_id,
            name: row.name,
            parent_id: row.parent_id,
            group_id: row.group_id,
            portal: flag(row.portal),
            signature: row.signature,
            follow_up: row
                .follow_up
                .parse()
                .map_err(|e: TicketError| corrupt(e.to_string()))?,
            automatic_mail: row
                .automatic_mail
                .parse()
                .map_err(|e: TicketError| corrupt(e.to_string()))?,
            addresses: serde_json::from_str(&row.addresses).map_err(|e| corrupt(e.to_string()))?,
            created_at: row.created_at,
            version: u64::try_from(row.version).map_err(|e| corrupt(e.to_string()))?,
        })
    }
}

pub(super) fn queue_from_row(row: &AnyRow) -> Result<Queue, TicketError> {
    decode::<QueueRow>(row)?.try_into()
}

/// A row of `custom_fields` as the database holds it.
#[derive(sqlx::FromRow)]
struct FieldRow {
    id: FieldId,
    tenant_id: TenantId,
    key: String,
    label: String,
    kind: String,
    /// A JSON list.
    options: String,
    /// A JSON list.
    queue_ids: String,
    created_at: i64,
}

impl TryFrom<FieldRow> for FieldDefinition {
    type Error = TicketError;

    fn try_from(row: FieldRow) -> Result<Self, TicketError> {
        let corrupt = |e: String| TicketError::Corrupt(format!("custom field: {e}"));
        Ok(FieldDefinition {
            id: row.id,
            tenant_id: row.tenant_id,
            key: row.key,
            label: row.label,
            kind: row
                .kind
                .parse::<FieldKind>()
                .map_err(|e| corrupt(e.to_string()))?,
            options: serde_json::from_str(&row.options).map_err(|e| corrupt(e.to_string()))?,
            queue_ids: serde_json::from_str(&row.queue_ids).map_err(|e| corrupt(e.to_string()))?,
            created_at: row.created_at,
        })
    }
}

pub(super) fn field_from_row(row: &AnyRow) -> Result<FieldDefinition, TicketError> {
    decode::<FieldRow>(row)?.try_into()
}

/// Maps a unique-constraint violation to `AlreadyExists` with `message`; other errors pass.
pub(super) fn exists_already(
    message: impl FnOnce() -> String,
) -> impl FnOnce(sqlx::Error) -> TicketError {
    move |e| match docket_store::unique_violation(&e) {
        Some(_) => TicketError::AlreadyExists(message()),
        None => e.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticket_row() -> TicketRow {
        TicketRow {
            id: TicketId::new(),
            tenant_id: TenantId::new(),
            number: "2026112210000017".to_owned(),
            queue_id: QueueId::new(),
            title: "Printer".to_owned(),
            state: "open".to_owned(),
            pending_until: None,
            locked: 0,
            priority: 3,
            owner_id: None,
            customer: Some("a@example.org".to_owned()),
            customer_id: None,
            company_id: None,
            type_id: None,
            service_id: None,
            responsible_id: None,
            desired_at: None,
            target_at: None,
            created_at: 1,
            updated_at: 2,
            closed_at: None,
            merged_into: None,
            contact_name: "A".to_owned(),
            contact_email: "a@example.org".to_owned(),
            contact_phone: String::new(),
            contact_organisation: String::new(),
            time_minutes: 5,
            custom_state: None,
            legal_hold: 1,
            retention_objection: 0,
            version: 4,
        }
    }

    fn corrupt<T: std::fmt::Debug>(result: Result<T, TicketError>) -> String {
        match result {
            Err(TicketError::Corrupt(message)) => message,
            other => panic!("expected Corrupt, got {other:?}"),
        }
    }

    #[test]
    fn a_ticket_row_becomes_its_ticket_with_0_1_flags_as_booleans() {
        let ticket = Ticket::try_from(ticket_row()).unwrap();
        assert_eq!(ticket.number.as_str(), "2026112210000017");
        assert_eq!(ticket.state, TicketState::Open);
        assert_eq!(ticket.priority.get(), 3);
        assert!(!ticket.locked);
        assert!(ticket.legal_hold);
        assert!(!ticket.retention_objection);
        assert_eq!(ticket.contact.name, "A");
        assert_eq!((ticket.time_minutes, ticket.version), (5, 4));
    }

    #[test]
    fn a_ticket_row_that_does_not_convert_is_corrupt() {
        let with = |change: fn(&mut TicketRow)| {
            let mut row = ticket_row();
            change(&mut row);
            Ticket::try_from(row)
        };
        assert!(corrupt(with(|r| r.state = "lost".to_owned())).contains("lost"));
        assert!(corrupt(with(|r| r.number = "12".to_owned())).contains("12"));
        corrupt(with(|r| r.priority = 9));
        corrupt(with(|r| r.time_minutes = -1));
        corrupt(with(|r| r.version = -1));
    }

    #[test]
    fn an_article_row_with_delivery_json_that_does_not_parse_is_corrupt() {
        let row = || ArticleRow {
            id: ArticleId::new(),
            ticket_id: TicketId::new(),
            sender: "agent".to_owned(),
            channel: "email".to_owned(),
            visible_to_customer: 1,
            subject: "Re".to_owned(),
            body: "Hello".to_owned(),
            author: "a".to_owned(),
            created_at: 1,
            time_minutes: 0,
            delivery: None,
        };
        let article = Article::try_from(row()).unwrap();
        assert!(article.visible_to_customer);
        assert_eq!(article.delivery, None);
        let broken = ArticleRow {
            delivery: Some("{".to_owned()),
            ..row()
        };
        assert!(corrupt(Article::try_from(broken)).starts_with("article delivery: "));
    }

    #[test]
    fn a_queue_row_that_does_not_convert_is_corrupt_naming_the_queue() {
        let row = || QueueRow {
            id: QueueId::new(),
            tenant_id: TenantId::new(),
            name: "Raw".to_owned(),
            parent_id: None,
            group_id: None,
            portal: 1,
            signature: String::new(),
            follow_up: "reopen".to_owned(),
            addresses: "[]".to_owned(),
            created_at: 1,
            version: 1,
            automatic_mail: "note".to_owned(),
        };
        let queue = Queue::try_from(row()).unwrap();
        assert!(queue.portal);
        assert_eq!(queue.follow_up, FollowUp::Reopen);
        let unknown = QueueRow {
            follow_up: "ignore".to_owned(),
            ..row()
        };
        assert!(corrupt(Queue::try_from(unknown)).starts_with("queue: "));
        let not_json = QueueRow {
            addresses: "a@example.org".to_owned(),
            ..row()
        };
        assert!(corrupt(Queue::try_from(not_json)).starts_with("queue: "));
    }

    #[tokio::test]
    async fn a_column_that_does_not_decode_is_corrupt_naming_it() {
        let db = docket_store::Db::connect("sqlite::memory:", docket_store::PoolSize::max(1))
            .await
            .unwrap();
        let tenant = TenantId::new();
        let row = |sql: &'static str| sqlx::query(sql).bind(tenant).fetch_one(db.pool());
        let good = row("SELECT $1 AS id, 'acme' AS slug, 'Acme' AS name, 5 AS created_at");
        assert_eq!(tenant_from_row(&good.await.unwrap()).unwrap().id, tenant);
        let bad_id = row("SELECT 'x' || $1 AS id, 'acme' AS slug, 'Acme' AS name, 5 AS created_at");
        assert!(corrupt(tenant_from_row(&bad_id.await.unwrap())).starts_with("column id: "));
        let no_name = row("SELECT $1 AS id, 'acme' AS slug, 5 AS created_at");
        assert_eq!(
            corrupt(tenant_from_row(&no_name.await.unwrap())),
            "column name: no column found for name: name"
        );
    }
}
