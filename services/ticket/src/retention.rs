//! Retention: how long a tenant keeps closed tickets and what happens after (deleted, or
//! anonymised for the statistics), which tickets are kept anyway, and what a run did.

use serde::Serialize;

use crate::domain::*;
use crate::error::TicketError;

text_enum!(
    /// What happens to a closed ticket past its tenant's retention period.
    RetentionAction, "retention action" {
        /// Everything about it is removed.
        Delete = "delete",
        /// Its articles, attachments, history and personal fields are removed; its number,
        /// queue, classification, state and dates stay for the statistics.
        Anonymise = "anonymise",
    }
);

/// A tenant's retention period and action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RetentionPolicy {
    pub days: u32,
    pub action: RetentionAction,
}

impl RetentionPolicy {
    /// Two years, then deleted.
    pub const DEFAULT: RetentionPolicy = RetentionPolicy {
        days: 730,
        action: RetentionAction::Delete,
    };

    pub fn parse(days: u32, action: RetentionAction) -> Result<Self, TicketError> {
        if !(30..=36_500).contains(&days) {
            return Err(TicketError::invalid(format!(
                "a retention period of {days} days is not between 30 days and 100 years"
            )));
        }
        Ok(Self { days, action })
    }

    /// Tickets closed before this instant are due at `now`.
    pub fn cutoff(self, now: Micros) -> Micros {
        now.saturating_sub(i64::from(self.days) * 86_400_000_000)
    }
}

/// What one retention run did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RetentionRun {
    pub id: uuid::Uuid,
    pub started_at: Micros,
    pub finished_at: Micros,
    pub actor: String,
    /// Numbers of the tickets deleted, and of those anonymised.
    pub deleted: Vec<String>,
    pub anonymised: Vec<String>,
    /// Tickets past their period kept for a legal hold or their requester's objection.
    pub kept: u64,
    /// A dry run: what a run would do, nothing done (and not logged).
    pub dry_run: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_bounded_and_cut_off_in_days() {
        assert!(RetentionPolicy::parse(29, RetentionAction::Delete).is_err());
        assert!(RetentionPolicy::parse(36_501, RetentionAction::Delete).is_err());
        let p = RetentionPolicy::parse(30, RetentionAction::Anonymise).unwrap();
        assert_eq!(p.cutoff(31 * 86_400_000_000), 86_400_000_000);
        assert_eq!(RetentionPolicy::DEFAULT.days, 730);
        assert!("shred".parse::<RetentionAction>().is_err());
    }
}
