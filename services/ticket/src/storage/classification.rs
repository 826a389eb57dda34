//! The tenant's service catalogue, ticket types and states of its own.

use super::*;

#[async_trait]
pub trait Classification: Send + Sync + 'static {
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
}

/// A row of `services` or `ticket_types` as the database holds it (ticket types select `1` as
/// their `portal`).
#[derive(sqlx::FromRow)]
struct EntryRow {
    id: String,
    tenant_id: TenantId,
    name: String,
    parent_id: Option<String>,
    created_at: i64,
    portal: i64,
}

impl TryFrom<EntryRow> for CatalogueEntry {
    type Error = TicketError;

    fn try_from(row: EntryRow) -> Result<Self, TicketError> {
        Ok(CatalogueEntry {
            id: uuid_of(&row.id)?,
            tenant_id: row.tenant_id,
            name: row.name,
            parent_id: row.parent_id.map(|p| uuid_of(&p)).transpose()?,
            created_at: row.created_at,
            portal: docket_store::flag(row.portal),
        })
    }
}

#[async_trait]
impl Classification for SqlTicketStore {
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
            .map(|row| docket_store::decode::<EntryRow>(row)?.try_into())
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
}

impl SqlTicketStore {
    /// Adds an entry to a tenant's catalogue; a service's parent path must exist already.
    /// `portal`: customers may choose the service (ticket types are always offered).
    pub(super) async fn insert_entry(
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
    pub(super) async fn require_entry(
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
}
