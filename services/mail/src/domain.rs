//! The mail channel's vocabulary (ids, the states of received and outgoing mail) and the rules
//! that decide on them, as pure functions; `storage` saves what they decide and `ingest` acts on
//! it.
//!
//! - A received message is `pending` until a worker has made it a ticket change (`done`), or it
//!   is held for an administrator: `quarantined` (it could not be processed) or `refused` (it
//!   cannot become a ticket change as it is). Only held messages are processed again.
//! - An outgoing mail waits to be sent while `queued` or `retrying`; `sent` and `failed` are final.
//! - A mail we send names the first of its ticket's Message-IDs and the newest ones, at most as
//!   many as asked: enough for any client to thread it, never a header that grows without end.
//! - Within a tenant a message is one message whatever way it came: the same Message-ID from the
//!   same sender with the same Date is a copy ([`CopyKey`]). Only the copy processed first makes a
//!   ticket change; the others are recorded as duplicates of it.
//! - Spam (marked so by the upstream filter) never counts towards a sender's limit, nor do
//!   copies of a message ([`Outcome::NOT_COUNTED`]).
//! - A received message whose processing failed for a transient reason is tried again after a
//!   wait that doubles with each attempt: 2 seconds after the first, at most 256 seconds.

use std::time::Duration;

use crate::error::MailError;

/// Unix time in microseconds.
pub type Micros = i64;

docket_platform::typed_id!(pub InboundId, "inbound message");
docket_platform::typed_id!(pub OutgoingId, "outgoing mail");

docket_platform::text_enum!(MailError;
    /// Where a received message is.
    InboundState, "message state" {
        Pending = "pending",
        Done = "done",
        Quarantined = "quarantined",
        Refused = "refused",
    }
);

docket_platform::text_enum!(MailError;
    /// What a processed message became.
    Outcome, "outcome" {
        NewTicket = "new_ticket",
        FollowUp = "follow_up",
        Bounce = "bounce",
        /// Another copy of a message the tenant already has (a second MX, a forwarder): it
        /// makes nothing and answers nothing.
        Duplicate = "duplicate",
        /// Marked as spam by the upstream filter: a new ticket in the tenant's Junk queue,
        /// answered never.
        Spam = "spam",
    }
);

docket_platform::text_enum!(MailError;
    /// Where an outgoing mail is (the same names as an article's delivery state).
    OutgoingState, "outgoing state" {
        Queued = "queued",
        Retrying = "retrying",
        Sent = "sent",
        Failed = "failed",
    }
);

docket_platform::text_enum!(MailError;
    /// What an outgoing mail is.
    OutgoingKind, "outgoing kind" {
        Confirmation = "confirmation",
        Reply = "reply",
        Notice = "notice",
    }
);

impl InboundState {
    /// Held for an administrator: the states from which a message may be processed again.
    pub const HELD: [Self; 2] = [Self::Quarantined, Self::Refused];
}

impl Outcome {
    /// What a sender's messages count towards `sender_limit_per_hour` without: copies of one
    /// message, and spam (a flood of it is the filter's business, not a mail loop).
    pub const NOT_COUNTED: [Self; 2] = [Self::Duplicate, Self::Spam];
}

impl OutgoingState {
    /// Not sent yet and not given up: the states in which a mail is due for another attempt.
    pub const WAITING: [Self; 2] = [Self::Queued, Self::Retrying];
}

/// What makes two received messages copies of one within a tenant: its Message-ID, its sender
/// (lowercased) and its Date. A mail without a Message-ID has none.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CopyKey {
    pub tenant_id: String,
    pub message_id: String,
    pub sender: String,
    /// The Date header; `None` when the mail has none (then it matches only mail without one).
    pub sent_at: Option<Micros>,
}

/// An automatic answer that went to a sender: when, and for what (`confirmation:<inbound id>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoAnswer {
    pub at: Micros,
    pub key: String,
}

/// What one article of a received mail carries at most; the rest of its parts stay with the
/// received message and are named in a note. Never more than ticket core takes
/// ([`docket_proto::article_limits`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArticleLimits {
    /// Attachments, the HTML copy counted; inline images shown in the HTML copy are not.
    pub max_attachments: usize,
    /// One attachment, in bytes.
    pub max_attachment_bytes: usize,
    /// All attachments together, in bytes.
    pub max_total_bytes: usize,
}

impl Default for ArticleLimits {
    fn default() -> Self {
        use docket_proto::article_limits as most;
        Self {
            max_attachments: most::MAX_ATTACHMENTS,
            max_attachment_bytes: most::MAX_ATTACHMENT_BYTES,
            max_total_bytes: most::MAX_TOTAL_BYTES,
        }
    }
}

impl ArticleLimits {
    /// Limits from the settings: each at least 1 and at most what ticket core takes (`Err`
    /// names the setting that is not).
    pub fn new(
        max_attachments: usize,
        max_attachment_bytes: usize,
        max_total_bytes: usize,
    ) -> Result<Self, String> {
        let most = Self::default();
        for (name, value, ceiling) in [
            ("max_attachments", max_attachments, most.max_attachments),
            (
                "max_attachment_bytes",
                max_attachment_bytes,
                most.max_attachment_bytes,
            ),
            (
                "max_article_attachment_bytes",
                max_total_bytes,
                most.max_total_bytes,
            ),
        ] {
            if value == 0 || value > ceiling {
                return Err(format!(
                    "mail.{name} is {value}; it must be between 1 and {ceiling}, what ticket core \
                     takes on one article"
                ));
            }
        }
        Ok(Self {
            max_attachments,
            max_attachment_bytes,
            max_total_bytes,
        })
    }
}

/// The Message-IDs a mail names of its ticket's thread (`ids` oldest first): all of them if
/// there are at most `limit` (never fewer than 2), else the first and the `limit - 1` newest.
pub fn thread_references(mut ids: Vec<String>, limit: u32) -> Vec<String> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX).max(2);
    if ids.len() > limit {
        let newest = ids.split_off(ids.len() - (limit - 1));
        ids.truncate(1);
        ids.extend(newest);
    }
    ids
}

/// How long a received message waits before its next try after a transient failure, given how
/// many times it was taken so far (claiming counts, so the first failure waits 2 seconds). The
/// cap of 300 seconds is never reached: the doubling stops at 2^8.
pub fn processing_retry_delay(attempts: u32) -> Duration {
    Duration::from_secs((1_u64 << attempts.min(8)).min(300))
}

#[cfg(test)]
mod tests {
    #[test]
    fn article_limits_stay_within_what_ticket_core_takes() {
        let most = ArticleLimits::default();
        assert_eq!(most.max_attachments, 20);
        assert_eq!(
            ArticleLimits::new(5, 1024, 2048).map(|l| l.max_total_bytes),
            Ok(2048)
        );
        let err = ArticleLimits::new(21, 1024, 2048).unwrap_err();
        assert!(err.contains("mail.max_attachments is 21"), "{err}");
        assert!(
            ArticleLimits::new(1, 0, 2048)
                .unwrap_err()
                .contains("max_attachment_bytes")
        );
        let over = most.max_total_bytes + 1;
        assert!(
            ArticleLimits::new(1, 1, over)
                .unwrap_err()
                .contains("max_article_attachment_bytes")
        );
    }

    use super::*;

    fn ids(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("m{i}")).collect()
    }

    #[test]
    fn threads_keep_their_first_and_newest_ids() {
        assert_eq!(thread_references(ids(3), 20), ids(3));
        assert_eq!(thread_references(ids(20), 20), ids(20));
        assert_eq!(thread_references(ids(5), 3), ["m1", "m4", "m5"]);
        // Never fewer than the first and the newest.
        assert_eq!(thread_references(ids(5), 0), ["m1", "m5"]);
        assert_eq!(thread_references(ids(5), 1), ["m1", "m5"]);
        assert_eq!(thread_references(Vec::new(), 2), Vec::<String>::new());
    }

    #[test]
    fn only_quarantined_and_refused_messages_are_held() {
        let held: Vec<_> = InboundState::ALL
            .iter()
            .filter(|s| InboundState::HELD.contains(s))
            .collect();
        assert_eq!(held, [&InboundState::Quarantined, &InboundState::Refused]);
    }

    #[test]
    fn only_copies_and_spam_go_uncounted() {
        let uncounted: Vec<_> = Outcome::ALL
            .iter()
            .filter(|o| Outcome::NOT_COUNTED.contains(o))
            .collect();
        assert_eq!(uncounted, [&Outcome::Duplicate, &Outcome::Spam]);
        assert_eq!("spam".parse::<Outcome>().unwrap(), Outcome::Spam);
    }

    #[test]
    fn queued_and_retrying_mail_waits_to_be_sent() {
        let waiting: Vec<_> = OutgoingState::ALL
            .iter()
            .filter(|s| OutgoingState::WAITING.contains(s))
            .collect();
        assert_eq!(waiting, [&OutgoingState::Queued, &OutgoingState::Retrying]);
    }

    #[test]
    fn processing_retries_double_up_to_256_seconds() {
        let secs: Vec<u64> = (0..10)
            .map(|a| processing_retry_delay(a).as_secs())
            .collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 32, 64, 128, 256, 256]);
        assert_eq!(processing_retry_delay(u32::MAX), Duration::from_secs(256));
    }
}
