//! The automatic answers each sender got lately, so that a mail loop gets only a few. One row
//! per sender holds its recent answers; a writer takes the row (an upsert that locks it on
//! PostgreSQL; SQLite writes one at a time anyway), lets the rule decide on what it holds and
//! writes the result in the same transaction, so two workers never both take the last answer.

use super::MailStore;
use crate::domain::AutoAnswer;
use crate::error::MailError;

const TAKE: &str = "INSERT INTO auto_answers (recipient, answers, updated_at) VALUES ($1, '[]', $2) \
     ON CONFLICT (recipient) DO UPDATE SET updated_at = excluded.updated_at RETURNING answers";
const WRITE: &str = "UPDATE auto_answers SET answers = $1, updated_at = $2 WHERE recipient = $3";
const FORGET: &str = "DELETE FROM auto_answers WHERE updated_at < $1";

impl MailStore {
    /// Loads the answers `recipient` got, lets `decide` say which to keep (and whatever else it
    /// decides) and stores those, in one transaction that no other writer for `recipient`
    /// interleaves with; the same transaction forgets the senders not answered since
    /// `forget_before` ([`MailStore::forget_auto_answers`]).
    pub async fn auto_answers<T>(
        &self,
        recipient: &str,
        forget_before: i64,
        decide: impl FnOnce(Vec<AutoAnswer>) -> (Vec<AutoAnswer>, T),
    ) -> Result<T, MailError> {
        let now = docket_platform::time::now_micros();
        let mut tx = self.db.begin_write().await?;
        let stored: String = sqlx::query_scalar(TAKE)
            .bind(recipient)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
        let answers: Vec<(i64, String)> = serde_json::from_str(&stored)
            .map_err(|e| MailError::Corrupt(format!("column answers: {e}")))?;
        let (keep, decided) = decide(
            answers
                .into_iter()
                .map(|(at, key)| AutoAnswer { at, key })
                .collect(),
        );
        let keep: Vec<(i64, &str)> = keep.iter().map(|a| (a.at, a.key.as_str())).collect();
        let keep =
            serde_json::to_string(&keep).map_err(|e| MailError::Corrupt(format!("json: {e}")))?;
        sqlx::query(WRITE)
            .bind(keep)
            .bind(now)
            .bind(recipient)
            .execute(&mut *tx)
            .await?;
        sqlx::query(FORGET)
            .bind(forget_before)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(decided)
    }

    /// Forgets the senders who got no answer since `before` (their answers no longer count):
    /// addresses are personal data, kept no longer than the rule needs them. Returns how many.
    pub async fn forget_auto_answers(&self, before: i64) -> Result<u64, MailError> {
        let mut tx = self.db.begin_write().await?;
        let forgotten = sqlx::query(FORGET)
            .bind(before)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(forgotten)
    }
}
