//! What a received message becomes, decided without I/O; `Ingest` asks the store and ticket
//! core, these decide.
//!
//! - At the door a message that parses is kept `pending`; one that is not mail at all is kept in
//!   the quarantine; one over a limit (size, attachments) is refused and not kept.
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

/// A new ticket's title or an article's subject when the mail has none.
pub(super) const NO_SUBJECT: &str = "(no subject)";

/// Ticket core takes 20 attachments per article; the HTML body is kept up to 4 MiB.
const MAX_ATTACHMENTS: usize = 20;
const MAX_HTML_BYTES: usize = 4 * 1024 * 1024;

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

/// The customer's article a mail becomes; ticket core stores it once per message.
pub(super) fn customer_article(id: InboundId, mail: &ParsedMail) -> pb::NewArticle {
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
        attachments: attachments(mail),
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
            attachments: attachments(mail),
            time_minutes: 0,
            idempotency_key: format!("mail:{id}"),
            automatic: true,
        },
        detail: format!("bounced: {status} {recipient}").trim().to_owned(),
    }
}

/// The mail's attachments and inline images, as ticket core takes them, and its HTML body,
/// sanitised, as `message.html` (the desk shows it; the text stays the article's body).
fn attachments(mail: &ParsedMail) -> Vec<pb::NewAttachment> {
    let mut list: Vec<_> = mail
        .attachments
        .iter()
        .map(|p| pb::NewAttachment {
            filename: p.filename.clone(),
            content_type: p.content_type.clone(),
            content: p.content.clone(),
        })
        .collect();
    if let Some(html) = &mail.html
        && list.len() < MAX_ATTACHMENTS
        && html.len() <= MAX_HTML_BYTES
    {
        list.push(pb::NewAttachment {
            filename: "message.html".into(),
            content_type: "text/html; charset=utf-8".into(),
            content: html.clone().into_bytes(),
        });
    }
    list
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
mod tests {
    use super::*;
    use crate::parse::Address;

    fn inbound(recipients: &[&str]) -> InboundMessage {
        InboundMessage {
            id: InboundId::new(),
            received_at: 0,
            source: "lmtp".into(),
            envelope_from: String::new(),
            recipients: recipients.iter().map(|r| (*r).to_owned()).collect(),
            message_id: String::new(),
            sha256: String::new(),
            size: 0,
            sender: String::new(),
            subject: String::new(),
            state: InboundState::Pending,
            reason: String::new(),
            outcome: None,
            ticket_id: String::new(),
            article_id: String::new(),
            attempts: 0,
            raw: Vec::new(),
        }
    }

    fn address(email: &str) -> Address {
        Address {
            name: None,
            email: email.into(),
        }
    }

    #[test]
    fn envelope_recipients_decide_before_headers() {
        let mail = ParsedMail {
            delivered_to: vec![address("support@uni.example")],
            to: vec![
                address("someone@uni.example"),
                address("support@uni.example"),
            ],
            cc: vec![address("cert@uni.example")],
            ..Default::default()
        };
        assert_eq!(
            recipients(&inbound(&["Helpdesk@Uni.Example", "not-an-address"]), &mail),
            vec![
                "helpdesk@uni.example",
                "support@uni.example",
                "someone@uni.example",
                "cert@uni.example"
            ]
        );
    }

    #[test]
    fn bodies_are_never_empty_and_never_too_long() {
        let empty = ParsedMail::default();
        assert_eq!(article_body(&empty), "(the message has no text)");
        let long = ParsedMail {
            text: "ä".repeat(700_000),
            ..Default::default()
        };
        let body = article_body(&long);
        assert!(body.len() <= 1024 * 1024);
        assert!(body.ends_with("kept with the received mail]"));
    }

    fn from(email: &str) -> ParsedMail {
        ParsedMail {
            from: Some(address(email)),
            ..Default::default()
        }
    }

    fn queue(addresses: &[&str]) -> pb::Queue {
        pb::Queue {
            id: "q1".into(),
            addresses: addresses.iter().map(|a| (*a).to_owned()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn mail_is_kept_quarantined_or_refused_at_the_door() {
        let mail = ParsedMail {
            message_id: Some("m1@x".into()),
            subject: "ä".repeat(600),
            ..from("jane@example.com")
        };
        let kept = admission(Ok(mail)).unwrap();
        assert_eq!(kept.state, InboundState::Pending);
        assert_eq!(
            (kept.message_id.as_str(), kept.sender.as_str()),
            ("m1@x", "jane@example.com")
        );
        assert_eq!(kept.subject.chars().count(), 500);

        let not_mail = ParseError::NotAMessage("the input is empty".into());
        let held = admission(Err(not_mail.clone())).unwrap();
        assert_eq!(held.state, InboundState::Quarantined);
        assert_eq!(held.reason, not_mail.to_string());
        assert_eq!(held_state(&not_mail), InboundState::Quarantined);

        let too_large = ParseError::TooLarge { size: 2, limit: 1 };
        assert_eq!(
            admission(Err(too_large.clone())),
            Err(too_large.to_string())
        );
        assert_eq!(held_state(&too_large), InboundState::Refused);
    }

    #[test]
    fn answers_name_references_then_in_reply_to() {
        let mail = ParsedMail {
            references: vec!["a".into(), "b".into()],
            in_reply_to: vec!["c".into()],
            ..Default::default()
        };
        assert_eq!(answered_ids(&mail), ["a", "b", "c"]);
    }

    #[test]
    fn the_sender_limit_counts_the_last_hour_unless_lifted() {
        let message = InboundMessage {
            received_at: 10_000_000_000,
            ..inbound(&[])
        };
        assert_eq!(
            sender_limit_window(&message, "jane@example.com", 30),
            Some(6_400_000_000)
        );
        assert_eq!(sender_limit_window(&message, "", 30), None);
        assert_eq!(sender_limit_window(&message, "jane@example.com", 0), None);
        let again = InboundMessage {
            reason: REPROCESSED.into(),
            ..message
        };
        assert_eq!(sender_limit_window(&again, "jane@example.com", 30), None);

        assert_eq!(sender_limit_exceeded("jane@example.com", 30, 30), None);
        let reason = sender_limit_exceeded("jane@example.com", 31, 30).unwrap();
        assert!(
            reason
                .starts_with("jane@example.com sent 31 messages within an hour, more than the 30")
        );
    }

    #[test]
    fn mail_without_a_queue_address_goes_to_its_account_else_the_default() {
        let settings = IngestSettings {
            limits: parse::Limits::default(),
            default_queue: Some("default".into()),
            account_queues: vec![("imap:sales".into(), "sales".into())],
            default_language: "en".into(),
            sender_limit_per_hour: 0,
            auto_answers: AnswerLimit {
                limit: 3,
                window_secs: 3600,
            },
            spam: parse::SpamRules::default(),
            junk_queue: "Junk".into(),
        };
        assert_eq!(
            settings.fallback_queue("imap:sales").as_deref(),
            Some("sales")
        );
        assert_eq!(settings.fallback_queue("lmtp").as_deref(), Some("default"));
        let none = IngestSettings {
            default_queue: None,
            ..settings
        };
        assert_eq!(none.fallback_queue("lmtp"), None);
    }

    #[test]
    fn new_tickets_are_titled_by_the_cleaned_subject() {
        let mail = ParsedMail {
            subject: "AW: [Ticket#2026112210000017] Printer".into(),
            from: Some(Address {
                name: Some("Jane".into()),
                email: "jane@example.com".into(),
            }),
            ..Default::default()
        };
        let id = InboundId::new();
        let article = customer_article(id, &mail);
        assert_eq!(article.subject, mail.subject);
        assert_eq!(article.idempotency_key, format!("mail:{id}"));
        let hooks = parse::TicketHooks::default();
        let ticket = new_ticket(&queue(&[]), &mail, "jane@example.com", article, &hooks);
        assert_eq!(ticket.title, "Printer");
        assert_eq!(ticket.queue_id, "q1");
        let contact = ticket.contact.unwrap();
        assert_eq!(
            (contact.name.as_str(), contact.email.as_str()),
            ("Jane", "jane@example.com")
        );

        let untitled = ParsedMail::default();
        assert_eq!(customer_article(id, &untitled).subject, NO_SUBJECT);
        let ticket = new_ticket(
            &queue(&[]),
            &untitled,
            "",
            customer_article(id, &untitled),
            &hooks,
        );
        assert_eq!(ticket.title, NO_SUBJECT);
        assert_eq!(ticket.contact, None);

        let legacy = parse::TicketHooks::new("Ticket#", &["KIX#".to_owned()]);
        let tagged = ParsedMail {
            subject: "AW: [KIX#2026113010000017] Drucker".into(),
            ..untitled.clone()
        };
        let article = customer_article(id, &tagged);
        assert_eq!(
            new_ticket(&queue(&[]), &tagged, "", article, &legacy).title,
            "Drucker",
            "a legacy hook's tag is no part of the title"
        );
    }

    #[test]
    fn automatic_answers_go_to_people_only() {
        let support = queue(&["Support@Uni.Example"]);
        assert!(may_answer(&from("jane@example.com"), &support));
        assert!(!may_answer(&ParsedMail::default(), &support));
        for robot in ["mailer-daemon@x", "postmaster@x", "noreply@x", "no-reply@x"] {
            assert!(!may_answer(&from(robot), &support), "{robot}");
        }
        assert!(!may_answer(&from("support@uni.example"), &support));
        let automatic = ParsedMail {
            auto: Some(parse::AutoKind::ListUnsubscribe),
            ..from("jane@example.com")
        };
        assert!(!may_answer(&automatic, &support));
        let bounce = ParsedMail {
            bounce: Some(Bounce::default()),
            ..from("jane@example.com")
        };
        assert!(!may_answer(&bounce, &support));
        let spam = ParsedMail {
            spam: Some(flagged()),
            ..from("jane@example.com")
        };
        assert!(!may_answer(&spam, &support));
    }

    fn flagged() -> SpamVerdict {
        SpamVerdict {
            header: "X-Spam-Flag".into(),
            value: "YES".into(),
        }
    }

    #[test]
    fn spam_goes_to_the_tenants_junk_queue_else_the_quarantine() {
        let named = |id: &str, tenant: &str, name: &str| pb::Queue {
            id: id.into(),
            tenant_id: tenant.into(),
            name: name.into(),
            ..Default::default()
        };
        let queues = [
            named("raw-a", "tenant-a", "Raw"),
            named("junk-b", "tenant-b", "Junk"),
            named("junk-a-mail", "tenant-a", "Mail::Junk"),
            named("junk-a", "tenant-a", "Junk"),
        ];
        let verdict = flagged();
        let to = |tenant: &str, name: &str| {
            junk_destination(&verdict, tenant, &queues, name).map(|q| q.id.as_str())
        };
        assert_eq!(to("tenant-a", "Junk"), Ok("junk-a"));
        assert_eq!(to("tenant-b", "Junk"), Ok("junk-b"));
        assert_eq!(to("tenant-a", "Mail::Junk"), Ok("junk-a-mail"));
        // Another tenant's Junk queue is never used, nor one named only alike.
        assert_eq!(
            to("tenant-c", "Junk"),
            Err("spam (X-Spam-Flag: YES) and tenant tenant-c has no queue named Junk".into())
        );
        assert_eq!(
            to("tenant-a", "junk"),
            Err("spam (X-Spam-Flag: YES) and tenant tenant-a has no queue named junk".into())
        );
        assert_eq!(
            to("tenant-a", ""),
            Err("spam (X-Spam-Flag: YES) and no junk queue is set (mail.junk_queue)".into())
        );
        assert_eq!(spam_note(&verdict), "spam (X-Spam-Flag: YES)");
    }

    #[test]
    fn answers_are_in_the_mails_language_from_its_template() {
        let in_language = |l: Option<&str>| ParsedMail {
            content_language: l.map(str::to_owned),
            ..Default::default()
        };
        assert_eq!(answer_language(&in_language(Some("de")), "en"), "de");
        assert_eq!(answer_language(&in_language(Some("fr")), "en"), "en");
        assert_eq!(answer_language(&in_language(None), "de"), "de");

        let template = |id: &str, kind: pb::TemplateKind, language: &str| pb::Template {
            id: id.into(),
            kind: kind.into(),
            language: language.into(),
            ..Default::default()
        };
        let templates = [
            template("any", pb::TemplateKind::Acceptance, ""),
            template("reply-de", pb::TemplateKind::Answer, "de"),
            template("de", pb::TemplateKind::Acceptance, "de"),
        ];
        let chosen =
            |language: &str| acceptance_template(&templates, language).map(|t| t.id.as_str());
        assert_eq!(chosen("de"), Some("de"));
        assert_eq!(chosen("en"), Some("any"));
        assert_eq!(acceptance_template(&templates[1..], "en"), None);
    }

    #[test]
    fn copies_are_known_by_message_id_sender_and_date_within_a_tenant() {
        let mail = ParsedMail {
            message_id: Some(" m1@x ".into()),
            date_us: Some(1_795_338_000_000_000),
            ..from("Jane@Example.COM")
        };
        let key = copy_key("tenant-a", &mail).unwrap();
        assert_eq!(
            key,
            CopyKey {
                tenant_id: "tenant-a".into(),
                message_id: "m1@x".into(),
                sender: "jane@example.com".into(),
                sent_at: Some(1_795_338_000_000_000),
            }
        );
        // The same mail to another tenant is another message there.
        assert_ne!(copy_key("tenant-b", &mail), Some(key.clone()));
        // Another sender or another date: not a copy.
        let other_sender = ParsedMail {
            from: Some(address("john@example.com")),
            ..mail.clone()
        };
        assert_ne!(copy_key("tenant-a", &other_sender), Some(key.clone()));
        let other_date = ParsedMail {
            date_us: Some(1),
            ..mail.clone()
        };
        assert_ne!(copy_key("tenant-a", &other_date), Some(key.clone()));
        let no_date = ParsedMail {
            date_us: None,
            ..mail.clone()
        };
        assert_eq!(copy_key("tenant-a", &no_date).unwrap().sent_at, None);
        // Without a Message-ID a mail is never a copy by this rule.
        for message_id in [None, Some(String::new()), Some("  ".into())] {
            let anonymous = ParsedMail {
                message_id,
                ..mail.clone()
            };
            assert_eq!(copy_key("tenant-a", &anonymous), None);
        }
    }

    #[test]
    fn a_copy_waits_for_the_first_then_is_its_duplicate() {
        assert_eq!(copy_verdict(&Claim::Ours, "m1@x"), CopyVerdict::Process);
        let first = InboundId::new();
        let claim = |state, ticket: &str| Claim::First {
            id: first,
            state,
            ticket_id: ticket.into(),
        };
        let CopyVerdict::Wait(reason) = copy_verdict(&claim(InboundState::Pending, ""), "m1@x")
        else {
            panic!("a pending first copy is waited for");
        };
        assert_eq!(
            reason,
            format!("waits for message {first}, an earlier copy of m1@x")
        );
        assert_eq!(
            copy_verdict(&claim(InboundState::Done, "t7"), "m1@x"),
            CopyVerdict::Duplicate {
                ticket_id: "t7".into(),
                reason: format!(
                    "a copy of message {first} (Message-ID m1@x), which went to ticket t7; \
                     nothing done"
                ),
            }
        );
        for held in InboundState::HELD {
            let CopyVerdict::Duplicate { ticket_id, reason } =
                copy_verdict(&claim(held, ""), "m1@x")
            else {
                panic!("a held first copy makes this one a duplicate");
            };
            assert_eq!(ticket_id, "");
            assert!(reason.contains(&format!("which is {held}")), "{reason}");
            assert!(reason.ends_with("reprocess that one"), "{reason}");
        }
    }

    const HOUR: AnswerLimit = AnswerLimit {
        limit: 3,
        window_secs: 3600,
    };

    fn answer(at: Micros, key: &str) -> AutoAnswer {
        AutoAnswer {
            at,
            key: key.into(),
        }
    }

    #[test]
    fn a_sender_gets_a_few_automatic_answers_per_window() {
        let sender = "loop@example.com";
        let mut log = Vec::new();
        let mut allowed = 0;
        for i in 0..30 {
            let (kept, verdict) = auto_answer(HOUR, log, &format!("k{i}"), sender, i * 1_000_000);
            log = kept;
            allowed += usize::from(verdict.is_ok());
        }
        assert_eq!(
            allowed, 3,
            "a loop of 30 mails within a minute gets 3 answers"
        );
        assert_eq!(log.len(), 3);
        let (_, refused) = auto_answer(HOUR, log.clone(), "k30", sender, 60_000_000);
        assert_eq!(
            refused,
            Err(
                "no automatic answer: loop@example.com got 3 within 3600 seconds, the most \
                 mail.auto_answer_limit allows (a mail loop?)"
                    .into()
            )
        );
        // A retry of an answer that was allowed is allowed again, and counted once.
        let (again, verdict) = auto_answer(HOUR, log.clone(), "k1", sender, 60_000_000);
        assert_eq!((again.len(), verdict), (3, Ok(())));
        // An hour after the first answer went, it no longer counts.
        let (kept, verdict) = auto_answer(HOUR, log, "k31", sender, 3_600_000_000);
        assert_eq!(verdict, Ok(()));
        assert_eq!(
            kept.iter().map(|a| a.key.as_str()).collect::<Vec<_>>(),
            ["k1", "k2", "k31"]
        );
        // No limit: always allowed, nothing counted.
        let none = AnswerLimit { limit: 0, ..HOUR };
        let (kept, verdict) = auto_answer(none, vec![answer(0, "a"); 5], "b", sender, 1);
        assert_eq!((kept.len(), verdict), (5, Ok(())));
        // Extreme values neither panic nor let old answers count forever.
        let forever = AnswerLimit {
            limit: 1,
            window_secs: u64::MAX,
        };
        let (_, verdict) = auto_answer(forever, vec![answer(-1_000_000, "a")], "b", sender, 0);
        assert!(verdict.is_err());
        let (_, verdict) = auto_answer(HOUR, vec![answer(i64::MAX, "a")], "b", sender, i64::MIN);
        assert_eq!(verdict, Ok(()), "one of 3");
    }

    mod answer_window {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            /// Whatever the arrivals, no window holds more allowed answers than the limit, an
            /// answer is refused only when the window is full, and what is kept never grows
            /// beyond the limit.
            #[test]
            fn never_more_than_the_limit_within_any_window(
                limit in 1_u32..6,
                window_secs in 1_u64..20,
                gaps in proptest::collection::vec(0_i64..15_000_000, 1..60),
            ) {
                let limit = AnswerLimit { limit, window_secs };
                let window = i64::try_from(window_secs).unwrap() * 1_000_000;
                let mut log = Vec::new();
                let mut allowed: Vec<Micros> = Vec::new();
                let mut now = 1_000_000_000;
                for (i, gap) in gaps.iter().enumerate() {
                    now += gap;
                    let key = format!("k{i}");
                    let in_window = allowed.iter().filter(|&&at| at > now - window).count();
                    let (kept, verdict) = auto_answer(limit, log, &key, "s@x", now);
                    prop_assert_eq!(verdict.is_ok(), in_window < limit.limit as usize);
                    prop_assert!(kept.len() <= limit.limit as usize);
                    if verdict.is_ok() {
                        allowed.push(now);
                        // A retry of this one changes nothing.
                        let (same, again) = auto_answer(limit, kept.clone(), &key, "s@x", now);
                        prop_assert_eq!(again, Ok(()));
                        prop_assert_eq!(&same, &kept);
                    }
                    log = kept;
                    for &at in &allowed {
                        let within = allowed.iter().filter(|&&b| b >= at && b < at + window).count();
                        prop_assert!(within <= limit.limit as usize);
                    }
                }
            }
        }
    }

    #[test]
    fn bounces_become_internal_notes() {
        let mail = ParsedMail {
            subject: "Undelivered Mail".into(),
            text: "x".repeat(1_000_000),
            ..Default::default()
        };
        let bounce = Bounce {
            original_message_id: Some("orig@docket".into()),
            status: Some("5.1.1".into()),
            recipient: Some("nobody@example.org".into()),
        };
        let id = InboundId::new();
        let note = bounce_note(id, &mail, &bounce, "orig@docket");
        assert!(!note.article.visible_to_customer);
        assert_eq!(note.article.subject, "[Bounce] Undelivered Mail");
        assert!(note.article.body.starts_with(
            "Undeliverable: the mail orig@docket to nobody@example.org bounced (status 5.1.1)."
        ));
        assert_eq!(note.article.body.len(), 900_000);
        assert_eq!(note.detail, "bounced: 5.1.1 nobody@example.org");
        let unknown = bounce_note(id, &mail, &Bounce::default(), "orig@docket");
        assert_eq!(unknown.detail, "bounced: unknown");
    }
}
