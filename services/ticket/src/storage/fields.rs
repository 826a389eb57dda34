//! Custom fields and tags.

use super::*;

#[async_trait]
pub trait Fields: Send + Sync + 'static {
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
}

#[async_trait]
impl Fields for SqlTicketStore {
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
            let next = touch(&mut tx, &current, now).await?;
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
        let next = touch(&mut tx, &current, now).await?;
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
}

impl SqlTicketStore {
    pub(super) async fn tags_in<'e, E: sqlx::Executor<'e, Database = Any>>(
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

    pub(super) async fn values_in<'e, E: sqlx::Executor<'e, Database = Any>>(
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
}
