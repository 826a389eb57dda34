//! Login sessions, API tokens and the keys that sign access tokens. Only hashes of secrets are
//! stored.

use async_trait::async_trait;

use super::rows::{api_token_from_row, session_from_row};
use super::{SqlIdentityStore, TokenStore};
use crate::domain::*;
use crate::error::IdentityError;

#[async_trait]
impl TokenStore for SqlIdentityStore {
    async fn create_session(&self, s: &Session) -> Result<(), IdentityError> {
        let mut tx = self.db.begin_write().await?;
        sqlx::query(
            "INSERT INTO sessions (id, kind, principal_id, secret_hash, created_at, last_seen_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $5, $6)",
        )
        .bind(&s.id)
        .bind(s.kind.as_str())
        .bind(&s.principal_id)
        .bind(&s.secret_hash)
        .bind(s.created_at)
        .bind(s.expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn get_session(&self, id: &str) -> Result<Option<Session>, IdentityError> {
        let row = sqlx::query("SELECT id, kind, principal_id, secret_hash, created_at, expires_at, revoked_at FROM sessions WHERE id = $1")
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?;
        row.as_ref().map(session_from_row).transpose()
    }

    async fn revoke_session(&self, id: &str, at: Micros) -> Result<(), IdentityError> {
        let mut tx = self.db.begin_write().await?;
        sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(at)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn end_sessions(
        &self,
        kind: PrincipalKind,
        principal_id: &str,
        at: Micros,
    ) -> Result<u64, IdentityError> {
        let mut tx = self.db.begin_write().await?;
        let ended = sqlx::query(
            "UPDATE sessions SET revoked_at = $1 \
             WHERE kind = $2 AND principal_id = $3 AND revoked_at IS NULL AND expires_at > $1",
        )
        .bind(at)
        .bind(kind.as_str())
        .bind(principal_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(ended.rows_affected())
    }

    async fn revoked_sessions(&self, since: Micros) -> Result<Vec<String>, IdentityError> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM sessions WHERE revoked_at IS NOT NULL AND revoked_at >= $1 ORDER BY id",
        )
        .bind(since)
        .fetch_all(self.db.pool())
        .await?)
    }

    async fn create_api_token(&self, t: &ApiToken, actor: &str) -> Result<(), IdentityError> {
        let mut tx = self.db.begin_write().await?;
        Self::require_agent(&mut tx, t.agent_id).await?;
        sqlx::query(
            "INSERT INTO api_tokens (id, agent_id, name, secret_hash, scopes, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&t.id)
        .bind(t.agent_id)
        .bind(&t.name)
        .bind(&t.secret_hash)
        .bind(t.scopes.join(" "))
        .bind(t.created_at)
        .bind(t.expires_at)
        .execute(&mut *tx)
        .await?;
        Self::audit_change(&mut tx, None, actor, "token_issued", t.agent_id.to_string(), serde_json::json!({ "api_token": t.id, "name": t.name, "scopes": t.scopes, "expires_at": t.expires_at })).await?;
        self.commit(tx).await
    }

    async fn get_api_token(&self, id: &str) -> Result<Option<ApiToken>, IdentityError> {
        let row = sqlx::query("SELECT id, agent_id, name, secret_hash, scopes, created_at, expires_at, revoked_at FROM api_tokens WHERE id = $1")
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?;
        row.as_ref().map(api_token_from_row).transpose()
    }

    async fn list_api_tokens(&self, agent_id: AgentId) -> Result<Vec<ApiToken>, IdentityError> {
        let rows = sqlx::query("SELECT id, agent_id, name, secret_hash, scopes, created_at, expires_at, revoked_at FROM api_tokens WHERE agent_id = $1 ORDER BY created_at, id")
            .bind(agent_id)
            .fetch_all(self.db.pool())
            .await?;
        rows.iter().map(api_token_from_row).collect()
    }

    async fn revoke_api_token(
        &self,
        id: &str,
        at: Micros,
        actor: &str,
    ) -> Result<(), IdentityError> {
        let mut tx = self.db.begin_write().await?;
        let changed = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        )
        .bind(at)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if changed.rows_affected() != 1 {
            return Err(IdentityError::not_found("api token", id));
        }
        Self::audit_change(
            &mut tx,
            None,
            actor,
            "token_revoked",
            id.to_owned(),
            serde_json::json!({}),
        )
        .await?;
        self.commit(tx).await
    }

    async fn signing_keys(
        &self,
        at: Micros,
    ) -> Result<Vec<(String, String, Micros)>, IdentityError> {
        Ok(sqlx::query_as(
            "SELECT kid, private_key, created_at FROM signing_keys WHERE retire_at > $1 \
             ORDER BY created_at DESC, kid DESC",
        )
        .bind(at)
        .fetch_all(self.db.pool())
        .await?)
    }

    async fn add_signing_key(
        &self,
        kid: &str,
        pkcs8_b64: &str,
        created_at: Micros,
        retire_at: Micros,
    ) -> Result<(), IdentityError> {
        let mut tx = self.db.begin_write().await?;
        sqlx::query("INSERT INTO signing_keys (kid, private_key, created_at, retire_at) VALUES ($1, $2, $3, $4)")
            .bind(kid)
            .bind(pkcs8_b64)
            .bind(created_at)
            .bind(retire_at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
