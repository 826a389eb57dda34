//! Announcing pending reminders and escalations once when they come due.

use super::*;

#[async_trait]
pub trait DueTimes: Send + Sync + 'static {
    /// Announces, each once, up to `limit` reminders whose pending time has come
    /// (`ticket.reminder_reached`) and up to `limit` tickets still being worked on past their
    /// target date (`ticket.escalated`). A new pending time or target date is announced again
    /// when it comes. Replicas may call it at once; each announcement is made by one of them.
    async fn announce_due(&self, now: Micros, limit: u32) -> Result<Due, TicketError>;
}

#[async_trait]
impl DueTimes for SqlTicketStore {
    async fn announce_due(&self, now: Micros, limit: u32) -> Result<Due, TicketError> {
        let mut tx = self.db.begin_write().await?;
        let reminders = Self::announce(&mut tx, DueKind::Reminder, now, limit).await?;
        let escalations = Self::announce(&mut tx, DueKind::Escalation, now, limit).await?;
        self.commit(tx).await?;
        Ok(Due {
            reminders,
            escalations,
        })
    }
}
