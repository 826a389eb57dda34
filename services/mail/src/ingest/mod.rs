//! Mail in: every message is stored byte for byte first (that is when an MTA or the IMAP poller
//! may forget it), then processed by workers into a new ticket, a follow-up or a bounce note.
//!
//! Processing is idempotent end to end: ticket core's calls carry the key `mail:<message id>`, so
//! a worker that dies after ticket core stored the article and before the message was marked done
//! makes nothing twice when the next worker takes the message again.
//!
//! Copies of one message (a second MX, a forwarder, another mailbox of the same tenant) are
//! stored each, but once routed only the copy that claims the message's key in the store first
//! changes a ticket; the others are recorded as its duplicates and answer nothing. A sender gets
//! only a few automatic answers per window, so a loop with another robot dies out. Spam goes to
//! its tenant's Junk queue, unanswered.
//!
//! This module does the I/O (the store, ticket core, the composer); what a message becomes is
//! decided by the pure functions in `rules`.

mod rules;

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use docket_platform::Shutdown;
use docket_proto::ticket::v1 as pb;
use tokio::sync::Notify;

use crate::domain::{ArticleLimits, CopyKey, processing_retry_delay};
use crate::error::MailError;
use crate::outbound::{Composer, Draft, confirmation_text};
use crate::parse::{
    self, Limits, ParseError, ParsedMail, Part, SpamRules, SpamVerdict, TicketHooks,
};
use crate::storage::{
    Finish, InboundId, InboundMessage, InboundState, MailStore, NewInbound, NewOutgoing, Outcome,
    OutgoingKind, OutgoingState,
};
use crate::tickets::Tickets;
use rules::{
    CopyVerdict, acceptance_template, admission, answer_language, answered_ids, auto_answer,
    bounce_note, copy_key, copy_verdict, customer_article, held_state, junk_destination,
    left_over_note, may_answer, new_ticket, sender_limit_exceeded, sender_limit_window, spam_note,
};

pub use rules::{AnswerLimit, Filing, LeftOver, SetAside, Why, file_parts, part_path, recipients};

/// Set on a message an administrator sent through processing again: the sender's rate limit no
/// longer applies to it.
pub const REPROCESSED: &str = "reprocessed by an administrator";

/// What became of a message at the door.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Receipt {
    /// Stored (or stored before: `duplicate`); processing follows.
    Stored { id: InboundId, duplicate: bool },
    /// Not accepted, for this reason (larger than the listener takes); nothing was stored.
    Refused(String),
}

/// How processing behaves.
#[derive(Debug, Clone)]
pub struct IngestSettings {
    pub limits: Limits,
    /// What one article takes of a mail; the rest stays with the received message.
    pub article: ArticleLimits,
    /// Where mail to unknown addresses goes (a queue id).
    pub default_queue: Option<String>,
    /// Per IMAP account (`imap:<name>`): the queue its mail goes to.
    pub account_queues: Vec<(String, String)>,
    pub default_language: String,
    pub sender_limit_per_hour: u32,
    /// Automatic answers per sender and window (mail loops).
    pub auto_answers: AnswerLimit,
    /// How the upstream filter's spam marks are read.
    pub spam: SpamRules,
    /// The name of the tenant's queue spam goes to.
    pub junk_queue: String,
}

pub struct Ingest {
    store: MailStore,
    tickets: Arc<Tickets>,
    composer: Composer,
    settings: IngestSettings,
    /// The tags ticket numbers are recognised by in subjects.
    hooks: TicketHooks,
    wake: Arc<Notify>,
    outgoing: Arc<Notify>,
}

/// Parses without letting a bug in the parser take the service down: a panic becomes a reason
/// to quarantine the message.
fn parse_guarded(raw: &[u8], limits: &Limits, spam: &SpamRules) -> Result<ParsedMail, ParseError> {
    std::panic::catch_unwind(AssertUnwindSafe(|| parse::parse_with(raw, limits, spam)))
        .unwrap_or_else(|_| {
            Err(ParseError::NotAMessage(
                "the parser failed on this message".into(),
            ))
        })
}

impl Ingest {
    pub fn new(
        store: MailStore,
        tickets: Arc<Tickets>,
        composer: Composer,
        settings: IngestSettings,
        outgoing: Arc<Notify>,
    ) -> Self {
        Self {
            store,
            tickets,
            composer,
            settings,
            hooks: TicketHooks::default(),
            wake: Arc::new(Notify::new()),
            outgoing,
        }
    }

    /// Recognise ticket numbers in subjects by these hooks (default: `Ticket#` only).
    pub fn with_ticket_hooks(mut self, hooks: TicketHooks) -> Self {
        self.hooks = hooks;
        self
    }

    /// Lets the workers look for due messages now.
    pub fn wake(&self) {
        self.wake.notify_waiters();
    }

    pub fn limits(&self) -> &Limits {
        &self.settings.limits
    }

    pub fn store(&self) -> &MailStore {
        &self.store
    }

    pub fn tickets(&self) -> &Tickets {
        &self.tickets
    }

    /// Takes a message as it arrives. Returns once it is stored (or refused); a message that
    /// cannot be read as mail is stored in quarantine, never dropped.
    pub async fn receive(
        &self,
        raw: Vec<u8>,
        source: &str,
        envelope_from: &str,
        recipients: Vec<String>,
    ) -> Result<Receipt, MailError> {
        let limits = self.settings.limits;
        if raw.len() > limits.max_message_bytes {
            return Ok(Receipt::Refused(
                ParseError::TooLarge {
                    size: raw.len(),
                    limit: limits.max_message_bytes,
                }
                .to_string(),
            ));
        }
        let sha256 = parse::content_hash(&raw);
        let (raw, parsed) = self.parse(raw).await?;
        let admitted = match admission(parsed) {
            Ok(admitted) => admitted,
            Err(reason) => return Ok(Receipt::Refused(reason)),
        };
        let (id, duplicate) = self
            .store
            .store_inbound(NewInbound {
                source: source.to_owned(),
                envelope_from: envelope_from.to_owned(),
                recipients,
                raw,
                message_id: admitted.message_id,
                sha256,
                sender: admitted.sender,
                subject: admitted.subject,
                state: admitted.state,
                reason: admitted.reason,
            })
            .await?;
        metrics::counter!("docket_mail_received_total", "source" => source.split(':').next().unwrap_or("").to_owned(), "duplicate" => duplicate.to_string()).increment(1);
        if !duplicate {
            self.wake.notify_waiters();
        }
        Ok(Receipt::Stored { id, duplicate })
    }

    /// Parses `raw` off the async threads (a parser panic reads as "not a message"); gives the
    /// bytes back.
    async fn parse(
        &self,
        raw: Vec<u8>,
    ) -> Result<(Vec<u8>, Result<ParsedMail, ParseError>), MailError> {
        let limits = self.settings.limits;
        let spam = self.settings.spam.clone();
        tokio::task::spawn_blocking(move || {
            let parsed = parse_guarded(&raw, &limits, &spam);
            (raw, parsed)
        })
        .await
        .map_err(|e| MailError::Corrupt(format!("parser task: {e}")))
    }

    /// Part `index` of a received message ([`ParsedMail::attachments`]), byte for byte.
    pub async fn part(&self, message: InboundMessage, index: usize) -> Result<Part, MailError> {
        let id = message.id;
        let (_, parsed) = self.parse(message.raw).await?;
        parsed
            .ok()
            .and_then(|mail| mail.attachments.into_iter().nth(index))
            .ok_or_else(|| MailError::not_found("part", format!("{index} of message {id}")))
    }

    /// Processes stored messages with `workers` workers until `shutdown`.
    pub async fn run(self: Arc<Self>, workers: usize, shutdown: Shutdown) {
        let mut tasks = Vec::new();
        for _ in 0..workers.max(1) {
            let this = self.clone();
            let stop = shutdown.clone();
            tasks.push(tokio::spawn(async move { this.work(stop).await }));
        }
        for task in tasks {
            let _ = task.await;
        }
    }

    async fn work(&self, shutdown: Shutdown) {
        loop {
            if shutdown.is_triggered() {
                return;
            }
            let due = match self.store.claim_due(1, 120).await {
                Ok(due) => due,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read received messages");
                    Vec::new()
                }
            };
            if due.is_empty() {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = self.wake.notified() => {}
                    () = tokio::time::sleep(Duration::from_millis(500)) => {}
                }
                continue;
            }
            for message in due {
                let id = message.id;
                let attempts = message.attempts;
                if let Err(e) = self.process(message).await {
                    if e.is_transient() {
                        let wait = processing_retry_delay(attempts).as_secs();
                        tracing::warn!(message = %id, error = %e, retry_in_secs = wait, "processing a message failed; it is retried");
                        let at = docket_platform::time::now_micros()
                            + i64::try_from(wait).unwrap_or(300) * 1_000_000;
                        if let Err(e) = self.store.defer(id, at, &e.to_string()).await {
                            tracing::error!(message = %id, error = %e, "cannot defer a message");
                        }
                    } else {
                        tracing::warn!(message = %id, error = %e, "message quarantined");
                        if let Err(e) = self.quarantine(id, e.to_string()).await {
                            tracing::error!(message = %id, error = %e, "cannot quarantine a message");
                        }
                    }
                }
            }
        }
    }

    /// Holds a message in the quarantine with the reason, for an administrator.
    async fn quarantine(&self, id: InboundId, reason: String) -> Result<(), MailError> {
        self.store
            .finish(
                id,
                Self::finish_without_ticket(InboundState::Quarantined, reason),
            )
            .await
    }

    fn finish_without_ticket(state: InboundState, reason: String) -> Finish {
        Finish {
            state,
            reason,
            outcome: None,
            ticket_id: String::new(),
            article_id: String::new(),
            thread_ids: Vec::new(),
            outgoing: None,
        }
    }

    /// One message into a ticket change. Transient errors leave it pending for a retry.
    async fn process(&self, message: InboundMessage) -> Result<(), MailError> {
        let id = message.id;
        let (_, parsed) = self.parse(message.raw.clone()).await?;
        let mail = match parsed {
            Ok(mail) => mail,
            Err(e) => {
                return self
                    .store
                    .finish(
                        id,
                        Self::finish_without_ticket(held_state(&e), e.to_string()),
                    )
                    .await;
            }
        };
        let thread = answered_ids(&mail);
        if self.store.earlier_pending(id, &thread).await? {
            // The message it answers came first and is not processed yet: after it.
            let at = docket_platform::time::now_micros() + 200_000;
            return self
                .store
                .defer(id, at, "waits for the message it answers")
                .await;
        }
        // Spam that claims to be a bounce goes to Junk like any other (backscatter).
        if let Some(bounce) = mail.bounce.as_ref().filter(|_| mail.spam.is_none()) {
            return self.bounce(&message, &mail, bounce).await;
        }
        let Some(queue) = self.route(&message, &mail).await? else {
            let reason = format!(
                "no queue has any of the addresses {} and no default queue is set (mail.default_queue)",
                recipients(&message, &mail).join(", ")
            );
            return self.quarantine(id, reason).await;
        };
        if let Some(key) = copy_key(&queue.tenant_id, &mail) {
            match self.copy(&message, &key).await? {
                CopyVerdict::Process => {}
                CopyVerdict::Wait(reason) => {
                    let wait = processing_retry_delay(message.attempts).as_secs();
                    let at = docket_platform::time::now_micros()
                        + i64::try_from(wait).unwrap_or(300) * 1_000_000;
                    return self.store.defer(id, at, &reason).await;
                }
                CopyVerdict::Duplicate { ticket_id, reason } => {
                    tracing::info!(message = %id, %reason, "duplicate message");
                    metrics::counter!("docket_mail_processed_total", "outcome" => Outcome::Duplicate.as_str())
                        .increment(1);
                    return self
                        .store
                        .finish(
                            id,
                            Finish {
                                outcome: Some(Outcome::Duplicate),
                                ticket_id,
                                ..Self::finish_without_ticket(InboundState::Done, reason)
                            },
                        )
                        .await;
                }
            }
        }
        if let Some(verdict) = &mail.spam {
            return self.junk(&message, &mail, verdict, &queue).await;
        }
        // After the copies: another copy of a message is no message more from its sender.
        let sender = mail
            .from
            .as_ref()
            .map(|a| a.email.clone())
            .unwrap_or_default();
        let limit = self.settings.sender_limit_per_hour;
        if let Some(since) = sender_limit_window(&message, &sender, limit) {
            let sent = self.store.sender_count(&sender, since, id).await?;
            if let Some(reason) = sender_limit_exceeded(&sender, sent, limit) {
                return self.quarantine(id, reason).await;
            }
        }
        let Filing {
            attachments,
            left_over,
        } = file_parts(&mail, &self.settings.article);
        let article = customer_article(id, &mail, attachments);
        let target = self.thread_target(&mail, &thread, &queue).await?;
        let (outcome, created, ticket_id, article_id) = match target {
            Some(ticket) => match self.tickets.add_article(&ticket.id, article).await {
                Ok(a) => (Outcome::FollowUp, None, a.ticket_id, a.id),
                Err(MailError::Peer { status, .. })
                    if status.code() == tonic::Code::FailedPrecondition =>
                {
                    // The queue takes no follow-ups to closed tickets.
                    let reason = format!("follow-up refused: {}", status.message());
                    return self
                        .store
                        .finish(
                            id,
                            Self::finish_without_ticket(InboundState::Refused, reason),
                        )
                        .await;
                }
                Err(e) => return Err(e),
            },
            None => {
                let (ticket, article_id) = self
                    .open_ticket(new_ticket(&queue, &mail, &sender, article, &self.hooks))
                    .await?;
                let id = ticket.id.clone();
                (Outcome::NewTicket, Some(ticket), id, article_id)
            }
        };
        self.note_left_over(id, &ticket_id, &left_over).await?;
        let mut notes = mail.warnings.clone();
        notes.extend(left_over.summary());
        let outgoing = match created {
            Some(ticket) if may_answer(&mail, &queue) => {
                match self.answer_allowed(&message, &sender).await? {
                    Ok(()) => self.confirmation(&message, &mail, &ticket, &queue).await?,
                    Err(reason) => {
                        tracing::info!(message = %id, ticket = %ticket.id, %reason, "automatic answer withheld");
                        metrics::counter!("docket_mail_answers_withheld_total").increment(1);
                        notes.push(reason);
                        None
                    }
                }
            }
            _ => None,
        };
        let queued = outgoing.is_some();
        let mut thread_ids = Vec::new();
        if let Some(own) = mail.message_id.clone() {
            thread_ids.push(own);
        }
        self.store
            .finish(
                id,
                Finish {
                    state: InboundState::Done,
                    reason: notes.join("; ").chars().take(2000).collect(),
                    outcome: Some(outcome),
                    ticket_id,
                    article_id,
                    thread_ids,
                    outgoing,
                },
            )
            .await?;
        if queued {
            self.outgoing.notify_waiters();
        }
        metrics::counter!("docket_mail_processed_total", "outcome" => outcome.as_str())
            .increment(1);
        Ok(())
    }

    /// The note on `ticket_id` naming what of message `id` its article could not take, if
    /// anything; once per message.
    async fn note_left_over(
        &self,
        id: InboundId,
        ticket_id: &str,
        left_over: &LeftOver,
    ) -> Result<(), MailError> {
        if let Some(note) = left_over_note(id, left_over, &self.settings.article) {
            self.tickets.add_article(ticket_id, note).await?;
        }
        Ok(())
    }

    /// A new ticket, with the id of its first article (the mail's).
    async fn open_ticket(
        &self,
        request: pb::CreateTicketRequest,
    ) -> Result<(pb::Ticket, String), MailError> {
        let ticket = self.tickets.create_ticket(request).await?;
        let article_id = self
            .tickets
            .articles(&ticket.id)
            .await?
            .into_iter()
            .next()
            .map(|a| a.id)
            .unwrap_or_default();
        Ok((ticket, article_id))
    }

    /// Spam sent to `queue`'s tenant: a new ticket in the tenant's Junk queue, never answered,
    /// its Message-ID leading to no thread; without such a queue, the quarantine.
    async fn junk(
        &self,
        message: &InboundMessage,
        mail: &ParsedMail,
        verdict: &SpamVerdict,
        queue: &pb::Queue,
    ) -> Result<(), MailError> {
        let id = message.id;
        let queues = self.tickets.tenant_queues(&queue.tenant_id).await?;
        let junk = match junk_destination(
            verdict,
            &queue.tenant_id,
            &queues,
            &self.settings.junk_queue,
        ) {
            Ok(junk) => junk,
            Err(reason) => {
                metrics::counter!("docket_mail_spam_total", "to" => "quarantine").increment(1);
                return self.quarantine(id, reason).await;
            }
        };
        let sender = mail
            .from
            .as_ref()
            .map(|a| a.email.clone())
            .unwrap_or_default();
        let Filing {
            attachments,
            left_over,
        } = file_parts(mail, &self.settings.article);
        let article = customer_article(id, mail, attachments);
        let (ticket, article_id) = self
            .open_ticket(new_ticket(junk, mail, &sender, article, &self.hooks))
            .await?;
        self.note_left_over(id, &ticket.id, &left_over).await?;
        let mut notes = vec![spam_note(verdict)];
        notes.extend(mail.warnings.iter().cloned());
        notes.extend(left_over.summary());
        tracing::info!(message = %id, ticket = %ticket.id, %verdict, "spam put in the junk queue");
        self.store
            .finish(
                id,
                Finish {
                    outcome: Some(Outcome::Spam),
                    ticket_id: ticket.id,
                    article_id,
                    ..Self::finish_without_ticket(
                        InboundState::Done,
                        notes.join("; ").chars().take(2000).collect(),
                    )
                },
            )
            .await?;
        metrics::counter!("docket_mail_spam_total", "to" => "junk").increment(1);
        metrics::counter!("docket_mail_processed_total", "outcome" => Outcome::Spam.as_str())
            .increment(1);
        Ok(())
    }

    /// Claims the message's key within its tenant (see `rules::copy_verdict`), or learns which
    /// copy came first.
    async fn copy(
        &self,
        message: &InboundMessage,
        key: &CopyKey,
    ) -> Result<CopyVerdict, MailError> {
        let claim = self.store.claim_copy(key, message.id).await?;
        Ok(copy_verdict(&claim, &key.message_id))
    }

    /// Whether `sender` may get the automatic answer to `message` (`Err` with the reason when
    /// it got as many as `auto_answer_limit` allows within the window); an allowed answer is
    /// counted at once.
    async fn answer_allowed(
        &self,
        message: &InboundMessage,
        sender: &str,
    ) -> Result<Result<(), String>, MailError> {
        let limit = self.settings.auto_answers;
        if !limit.applies() {
            return Ok(Ok(()));
        }
        let key = format!("confirmation:{}", message.id);
        let recipient = sender.trim().to_lowercase();
        let now = docket_platform::time::now_micros();
        let window = i64::try_from(limit.window_secs.saturating_mul(1_000_000)).unwrap_or(i64::MAX);
        self.store
            .auto_answers(&recipient, now.saturating_sub(window), |earlier| {
                auto_answer(limit, earlier, &key, &recipient, now)
            })
            .await
    }

    /// The queue a message goes to: the first recipient that is a queue's address, else the
    /// account's queue (IMAP), else the default queue.
    async fn route(
        &self,
        message: &InboundMessage,
        mail: &ParsedMail,
    ) -> Result<Option<pb::Queue>, MailError> {
        for address in recipients(message, mail) {
            if let Some(queue) = self.tickets.queue_by_address(&address).await? {
                return Ok(Some(queue));
            }
        }
        match self.settings.fallback_queue(&message.source) {
            Some(queue) => self.tickets.queue(&queue).await,
            None => Ok(None),
        }
    }

    /// The ticket a message continues: the first number in its subject that names a ticket,
    /// else a Message-ID it answers; only a ticket of the same tenant as the queue it was sent to.
    async fn thread_target(
        &self,
        mail: &ParsedMail,
        thread: &[String],
        queue: &pb::Queue,
    ) -> Result<Option<pb::Ticket>, MailError> {
        for number in parse::ticket_numbers_in_subject(&mail.subject, &self.hooks) {
            if let Some(ticket) = self.tickets.ticket(&number).await?
                && ticket.tenant_id == queue.tenant_id
            {
                return Ok(Some(ticket));
            }
        }
        if let Some(ticket_id) = self.store.ticket_of(thread).await?
            && let Some(ticket) = self.tickets.ticket(&ticket_id).await?
            && ticket.tenant_id == queue.tenant_id
        {
            return Ok(Some(ticket));
        }
        Ok(None)
    }

    /// The automatic confirmation of a new ticket: an article on the ticket (so its delivery is
    /// visible there) and the mail, in the sender's language.
    async fn confirmation(
        &self,
        message: &InboundMessage,
        mail: &ParsedMail,
        ticket: &pb::Ticket,
        queue: &pb::Queue,
    ) -> Result<Option<NewOutgoing>, MailError> {
        let (Some(from), Some(to)) = (queue.addresses.first(), mail.from.as_ref()) else {
            return Ok(None);
        };
        let ticket_id = ticket.id.as_str();
        let language = answer_language(mail, &self.settings.default_language);
        let templates = self.tickets.templates(ticket_id).await?;
        let (subject, body) = match acceptance_template(&templates, &language) {
            Some(t) => {
                let rendered = self.tickets.render(&t.id, ticket_id).await?;
                let subject = if rendered.subject.trim().is_empty() {
                    ticket.title.clone()
                } else {
                    rendered.subject
                };
                (subject, rendered.body)
            }
            None => confirmation_text(&language, &ticket.number, &ticket.title, &queue.name),
        };
        let subject = self.composer.subject_with_number(&ticket.number, &subject);
        let article = self
            .tickets
            .add_article(
                ticket_id,
                pb::NewArticle {
                    sender: pb::SenderType::System.into(),
                    channel: pb::Channel::Email.into(),
                    visible_to_customer: true,
                    subject: subject.chars().take(250).collect(),
                    body: body.clone(),
                    attachments: Vec::new(),
                    time_minutes: 0,
                    idempotency_key: format!("confirmation:{}", message.id),
                    automatic: false,
                },
            )
            .await?;
        let mut references = mail.references.clone();
        references.extend(mail.message_id.clone());
        let (message_id, raw) = self.composer.build(&Draft {
            from_name: queue.name.clone(),
            from: from.clone(),
            to: vec![to.email.clone()],
            subject,
            body,
            in_reply_to: mail.message_id.clone(),
            references,
            automatic: true,
            language,
            attachments: Vec::new(),
        })?;
        self.tickets
            .record_delivery(
                &article.id,
                pb::Delivery {
                    state: OutgoingState::Queued.as_str().into(),
                    message_id: message_id.clone(),
                    to: vec![to.email.clone()],
                    ..Default::default()
                },
            )
            .await?;
        Ok(Some(NewOutgoing {
            kind: OutgoingKind::Confirmation,
            source_key: format!("confirmation:{}", message.id),
            ticket_id: ticket_id.to_owned(),
            article_id: article.id,
            mail_from: from.clone(),
            recipients: vec![to.email.clone()],
            message_id,
            raw,
        }))
    }

    /// A delivery status notification: a note on the ticket of the mail that bounced, the ticket
    /// tagged `bounce`, and that mail's article marked failed.
    async fn bounce(
        &self,
        message: &InboundMessage,
        mail: &ParsedMail,
        bounce: &parse::Bounce,
    ) -> Result<(), MailError> {
        let original = bounce.original_message_id.clone().unwrap_or_default();
        let ticket_id = self
            .store
            .ticket_of(std::slice::from_ref(&original))
            .await?;
        let Some(ticket_id) = ticket_id.filter(|_| !original.is_empty()) else {
            let reason = format!(
                "a delivery status notification about {}, which did not come from here",
                if original.is_empty() {
                    "an unnamed message"
                } else {
                    &original
                }
            );
            return self.quarantine(message.id, reason).await;
        };
        let Filing {
            attachments,
            left_over,
        } = file_parts(mail, &self.settings.article);
        let note = bounce_note(message.id, mail, bounce, &original, attachments);
        let article = self.tickets.add_article(&ticket_id, note.article).await?;
        self.note_left_over(message.id, &ticket_id, &left_over)
            .await?;
        self.tickets.tag(&ticket_id, "bounce").await?;
        if let Some(sent) = self.store.outgoing_by_message_id(&original).await?
            && !sent.article_id.is_empty()
        {
            self.tickets
                .record_delivery(
                    &sent.article_id,
                    pb::Delivery {
                        state: OutgoingState::Failed.as_str().into(),
                        attempts: sent.attempts,
                        detail: note.detail,
                        message_id: original.clone(),
                        to: sent.recipients.clone(),
                        updated_at_us: 0,
                    },
                )
                .await?;
        }
        self.store
            .finish(
                message.id,
                Finish {
                    state: InboundState::Done,
                    reason: String::new(),
                    outcome: Some(Outcome::Bounce),
                    ticket_id,
                    article_id: article.id,
                    thread_ids: Vec::new(),
                    outgoing: None,
                },
            )
            .await
    }
}
