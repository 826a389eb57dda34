//! Queues: the tree, their settings and addresses, and the per-state counts of the overview.

use super::*;

#[async_trait]
pub trait Queues: Send + Sync + 'static {
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
    async fn list_queues(&self, tenant_id: Option<TenantId>) -> Result<Vec<Queue>, TicketError>;
    /// How many tickets of the tenant are being worked on, per queue: new, open, pending, and
    /// among those not closed the ones past their target date (`now`). Queues without such
    /// tickets are left out.
    async fn queue_counts(
        &self,
        tenant_id: TenantId,
        now: i64,
    ) -> Result<Vec<QueueCounts>, TicketError>;
}

#[async_trait]
impl Queues for SqlTicketStore {
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
        next.automatic_mail = change.automatic_mail.unwrap_or(current.automatic_mail);
        if let Some(addresses) = change.addresses {
            Self::claim_addresses(&mut tx, id, &addresses).await?;
            next.addresses = addresses;
        }
        if next == current {
            return Ok(current);
        }
        next.version = current.version + 1;
        sqlx::query(
            "UPDATE queues SET group_id = $1, portal = $2, signature = $3, follow_up = $4, addresses = $5, version = $6, \
             automatic_mail = $7 WHERE id = $8 AND version = $9",
        )
        .bind(next.group_id)
        .bind(i64::from(next.portal))
        .bind(&next.signature)
        .bind(next.follow_up.as_str())
        .bind(to_json(&next.addresses)?)
        .bind(version_i64(next.version)?)
        .bind(next.automatic_mail.as_str())
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
            automatic_mail: next.automatic_mail.to_string(),
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
}

impl SqlTicketStore {
    pub(super) async fn insert_queue(
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
            automatic_mail: queue.automatic_mail,
            addresses: queue.addresses,
            created_at: docket_platform::time::now_micros(),
            version: 1,
        };
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO queues ({QUEUE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
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
        .bind(stored.automatic_mail.as_str())
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
            automatic_mail: stored.automatic_mail.to_string(),
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
    pub(super) async fn claim_addresses(
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

    pub(super) async fn fetch_queue(tx: &mut WriteTx, id: QueueId) -> Result<Queue, TicketError> {
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
    pub(super) async fn require_tenant(
        tx: &mut WriteTx,
        tenant_id: TenantId,
    ) -> Result<(), TicketError> {
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
    pub(super) async fn require_queues_in(
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

    pub(super) async fn queue_in_tenant(
        tx: &mut WriteTx,
        queue_id: QueueId,
    ) -> Result<TenantId, TicketError> {
        sqlx::query_scalar::<_, TenantId>("SELECT tenant_id FROM queues WHERE id = $1")
            .bind(queue_id)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or_else(|| TicketError::not_found("queue", queue_id))
    }
}
