//! What a received message becomes, decided without I/O; `Ingest` asks the store and ticket
//! core, these decide.
//!
//! - At the door a message that parses is kept `pending`; one that is not mail at all is kept in
//!   the quarantine; only one larger than `max_message_bytes` is refused (and not kept). Nothing
//!   a mail carries refuses it: what its article cannot take stays with the received message
//!   and is named in a note on the ticket (`parts`).
//! - A message that no longer parses when a worker takes it is held the same way: quarantined
//!   when it is not mail, refused otherwise.
//! - A sender's messages within the hour count towards `sender_limit_per_hour`, unless the limit
//!   is 0, the sender unknown, or an administrator sent the message through again; copies of a
//!   message (below) do not count, and are told apart before the limit is checked.
//! - Within a tenant (known once a message is routed) a message is made into a ticket change
//!   once, whatever way its copies came: copies share the Message-ID, the sender and the Date
//!   ([`copy_key`]). The copy that claims the key first is processed; a later one waits while
//!   that one is pending, and is then recorded as its duplicate, naming it and its ticket. Mail
//!   without a Message-ID is never a copy by this rule (identical bytes are still stored once).
//! - A message goes to the first queue one of its recipients belongs to, else to its IMAP
//!   account's queue, else to the default queue.
//! - Spam (marked so by the upstream filter, see `parse::spam`), once routed to a tenant, goes to
//!   that tenant's queue named `junk_queue` as a new ticket, even when its subject names a
//!   ticket or it claims to be a bounce: never onto a customer's ticket, never answered, never
//!   counted towards the sender's limit (nor checked against it). A tenant without such a queue
//!   finds it in the quarantine with the reason ([`junk_destination`]).
//! - An automatic answer goes only to a person: not to mail marked automatic, not to a bounce,
//!   not to spam, not to a robot's address, not to one of the queue's own addresses. It is in the mail's
//!   language if that is German or English, else in the default language, from the `acceptance`
//!   template of that language, else the one without a language, else the built-in text.
//! - A sender gets at most `auto_answer_limit` automatic answers within `auto_answer_window_secs`
//!   (0: no limit), so a loop with another robot ends after a few; beyond that its mail is still
//!   processed, and the message's reason says why no answer went out. An answer that was allowed
//!   stays allowed when its message is processed again after a failure.

use std::collections::BTreeSet;

use docket_proto::ticket::v1 as pb;

use super::{IngestSettings, REPROCESSED};
use crate::domain::{AutoAnswer, CopyKey, InboundId, InboundState, Micros};
use crate::parse::{self, Bounce, ParseError, ParsedMail, SpamVerdict};
use crate::storage::{Claim, InboundMessage};

mod parts;

pub(super) use parts::left_over_note;
pub use parts::{Filing, LeftOver, SetAside, Why, file_parts, part_path};

/// A new ticket's title or an article's subject when the mail has none.
pub(super) const NO_SUBJECT: &str = "(no subject)";

/// How a message is kept at the door.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Admission {
    pub state: InboundState,
    pub reason: String,
    pub message_id: String,
    pub sender: String,
    /// At most 500 characters, for listings.
    pub subject: String,
}

/// How a message is kept, from what the parser made of it; `Err` with the reason when it is
/// refused and not kept.
pub(super) fn admission(parsed: Result<ParsedMail, ParseError>) -> Result<Admission, String> {
    match parsed {
        Ok(mail) => Ok(Admission {
            state: InboundState::Pending,
            reason: String::new(),
            message_id: mail.message_id.unwrap_or_default(),
            sender: mail.from.map(|a| a.email).unwrap_or_default(),
            subject: mail.subject.chars().take(500).collect(),
        }),
        Err(e @ ParseError::NotAMessage(_)) => Ok(Admission {
            state: InboundState::Quarantined,
            reason: e.to_string(),
            message_id: String::new(),
            sender: String::new(),
            subject: String::new(),
        }),
        Err(e) => Err(e.to_string()),
    }
}

/// Where a stored message that does not parse is held.
pub(super) fn held_state(error: &ParseError) -> InboundState {
    match error {
        ParseError::NotAMessage(_) => InboundState::Quarantined,
        _ => InboundState::Refused,
    }
}

/// The Message-IDs a mail answers: its References, then In-Reply-To.
pub(super) fn answered_ids(mail: &ParsedMail) -> Vec<String> {
    let mut thread = mail.references.clone();
    thread.extend(mail.in_reply_to.iter().cloned());
    thread
}

/// Since when `sender`'s messages count towards the hourly limit, or `None` when the limit does
/// not apply to this message.
pub(super) fn sender_limit_window(
    message: &InboundMessage,
    sender: &str,
    limit_per_hour: u32,
) -> Option<Micros> {
    (!sender.is_empty() && message.reason != REPROCESSED && limit_per_hour > 0)
        .then(|| message.received_at - 3_600_000_000)
}

/// Why a message is quarantined when its sender sent `sent` messages within the hour, more than
/// `limit_per_hour`; `None` when that is within the limit.
pub(super) fn sender_limit_exceeded(
    sender: &str,
    sent: u64,
    limit_per_hour: u32,
) -> Option<String> {
    let limit = u64::from(limit_per_hour);
    (sent > limit).then(|| {
        format!(
            "{sender} sent {sent} messages within an hour, more than the {limit} accepted \
             (a mail loop?); reprocess it to accept it"
        )
    })
}

/// The key that makes copies of `mail` one message within `tenant_id`; `None` when the mail has
/// no Message-ID.
pub(super) fn copy_key(tenant_id: &str, mail: &ParsedMail) -> Option<CopyKey> {
    let message_id = mail.message_id.as_deref().map(str::trim).unwrap_or("");
    (!message_id.is_empty()).then(|| CopyKey {
        tenant_id: tenant_id.to_owned(),
        message_id: message_id.to_owned(),
        sender: mail
            .from
            .as_ref()
            .map(|a| a.email.trim().to_lowercase())
            .unwrap_or_default(),
        sent_at: mail.date_us,
    })
}

/// What a message does about the claim on its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum CopyVerdict {
    /// It holds the claim: it is processed.
    Process,
    /// The first copy is not processed yet: this one waits for it, for this reason.
    Wait(String),
    /// A duplicate of the first copy, which went to `ticket_id` ('' when it is held): recorded
    /// with the reason, nothing else done.
    Duplicate { ticket_id: String, reason: String },
}

/// What a message with Message-ID `message_id` does, given who holds its key.
pub(super) fn copy_verdict(claim: &Claim, message_id: &str) -> CopyVerdict {
    let Claim::First {
        id,
        state,
        ticket_id,
    } = claim
    else {
        return CopyVerdict::Process;
    };
    match state {
        InboundState::Pending => CopyVerdict::Wait(format!(
            "waits for message {id}, an earlier copy of {message_id}"
        )),
        InboundState::Done => CopyVerdict::Duplicate {
            ticket_id: ticket_id.clone(),
            reason: if ticket_id.is_empty() {
                format!("a copy of message {id} (Message-ID {message_id}); nothing done")
            } else {
                format!(
                    "a copy of message {id} (Message-ID {message_id}), which went to ticket \
                     {ticket_id}; nothing done"
                )
            },
        },
        held @ (InboundState::Quarantined | InboundState::Refused) => CopyVerdict::Duplicate {
            ticket_id: String::new(),
            reason: format!(
                "a copy of message {id} (Message-ID {message_id}), which is {held}; nothing \
                 done: reprocess that one"
            ),
        },
    }
}

/// How many automatic answers a sender gets within how long; a limit of 0 is no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnswerLimit {
    pub limit: u32,
    pub window_secs: u64,
}

impl AnswerLimit {
    pub(super) fn applies(self) -> bool {
        self.limit > 0
    }
}

/// Whether the automatic answer `key` may go to `sender` at `now`, given the answers it got
/// (`earlier`, in any order): the answers to keep (those within the window, and this one if it
/// goes) and `Err` with the reason when it may not go. Answers count for `window_secs` after
/// they went, the moment they went included; one already allowed (a retry) is allowed again.
pub(super) fn auto_answer(
    limit: AnswerLimit,
    earlier: Vec<AutoAnswer>,
    key: &str,
    sender: &str,
    now: Micros,
) -> (Vec<AutoAnswer>, Result<(), String>) {
    let window = i64::try_from(limit.window_secs.saturating_mul(1_000_000)).unwrap_or(i64::MAX);
    let since = now.saturating_sub(window);
    let mut kept: Vec<AutoAnswer> = earlier.into_iter().filter(|a| a.at > since).collect();
    if kept.iter().any(|a| a.key == key) || !limit.applies() {
        return (kept, Ok(()));
    }
    let count = kept.len();
    if u64::try_from(count).unwrap_or(u64::MAX) < u64::from(limit.limit) {
        kept.push(AutoAnswer {
            at: now,
            key: key.to_owned(),
        });
        return (kept, Ok(()));
    }
    let reason = format!(
        "no automatic answer: {sender} got {count} within {} seconds, the most \
         mail.auto_answer_limit allows (a mail loop?)",
        limit.window_secs
    );
    (kept, Err(reason))
}

impl IngestSettings {
    /// The queue for mail that no queue's address names: the account's queue (IMAP), else the
    /// default queue.
    pub(super) fn fallback_queue(&self, source: &str) -> Option<String> {
        self.account_queues
            .iter()
            .find(|(account, _)| account == source)
            .map(|(_, queue)| queue.clone())
            .or_else(|| self.default_queue.clone())
    }
}

/// Where spam that was sent to `tenant_id` goes: the tenant's queue named `junk_queue`, or
/// `Err` with the reason to hold it in the quarantine.
pub(super) fn junk_destination<'q>(
    verdict: &SpamVerdict,
    tenant_id: &str,
    queues: &'q [pb::Queue],
    junk_queue: &str,
) -> Result<&'q pb::Queue, String> {
    if junk_queue.is_empty() {
        return Err(format!(
            "spam ({verdict}) and no junk queue is set (mail.junk_queue)"
        ));
    }
    queues
        .iter()
        .find(|q| q.tenant_id == tenant_id && q.name == junk_queue)
        .ok_or_else(|| {
            format!("spam ({verdict}) and tenant {tenant_id} has no queue named {junk_queue}")
        })
}

/// What a spam message's record says once it is in the Junk queue.
pub(super) fn spam_note(verdict: &SpamVerdict) -> String {
    format!("spam ({verdict})")
}

/// Where a message was addressed, in the order that decides: envelope recipients, then
/// Delivered-To, X-Original-To, To and Cc; each once, lowercased.
pub fn recipients(message: &InboundMessage, mail: &ParsedMail) -> Vec<String> {
    let mut seen = BTreeSet::new();
    message
        .recipients
        .iter()
        .map(|r| r.trim().to_ascii_lowercase())
        .chain(
            mail.delivered_to
                .iter()
                .chain(&mail.x_original_to)
                .chain(&mail.to)
                .chain(&mail.cc)
                .map(|a| a.email.clone()),
        )
        .filter(|a| a.contains('@') && seen.insert(a.clone()))
        .collect()
}

/// The customer's article a mail becomes, with the `attachments` filed onto it
/// ([`file_parts`]); ticket core stores it once per message.
pub(super) fn customer_article(
    id: InboundId,
    mail: &ParsedMail,
    attachments: Vec<pb::NewAttachment>,
) -> pb::NewArticle {
    pb::NewArticle {
        sender: pb::SenderType::Customer.into(),
        channel: pb::Channel::Email.into(),
        visible_to_customer: true,
        subject: if mail.subject.is_empty() {
            NO_SUBJECT.into()
        } else {
            mail.subject.chars().take(250).collect()
        },
        body: article_body(mail),
        attachments,
        time_minutes: 0,
        idempotency_key: format!("mail:{id}"),
        // An auto-reply or list mail changes no ticket's state (ticket core's rule).
        automatic: mail.auto.is_some(),
    }
}

/// A new ticket in `queue` for a mail from `sender`, with the mail's article: titled by the
/// subject without reply prefixes and the ticket tags of `hooks`, the sender as customer and
/// contact.
pub(super) fn new_ticket(
    queue: &pb::Queue,
    mail: &ParsedMail,
    sender: &str,
    article: pb::NewArticle,
    hooks: &parse::TicketHooks,
) -> pb::CreateTicketRequest {
    let title = match parse::clean_subject_with(&mail.subject, hooks) {
        t if t.trim().is_empty() => NO_SUBJECT.to_owned(),
        t => t.chars().take(250).collect(),
    };
    pb::CreateTicketRequest {
        queue_id: queue.id.clone(),
        title,
        customer: sender.to_owned(),
        contact: Some(pb::Contact {
            name: mail
                .from
                .as_ref()
                .and_then(|a| a.name.clone())
                .unwrap_or_default()
                .chars()
                .take(200)
                .collect(),
            email: sender.to_owned(),
            ..Default::default()
        })
        .filter(|c| !c.email.is_empty()),
        article: Some(article),
        ..Default::default()
    }
}

/// Whether an automatic answer may go to the sender: not to robots, lists, bounces or spam,
/// not to one of our own addresses.
pub(super) fn may_answer(mail: &ParsedMail, queue: &pb::Queue) -> bool {
    let Some(from) = &mail.from else {
        return false;
    };
    let robot = ["mailer-daemon@", "postmaster@", "noreply@", "no-reply@"]
        .iter()
        .any(|p| from.email.starts_with(p));
    mail.auto.is_none()
        && mail.bounce.is_none()
        && mail.spam.is_none()
        && !robot
        && !queue
            .addresses
            .iter()
            .any(|a| a.eq_ignore_ascii_case(&from.email))
}

/// The language of an automatic answer: the mail's if we speak it, else the default.
pub(super) fn answer_language(mail: &ParsedMail, default_language: &str) -> String {
    match mail.content_language.as_deref() {
        Some(l @ ("de" | "en")) => l.to_owned(),
        _ => default_language.to_owned(),
    }
}

/// The `acceptance` template in `language`, else the one without a language.
pub(super) fn acceptance_template<'t>(
    templates: &'t [pb::Template],
    language: &str,
) -> Option<&'t pb::Template> {
    templates
        .iter()
        .filter(|t| t.kind() == pb::TemplateKind::Acceptance)
        .find(|t| t.language == language)
        .or_else(|| {
            templates
                .iter()
                .find(|t| t.kind() == pb::TemplateKind::Acceptance && t.language.is_empty())
        })
}

/// A bounce as an internal note on the ticket of the mail that bounced, and the delivery detail
/// recorded on that mail's article.
pub(super) struct BounceNote {
    pub article: pb::NewArticle,
    pub detail: String,
}

/// The note for a delivery status notification about `original` (the returned Message-ID).
pub(super) fn bounce_note(
    id: InboundId,
    mail: &ParsedMail,
    bounce: &Bounce,
    original: &str,
    attachments: Vec<pb::NewAttachment>,
) -> BounceNote {
    let status = bounce.status.clone().unwrap_or_else(|| "unknown".into());
    let recipient = bounce.recipient.clone().unwrap_or_default();
    let mut body = format!(
        "Undeliverable: the mail {original} to {recipient} bounced (status {status}).\n\n{}",
        mail.text
    );
    body.truncate(floor_char_boundary(&body, 900_000));
    BounceNote {
        article: pb::NewArticle {
            sender: pb::SenderType::System.into(),
            channel: pb::Channel::Email.into(),
            visible_to_customer: false,
            subject: format!("[Bounce] {}", mail.subject)
                .chars()
                .take(250)
                .collect(),
            body,
            attachments,
            time_minutes: 0,
            idempotency_key: format!("mail:{id}"),
            automatic: true,
        },
        detail: format!("bounced: {status} {recipient}").trim().to_owned(),
    }
}

/// The largest index ≤ `at` on a character boundary.
fn floor_char_boundary(s: &str, at: usize) -> usize {
    let mut i = at.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The article's text: the mail's text, never empty, at most what ticket core takes.
fn article_body(mail: &ParsedMail) -> String {
    const MAX: usize = 1024 * 1024 - 200;
    let mut body = if mail.text.trim().is_empty() {
        "(the message has no text)".to_owned()
    } else {
        mail.text.clone()
    };
    if body.len() > MAX {
        body.truncate(floor_char_boundary(&body, MAX));
        body.push_str("\n\n[shortened: the full message is kept with the received mail]");
    }
    body
}

#[cfg(test)]
mod tests;
