//! Where identity lives: one repository trait per feature, [`IdentityStore`] for all of them, and
//! [`SqlIdentityStore`], their implementation on PostgreSQL and SQLite.
//!
//! The rules:
//!
//! - a storage module saves and finds; what is allowed and what a value becomes is decided in
//!   [`crate::domain`] (throttling, customer updates, absences, merged grants) and only carried
//!   out here;
//! - a change, its audit entry and its event (in the outbox) commit in one transaction;
//! - one statement serves both engines; a feature's SQL stays beside its `impl`, the longest
//!   statements in `queries/`;
//! - one conformance suite (`tests/conformance.rs`) runs every trait against both engines.

mod access;
mod agents;
mod audit;
mod customers;
mod rows;
mod tenants;
mod throttle;
mod tokens;

use async_trait::async_trait;
use docket_auth::{AgentGrants, PermSet};
use docket_bus::outbox::{self, NewEvent, OutboxSignal};
use docket_store::{Db, WriteTx};

use crate::domain::*;
use crate::error::IdentityError;

/// Tenants with their groups and roles, and the permissions a role grants on a group.
#[async_trait]
pub trait TenantStore: Send + Sync + 'static {
    /// Creates a tenant with its default groups and the built-in roles.
    async fn create_tenant(&self, tenant: NewTenant, actor: &str) -> Result<Tenant, IdentityError>;
    async fn list_tenants(&self) -> Result<Vec<Tenant>, IdentityError>;
    async fn get_tenant(&self, id: TenantId) -> Result<Tenant, IdentityError>;
    async fn create_group(
        &self,
        tenant_id: TenantId,
        name: &str,
        actor: &str,
    ) -> Result<Group, IdentityError>;
    async fn list_groups(&self, tenant_id: TenantId) -> Result<Vec<Group>, IdentityError>;
    async fn get_group(&self, id: GroupId) -> Result<Group, IdentityError>;
    async fn create_role(
        &self,
        tenant_id: TenantId,
        name: &str,
        tenant_admin: bool,
        actor: &str,
    ) -> Result<Role, IdentityError>;
    /// Sets (or, with an empty set, removes) a role's permissions on a group of its tenant.
    async fn set_role_permissions(
        &self,
        role_id: RoleId,
        group_id: GroupId,
        perms: PermSet,
        actor: &str,
    ) -> Result<Role, IdentityError>;
    async fn list_roles(&self, tenant_id: TenantId) -> Result<Vec<Role>, IdentityError>;
    async fn get_role(&self, id: RoleId) -> Result<Role, IdentityError>;
}

/// Agent accounts: how they log in (password, second factor), whether they may, and
/// installation administration.
#[async_trait]
pub trait AgentStore: Send + Sync + 'static {
    async fn create_agent(
        &self,
        agent: NewAgent,
        source: Source,
        actor: &str,
    ) -> Result<Agent, IdentityError>;
    async fn get_agent(&self, id: AgentId) -> Result<Agent, IdentityError>;
    async fn agent_credentials(
        &self,
        login: &Login,
    ) -> Result<Option<AgentCredentials>, IdentityError>;
    /// The members of a tenant, by login.
    async fn list_agents(&self, tenant_id: TenantId) -> Result<Vec<Agent>, IdentityError>;
    async fn set_agent_password(
        &self,
        agent_id: AgentId,
        password_hash: &str,
        actor: &str,
    ) -> Result<(), IdentityError>;
    async fn set_agent_active(
        &self,
        agent_id: AgentId,
        active: bool,
        actor: &str,
    ) -> Result<(), IdentityError>;
    async fn set_installation_admin(
        &self,
        agent_id: AgentId,
        installation_admin: bool,
        actor: &str,
    ) -> Result<(), IdentityError>;
    async fn set_agent_totp(
        &self,
        agent_id: AgentId,
        secret: Option<&str>,
        actor: &str,
    ) -> Result<(), IdentityError>;
    /// Records the TOTP step just used, refusing one not newer than the last (replay).
    async fn use_totp_step(&self, agent_id: AgentId, step: u64) -> Result<bool, IdentityError>;
    /// Keeps (or, with `None`, discards) a second factor being enrolled; the active one, if any,
    /// stays in force until [`AgentStore::confirm_totp`].
    async fn set_pending_totp(
        &self,
        agent_id: AgentId,
        secret: Option<&str>,
    ) -> Result<(), IdentityError>;
    async fn pending_totp(&self, agent_id: AgentId) -> Result<Option<String>, IdentityError>;
    /// Makes the pending secret the agent's second factor, if it still is `secret`; `step` is the
    /// step of the code that confirmed it (so that code cannot log in again).
    async fn confirm_totp(
        &self,
        agent_id: AgentId,
        secret: &str,
        step: u64,
        actor: &str,
    ) -> Result<(), IdentityError>;
}

/// What agents may do in tenants: membership, roles, their own permissions, substitutions while
/// others are absent, and the grants merged from them.
#[async_trait]
pub trait AccessStore: Send + Sync + 'static {
    async fn add_agent_to_tenant(
        &self,
        agent_id: AgentId,
        tenant_id: TenantId,
        actor: &str,
    ) -> Result<(), IdentityError>;
    async fn assign_role(
        &self,
        agent_id: AgentId,
        role_id: RoleId,
        actor: &str,
    ) -> Result<(), IdentityError>;
    async fn revoke_role(
        &self,
        agent_id: AgentId,
        role_id: RoleId,
        actor: &str,
    ) -> Result<(), IdentityError>;
    /// Sets (or, with an empty set, removes) an agent's own permissions on a group.
    async fn set_agent_permissions(
        &self,
        agent_id: AgentId,
        group_id: GroupId,
        perms: PermSet,
        actor: &str,
    ) -> Result<(), IdentityError>;
    /// What the agent may do now, per tenant: merged group permissions, admin, substitutions.
    async fn agent_grants(
        &self,
        agent_id: AgentId,
        now: Micros,
    ) -> Result<AgentGrants, IdentityError>;
    /// The tenants the agent is a member of, with its roles and own permissions in each.
    async fn agent_memberships(&self, agent_id: AgentId) -> Result<Vec<Membership>, IdentityError>;
    async fn add_absence(
        &self,
        agent_id: AgentId,
        substitute_id: AgentId,
        starts_at: Micros,
        ends_at: Micros,
        actor: &str,
    ) -> Result<Absence, IdentityError>;
    /// The absences of the tenant's members, by start.
    async fn list_absences(&self, tenant_id: TenantId) -> Result<Vec<Absence>, IdentityError>;
}

/// Customer companies and customer users, announced to ticket core.
#[async_trait]
pub trait CustomerStore: Send + Sync + 'static {
    async fn create_company(
        &self,
        tenant_id: TenantId,
        name: &str,
        actor: &str,
    ) -> Result<Company, IdentityError>;
    async fn list_companies(&self, tenant_id: TenantId) -> Result<Vec<Company>, IdentityError>;
    async fn create_customer(
        &self,
        customer: NewCustomer,
        source: Source,
        actor: &str,
    ) -> Result<Customer, IdentityError>;
    /// Replaces a customer's details; announces them to ticket core like a new customer's.
    async fn update_customer(
        &self,
        id: CustomerId,
        update: CustomerUpdate,
        actor: &str,
    ) -> Result<Customer, IdentityError>;
    async fn get_customer(&self, id: CustomerId) -> Result<Customer, IdentityError>;
    /// The tenant's customer users, by login.
    async fn list_customers(&self, tenant_id: TenantId) -> Result<Vec<Customer>, IdentityError>;
    async fn customer_credentials(
        &self,
        tenant_id: TenantId,
        login: &Login,
    ) -> Result<Option<CustomerCredentials>, IdentityError>;
}

/// What proves who is calling: login sessions, API tokens, and the keys that sign access tokens.
#[async_trait]
pub trait TokenStore: Send + Sync + 'static {
    async fn create_session(&self, session: &Session) -> Result<(), IdentityError>;
    async fn get_session(&self, id: &str) -> Result<Option<Session>, IdentityError>;
    async fn revoke_session(&self, id: &str, now: Micros) -> Result<(), IdentityError>;
    /// Ends every open session of a principal (after a password, activation or role change):
    /// their secrets no longer refresh, and their ids join the revoked list. How many it ended.
    async fn end_sessions(
        &self,
        kind: PrincipalKind,
        principal_id: &str,
        now: Micros,
    ) -> Result<u64, IdentityError>;
    /// Ids of the sessions revoked at or after `since`: the access tokens they issued may still
    /// be unexpired, so services refuse tokens naming them (`sid`).
    async fn revoked_sessions(&self, since: Micros) -> Result<Vec<String>, IdentityError>;
    async fn create_api_token(&self, token: &ApiToken, actor: &str) -> Result<(), IdentityError>;
    async fn get_api_token(&self, id: &str) -> Result<Option<ApiToken>, IdentityError>;
    async fn list_api_tokens(&self, agent_id: AgentId) -> Result<Vec<ApiToken>, IdentityError>;
    async fn revoke_api_token(
        &self,
        id: &str,
        now: Micros,
        actor: &str,
    ) -> Result<(), IdentityError>;
    /// Signing keys not retired at `now`, newest first, as (kid, PKCS#8 base64, created_at).
    async fn signing_keys(
        &self,
        now: Micros,
    ) -> Result<Vec<(String, String, Micros)>, IdentityError>;
    async fn add_signing_key(
        &self,
        kid: &str,
        pkcs8_b64: &str,
        created_at: Micros,
        retire_at: Micros,
    ) -> Result<(), IdentityError>;
}

/// Failed logins per login key, and the lockouts they cause ([`Throttle`] decides).
#[async_trait]
pub trait ThrottleStore: Send + Sync + 'static {
    /// Counts a failed login for `key`; returns the lock's end if this failure locked it.
    async fn record_login_failure(
        &self,
        key: &str,
        now: Micros,
    ) -> Result<Option<Micros>, IdentityError>;
    /// The end of the lock on `key`, if it is locked at `now`.
    async fn locked_until(&self, key: &str, now: Micros) -> Result<Option<Micros>, IdentityError>;
    async fn clear_login_failures(&self, key: &str) -> Result<(), IdentityError>;
}

/// The append-only audit log.
#[async_trait]
pub trait AuditStore: Send + Sync + 'static {
    async fn audit(&self, entry: AuditEntry) -> Result<(), IdentityError>;
    async fn audit_log(
        &self,
        tenant_id: Option<TenantId>,
        limit: i64,
    ) -> Result<Vec<AuditEntry>, IdentityError>;
    /// A tenant's audit log, newest first, `limit` entries older than `after`: the tenant's own
    /// entries, and those without a tenant (logins, tokens, passwords) by or about its members.
    async fn audit_page(
        &self,
        tenant_id: TenantId,
        after: Option<&AuditCursor>,
        limit: i64,
    ) -> Result<AuditPage, IdentityError>;
}

/// Every operation of the identity service, as its edges hold it (`Arc<dyn IdentityStore>`).
pub trait IdentityStore:
    TenantStore + AgentStore + AccessStore + CustomerStore + TokenStore + ThrottleStore + AuditStore
{
}

impl<T> IdentityStore for T where
    T: TenantStore
        + AgentStore
        + AccessStore
        + CustomerStore
        + TokenStore
        + ThrottleStore
        + AuditStore
        + ?Sized
{
}

/// Identity on PostgreSQL or SQLite.
#[derive(Clone)]
pub struct SqlIdentityStore {
    db: Db,
    signal: OutboxSignal,
}

impl SqlIdentityStore {
    pub fn new(db: Db, signal: OutboxSignal) -> Self {
        Self { db, signal }
    }

    /// The service's schema plus the bus's outbox and inbox.
    pub async fn migrate(db: &Db) -> Result<(), docket_store::StoreError> {
        static MIGRATIONS: std::sync::LazyLock<docket_store::Migrations> = std::sync::LazyLock::new(
            || {
                docket_store::Migrations::new(
                    "_sqlx_migrations",
                    &[
                        docket_store::MigrationSql {
                            version: 1,
                            description: "tenants, groups, roles, agents, customers, sessions, tokens, audit",
                            portable: include_str!("../../migrations/0001_identity.sql"),
                            postgres: include_str!("../../migrations/0001_identity.postgres.sql"),
                            sqlite: include_str!("../../migrations/0001_identity.sqlite.sql"),
                        },
                        docket_store::MigrationSql {
                            version: 2,
                            description: "installation administrators, second factor enrolment, admin indexes",
                            portable: include_str!("../../migrations/0002_admin.sql"),
                            postgres: "",
                            sqlite: "",
                        },
                        docket_store::MigrationSql {
                            version: 3,
                            description: "revoked sessions, listed for the services' verifiers",
                            portable: include_str!("../../migrations/0003_revoked_sessions.sql"),
                            postgres: "",
                            sqlite: "",
                        },
                    ],
                )
            },
        );
        db.migrate(docket_bus::migrations()).await?;
        db.migrate(&MIGRATIONS).await
    }

    /// Commits a change and wakes the outbox relay, so that its events leave at once.
    async fn commit(&self, tx: WriteTx) -> Result<(), IdentityError> {
        tx.commit().await?;
        self.signal.committed();
        Ok(())
    }

    /// Appends an event to the outbox, in the transaction of the change it announces.
    async fn event(
        tx: &mut WriteTx,
        event_type: &str,
        tenant_id: TenantId,
        (aggregate_type, aggregate_id): (&str, String),
        payload: Vec<u8>,
    ) -> Result<(), IdentityError> {
        outbox::append(
            tx,
            NewEvent {
                event_type,
                tenant_id: tenant_id.to_string(),
                aggregate_type,
                aggregate_id,
                aggregate_version: 1,
                payload,
            },
        )
        .await?;
        Ok(())
    }
}

/// Maps a unique-constraint violation to `AlreadyExists` with `message`; other errors pass.
fn exists_already(message: impl FnOnce() -> String) -> impl FnOnce(sqlx::Error) -> IdentityError {
    move |e| match docket_store::unique_violation(&e) {
        Some(_) => IdentityError::AlreadyExists(message()),
        None => e.into(),
    }
}

fn now() -> Micros {
    docket_platform::time::now_micros()
}
