//! The inbox: consumers process each event once, even when the bus delivers it twice.
//!
//! ```text
//! let mut tx = db.begin_write().await?;
//! if !inbox::claim(&mut tx, "reporting", &delivery.envelope.event_id).await? {
//!     return Ok(()); // processed before
//! }
//! /* apply the event with `tx` */
//! tx.commit().await?;
//! ```

use docket_store::WriteTx;

/// Records that `consumer` processes `event_id` in the caller's transaction. Returns false when
/// it was processed before: the caller then skips the event. The claim and the event's effects
/// commit (or roll back) together.
pub async fn claim(tx: &mut WriteTx, consumer: &str, event_id: &str) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "INSERT INTO bus_inbox (consumer, event_id, processed_at) VALUES ($1, $2, $3) \
         ON CONFLICT (consumer, event_id) DO NOTHING",
    )
    .bind(consumer)
    .bind(event_id)
    .bind(docket_platform::time::now_micros())
    .execute(&mut **tx)
    .await?;
    Ok(result.rows_affected() == 1)
}
