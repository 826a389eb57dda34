//! Failed logins per login key: the store keeps the record, [`Throttle`] decides what a failure
//! does to it.

use async_trait::async_trait;

use super::{SqlIdentityStore, ThrottleStore};
use crate::domain::*;
use crate::error::IdentityError;

#[async_trait]
impl ThrottleStore for SqlIdentityStore {
    async fn record_login_failure(
        &self,
        key: &str,
        at: Micros,
    ) -> Result<Option<Micros>, IdentityError> {
        let mut tx = self.db.begin_write().await?;
        let previous = sqlx::query_as::<_, (i64, Micros, Option<Micros>)>(
            "SELECT failures, window_started_at, locked_until FROM login_throttle WHERE login_key = $1",
        )
        .bind(key)
        .fetch_optional(&mut *tx)
        .await?
        .map(|(failures, window_started_at, locked_until)| ThrottleRecord {
            failures,
            window_started_at,
            locked_until,
        });
        let Some(record) = Throttle::after_failure(previous.as_ref(), at) else {
            return Ok(None);
        };
        sqlx::query(
            "INSERT INTO login_throttle (login_key, failures, window_started_at, locked_until) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (login_key) DO UPDATE SET failures = $2, window_started_at = $3, locked_until = $4",
        )
        .bind(key)
        .bind(record.failures)
        .bind(record.window_started_at)
        .bind(record.locked_until)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(record.locked_until)
    }

    async fn locked_until(&self, key: &str, at: Micros) -> Result<Option<Micros>, IdentityError> {
        let until: Option<Option<i64>> =
            sqlx::query_scalar("SELECT locked_until FROM login_throttle WHERE login_key = $1")
                .bind(key)
                .fetch_optional(self.db.pool())
                .await?;
        Ok(Throttle::in_force(until.flatten(), at))
    }

    async fn clear_login_failures(&self, key: &str) -> Result<(), IdentityError> {
        let mut tx = self.db.begin_write().await?;
        sqlx::query("DELETE FROM login_throttle WHERE login_key = $1")
            .bind(key)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
