//! The suite: which services run in this process, in what order, against which store and bus.
//!
//! Every service is an entry of [`Service`]. `docket run` starts them all on the embedded default
//! (SQLite files under `data_dir`, the in-process bus); `docket run --only ticket` starts one, as a
//! Kubernetes Deployment does, against PostgreSQL and RabbitMQ. Services talk gRPC in both modes.

use std::collections::BTreeSet;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use docket_bus::Bus;
use docket_bus::memory::MemoryBus;
use docket_bus::rabbit::{RabbitBus, RabbitConfig};
use docket_gateway::{GatewayConfig, GatewayServer};
use docket_identity::server::{IdentityConfig, IdentityServer};
use docket_mail::{MailConfig, MailServer};
use docket_platform::Shutdown;
use docket_platform::config::Secret;
use docket_platform::ops::Readiness;
use docket_platform::telemetry::TelemetryConfig;
use docket_ticket::{TicketConfig, TicketServer};
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// A service of the suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Service {
    Identity,
    Ticket,
    Mail,
    Gateway,
}

impl Service {
    pub const ALL: [Service; 4] = [
        Service::Identity,
        Service::Ticket,
        Service::Mail,
        Service::Gateway,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Identity => "identity",
            Self::Ticket => "ticket",
            Self::Mail => "mail",
            Self::Gateway => "gateway",
        }
    }

    /// The services this one calls; in one process they start first.
    pub fn dependencies(self) -> &'static [Service] {
        match self {
            Self::Identity => &[],
            Self::Ticket => &[Service::Identity],
            Self::Mail => &[Service::Identity, Service::Ticket],
            Self::Gateway => &[Service::Identity, Service::Ticket, Service::Mail],
        }
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Service {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Service::ALL
            .into_iter()
            .find(|svc| svc.as_str() == s.trim())
            .ok_or_else(|| {
                let names: Vec<_> = Service::ALL.iter().map(|s| s.as_str()).collect();
                format!("unknown service `{s}` (one of: {})", names.join(", "))
            })
    }
}

/// The services to run, in start order (dependencies first).
pub fn start_order(selected: &BTreeSet<Service>) -> Vec<Service> {
    let mut order = Vec::new();
    fn visit(s: Service, selected: &BTreeSet<Service>, order: &mut Vec<Service>) {
        if order.contains(&s) {
            return;
        }
        for dep in s.dependencies() {
            if selected.contains(dep) {
                visit(*dep, selected, order);
            }
        }
        order.push(s);
    }
    for s in selected {
        visit(*s, selected, &mut order);
    }
    order
}

/// Every setting of the suite; see `deploy/docket.example.toml` for each one and its default.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Where the embedded mode keeps its SQLite files.
    pub data_dir: PathBuf,
    pub bus: BusSettings,
    pub ops: OpsSettings,
    pub telemetry: TelemetryConfig,
    pub identity: IdentityConfig,
    pub ticket: TicketConfig,
    pub mail: MailConfig,
    pub gateway: GatewayConfig,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct BusSettings {
    /// `amqp://…` of RabbitMQ. Unset: the in-process bus (only with every service in one process).
    pub amqp_url: Option<Secret>,
    pub exchange: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OpsSettings {
    /// `/healthz`, `/readyz` and `/metrics`.
    #[serde(deserialize_with = "docket_platform::config::socket_addr")]
    pub listen: SocketAddr,
}

impl Default for OpsSettings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 9090)),
        }
    }
}

impl Settings {
    pub fn load(file: Option<&std::path::Path>) -> Result<Self, SuiteError> {
        let mut s: Settings = docket_platform::config::load(file)?;
        if s.data_dir.as_os_str().is_empty() {
            s.data_dir = PathBuf::from("data");
        }
        Ok(s)
    }

    /// The ticket service's database: configured, or a SQLite file under `data_dir`.
    pub fn ticket_database_url(&self) -> String {
        self.database_url(self.ticket.database_url.as_ref(), "ticket")
    }

    /// The mail service's database: configured, or a SQLite file under `data_dir`.
    pub fn mail_database_url(&self) -> String {
        self.database_url(self.mail.database_url.as_ref(), "mail")
    }

    /// The identity service's database: configured, or a SQLite file under `data_dir`.
    pub fn identity_database_url(&self) -> String {
        self.database_url(self.identity.database_url.as_ref(), "identity")
    }

    fn database_url(&self, configured: Option<&Secret>, service: &str) -> String {
        match configured {
            Some(url) => url.expose().to_owned(),
            None => format!(
                "sqlite:{}",
                self.data_dir.join(format!("{service}.db")).display()
            ),
        }
    }

    /// Refuses combinations that cannot work, with a message that says what to change.
    pub fn validate(&self, services: &BTreeSet<Service>) -> Result<(), SuiteError> {
        let all: BTreeSet<_> = Service::ALL.into_iter().collect();
        if self.bus.amqp_url.is_none() && services != &all {
            return Err(SuiteError::Config(
                "running only some services needs a message broker: set bus.amqp_url \
                 (DOCKET__BUS__AMQP_URL=amqp://…); the in-process bus works only with every service in one process"
                    .into(),
            ));
        }
        if services.contains(&Service::Gateway)
            && !services.contains(&Service::Identity)
            && self.gateway.identity_endpoint.is_none()
        {
            return Err(SuiteError::Config(
                "the gateway without the identity service needs gateway.identity_endpoint (e.g. http://identity:50052)".into(),
            ));
        }
        if services.contains(&Service::Gateway)
            && !services.contains(&Service::Ticket)
            && self.gateway.ticket_endpoint.is_none()
        {
            return Err(SuiteError::Config(
                "the gateway without the ticket service needs gateway.ticket_endpoint (e.g. http://ticket:50051)".into(),
            ));
        }
        if services.contains(&Service::Gateway)
            && !services.contains(&Service::Mail)
            && self.gateway.mail_endpoint.is_none()
        {
            return Err(SuiteError::Config(
                "the gateway without the mail service needs gateway.mail_endpoint (e.g. http://mail:50053)".into(),
            ));
        }
        if services.contains(&Service::Ticket)
            && !services.contains(&Service::Identity)
            && self.ticket.identity_endpoint.is_none()
        {
            return Err(SuiteError::Config(
                "the ticket service without the identity service needs ticket.identity_endpoint (e.g. http://identity:50052)".into(),
            ));
        }
        if services.contains(&Service::Mail) {
            for (needed, name, example) in [
                (
                    !services.contains(&Service::Identity) && self.mail.identity_endpoint.is_none(),
                    "mail.identity_endpoint",
                    "http://identity:50052",
                ),
                (
                    !services.contains(&Service::Ticket) && self.mail.ticket_endpoint.is_none(),
                    "mail.ticket_endpoint",
                    "http://ticket:50051",
                ),
                (
                    !services.contains(&Service::Identity) && self.mail.service_secret.is_none(),
                    "mail.service_secret",
                    "the identity service's identity.auth.service_secret",
                ),
            ] {
                if needed {
                    return Err(SuiteError::Config(format!(
                        "the mail service without the identity or ticket service needs {name} (e.g. {example})"
                    )));
                }
            }
        }
        if self.ticket.system_id > 99 {
            return Err(SuiteError::Config(format!(
                "ticket.system_id {} is not between 0 and 99",
                self.ticket.system_id
            )));
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    #[error(transparent)]
    Load(#[from] docket_platform::config::ConfigError),
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("cannot reach the message broker: {0}")]
    Bus(#[from] docket_bus::BusError),
    #[error("ticket service: {0}")]
    Ticket(#[from] docket_ticket::StartError),
    #[error("identity service: {0}")]
    Identity(#[from] docket_identity::server::StartError),
    #[error("identity: {0}")]
    IdentityStore(#[from] docket_identity::IdentityError),
    #[error(transparent)]
    TicketStore(#[from] docket_ticket::TicketError),
    #[error("gateway: {0}")]
    Gateway(#[from] docket_gateway::StartError),
    #[error("mail service: {0}")]
    Mail(#[from] docket_mail::StartError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] docket_store::StoreError),
}

/// The bus of this process: RabbitMQ when configured, otherwise in-process.
pub async fn connect_bus(settings: &Settings) -> Result<Arc<dyn Bus>, SuiteError> {
    Ok(match &settings.bus.amqp_url {
        Some(url) => {
            let mut config = RabbitConfig::new(url.expose());
            if let Some(exchange) = &settings.bus.exchange {
                config.exchange = exchange.clone();
            }
            Arc::new(RabbitBus::connect(config).await?)
        }
        None => Arc::new(MemoryBus::new()),
    })
}

/// A running suite. Addresses are the bound ones (useful with port 0).
pub struct Suite {
    pub ops_addr: SocketAddr,
    pub identity_addr: Option<SocketAddr>,
    pub ticket_addr: Option<SocketAddr>,
    pub mail_addr: Option<SocketAddr>,
    /// The mail service's LMTP and SMTP listeners, when configured.
    pub lmtp_addr: Option<SocketAddr>,
    pub smtp_addr: Option<SocketAddr>,
    pub gateway_addr: Option<SocketAddr>,
    pub bus: Arc<dyn Bus>,
    pub readiness: Readiness,
    shutdown: Shutdown,
    /// Stops the edge (the gateway) first, so its in-flight requests still reach the services.
    edge: Shutdown,
    /// Then the services, their relays and the ops endpoints.
    core: Shutdown,
    identity: Option<IdentityServer>,
    ticket: Option<TicketServer>,
    mail: Option<MailServer>,
    gateway: Option<GatewayServer>,
    background: Vec<JoinHandle<()>>,
}

impl Suite {
    /// Starts the selected services in dependency order. Returns once every one is listening.
    pub async fn start(
        settings: &Settings,
        services: &BTreeSet<Service>,
        shutdown: Shutdown,
    ) -> Result<Self, SuiteError> {
        settings.validate(services)?;
        let settings = &with_service_secret(settings, services);
        let (edge, core) = (Shutdown::new(), Shutdown::new());
        let readiness = Readiness::new();
        let ops_listener = TcpListener::bind(settings.ops.listen)
            .await
            .map_err(|source| SuiteError::Bind {
                addr: settings.ops.listen,
                source,
            })?;
        let ops_addr = ops_listener
            .local_addr()
            .map_err(|source| SuiteError::Bind {
                addr: settings.ops.listen,
                source,
            })?;
        let ops_app = docket_platform::ops::router(readiness.clone());
        let ops_stop = core.clone();
        let mut background = vec![tokio::spawn(async move {
            let _ = axum::serve(ops_listener, ops_app)
                .with_graceful_shutdown(async move { ops_stop.cancelled().await })
                .await;
        })];

        let bus = connect_bus(settings).await?;
        // Every consumer's queue exists before any producer starts, whichever services this
        // process runs: nothing published before its consumer runs is lost.
        for subscription in consumers() {
            bus.declare(&subscription).await?;
        }
        readiness.set("bus", bus.is_connected());
        background.push(tokio::spawn(watch_bus(
            bus.clone(),
            readiness.clone(),
            core.clone(),
        )));

        let mut suite = Suite {
            ops_addr,
            identity_addr: None,
            ticket_addr: None,
            mail_addr: None,
            lmtp_addr: None,
            smtp_addr: None,
            gateway_addr: None,
            bus: bus.clone(),
            readiness: readiness.clone(),
            shutdown: shutdown.clone(),
            edge: edge.clone(),
            core: core.clone(),
            identity: None,
            ticket: None,
            mail: None,
            gateway: None,
            background,
        };
        for service in start_order(services) {
            match service {
                Service::Identity => {
                    let server = IdentityServer::start(
                        &settings.identity,
                        &settings.identity_database_url(),
                        bus.clone(),
                        readiness.clone(),
                        core.clone(),
                    )
                    .await?;
                    suite.identity_addr = Some(server.addr());
                    suite.identity = Some(server);
                }
                Service::Ticket => {
                    let server = TicketServer::start(
                        &settings.ticket,
                        &settings.ticket_database_url(),
                        &endpoint(
                            &settings.ticket.identity_endpoint,
                            suite.identity_addr,
                            settings.identity.listen,
                        ),
                        bus.clone(),
                        readiness.clone(),
                        core.clone(),
                    )
                    .await?;
                    suite.ticket_addr = Some(server.addr());
                    suite.ticket = Some(server);
                }
                Service::Mail => {
                    let peers = docket_mail::Peers {
                        ticket: endpoint(
                            &settings.mail.ticket_endpoint,
                            suite.ticket_addr,
                            settings.ticket.listen,
                        ),
                        identity: endpoint(
                            &settings.mail.identity_endpoint,
                            suite.identity_addr,
                            settings.identity.listen,
                        ),
                        service_secret: settings
                            .mail
                            .service_secret
                            .as_ref()
                            .map(|s| s.expose().to_owned())
                            .unwrap_or_default(),
                    };
                    let server = MailServer::start(
                        &settings.mail,
                        &settings.mail_database_url(),
                        &peers,
                        bus.clone(),
                        readiness.clone(),
                        core.clone(),
                    )
                    .await?;
                    suite.mail_addr = Some(server.addr());
                    suite.lmtp_addr = server.lmtp_addr();
                    suite.smtp_addr = server.smtp_addr();
                    suite.mail = Some(server);
                }
                Service::Gateway => {
                    let endpoints = docket_gateway::Endpoints {
                        identity: endpoint(
                            &settings.gateway.identity_endpoint,
                            suite.identity_addr,
                            settings.identity.listen,
                        ),
                        ticket: endpoint(
                            &settings.gateway.ticket_endpoint,
                            suite.ticket_addr,
                            settings.ticket.listen,
                        ),
                        mail: endpoint(
                            &settings.gateway.mail_endpoint,
                            suite.mail_addr,
                            settings.mail.listen,
                        ),
                    };
                    let server = GatewayServer::start(
                        &settings.gateway,
                        &endpoints,
                        bus.as_ref(),
                        readiness.clone(),
                        edge.clone(),
                    )
                    .await?;
                    suite.gateway_addr = Some(server.addr());
                    suite.gateway = Some(server);
                }
            }
        }
        Ok(suite)
    }

    pub fn shutdown(&self) -> &Shutdown {
        &self.shutdown
    }

    /// Waits until the shutdown signal, then stops in order: the gateway stops taking requests and
    /// drains them, then the services drain theirs and their relays stop, then the ops endpoints.
    pub async fn wait(self) {
        self.shutdown.cancelled().await;
        self.readiness.set("shutdown", false);
        self.edge.trigger();
        if let Some(gateway) = self.gateway {
            gateway.stopped().await;
        }
        self.core.trigger();
        if let Some(mail) = self.mail {
            mail.stopped().await;
        }
        if let Some(ticket) = self.ticket {
            ticket.stopped().await;
        }
        if let Some(identity) = self.identity {
            identity.stopped().await;
        }
        for task in self.background {
            let _ = task.await;
        }
    }
}

/// The bus consumers of the whole suite.
pub fn consumers() -> Vec<docket_bus::Subscription> {
    vec![docket_ticket::subscription(), docket_mail::subscription()]
}

/// The settings with a service secret shared by the identity and mail services of this process
/// when none is configured: a fresh random one, which never leaves the process.
fn with_service_secret(settings: &Settings, services: &BTreeSet<Service>) -> Settings {
    let mut settings = settings.clone();
    let both = services.contains(&Service::Identity) && services.contains(&Service::Mail);
    match (
        settings.identity.auth.service_secret.clone(),
        settings.mail.service_secret.clone(),
    ) {
        (None, None) if both => {
            let secret = Secret::new(
                docket_auth::secret::OpaqueSecret::generate("dsv")
                    .expose()
                    .to_owned(),
            );
            settings.identity.auth.service_secret = Some(secret.clone());
            settings.mail.service_secret = Some(secret);
        }
        (Some(secret), None) if both => settings.mail.service_secret = Some(secret),
        _ => {}
    }
    settings
}

/// A service's endpoint: configured, else the one started in this process, else its default port.
fn endpoint(
    configured: &Option<String>,
    started: Option<SocketAddr>,
    default: SocketAddr,
) -> String {
    match (configured, started) {
        (Some(e), _) => e.clone(),
        (None, Some(addr)) => format!("http://{addr}"),
        (None, None) => format!("http://{default}"),
    }
}

async fn watch_bus(bus: Arc<dyn Bus>, readiness: Readiness, shutdown: Shutdown) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(2)) => readiness.set("bus", bus.is_connected()),
            () = shutdown.cancelled() => break,
        }
    }
}

/// Applies every selected service's migrations (creating PostgreSQL databases when missing).
pub async fn migrate(settings: &Settings, services: &BTreeSet<Service>) -> Result<(), SuiteError> {
    for service in start_order(services) {
        let url = match service {
            Service::Identity => settings.identity_database_url(),
            Service::Ticket => settings.ticket_database_url(),
            Service::Mail => settings.mail_database_url(),
            Service::Gateway => continue,
        };
        docket_store::create_database_if_missing(&url).await?;
        let db =
            docket_store::Db::connect(&url, docket_store::PoolSize { max_connections: 2 }).await?;
        match service {
            Service::Identity => docket_identity::SqlIdentityStore::migrate(&db).await?,
            Service::Ticket => docket_ticket::SqlTicketStore::migrate(&db).await?,
            Service::Mail => docket_mail::storage::MailStore::migrate(&db).await?,
            Service::Gateway => {}
        }
        db.close().await;
        tracing::info!(service = %service, database = %docket_store::redact(&url), "migrated");
    }
    Ok(())
}

/// Creates the first tenant (unless it exists) and a local administrator in it, directly in the
/// identity service's database (`docket admin bootstrap`).
pub async fn bootstrap_admin(
    settings: &Settings,
    tenant_slug: &str,
    tenant_name: &str,
    login: &str,
    name: &str,
    password: &str,
) -> Result<
    (
        docket_identity::domain::Tenant,
        docket_identity::domain::Agent,
    ),
    SuiteError,
> {
    use docket_identity::domain::{Login, NewPassword, NewTenant};
    let tenant = NewTenant::parse(tenant_slug, tenant_name)?;
    let login = Login::parse(login)?;
    let password = NewPassword::parse(password)?;
    let url = settings.identity_database_url();
    docket_store::create_database_if_missing(&url).await?;
    let db = docket_store::Db::connect(&url, docket_store::PoolSize { max_connections: 2 }).await?;
    docket_identity::SqlIdentityStore::migrate(&db).await?;
    let store =
        docket_identity::SqlIdentityStore::new(db.clone(), docket_bus::outbox::OutboxSignal::new());
    let created = docket_identity::server::bootstrap(&store, tenant, login, name, password).await;
    db.close().await;
    Ok(created?)
}

/// Runs retention now, directly on the ticket service's database (`docket admin retention`).
pub async fn run_retention(
    settings: &Settings,
    dry_run: bool,
) -> Result<docket_ticket::retention::RetentionRun, SuiteError> {
    use docket_ticket::storage::prelude::*;
    let url = settings.ticket_database_url();
    let db = docket_store::Db::connect(&url, docket_store::PoolSize { max_connections: 2 }).await?;
    let store = docket_ticket::SqlTicketStore::new(
        db.clone(),
        docket_bus::outbox::OutboxSignal::new(),
        docket_ticket::domain::SystemId::new(settings.ticket.system_id)?,
    );
    let actor = docket_ticket::domain::Actor::new("docket admin retention")?;
    let run = store
        .run_retention(docket_platform::time::now_micros(), dry_run, &actor)
        .await;
    db.close().await;
    Ok(run?)
}

/// What `docket admin verify-history` found.
#[derive(Debug, Default)]
pub struct HistoryReport {
    pub tickets: u64,
    pub entries: u64,
    /// Each broken ticket: its id, its number, the first broken entry and why.
    pub broken: Vec<(String, String, u64, String)>,
}

/// Checks the hash chain of one ticket's history (by id or number), or of every ticket's, directly
/// in the ticket service's database. Changes nothing.
pub async fn verify_history(
    settings: &Settings,
    ticket: Option<&str>,
) -> Result<HistoryReport, SuiteError> {
    use docket_ticket::domain::{SystemId, TicketId, TicketNumber};
    use docket_ticket::storage::prelude::*;
    let url = settings.ticket_database_url();
    let db = docket_store::Db::connect(&url, docket_store::PoolSize { max_connections: 2 }).await?;
    let store = docket_ticket::SqlTicketStore::new(
        db.clone(),
        docket_bus::outbox::OutboxSignal::new(),
        SystemId::new(settings.ticket.system_id)?,
    );
    let result = async {
        let mut report = HistoryReport::default();
        match ticket {
            Some(key) => {
                let id = match key.parse::<TicketId>() {
                    Ok(id) => id,
                    Err(_) => {
                        store
                            .get_ticket_by_number(&key.parse::<TicketNumber>()?)
                            .await?
                            .id
                    }
                };
                check_history(&store, id, &mut report).await?;
            }
            None => {
                let mut after = None;
                loop {
                    let page = store.ticket_ids(after, 500).await?;
                    for id in &page {
                        check_history(&store, *id, &mut report).await?;
                    }
                    match page.last() {
                        Some(last) => after = Some(*last),
                        None => break,
                    }
                }
            }
        }
        Ok::<_, SuiteError>(report)
    }
    .await;
    db.close().await;
    result
}

async fn check_history(
    store: &docket_ticket::SqlTicketStore,
    id: docket_ticket::domain::TicketId,
    report: &mut HistoryReport,
) -> Result<(), docket_ticket::TicketError> {
    use docket_ticket::chain::Verdict;
    use docket_ticket::storage::prelude::*;
    let ticket = store.get_ticket(id).await?;
    report.tickets += 1;
    match store.verify_history(id).await? {
        Verdict::Intact { entries } => report.entries += entries,
        Verdict::Broken { seq, reason } => {
            report
                .broken
                .push((id.to_string(), ticket.number.to_string(), seq, reason))
        }
    }
    Ok(())
}

/// Parses `--only a,b`; empty means every service.
pub fn parse_services(only: Option<&str>) -> Result<BTreeSet<Service>, String> {
    match only {
        None => Ok(Service::ALL.into_iter().collect()),
        Some(list) => {
            let set = list
                .split(',')
                .filter(|s| !s.trim().is_empty())
                .map(str::parse)
                .collect::<Result<BTreeSet<_>, _>>()?;
            if set.is_empty() {
                Err("--only needs at least one service".into())
            } else {
                Ok(set)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dependencies_start_first() {
        let all = parse_services(None).unwrap();
        assert_eq!(
            start_order(&all),
            vec![
                Service::Identity,
                Service::Ticket,
                Service::Mail,
                Service::Gateway
            ]
        );
        let gw: BTreeSet<_> = [Service::Gateway].into();
        assert_eq!(start_order(&gw), vec![Service::Gateway]);
    }

    #[test]
    fn only_names_known_services() {
        assert!(parse_services(Some("ticket,gateway")).is_ok());
        let err = parse_services(Some("tickets")).unwrap_err();
        assert!(
            err.contains("one of: identity, ticket, mail, gateway"),
            "{err}"
        );
        assert!(parse_services(Some(",")).is_err());
    }

    #[test]
    fn a_subset_needs_a_broker() {
        let settings = Settings::default();
        let only: BTreeSet<_> = [Service::Ticket].into();
        let err = settings.validate(&only).unwrap_err().to_string();
        assert!(err.contains("bus.amqp_url"), "{err}");
        assert!(settings.validate(&parse_services(None).unwrap()).is_ok());
    }
}

#[cfg(test)]
mod example_config {
    use super::*;

    /// The documented example lists every setting with its default; it must load and agree.
    #[test]
    fn example_file_loads_with_the_defaults() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../deploy/docket.example.toml");
        let s: Settings = docket_platform::config::load(Some(&path)).unwrap();
        let d = Settings::default();
        assert_eq!(s.ticket.listen, d.ticket.listen);
        assert_eq!(s.ticket.system_id, d.ticket.system_id);
        assert_eq!(s.ticket.max_connections, d.ticket.max_connections);
        assert_eq!(s.gateway.listen, d.gateway.listen);
        assert_eq!(s.gateway.max_body_bytes, d.gateway.max_body_bytes);
        assert_eq!(
            s.gateway.request_timeout_secs,
            d.gateway.request_timeout_secs
        );
        assert_eq!(
            s.gateway.header_read_timeout_secs,
            d.gateway.header_read_timeout_secs
        );
        assert_eq!(s.gateway.max_connections, d.gateway.max_connections);
        assert_eq!(s.gateway.sign_in_failures, d.gateway.sign_in_failures);
        assert_eq!(s.gateway.sign_in_window_secs, d.gateway.sign_in_window_secs);
        assert_eq!(s.gateway.trusted_proxies, d.gateway.trusted_proxies);
        assert_eq!(s.ops.listen, d.ops.listen);
        assert_eq!(s.mail.listen, d.mail.listen);
        assert_eq!(s.mail.max_message_bytes, d.mail.max_message_bytes);
        assert_eq!(s.mail.max_attachments, d.mail.max_attachments);
        assert_eq!(s.mail.max_attachment_bytes, d.mail.max_attachment_bytes);
        assert_eq!(
            s.mail.max_article_attachment_bytes,
            d.mail.max_article_attachment_bytes
        );
        assert_eq!(s.mail.sender_limit_per_hour, d.mail.sender_limit_per_hour);
        assert_eq!(s.mail.default_language, d.mail.default_language);
        assert_eq!(s.mail.hostname, d.mail.hostname);
        assert_eq!(s.mail.workers, d.mail.workers);
        assert_eq!(s.telemetry.log_filter, d.telemetry.log_filter);
        assert_eq!(s.data_dir, std::path::PathBuf::from("data"));
    }

    #[test]
    fn a_bad_value_is_named() {
        let dir = std::env::temp_dir().join(format!("docket-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("bad.toml");
        std::fs::write(&path, "[gateway]\nlisten = \"not an address\"\n").unwrap();
        let err = Settings::load(Some(&path)).unwrap_err().to_string();
        assert!(err.contains("not an address"), "{err}");
        std::fs::write(&path, "[gatway]\nlisten = \"127.0.0.1:1\"\n").unwrap();
        let err = Settings::load(Some(&path)).unwrap_err().to_string();
        assert!(err.contains("gatway"), "{err}");
    }
}
