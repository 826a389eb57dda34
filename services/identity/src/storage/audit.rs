//! The audit log: appended to in the transaction of the change it records, never changed.

use async_trait::async_trait;
use docket_store::WriteTx;

use super::rows::audit_from_row;
use super::{AuditStore, SqlIdentityStore, now};
use crate::domain::*;
use crate::error::IdentityError;

/// Where a page of the audit log ends, from its last row as the database holds it.
#[derive(sqlx::FromRow)]
struct CursorRow {
    occurred_at: i64,
    id: String,
}

impl From<CursorRow> for AuditCursor {
    fn from(row: CursorRow) -> Self {
        AuditCursor {
            occurred_at: row.occurred_at,
            id: row.id,
        }
    }
}

#[async_trait]
impl AuditStore for SqlIdentityStore {
    async fn audit(&self, entry: AuditEntry) -> Result<(), IdentityError> {
        let mut tx = self.db.begin_write().await?;
        Self::audit_in(&mut tx, &entry).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn audit_log(
        &self,
        tenant_id: Option<TenantId>,
        limit: i64,
    ) -> Result<Vec<AuditEntry>, IdentityError> {
        let rows = match tenant_id {
            Some(t) => sqlx::query("SELECT occurred_at, tenant_id, actor, action, target, outcome, details FROM audit_log WHERE tenant_id = $1 ORDER BY occurred_at DESC, id DESC LIMIT $2")
                .bind(t)
                .bind(limit)
                .fetch_all(self.db.pool())
                .await?,
            None => sqlx::query("SELECT occurred_at, tenant_id, actor, action, target, outcome, details FROM audit_log ORDER BY occurred_at DESC, id DESC LIMIT $1")
                .bind(limit)
                .fetch_all(self.db.pool())
                .await?,
        };
        rows.iter().map(audit_from_row).collect()
    }

    async fn audit_page(
        &self,
        tenant_id: TenantId,
        after: Option<&AuditCursor>,
        limit: i64,
    ) -> Result<AuditPage, IdentityError> {
        let limit = AuditPage::entries_for(limit);
        // The first page starts after the end of time.
        let (before_at, before_id) = after.map_or((i64::MAX, ""), |c| (c.occurred_at, &c.id));
        let rows = sqlx::query(include_str!("queries/audit_page.sql"))
            .bind(tenant_id)
            .bind(before_at)
            .bind(before_id)
            .bind(limit + 1)
            .fetch_all(self.db.pool())
            .await?;
        let limit = usize::try_from(limit).unwrap_or(1000);
        let more = rows.len() > limit;
        let page = &rows[..rows.len().min(limit)];
        let next = match page.last() {
            Some(last) if more => Some(docket_store::decode::<CursorRow>(last)?.into()),
            _ => None,
        };
        Ok(AuditPage {
            entries: page.iter().map(audit_from_row).collect::<Result<_, _>>()?,
            next,
        })
    }
}

impl SqlIdentityStore {
    pub(super) async fn audit_in(
        tx: &mut WriteTx,
        entry: &AuditEntry,
    ) -> Result<(), IdentityError> {
        sqlx::query(
            "INSERT INTO audit_log (id, occurred_at, tenant_id, actor, action, target, outcome, details) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(uuid_v7())
        .bind(entry.occurred_at)
        .bind(entry.tenant_id)
        .bind(&entry.actor)
        .bind(&entry.action)
        .bind(entry.target.as_deref())
        .bind(&entry.outcome)
        .bind(entry.details.to_string())
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Records a change of access rights in the audit log, within the change's transaction.
    pub(super) async fn audit_change(
        tx: &mut WriteTx,
        tenant_id: Option<TenantId>,
        actor: &str,
        action: &str,
        target: String,
        details: serde_json::Value,
    ) -> Result<(), IdentityError> {
        let entry = AuditEntry {
            occurred_at: now(),
            tenant_id,
            actor: actor.to_owned(),
            action: action.to_owned(),
            target: Some(target),
            outcome: "ok".to_owned(),
            details,
        };
        Self::audit_in(tx, &entry).await
    }
}

fn uuid_v7() -> String {
    // Ids of log rows: time-ordered like every other id.
    AbsenceId::new().to_string()
}
