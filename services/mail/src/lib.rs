//! The mail channel: mail in (LMTP/SMTP, IMAP, upload), threaded onto tickets, and mail out.
//!
//! - [`parse`]: real-world messages into what a ticket needs, never panicking;
//! - [`storage`]: received messages byte for byte, thread ids, outgoing mail;
//! - [`ingest`]: stored first, then processed into tickets, follow-ups and bounce notes;
//! - [`lmtp`]: the LMTP and SMTP listeners; [`imap`]: polling mailboxes;
//! - [`outbound`]: confirmations and agents' answers, sent with retries;
//! - [`notify`]: agents told of new tickets in their queues, assignments and customers' replies;
//! - [`tickets`]: ticket core over gRPC, with this service's own token;
//! - [`grpc`]: uploads and the quarantine for administrators.

pub mod config;
pub mod domain;
pub mod error;
pub mod grpc;
pub mod imap;
pub mod ingest;
pub mod lmtp;
pub mod notify;
pub mod outbound;
pub mod parse;
pub mod storage;
pub mod tickets;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use docket_auth::remote::{RemoteVerifier, ServiceToken};
use docket_bus::{Bus, Delivery, Handler, HandlerError, Subscription};
use docket_platform::Shutdown;
use docket_platform::net::{BindError, GrpcRoutes};
use docket_platform::ops::Readiness;
use docket_proto::events::v1 as ev;
use docket_proto::identity::v1::identity_service_client::IdentityServiceClient;
use docket_proto::mail::v1::mail_service_server::MailServiceServer;
use docket_store::{Db, PoolSize};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

pub use config::MailConfig;
pub use error::MailError;

use crate::domain::ArticleLimits;
use crate::ingest::{AnswerLimit, Ingest, IngestSettings};
use crate::outbound::Composer;
use crate::storage::MailStore;
use crate::tickets::Tickets;

/// The name the mail service consumes events under.
pub const CONSUMER: &str = "mail";

/// The events the mail service consumes: agents' articles to send, what agents are notified
/// of, and tickets retention removed (their mail goes too).
pub fn subscription() -> Subscription {
    Subscription::new(
        CONSUMER,
        &[
            "ticket.article.added",
            "ticket.created",
            "ticket.updated",
            "ticket.reminder_reached",
            "ticket.escalated",
            "ticket.deleted",
            "ticket.anonymised",
        ],
    )
}

/// Where the mail service finds its peers and proves who it is.
#[derive(Debug, Clone)]
pub struct Peers {
    pub ticket: String,
    pub identity: String,
    pub service_secret: String,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] docket_store::StoreError),
    #[error(transparent)]
    Mail(#[from] MailError),
    #[error(transparent)]
    Bus(#[from] docket_bus::BusError),
    #[error(transparent)]
    Bind(#[from] BindError),
    #[error("invalid endpoint `{0}`")]
    Endpoint(String),
    #[error("{0}")]
    Config(String),
}

/// What the mail service does with ticket core's events: agents' email articles go out to the
/// customer; new tickets, assignments, customers' replies, reminders and escalations notify
/// agents.
struct Events {
    store: MailStore,
    tickets: Arc<Tickets>,
    composer: Composer,
    notices: notify::Notices,
    wake: Arc<Notify>,
}

impl Events {
    async fn handle_event(&self, delivery: &Delivery) -> Result<(), MailError> {
        let envelope = &delivery.envelope;
        match envelope.event_type.as_str() {
            "ticket.article.added" => {
                let added: ev::ArticleAdded = delivery
                    .payload()
                    .map_err(|e| MailError::invalid(e.to_string()))?;
                if added.sender == "agent" && added.channel == "email" && added.visible_to_customer
                {
                    outbound::queue_reply(
                        &self.store,
                        &self.tickets,
                        &self.composer,
                        &added.ticket_id,
                        &added.article_id,
                    )
                    .await?;
                }
                // The first article comes with the ticket (version 1); later ones are replies.
                if added.sender == "customer" && envelope.aggregate_version > 1 {
                    self.notices
                        .customer_replied(&envelope.event_id, &added.ticket_id, &added.actor)
                        .await?;
                }
            }
            "ticket.created" => {
                let created: ev::TicketCreated = delivery
                    .payload()
                    .map_err(|e| MailError::invalid(e.to_string()))?;
                self.notices
                    .new_ticket(&envelope.event_id, &created.ticket_id, &created.actor)
                    .await?;
            }
            "ticket.reminder_reached" | "ticket.escalated" => {
                let due: ev::TicketDue = delivery
                    .payload()
                    .map_err(|e| MailError::invalid(e.to_string()))?;
                let notice = if envelope.event_type == "ticket.escalated" {
                    notify::Notice::Escalated
                } else {
                    notify::Notice::ReminderReached
                };
                self.notices
                    .due(&envelope.event_id, notice, &due.ticket_id)
                    .await?;
            }
            // Retention removed the ticket: its mail goes with it.
            "ticket.deleted" | "ticket.anonymised" => {
                let forgotten = self.store.forget_ticket(&envelope.aggregate_id).await?;
                tracing::info!(ticket = %envelope.aggregate_id, messages = forgotten, "mail of a removed ticket forgotten");
            }
            "ticket.updated" => {
                let updated: ev::TicketUpdated = delivery
                    .payload()
                    .map_err(|e| MailError::invalid(e.to_string()))?;
                for change in &updated.changes {
                    if change.field == "owner_id" && !change.new_value.is_empty() {
                        self.notices
                            .assigned(
                                &envelope.event_id,
                                &updated.ticket_id,
                                &change.new_value,
                                &updated.actor,
                            )
                            .await?;
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }
}

#[async_trait]
impl Handler for Events {
    async fn handle(&self, delivery: &Delivery) -> Result<(), HandlerError> {
        match self.handle_event(delivery).await {
            Ok(()) => {
                self.wake.notify_waiters();
                Ok(())
            }
            Err(e) if e.is_transient() => Err(HandlerError::Retry(e.to_string())),
            Err(MailError::Database(e)) => Err(HandlerError::Retry(e.to_string())),
            // A ticket deleted since (retention) or a refused mail: nothing to send.
            Err(e) => Err(HandlerError::Reject(e.to_string())),
        }
    }
}

/// A started mail service.
pub struct MailServer {
    addr: SocketAddr,
    lmtp_addr: Option<SocketAddr>,
    smtp_addr: Option<SocketAddr>,
    tasks: Vec<JoinHandle<()>>,
    db: Db,
}

impl MailServer {
    /// Connects, migrates, starts the listeners, pollers, workers and the sender, and serves
    /// gRPC until `shutdown`.
    pub async fn start(
        config: &MailConfig,
        database_url: &str,
        peers: &Peers,
        bus: Arc<dyn Bus>,
        readiness: Readiness,
        shutdown: Shutdown,
    ) -> Result<Self, StartError> {
        readiness.set("mail", false);
        let db = Db::connect(database_url, PoolSize::max(config.max_connections)).await?;
        MailStore::migrate(&db).await?;
        let store = MailStore::new(db.clone());
        let channel = |endpoint: &str| {
            tonic::transport::Endpoint::from_shared(endpoint.to_owned())
                .map(|e| e.connect_timeout(Duration::from_secs(5)).connect_lazy())
                .map_err(|_| StartError::Endpoint(endpoint.to_owned()))
        };
        let identity = channel(&peers.identity)?;
        let token = Arc::new(ServiceToken::new(
            IdentityServiceClient::new(identity.clone()),
            CONSUMER,
            &peers.service_secret,
        ));
        let tickets = Arc::new(Tickets::new(channel(&peers.ticket)?, identity, token));
        let composer = Composer::new(&config.hostname).with_ticket_hook(&config.ticket_hook);
        let outgoing = Arc::new(Notify::new());
        let settings = IngestSettings {
            limits: parse::Limits {
                max_message_bytes: config.max_message_bytes,
                ..parse::Limits::default()
            },
            article: ArticleLimits::new(
                config.max_attachments,
                config.max_attachment_bytes,
                config.max_article_attachment_bytes,
            )
            .map_err(StartError::Config)?,
            default_queue: config
                .default_queue
                .clone()
                .filter(|q| !q.trim().is_empty()),
            account_queues: config
                .imap
                .iter()
                .filter_map(|a| a.queue.clone().map(|q| (format!("imap:{}", a.name), q)))
                .collect(),
            default_language: config.default_language.clone(),
            sender_limit_per_hour: config.sender_limit_per_hour,
            auto_answers: AnswerLimit {
                limit: config.auto_answer_limit,
                window_secs: config.auto_answer_window_secs,
            },
            spam: parse::SpamRules {
                enabled: config.spam_detection,
                score_header: config.spam_score_header.trim().to_owned(),
                threshold: config.spam_threshold,
            },
            junk_queue: config.junk_queue.trim().to_owned(),
        };
        let ingest = Arc::new(
            Ingest::new(
                store.clone(),
                tickets.clone(),
                composer.clone(),
                settings,
                outgoing.clone(),
            )
            .with_ticket_hooks(parse::TicketHooks::new(
                &config.ticket_hook,
                &config.legacy_ticket_hooks,
            )),
        );
        let mut tasks = Vec::new();
        tasks.push(tokio::spawn(
            ingest.clone().run(config.workers, shutdown.clone()),
        ));
        let consumer = bus
            .subscribe(
                subscription(),
                Arc::new(Events {
                    store: store.clone(),
                    tickets: tickets.clone(),
                    notices: notify::Notices::new(
                        store.clone(),
                        tickets.clone(),
                        composer.clone(),
                        &config.default_language,
                    )
                    .with_junk_queue(config.junk_queue.trim()),
                    composer,
                    wake: outgoing.clone(),
                }),
                shutdown.clone(),
            )
            .await?;
        tasks.push(consumer);
        match &config.smtp {
            Some(relay) => {
                let sender =
                    outbound::Sender::new(store.clone(), tickets.clone(), relay, outgoing)?;
                tasks.push(tokio::spawn(sender.run(shutdown.clone())));
            }
            None => tracing::warn!("no mail.smtp relay: outgoing mail waits in its queue"),
        }
        for account in &config.imap {
            let poller = imap::Poller::new(account.clone(), ingest.clone())?;
            tasks.push(tokio::spawn(poller.run(shutdown.clone())));
        }
        let listen = |addr: Option<SocketAddr>, protocol: lmtp::Protocol| {
            let ingest = ingest.clone();
            let shutdown = shutdown.clone();
            let hostname = config.hostname.clone();
            async move {
                let Some(addr) = addr else {
                    return Ok::<_, StartError>(None);
                };
                let (listener, bound) = docket_platform::net::bind(addr).await?;
                let server = Arc::new(lmtp::Listener {
                    protocol,
                    hostname,
                    ingest,
                });
                tracing::info!(addr = %bound, ?protocol, "mail listener ready");
                Ok(Some((
                    bound,
                    tokio::spawn(server.serve(listener, shutdown)),
                )))
            }
        };
        let lmtp = listen(config.lmtp_listen, lmtp::Protocol::Lmtp).await?;
        let smtp = listen(config.smtp_listen, lmtp::Protocol::Smtp).await?;
        let (lmtp_addr, smtp_addr) = (lmtp.as_ref().map(|l| l.0), smtp.as_ref().map(|s| s.0));
        tasks.extend(lmtp.map(|l| l.1));
        tasks.extend(smtp.map(|s| s.1));

        let (listener, addr) = docket_platform::net::bind(config.listen).await?;
        let verifier = RemoteVerifier::connect_lazy(&peers.identity)
            .map_err(|_| StartError::Endpoint(peers.identity.clone()))?;
        // Uploads a little over the limit still arrive, to be refused with the reason rather
        // than by the transport.
        let message_bytes =
            docket_proto::MAX_MESSAGE_BYTES.max(config.max_message_bytes + 64 * 1024);
        let service = MailServiceServer::new(grpc::MailGrpc::new(ingest, Arc::new(verifier)))
            .max_decoding_message_size(message_bytes)
            .max_encoding_message_size(message_bytes);
        tasks.push(GrpcRoutes::new().serving(service).await.serve(
            "mail",
            listener,
            shutdown.clone(),
        ));
        readiness.set("mail", true);
        tracing::info!(%addr, "mail service listening (gRPC)");
        Ok(Self {
            addr,
            lmtp_addr,
            smtp_addr,
            tasks,
            db,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn lmtp_addr(&self) -> Option<SocketAddr> {
        self.lmtp_addr
    }

    pub fn smtp_addr(&self) -> Option<SocketAddr> {
        self.smtp_addr
    }

    /// Waits for every task to stop, then closes the pool.
    pub async fn stopped(self) {
        for task in self.tasks {
            let _ = task.await;
        }
        self.db.close().await;
    }
}
