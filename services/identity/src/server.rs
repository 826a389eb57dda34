//! Startup of the identity service, and the first administrator.

use std::net::SocketAddr;
use std::sync::Arc;

use docket_bus::Bus;
use docket_bus::outbox::{OutboxSignal, Relay};
use docket_platform::Shutdown;
use docket_platform::config::Secret;
use docket_platform::net::{BindError, GrpcRoutes};
use docket_platform::ops::Readiness;
use docket_proto::identity::v1::identity_admin_service_server::IdentityAdminServiceServer;
use docket_proto::identity::v1::identity_service_server::IdentityServiceServer;
use docket_store::{Db, PoolSize};
use serde::Deserialize;
use tokio::task::JoinHandle;

use crate::authority::{AuthSettings, Authority};
use crate::domain::*;
use crate::error::IdentityError;
use crate::storage::{IdentityStore, SqlIdentityStore};

/// Settings of the identity service (`[identity]` in the configuration file).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IdentityConfig {
    #[serde(deserialize_with = "docket_platform::config::socket_addr")]
    pub listen: SocketAddr,
    /// `postgres://…` or `sqlite:…`; unset: `sqlite:<data_dir>/identity.db`.
    pub database_url: Option<Secret>,
    pub max_connections: u32,
    pub auth: AuthSettings,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 50052)),
            database_url: None,
            max_connections: 16,
            auth: AuthSettings::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] docket_store::StoreError),
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error(transparent)]
    Bind(#[from] BindError),
}

/// A started identity service.
pub struct IdentityServer {
    addr: SocketAddr,
    tasks: Vec<JoinHandle<()>>,
    db: Db,
}

impl IdentityServer {
    pub async fn start(
        config: &IdentityConfig,
        database_url: &str,
        bus: Arc<dyn Bus>,
        readiness: Readiness,
        shutdown: Shutdown,
    ) -> Result<Self, StartError> {
        readiness.set("identity", false);
        let db = Db::connect(database_url, PoolSize::max(config.max_connections)).await?;
        SqlIdentityStore::migrate(&db).await?;
        let signal = OutboxSignal::new();
        let store = Arc::new(SqlIdentityStore::new(db.clone(), signal.clone()));
        let authority = Arc::new(Authority::new(store, config.auth.clone()));
        // Make sure a signing key exists before the first login.
        authority.jwks(docket_platform::time::now_micros()).await?;

        let relay_task = tokio::spawn(Relay::new(db.clone(), bus, signal).run(shutdown.clone()));
        let (listener, addr) = docket_platform::net::bind(config.listen).await?;
        let service = IdentityServiceServer::new(crate::grpc::IdentityGrpc::new(authority.clone()));
        let admin = IdentityAdminServiceServer::new(crate::admin::AdminGrpc::new(authority));
        let server_task = GrpcRoutes::new()
            .serving(service)
            .await
            .serving(admin)
            .await
            .serve("identity", listener, shutdown.clone());
        readiness.set("identity", true);
        tracing::info!(%addr, "identity service listening (gRPC)");
        Ok(Self {
            addr,
            tasks: vec![server_task, relay_task],
            db,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub async fn stopped(self) {
        for task in self.tasks {
            let _ = task.await;
        }
        self.db.close().await;
    }
}

/// Creates the first tenant (unless it exists) and a local administrator in it, who is also an
/// installation administrator.
pub async fn bootstrap(
    store: &dyn IdentityStore,
    tenant: NewTenant,
    login: Login,
    name: &str,
    password: NewPassword,
) -> Result<(Tenant, Agent), IdentityError> {
    let actor = "bootstrap";
    let existing = store
        .list_tenants()
        .await?
        .into_iter()
        .find(|t| t.slug == tenant.slug);
    let tenant = match existing {
        Some(t) => t,
        None => store.create_tenant(tenant, actor).await?,
    };
    let agent = store
        .create_agent(
            NewAgent {
                login,
                name: name.to_owned(),
                email: None,
                password: Some(password),
            },
            Source::Local,
            actor,
        )
        .await?;
    store
        .add_agent_to_tenant(agent.id, tenant.id, actor)
        .await?;
    let admin_role = store
        .list_roles(tenant.id)
        .await?
        .into_iter()
        .find(|r| r.tenant_admin)
        .ok_or_else(|| {
            IdentityError::Corrupt(format!("tenant {} has no administrator role", tenant.slug))
        })?;
    store.assign_role(agent.id, admin_role.id, actor).await?;
    // The first administrator administers the installation: creates tenants, manages them all.
    store.set_installation_admin(agent.id, true, actor).await?;
    let agent = store.get_agent(agent.id).await?;
    Ok((tenant, agent))
}
