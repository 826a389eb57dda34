//! Row mapping shared by the store's modules: the column lists and each row's conversion.

use super::*;

pub(super) const TICKET_COLUMNS: &str = "id, tenant_id, number, queue_id, title, state, pending_until, locked, priority, owner_id, customer, customer_id, company_id, type_id, service_id, responsible_id, desired_at, target_at, created_at, updated_at, closed_at, merged_into, contact_name, contact_email, contact_phone, contact_organisation, time_minutes, custom_state, legal_hold, retention_objection, version";

pub(super) const QUEUE_COLUMNS: &str = "id, tenant_id, name, parent_id, group_id, portal, signature, follow_up, addresses, created_at, version";

pub(super) const ARTICLE_COLUMNS: &str = "id, ticket_id, sender, channel, visible_to_customer, subject, body, author, created_at, time_minutes, delivery";

pub(super) const ATTACHMENT_COLUMNS: &str = "id, article_id, ticket_id, filename, content_type, declared_type, size, sha256, text, created_at";

pub(super) fn uuid_of(s: &str) -> Result<uuid::Uuid, TicketError> {
    uuid::Uuid::try_parse(s).map_err(|e| TicketError::Corrupt(format!("id `{s}`: {e}")))
}

pub(super) fn version_i64(v: u64) -> Result<i64, TicketError> {
    i64::try_from(v).map_err(|_| TicketError::Corrupt(format!("version {v} out of range")))
}

pub(super) fn get<T>(row: &AnyRow, column: &str) -> Result<T, TicketError>
where
    T: for<'r> sqlx::Decode<'r, Any> + sqlx::Type<Any>,
{
    row.try_get(column)
        .map_err(|e| TicketError::Corrupt(format!("column {column}: {e}")))
}

pub(super) fn ticket_from_row(row: &AnyRow) -> Result<Ticket, TicketError> {
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

pub(super) fn article_from_row(row: &AnyRow) -> Result<Article, TicketError> {
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

pub(super) fn attachment_from_row(row: &AnyRow) -> Result<(ArticleId, Attachment), TicketError> {
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

pub(super) fn template_from_row(row: &AnyRow) -> Result<Template, TicketError> {
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

pub(super) fn tenant_from_row(row: &AnyRow) -> Result<Tenant, TicketError> {
    Ok(Tenant {
        id: get(row, "id")?,
        slug: get(row, "slug")?,
        name: get(row, "name")?,
        created_at: get(row, "created_at")?,
    })
}

pub(super) fn queue_from_row(row: &AnyRow) -> Result<Queue, TicketError> {
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

pub(super) fn field_from_row(row: &AnyRow) -> Result<FieldDefinition, TicketError> {
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

/// Maps a unique-constraint violation to `AlreadyExists` with `message`; other errors pass.
pub(super) fn exists_already(
    message: impl FnOnce() -> String,
) -> impl FnOnce(sqlx::Error) -> TicketError {
    move |e| match docket_store::unique_violation(&e) {
        Some(_) => TicketError::AlreadyExists(message()),
        None => e.into(),
    }
}
