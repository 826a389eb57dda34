//! Tenants, groups and customers as the identity service announces them (ticket core keeps what it needs of them).

use super::*;

#[async_trait]
pub trait Directory: Send + Sync + 'static {
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
}

#[async_trait]
impl Directory for SqlTicketStore {
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
}

impl SqlTicketStore {
    pub(super) async fn upsert_group(tx: &mut WriteTx, group: &Group) -> Result<(), TicketError> {
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
}
