//! Settings of the mail service (`[mail]` in the configuration file).

use std::net::SocketAddr;

use docket_platform::config::Secret;
use serde::Deserialize;

/// Settings of the mail service.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailConfig {
    /// Where the gRPC server listens; port 0 picks a free one.
    #[serde(deserialize_with = "docket_platform::config::socket_addr")]
    pub listen: SocketAddr,
    /// `postgres://…` or `sqlite:…`; unset: `sqlite:<data_dir>/mail.db`.
    pub database_url: Option<Secret>,
    pub max_connections: u32,
    /// The LMTP listener an MTA (Postfix) delivers to; unset: none.
    #[serde(deserialize_with = "docket_platform::config::optional_socket_addr")]
    pub lmtp_listen: Option<SocketAddr>,
    /// The SMTP listener for direct delivery (only to known queue addresses); unset: none.
    #[serde(deserialize_with = "docket_platform::config::optional_socket_addr")]
    pub smtp_listen: Option<SocketAddr>,
    /// The name this service greets with and builds Message-IDs from.
    pub hostname: String,
    /// The ticket and identity services. Unset in `docket run`: the ones started in-process.
    pub ticket_endpoint: Option<String>,
    pub identity_endpoint: Option<String>,
    /// The secret the identity service issues this service's token for
    /// (`identity.service_secret`); `docket run` sets one itself.
    pub service_secret: Option<Secret>,
    /// The queue (id) mail to unknown addresses lands in; unset: such mail is quarantined.
    pub default_queue: Option<String>,
    /// The language of automatic answers when the mail does not say (`de` or `en`).
    pub default_language: String,
    /// Largest message accepted, in bytes.
    pub max_message_bytes: usize,
    /// Attachments one article of a mail takes (the HTML copy counted, inline images shown in
    /// it not); a mail's further parts stay with the received message and are named in a note
    /// on the ticket. At most 20, what ticket core takes.
    pub max_attachments: usize,
    /// Largest attachment on an article, in bytes (at most 10 MiB); larger parts stay with the
    /// received message, named in the note.
    pub max_attachment_bytes: usize,
    /// An article's attachments together, in bytes (at most 20 MiB).
    pub max_article_attachment_bytes: usize,
    /// Mails from one sender within an hour; more are quarantined (a mail loop, a flood).
    pub sender_limit_per_hour: u32,
    /// Automatic answers (confirmations) one sender gets within `auto_answer_window_secs`; its
    /// further mail is processed but not answered (a mail loop). 0: no limit.
    pub auto_answer_limit: u32,
    /// The window of `auto_answer_limit`, in seconds.
    pub auto_answer_window_secs: u64,
    /// Recognise mail the upstream filter marked as spam (`X-Spam-Flag`, `X-Spam-Status`,
    /// `X-Spam`, scores) and put it in the tenant's `junk_queue`, unanswered.
    pub spam_detection: bool,
    /// The header holding the filter's score (besides rspamd's `X-Spamd-Result` and
    /// `X-Rspamd-Score`).
    pub spam_score_header: String,
    /// A score at or over this is spam.
    pub spam_threshold: f64,
    /// The name of the queue, in the tenant the mail was sent to, spam goes to; a tenant without
    /// one finds its spam in the quarantine.
    pub junk_queue: String,
    /// How many received messages are processed at once.
    pub workers: usize,
    /// The tag before a ticket number in subjects (`[Ticket#2026112210000017]`).
    pub ticket_hook: String,
    /// Tags of earlier systems whose numbers replies may still carry (Znuny/OTRS `Ticket#`,
    /// KIX `KIX#` or `Ticket-Nr.`); `[#N]` is always recognised.
    pub legacy_ticket_hooks: Vec<String>,
    /// Mailboxes polled over IMAP.
    pub imap: Vec<ImapAccount>,
    /// Where mail goes out; unset: outgoing mail waits in its queue.
    pub smtp: Option<SmtpRelay>,
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 50053)),
            database_url: None,
            max_connections: 16,
            lmtp_listen: None,
            smtp_listen: None,
            hostname: "docket.localhost".into(),
            ticket_endpoint: None,
            identity_endpoint: None,
            service_secret: None,
            default_queue: None,
            default_language: "de".into(),
            max_message_bytes: 25 * 1024 * 1024,
            max_attachments: docket_proto::article_limits::MAX_ATTACHMENTS,
            max_attachment_bytes: docket_proto::article_limits::MAX_ATTACHMENT_BYTES,
            max_article_attachment_bytes: docket_proto::article_limits::MAX_TOTAL_BYTES,
            sender_limit_per_hour: 30,
            auto_answer_limit: 3,
            auto_answer_window_secs: 3600,
            spam_detection: true,
            spam_score_header: crate::parse::DEFAULT_SCORE_HEADER.into(),
            spam_threshold: 5.0,
            junk_queue: "Junk".into(),
            workers: 4,
            ticket_hook: crate::parse::TicketHooks::DEFAULT_HOOK.into(),
            legacy_ticket_hooks: Vec::new(),
            imap: Vec::new(),
            smtp: None,
        }
    }
}

/// How a connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Security {
    /// TLS from the first byte (IMAPS 993, SMTPS 465).
    Tls,
    /// Plain, then STARTTLS before anything else is said (required).
    #[default]
    Starttls,
    /// Plain text: only for a server on the same host.
    None,
}

/// One polled mailbox.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImapAccount {
    /// Names the account in logs and in the messages' source (`imap:<name>`).
    pub name: String,
    pub host: String,
    pub port: u16,
    #[serde(default)]
    pub security: Security,
    /// A PEM file of CA certificates to trust besides the system's (a private CA).
    #[serde(default)]
    pub ca_file: Option<String>,
    pub user: String,
    pub password: Secret,
    #[serde(default = "inbox")]
    pub folder: String,
    /// The queue (id) its mail lands in unless a recipient names another.
    #[serde(default)]
    pub queue: Option<String>,
    /// Seconds between polls when the server offers no IDLE (and the longest IDLE).
    #[serde(default = "poll_interval")]
    pub poll_interval_secs: u64,
    /// Delete messages once stored; otherwise mark them seen.
    #[serde(default)]
    pub delete_after_import: bool,
}

fn inbox() -> String {
    "INBOX".into()
}

fn poll_interval() -> u64 {
    60
}

/// The SMTP server outgoing mail is handed to.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpRelay {
    pub host: String,
    pub port: u16,
    #[serde(default)]
    pub security: Security,
    #[serde(default)]
    pub ca_file: Option<String>,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub password: Option<Secret>,
    /// Attempts before a mail is given up.
    #[serde(default = "max_attempts")]
    pub max_attempts: u32,
    /// The first retry waits this long; each next one twice as long (at most an hour).
    #[serde(default = "retry_secs")]
    pub retry_secs: u64,
}

fn max_attempts() -> u32 {
    8
}

fn retry_secs() -> u64 {
    30
}
