//! Retention policies, legal holds and the runs that delete or anonymise.

use super::*;

#[async_trait]
pub trait Retention: Send + Sync + 'static {
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
}

#[async_trait]
impl Retention for SqlTicketStore {
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
        rows.iter()
            .map(|row| docket_store::decode::<RunRow>(row)?.try_into())
            .collect()
    }
}

/// A row of `retention_runs` as the database holds it.
#[derive(sqlx::FromRow)]
struct RunRow {
    id: String,
    started_at: i64,
    finished_at: i64,
    actor: String,
    /// A JSON list of ticket numbers.
    deleted: String,
    /// A JSON list of ticket numbers.
    anonymised: String,
    kept: i64,
}

impl TryFrom<RunRow> for RetentionRun {
    type Error = TicketError;

    /// A run as logged: never a dry run (those are not logged).
    fn try_from(row: RunRow) -> Result<Self, TicketError> {
        let corrupt = |e: String| TicketError::Corrupt(format!("retention run: {e}"));
        Ok(RetentionRun {
            id: uuid_of(&row.id)?,
            started_at: row.started_at,
            finished_at: row.finished_at,
            actor: row.actor,
            deleted: serde_json::from_str(&row.deleted).map_err(|e| corrupt(e.to_string()))?,
            anonymised: serde_json::from_str(&row.anonymised)
                .map_err(|e| corrupt(e.to_string()))?,
            kept: u64::try_from(row.kept).map_err(|e| corrupt(e.to_string()))?,
            dry_run: false,
        })
    }
}

impl SqlTicketStore {
    /// One retention pass over every tenant, ticket by ticket (each in its own transaction).
    pub(super) async fn retention_pass(
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
            let mut sql = Params::default();
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
            let kept: i64 = sql.query_scalar(kept_sql).fetch_one(self.db.pool()).await?;
            run.kept += u64::try_from(kept).unwrap_or(0);
            let due_tickets: Vec<(TicketId, String)> =
                sql.query_as(ids_sql).fetch_all(self.db.pool()).await?;
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
    pub(super) async fn remove_ticket(
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
}
