//! Agent accounts and their second factor.

use async_trait::async_trait;
use docket_store::WriteTx;

use super::rows::{AGENT_COLUMNS, agent_from_row};
use super::{AgentStore, SqlIdentityStore, exists_already, now};
use crate::domain::*;
use crate::error::IdentityError;

/// What an agent's login checks, from their row beside the [`Agent`] read from it.
#[derive(sqlx::FromRow)]
struct SecretsRow {
    password_hash: Option<String>,
    totp_secret: Option<String>,
    totp_last_step: Option<i64>,
}

#[async_trait]
impl AgentStore for SqlIdentityStore {
    async fn create_agent(
        &self,
        agent: NewAgent,
        source: Source,
        actor: &str,
    ) -> Result<Agent, IdentityError> {
        agent.check_source(source)?;
        let password_hash = agent
            .password
            .as_ref()
            .map(crate::password::hash)
            .transpose()?;
        let stored = Agent {
            id: AgentId::new(),
            login: agent.login,
            name: crate::domain::name("name", &agent.name, 200)?,
            email: agent.email,
            source,
            active: true,
            totp_enabled: false,
            installation_admin: false,
            created_at: now(),
        };
        let mut tx = self.db.begin_write().await?;
        sqlx::query(
            "INSERT INTO agents (id, login, name, email, source, password_hash, active, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $7)",
        )
        .bind(stored.id)
        .bind(stored.login.as_str())
        .bind(&stored.name)
        .bind(stored.email.as_deref())
        .bind(source.as_str())
        .bind(password_hash)
        .bind(stored.created_at)
        .execute(&mut *tx)
        .await
        .map_err(exists_already(|| format!("an agent with login `{}` exists already", stored.login.as_str())))?;
        Self::audit_change(
            &mut tx,
            None,
            actor,
            "agent_created",
            stored.id.to_string(),
            serde_json::json!({ "login": stored.login, "source": source }),
        )
        .await?;
        self.commit(tx).await?;
        Ok(stored)
    }

    async fn get_agent(&self, id: AgentId) -> Result<Agent, IdentityError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {AGENT_COLUMNS} FROM agents WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.db.pool())
        .await?
        .ok_or_else(|| IdentityError::not_found("agent", id))?;
        agent_from_row(&row)
    }

    async fn agent_credentials(
        &self,
        login: &Login,
    ) -> Result<Option<AgentCredentials>, IdentityError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {AGENT_COLUMNS}, password_hash, totp_last_step FROM agents WHERE login = $1"
        )))
        .bind(login.as_str())
        .fetch_optional(self.db.pool())
        .await?;
        row.map(|row| {
            let agent = agent_from_row(&row)?;
            let secrets: SecretsRow = docket_store::decode(&row)?;
            Ok(AgentCredentials {
                agent,
                password_hash: secrets.password_hash,
                totp_secret: secrets.totp_secret,
                totp_last_step: secrets.totp_last_step.and_then(|s| u64::try_from(s).ok()),
            })
        })
        .transpose()
    }

    async fn list_agents(&self, tenant_id: TenantId) -> Result<Vec<Agent>, IdentityError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {AGENT_COLUMNS} FROM agents \
             WHERE id IN (SELECT agent_id FROM agent_tenants WHERE tenant_id = $1) ORDER BY login"
        )))
        .bind(tenant_id)
        .fetch_all(self.db.pool())
        .await?;
        rows.iter().map(agent_from_row).collect()
    }

    async fn set_agent_password(
        &self,
        agent_id: AgentId,
        password_hash: &str,
        actor: &str,
    ) -> Result<(), IdentityError> {
        let mut tx = self.db.begin_write().await?;
        let changed = sqlx::query("UPDATE agents SET password_hash = $1, updated_at = $2 WHERE id = $3 AND source = 'local'")
            .bind(password_hash)
            .bind(now())
            .bind(agent_id)
            .execute(&mut *tx)
            .await?;
        if changed.rows_affected() != 1 {
            return Err(IdentityError::not_found("local agent", agent_id));
        }
        Self::audit_change(
            &mut tx,
            None,
            actor,
            "password_changed",
            agent_id.to_string(),
            serde_json::json!({}),
        )
        .await?;
        self.commit(tx).await
    }

    async fn set_agent_active(
        &self,
        agent_id: AgentId,
        active: bool,
        actor: &str,
    ) -> Result<(), IdentityError> {
        self.set_agent_flag(agent_id, "active", active, "agent_activation", actor)
            .await
    }

    async fn set_installation_admin(
        &self,
        agent_id: AgentId,
        installation_admin: bool,
        actor: &str,
    ) -> Result<(), IdentityError> {
        self.set_agent_flag(
            agent_id,
            "installation_admin",
            installation_admin,
            "permission_changed",
            actor,
        )
        .await
    }

    async fn set_agent_totp(
        &self,
        agent_id: AgentId,
        secret: Option<&str>,
        actor: &str,
    ) -> Result<(), IdentityError> {
        let mut tx = self.db.begin_write().await?;
        let changed = sqlx::query("UPDATE agents SET totp_secret = $1, totp_last_step = NULL, updated_at = $2 WHERE id = $3")
            .bind(secret)
            .bind(now())
            .bind(agent_id)
            .execute(&mut *tx)
            .await?;
        if changed.rows_affected() != 1 {
            return Err(IdentityError::not_found("agent", agent_id));
        }
        Self::audit_change(
            &mut tx,
            None,
            actor,
            "second_factor_changed",
            agent_id.to_string(),
            serde_json::json!({ "enabled": secret.is_some() }),
        )
        .await?;
        self.commit(tx).await
    }

    async fn use_totp_step(&self, agent_id: AgentId, step: u64) -> Result<bool, IdentityError> {
        let step = i64::try_from(step).map_err(|_| IdentityError::invalid("step out of range"))?;
        let mut tx = self.db.begin_write().await?;
        let changed = sqlx::query(
            "UPDATE agents SET totp_last_step = $1 WHERE id = $2 AND (totp_last_step IS NULL OR totp_last_step < $1)",
        )
        .bind(step)
        .bind(agent_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(changed.rows_affected() == 1)
    }

    async fn set_pending_totp(
        &self,
        agent_id: AgentId,
        secret: Option<&str>,
    ) -> Result<(), IdentityError> {
        let mut tx = self.db.begin_write().await?;
        let changed = sqlx::query(
            "UPDATE agents SET totp_pending_secret = $1, updated_at = $2 WHERE id = $3",
        )
        .bind(secret)
        .bind(now())
        .bind(agent_id)
        .execute(&mut *tx)
        .await?;
        if changed.rows_affected() != 1 {
            return Err(IdentityError::not_found("agent", agent_id));
        }
        tx.commit().await?;
        Ok(())
    }

    async fn pending_totp(&self, agent_id: AgentId) -> Result<Option<String>, IdentityError> {
        let pending: Option<Option<String>> =
            sqlx::query_scalar("SELECT totp_pending_secret FROM agents WHERE id = $1")
                .bind(agent_id)
                .fetch_optional(self.db.pool())
                .await?;
        pending.ok_or_else(|| IdentityError::not_found("agent", agent_id))
    }

    async fn confirm_totp(
        &self,
        agent_id: AgentId,
        secret: &str,
        step: u64,
        actor: &str,
    ) -> Result<(), IdentityError> {
        let step = i64::try_from(step).map_err(|_| IdentityError::invalid("step out of range"))?;
        let mut tx = self.db.begin_write().await?;
        let changed = sqlx::query(
            "UPDATE agents SET totp_secret = totp_pending_secret, totp_pending_secret = NULL, \
             totp_last_step = $1, updated_at = $2 WHERE id = $3 AND totp_pending_secret = $4",
        )
        .bind(step)
        .bind(now())
        .bind(agent_id)
        .bind(secret)
        .execute(&mut *tx)
        .await?;
        if changed.rows_affected() != 1 {
            return Err(IdentityError::Conflict(
                "no second factor is being enrolled (or another enrolment started meanwhile); start again".into(),
            ));
        }
        Self::audit_change(
            &mut tx,
            None,
            actor,
            "second_factor_changed",
            agent_id.to_string(),
            serde_json::json!({ "enabled": true }),
        )
        .await?;
        self.commit(tx).await
    }
}

impl SqlIdentityStore {
    /// Sets one of an agent's flags (`column`, a fixed name) and audits it as `action`.
    pub(super) async fn set_agent_flag(
        &self,
        agent_id: AgentId,
        column: &'static str,
        value: bool,
        action: &str,
        actor: &str,
    ) -> Result<(), IdentityError> {
        let mut tx = self.db.begin_write().await?;
        let changed = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE agents SET {column} = $1, updated_at = $2 WHERE id = $3"
        )))
        .bind(i64::from(value))
        .bind(now())
        .bind(agent_id)
        .execute(&mut *tx)
        .await?;
        if changed.rows_affected() != 1 {
            return Err(IdentityError::not_found("agent", agent_id));
        }
        Self::audit_change(
            &mut tx,
            None,
            actor,
            action,
            agent_id.to_string(),
            serde_json::json!({ column: value }),
        )
        .await?;
        self.commit(tx).await
    }

    pub(super) async fn require_agent(
        tx: &mut WriteTx,
        agent_id: AgentId,
    ) -> Result<(), IdentityError> {
        let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM agents WHERE id = $1")
            .bind(agent_id)
            .fetch_optional(&mut **tx)
            .await?;
        found
            .map(|_| ())
            .ok_or_else(|| IdentityError::not_found("agent", agent_id))
    }
}
