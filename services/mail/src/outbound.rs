//! Mail out: built once with lettre (Message-ID, References, the queue's address), stored, then
//! handed to the SMTP relay with retries and backoff; each attempt's outcome is reported on the
//! article the mail went out as.

use std::sync::Arc;
use std::time::Duration;

use docket_platform::Shutdown;
use docket_proto::ticket::v1 as pb;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::{AsyncSmtpTransport, PoolConfig};
use lettre::{AsyncTransport, Tokio1Executor};
use tokio::sync::Notify;

use crate::config::{Security, SmtpRelay};
use crate::error::MailError;
use crate::storage::{MailStore, NewOutgoing, Outgoing, OutgoingKind, OutgoingState};
use crate::tickets::Tickets;

/// A mail to build.
#[derive(Debug, Clone, Default)]
pub struct Draft {
    pub from_name: String,
    pub from: String,
    pub to: Vec<String>,
    pub subject: String,
    pub body: String,
    /// The message this one answers, and the thread it belongs to (oldest first).
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    /// An automatic answer (RFC 3834): marked so that other robots do not answer it.
    pub automatic: bool,
    pub language: String,
    pub attachments: Vec<(String, String, Vec<u8>)>,
}

/// Builds mails with Message-IDs of this installation's host name.
#[derive(Debug, Clone)]
pub struct Composer {
    hostname: String,
    /// Written before ticket numbers in subjects (`Ticket#`, `mail.ticket_hook`).
    ticket_hook: String,
}

fn angle(id: &str) -> String {
    format!("<{}>", id.trim_matches(['<', '>']))
}

impl Composer {
    pub fn new(hostname: &str) -> Self {
        Self {
            hostname: hostname.to_owned(),
            ticket_hook: crate::parse::TicketHooks::DEFAULT_HOOK.to_owned(),
        }
    }

    /// Subjects carry ticket numbers after `hook` (`mail.ticket_hook`).
    pub fn with_ticket_hook(mut self, hook: &str) -> Self {
        if !hook.trim().is_empty() {
            self.ticket_hook = hook.trim().to_owned();
        }
        self
    }

    /// `[<hook><number>] <subject>`, unless the subject carries that tag already.
    pub fn subject_with_number(&self, number: &str, subject: &str) -> String {
        let tag = format!("[{}{number}]", self.ticket_hook);
        if subject.contains(&tag) {
            subject.to_owned()
        } else {
            format!("{tag} {subject}").trim_end().to_owned()
        }
    }

    pub fn hostname(&self) -> &str {
        &self.hostname
    }

    /// A new Message-ID (without angle brackets).
    pub fn message_id(&self) -> String {
        format!("{}@{}", uuid::Uuid::now_v7().simple(), self.hostname)
    }

    /// The mail as bytes, with its Message-ID.
    pub fn build(&self, draft: &Draft) -> Result<(String, Vec<u8>), MailError> {
        let bad = |what: &str, e: &dyn std::fmt::Display| {
            MailError::invalid(format!("cannot build the mail: {what}: {e}"))
        };
        let from = Mailbox::new(
            (!draft.from_name.is_empty()).then(|| draft.from_name.clone()),
            draft.from.parse().map_err(|e| bad("sender", &e))?,
        );
        let message_id = self.message_id();
        let mut builder = lettre::Message::builder()
            .from(from)
            .subject(draft.subject.clone())
            .message_id(Some(angle(&message_id)))
            .date_now();
        for to in &draft.to {
            builder = builder.to(to.parse().map_err(|e| bad("recipient", &e))?);
        }
        if let Some(parent) = &draft.in_reply_to {
            builder = builder.in_reply_to(angle(parent));
        }
        if !draft.references.is_empty() {
            let refs: Vec<String> = draft.references.iter().map(|r| angle(r)).collect();
            builder = builder.references(refs.join(" "));
        }
        if draft.automatic {
            builder = builder
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("Auto-Submitted"),
                    "auto-replied".into(),
                ))
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("X-Auto-Response-Suppress"),
                    "All".into(),
                ));
        }
        if !draft.language.is_empty() {
            builder = builder.raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("Content-Language"),
                draft.language.clone(),
            ));
        }
        let text = SinglePart::builder()
            .header(ContentType::TEXT_PLAIN)
            .body(draft.body.clone());
        let message = if draft.attachments.is_empty() {
            builder.singlepart(text)
        } else {
            let mut parts = MultiPart::mixed().singlepart(text);
            for (name, content_type, bytes) in &draft.attachments {
                let content_type = ContentType::parse(content_type).unwrap_or_else(|_| {
                    ContentType::parse("application/octet-stream")
                        .unwrap_or(ContentType::TEXT_PLAIN)
                });
                parts = parts
                    .singlepart(Attachment::new(name.clone()).body(bytes.clone(), content_type));
            }
            builder.multipart(parts)
        }
        .map_err(|e| bad("message", &e))?;
        Ok((message_id, message.formatted()))
    }
}

/// Built-in texts of the automatic confirmation, used when the queue has no acceptance template
/// in the customer's language.
pub fn confirmation_text(
    language: &str,
    number: &str,
    title: &str,
    queue: &str,
) -> (String, String) {
    if language == "de" {
        (
            format!("Ihre Anfrage ist eingegangen: {title}"),
            format!(
                "Guten Tag,\n\nvielen Dank für Ihre Nachricht. Wir haben sie unter der Ticketnummer \
                 {number} in der Queue „{queue}“ erfasst und melden uns so bald wie möglich.\n\n\
                 Bitte lassen Sie bei Antworten die Ticketnummer im Betreff stehen.\n\n\
                 Dies ist eine automatisch erzeugte Nachricht."
            ),
        )
    } else {
        (
            format!("We received your request: {title}"),
            format!(
                "Hello,\n\nthank you for your message. We recorded it as ticket {number} in the \
                 queue \"{queue}\" and will get back to you as soon as we can.\n\n\
                 Please keep the ticket number in the subject when you reply.\n\n\
                 This message was sent automatically."
            ),
        )
    }
}

/// The answer to a customer an agent wrote as an email article: queued for sending, once per
/// article however often the event arrives.
pub async fn queue_reply(
    store: &MailStore,
    tickets: &Tickets,
    composer: &Composer,
    ticket_id: &str,
    article_id: &str,
) -> Result<(), MailError> {
    let ticket = tickets
        .ticket(ticket_id)
        .await?
        .ok_or_else(|| MailError::not_found("ticket", ticket_id))?;
    let article = tickets
        .articles(ticket_id)
        .await?
        .into_iter()
        .find(|a| a.id == article_id)
        .ok_or_else(|| MailError::not_found("article", article_id))?;
    let contact_email = ticket
        .contact
        .as_ref()
        .map(|c| c.email.trim())
        .unwrap_or("");
    let to = if !contact_email.is_empty() {
        contact_email.to_owned()
    } else {
        ticket.customer.trim().to_owned()
    };
    let queue = tickets.queue(&ticket.queue_id).await?;
    let from = queue.as_ref().and_then(|q| q.addresses.first().cloned());
    let (Some(from), true) = (from, to.contains('@')) else {
        let detail = if to.contains('@') {
            "the ticket's queue has no mail address to send from"
        } else {
            "the ticket has no customer mail address"
        };
        tickets
            .record_delivery(
                article_id,
                pb::Delivery {
                    state: OutgoingState::Failed.as_str().into(),
                    detail: detail.into(),
                    to: vec![to],
                    ..Default::default()
                },
            )
            .await?;
        return Ok(());
    };
    let signature = queue.as_ref().map(|q| q.signature.trim()).unwrap_or("");
    let mut body = article.body.clone();
    if !signature.is_empty() && !body.contains(signature) {
        body = format!("{}\n\n-- \n{signature}", body.trim_end());
    }
    let mut attachments = Vec::new();
    for a in &article.attachments {
        let content = tickets.attachment(&a.id).await?;
        attachments.push((a.filename.clone(), a.declared_type.clone(), content.content));
    }
    let thread = store.thread_of(ticket_id, 20).await?;
    let subject = if article.subject.trim().is_empty() {
        ticket.title.clone()
    } else {
        article.subject.clone()
    };
    let draft = Draft {
        from_name: queue.as_ref().map(|q| q.name.clone()).unwrap_or_default(),
        from: from.clone(),
        to: vec![to.clone()],
        subject: composer.subject_with_number(&ticket.number, &subject),
        body,
        in_reply_to: thread.last().cloned(),
        references: thread,
        automatic: false,
        language: String::new(),
        attachments,
    };
    let (message_id, raw) = composer.build(&draft)?;
    let (_, created) = store
        .queue_outgoing(NewOutgoing {
            kind: OutgoingKind::Reply,
            source_key: format!("reply:{article_id}"),
            ticket_id: ticket_id.to_owned(),
            article_id: article_id.to_owned(),
            mail_from: from,
            recipients: vec![to.clone()],
            message_id: message_id.clone(),
            raw,
        })
        .await?;
    if created {
        tickets
            .record_delivery(
                article_id,
                pb::Delivery {
                    state: OutgoingState::Queued.as_str().into(),
                    message_id,
                    to: vec![to],
                    ..Default::default()
                },
            )
            .await?;
    }
    Ok(())
}

/// Hands queued mail to the SMTP relay: one connection pool, a retry with doubling waits for what
/// failed transiently, failure for good after `max_attempts` or a permanent refusal.
pub struct Sender {
    store: MailStore,
    tickets: Arc<Tickets>,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    relay: SmtpRelay,
    wake: Arc<Notify>,
}

impl Sender {
    pub fn new(
        store: MailStore,
        tickets: Arc<Tickets>,
        relay: &SmtpRelay,
        wake: Arc<Notify>,
    ) -> Result<Self, MailError> {
        let tls = |host: &str| -> Result<TlsParameters, MailError> {
            let mut params = TlsParameters::builder(host.to_owned());
            if let Some(file) = &relay.ca_file {
                let pem = std::fs::read(file)
                    .map_err(|e| MailError::invalid(format!("mail.smtp.ca_file `{file}`: {e}")))?;
                let cert = Certificate::from_pem(&pem)
                    .map_err(|e| MailError::invalid(format!("mail.smtp.ca_file `{file}`: {e}")))?;
                params = params.add_root_certificate(cert);
            }
            params
                .build_rustls()
                .map_err(|e| MailError::invalid(format!("TLS for {host}: {e}")))
        };
        let tls = match relay.security {
            Security::None => Tls::None,
            Security::Starttls => Tls::Required(tls(&relay.host)?),
            Security::Tls => Tls::Wrapper(tls(&relay.host)?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&relay.host)
            .port(relay.port)
            .tls(tls)
            .timeout(Some(Duration::from_secs(30)))
            .pool_config(PoolConfig::new().max_size(4));
        if let (Some(user), Some(password)) = (&relay.user, &relay.password) {
            builder =
                builder.credentials(Credentials::new(user.clone(), password.expose().to_owned()));
        }
        Ok(Self {
            store,
            tickets,
            transport: builder.build(),
            relay: relay.clone(),
            wake,
        })
    }

    /// Sends what is due until `shutdown`.
    pub async fn run(self, shutdown: Shutdown) {
        loop {
            let due = match self.store.claim_due_outgoing(16, 120).await {
                Ok(due) => due,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the outgoing mail queue");
                    Vec::new()
                }
            };
            let idle = due.is_empty();
            for mail in due {
                self.send(mail).await;
            }
            if idle {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = self.wake.notified() => {}
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            } else if shutdown.is_triggered() {
                return;
            }
        }
    }

    async fn send(&self, mail: Outgoing) {
        let envelope = match envelope(&mail) {
            Ok(e) => e,
            Err(e) => {
                self.record(&mail, OutgoingState::Failed, &e.to_string(), None)
                    .await;
                return;
            }
        };
        let result = self.transport.send_raw(&envelope, &mail.raw).await;
        match result {
            Ok(response) => {
                let detail = format!(
                    "{} {}",
                    response.code(),
                    response.message().collect::<Vec<_>>().join(" ")
                );
                metrics::counter!("docket_mail_sent_total", "kind" => mail.kind.as_str())
                    .increment(1);
                self.record(&mail, OutgoingState::Sent, &detail, None).await;
            }
            Err(e) => {
                let attempts = mail.attempts + 1;
                let permanent = e.is_permanent();
                let detail = e.to_string();
                if permanent || attempts >= self.relay.max_attempts {
                    tracing::warn!(mail = %mail.id, error = %detail, "outgoing mail failed for good");
                    self.record(&mail, OutgoingState::Failed, &detail, None)
                        .await;
                } else {
                    let wait = backoff(self.relay.retry_secs, attempts);
                    tracing::info!(mail = %mail.id, error = %detail, retry_in_secs = wait, "outgoing mail will be retried");
                    let at = docket_platform::time::now_micros()
                        + i64::try_from(wait).unwrap_or(3600) * 1_000_000;
                    self.record(&mail, OutgoingState::Retrying, &detail, Some(at))
                        .await;
                }
            }
        }
    }

    async fn record(
        &self,
        mail: &Outgoing,
        state: OutgoingState,
        detail: &str,
        retry_at: Option<i64>,
    ) {
        let stored = match self
            .store
            .record_attempt(mail.id, state, detail, retry_at)
            .await
        {
            Ok(stored) => stored,
            Err(e) => {
                tracing::error!(mail = %mail.id, error = %e, "cannot record a delivery attempt");
                return;
            }
        };
        if mail.article_id.is_empty() {
            return;
        }
        let delivery = pb::Delivery {
            state: state.as_str().into(),
            attempts: stored.attempts,
            detail: detail.to_owned(),
            message_id: mail.message_id.clone(),
            to: mail.recipients.clone(),
            updated_at_us: 0,
        };
        if let Err(e) = self
            .tickets
            .record_delivery(&mail.article_id, delivery)
            .await
        {
            tracing::warn!(article = %mail.article_id, error = %e, "cannot report a delivery on its article");
        }
    }
}

/// Seconds before attempt `attempts + 1`: `first`, doubling, at most an hour.
pub fn backoff(first: u64, attempts: u32) -> u64 {
    let doublings = attempts.saturating_sub(1).min(16);
    first.max(1).saturating_mul(1 << doublings).min(3600)
}

fn envelope(mail: &Outgoing) -> Result<lettre::address::Envelope, MailError> {
    let from = mail
        .mail_from
        .parse()
        .map_err(|e| MailError::invalid(format!("sender `{}`: {e}", mail.mail_from)))?;
    let to = mail
        .recipients
        .iter()
        .map(|r| {
            r.parse()
                .map_err(|e| MailError::invalid(format!("recipient `{r}`: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    lettre::address::Envelope::new(Some(from), to)
        .map_err(|e| MailError::invalid(format!("envelope: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        assert_eq!(backoff(30, 1), 30);
        assert_eq!(backoff(30, 2), 60);
        assert_eq!(backoff(30, 3), 120);
        assert_eq!(backoff(30, 20), 3600);
        assert_eq!(backoff(0, 1), 1);
    }

    #[test]
    fn subjects_carry_the_number_once_after_the_hook() {
        let composer = Composer::new("desk.example.org");
        assert_eq!(
            composer.subject_with_number("2026113010000017", "Printer"),
            "[Ticket#2026113010000017] Printer"
        );
        assert_eq!(
            composer
                .subject_with_number("2026113010000017", "Re: [Ticket#2026113010000017] Printer"),
            "Re: [Ticket#2026113010000017] Printer"
        );
        let kix = Composer::new("desk.example.org").with_ticket_hook(" KIX# ");
        assert_eq!(
            kix.subject_with_number("2026113010000017", "Printer"),
            "[KIX#2026113010000017] Printer"
        );
        let hooks = crate::parse::TicketHooks::new("KIX#", &[]);
        let subject = kix.subject_with_number("2026113010000017", "Printer");
        assert_eq!(
            crate::parse::ticket_numbers_in_subject(&subject, &hooks),
            ["2026113010000017"],
            "what goes out comes back in"
        );
    }

    #[test]
    fn built_mail_threads_and_marks_automatic_answers() {
        let composer = Composer::new("desk.example.org");
        let draft = Draft {
            from_name: "Service Desk".into(),
            from: "support@example.org".into(),
            to: vec!["jane@example.com".into()],
            subject: "Grüße [Ticket#1]".into(),
            body: "Hallo".into(),
            in_reply_to: Some("a@b".into()),
            references: vec!["a@b".into(), "<c@d>".into()],
            automatic: true,
            language: "de".into(),
            attachments: vec![("x.txt".into(), "text/plain".into(), b"hi".to_vec())],
        };
        let (id, raw) = composer.build(&draft).unwrap();
        let text = String::from_utf8(raw).unwrap();
        assert!(id.ends_with("@desk.example.org"));
        assert!(text.contains(&format!("Message-ID: <{id}>")), "{text}");
        assert!(text.contains("In-Reply-To: <a@b>"), "{text}");
        assert!(text.contains("References: <a@b> <c@d>"), "{text}");
        assert!(text.contains("Auto-Submitted: auto-replied"), "{text}");
        assert!(text.contains("Content-Language: de"), "{text}");
        assert!(text.contains("x.txt"), "{text}");
        let bad = Draft {
            from: "not an address".into(),
            ..draft
        };
        assert!(composer.build(&bad).is_err());
    }
}
