//! Watchers and collaborators.

use super::*;

#[async_trait]
pub trait People: Send + Sync + 'static {
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
    /// Starts (`true`) or stops watching a ticket; whether that changed anything.
    async fn watch(&self, id: TicketId, agent: AgentId, on: bool) -> Result<bool, TicketError>;
    /// The agents watching a ticket, in the order they started.
    async fn watchers(&self, id: TicketId) -> Result<Vec<AgentId>, TicketError>;
}

#[async_trait]
impl People for SqlTicketStore {
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
        if !Self::set_agent_in(&mut tx, "ticket_collaborators", id, agent, on, now).await? {
            return Ok(false);
        }
        let next = touch(&mut tx, &current, now).await?;
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

    async fn watch(&self, id: TicketId, agent: AgentId, on: bool) -> Result<bool, TicketError> {
        self.get_ticket(id).await?;
        let mut tx = self.db.begin_write().await?;
        let now = docket_platform::time::now_micros();
        let changed = Self::set_agent_in(&mut tx, "ticket_watchers", id, agent, on, now).await?;
        self.commit(tx).await?;
        Ok(changed)
    }

    async fn watchers(&self, id: TicketId) -> Result<Vec<AgentId>, TicketError> {
        self.agents_of(id, "ticket_watchers").await
    }
}

impl SqlTicketStore {
    /// Adds (`true`) or removes `agent` in a ticket's `table` (watchers, collaborators); whether
    /// that changed anything.
    async fn set_agent_in(
        tx: &mut WriteTx,
        table: &'static str,
        id: TicketId,
        agent: AgentId,
        on: bool,
        now: Micros,
    ) -> Result<bool, TicketError> {
        let changed = if on {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO {table} (ticket_id, agent_id, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (ticket_id, agent_id) DO NOTHING"
            )))
            .bind(id)
            .bind(agent)
            .bind(now)
            .execute(&mut **tx)
            .await?
        } else {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE ticket_id = $1 AND agent_id = $2"
            )))
            .bind(id)
            .bind(agent)
            .execute(&mut **tx)
            .await?
        };
        Ok(changed.rows_affected() == 1)
    }

    /// The agents a ticket has in `table` (watchers, collaborators), in the order they came.
    pub(super) async fn agents_of(
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
}
