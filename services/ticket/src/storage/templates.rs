//! Answer, notice and note templates per tenant and queue.

use super::*;

#[async_trait]
pub trait Templates: Send + Sync + 'static {
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
}

#[async_trait]
impl Templates for SqlTicketStore {
    async fn create_template(
        &self,
        template: NewTemplate,
        actor: &Actor,
    ) -> Result<Template, TicketError> {
        let mut tx = self.db.begin_write().await?;
        Self::require_tenant(&mut tx, template.tenant_id).await?;
        Self::require_queues_in(&mut tx, template.tenant_id, &template.queue_ids).await?;
        let stored = template.stored(TemplateId::new(), docket_platform::time::now_micros());
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
        // The tenant stays the template's own.
        let stored = Template {
            tenant_id: before.tenant_id,
            ..template.stored(before.id, before.created_at)
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
}
