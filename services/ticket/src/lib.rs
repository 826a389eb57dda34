//! Ticket core: queues, tickets, articles and their history, served over gRPC.
//!
//! - [`domain`]: the values, parsed once;
//! - [`access`]: who may do what, from the caller's verified token;
//! - [`agents`]: the agents of a tenant and who of them reads a queue, asked of the identity
//!   service when a change names an agent on a ticket;
//! - [`chain`]: the history's hash chain, which makes tampering evident;
//! - [`storage`]: the repository trait and its implementation on PostgreSQL and SQLite;
//! - [`projection`]: tenants, groups and customers from the identity service's events;
//! - [`grpc`]: the `docket.ticket.v1.TicketService` edge;
//! - [`TicketServer`]: startup — open the store, migrate, consume identity events, start the
//!   outbox relay, bind the port.

pub mod access;
pub mod agents;
pub mod attachments;
pub mod chain;
pub mod domain;
pub mod error;
pub mod fields;
pub mod grpc;
pub mod projection;
pub mod retention;
pub mod search;
pub mod storage;
pub mod templates;

use std::net::SocketAddr;
use std::sync::Arc;

use docket_bus::Bus;
use docket_bus::outbox::{OutboxSignal, Relay};
use docket_platform::Shutdown;
use docket_platform::config::Secret;
use docket_platform::net::{BindError, GrpcRoutes};
use docket_platform::ops::Readiness;
use docket_proto::ticket::v1::ticket_service_server::TicketServiceServer;
use docket_store::{Db, PoolSize};
use serde::Deserialize;
use tokio::task::JoinHandle;

pub use error::TicketError;

pub use projection::subscription;
pub use storage::{SqlTicketStore, TicketStore};

/// Settings of the ticket service (`[ticket]` in the configuration file).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TicketConfig {
    /// Where the gRPC server listens; port 0 picks a free one.
    #[serde(deserialize_with = "docket_platform::config::socket_addr")]
    pub listen: SocketAddr,
    /// `postgres://…` or `sqlite:…`; unset: `sqlite:<data_dir>/ticket.db`.
    pub database_url: Option<Secret>,
    pub max_connections: u32,
    /// Two digits inside every ticket number, telling installations apart.
    pub system_id: u8,
    /// The identity service, whose keys verify callers' tokens. Unset in `docket run`: the one
    /// started in-process.
    pub identity_endpoint: Option<String>,
    /// How often closed tickets past their tenant's retention period are removed, in seconds;
    /// 0 turns the schedule off (`docket admin retention` still runs it).
    pub retention_interval_secs: u64,
    /// How often reminders whose time has come and tickets past their target date are looked
    /// for and announced, in seconds; 0 turns it off.
    pub due_interval_secs: u64,
}

impl Default for TicketConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 50051)),
            database_url: None,
            max_connections: 16,
            system_id: 10,
            identity_endpoint: None,
            retention_interval_secs: 86_400,
            due_interval_secs: 60,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] docket_store::StoreError),
    #[error(transparent)]
    Ticket(#[from] TicketError),
    #[error(transparent)]
    Bus(#[from] docket_bus::BusError),
    #[error(transparent)]
    Bind(#[from] BindError),
    #[error("{0}")]
    Identity(String),
}

/// A started ticket service: its port is bound and its relay runs.
pub struct TicketServer {
    addr: SocketAddr,
    tasks: Vec<JoinHandle<()>>,
    db: Db,
}

/// Calls `tick` every `interval_secs` (never when 0) until `shutdown`.
async fn every<F, Fut>(interval_secs: u64, shutdown: Shutdown, mut tick: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    if interval_secs == 0 {
        return;
    }
    let period = std::time::Duration::from_secs(interval_secs);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(period) => {}
        }
        tick().await;
    }
}

/// Runs retention; a run another replica holds is skipped, a failed one logged and tried again
/// next time.
async fn run_retention(store: &dyn TicketStore) {
    let now = docket_platform::time::now_micros();
    match store
        .run_retention(now, false, &domain::Actor::system())
        .await
    {
        Ok(_) | Err(TicketError::Conflict(_)) => {}
        Err(e) => tracing::error!(error = %e, "retention run failed"),
    }
}

/// Announces due reminders and escalations, a batch after another while there are more.
async fn announce_due(store: &dyn TicketStore) {
    const BATCH: u32 = 200;
    loop {
        let now = docket_platform::time::now_micros();
        match store.announce_due(now, BATCH).await {
            Ok(due) if due.reminders.max(due.escalations) == BATCH as usize => {}
            Ok(_) => return,
            Err(e) => {
                tracing::error!(error = %e, "cannot announce due reminders and escalations");
                return;
            }
        }
    }
}

impl TicketServer {
    /// Connects, migrates, consumes the identity service's events, starts the outbox relay and
    /// serves gRPC until `shutdown`.
    pub async fn start(
        config: &TicketConfig,
        database_url: &str,
        identity_endpoint: &str,
        bus: Arc<dyn Bus>,
        readiness: Readiness,
        shutdown: Shutdown,
    ) -> Result<Self, StartError> {
        readiness.set("ticket", false);
        let system_id = domain::SystemId::new(config.system_id)?;
        let db = Db::connect(database_url, PoolSize::max(config.max_connections)).await?;
        SqlTicketStore::migrate(&db).await?;
        let signal = OutboxSignal::new();
        let store: Arc<dyn TicketStore> =
            Arc::new(SqlTicketStore::new(db.clone(), signal.clone(), system_id));
        let consumer = bus
            .subscribe(
                projection::subscription(),
                Arc::new(projection::IdentityEvents::new(store.clone())),
                shutdown.clone(),
            )
            .await?;

        let relay = Relay::new(db.clone(), bus, signal);
        let relay_task = tokio::spawn(relay.run(shutdown.clone()));
        let retention_task = tokio::spawn({
            let store = store.clone();
            every(
                config.retention_interval_secs,
                shutdown.clone(),
                move || {
                    let store = store.clone();
                    async move { run_retention(store.as_ref()).await }
                },
            )
        });
        let due_task = tokio::spawn({
            let store = store.clone();
            every(config.due_interval_secs, shutdown.clone(), move || {
                let store = store.clone();
                async move { announce_due(store.as_ref()).await }
            })
        });

        let (listener, addr) = docket_platform::net::bind(config.listen).await?;
        let verifier = docket_auth::remote::RemoteVerifier::connect_lazy(identity_endpoint)
            .map_err(|e| {
                StartError::Identity(format!(
                    "invalid identity endpoint `{identity_endpoint}`: {e}"
                ))
            })?;
        let agents = agents::IdentityAgents::connect_lazy(identity_endpoint).map_err(|e| {
            StartError::Identity(format!(
                "invalid identity endpoint `{identity_endpoint}`: {e}"
            ))
        })?;
        // Articles with attachments (up to 20 MiB of them) travel in one message.
        let edge = grpc::TicketGrpc::new(store, Arc::new(verifier), Arc::new(agents));
        let service = TicketServiceServer::new(edge)
            .max_decoding_message_size(docket_proto::MAX_MESSAGE_BYTES)
            .max_encoding_message_size(docket_proto::MAX_MESSAGE_BYTES);
        let server_task =
            GrpcRoutes::new()
                .serving(service)
                .await
                .serve("ticket", listener, shutdown.clone());
        readiness.set("ticket", true);
        tracing::info!(%addr, "ticket service listening (gRPC)");
        Ok(Self {
            addr,
            tasks: vec![server_task, relay_task, consumer, retention_task, due_task],
            db,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Waits for the server (in-flight requests drained) and the relay to stop, then closes the pool.
    pub async fn stopped(self) {
        for task in self.tasks {
            let _ = task.await;
        }
        self.db.close().await;
    }
}
