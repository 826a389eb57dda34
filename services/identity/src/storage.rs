//! Where identity lives: the repository trait and its implementation over both stores.

use std::collections::BTreeMap;

use async_trait::async_trait;
use docket_auth::{AgentGrants, PermSet};
use docket_bus::outbox::{self, NewEvent, OutboxSignal};
use docket_proto::events::v1 as ev;
use docket_store::{Db, Row, WriteTx};
use prost::Message as _;
use sqlx::any::AnyRow;

use crate::domain::*;
use crate::error::IdentityError;

/// The operations of the identity service. One conformance suite runs against both engines.
#[async_trait]
pub trait IdentityStore: Send + Sync + 'static {
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
    async fn set_agent_password(
        &self,
        agent_id: AgentId,
        password_hash: &str,
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
    async fn set_agent_active(
        &self,
        agent_id: AgentId,
        active: bool,
        actor: &str,
    ) -> Result<(), IdentityError>;
    /// What the agent may do now, per tenant: merged group permissions, admin, substitutions.
    async fn agent_grants(
        &self,
        agent_id: AgentId,
        now: Micros,
    ) -> Result<AgentGrants, IdentityError>;

    async fn add_absence(
        &self,
        agent_id: AgentId,
        substitute_id: AgentId,
        starts_at: Micros,
        ends_at: Micros,
        actor: &str,
    ) -> Result<Absence, IdentityError>;

    async fn create_company(
        &self,
        tenant_id: TenantId,
        name: &str,
        actor: &str,
    ) -> Result<Company, IdentityError>;
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
    async fn customer_credentials(
        &self,
        tenant_id: TenantId,
        login: &Login,
    ) -> Result<Option<CustomerCredentials>, IdentityError>;

    /// Counts a failed login for `key`; returns the lock's end if this failure locked it.
    async fn record_login_failure(
        &self,
        key: &str,
        now: Micros,
    ) -> Result<Option<Micros>, IdentityError>;
    /// The end of the lock on `key`, if it is locked at `now`.
    async fn locked_until(&self, key: &str, now: Micros) -> Result<Option<Micros>, IdentityError>;
    async fn clear_login_failures(&self, key: &str) -> Result<(), IdentityError>;

    async fn create_session(&self, session: &Session) -> Result<(), IdentityError>;
    async fn get_session(&self, id: &str) -> Result<Option<Session>, IdentityError>;
    async fn revoke_session(&self, id: &str, now: Micros) -> Result<(), IdentityError>;

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

    async fn audit(&self, entry: AuditEntry) -> Result<(), IdentityError>;
    async fn audit_log(
        &self,
        tenant_id: Option<TenantId>,
        limit: i64,
    ) -> Result<Vec<AuditEntry>, IdentityError>;

    // -- What the administration needs besides the above ------------------------------------

    async fn get_group(&self, id: GroupId) -> Result<Group, IdentityError>;
    async fn get_role(&self, id: RoleId) -> Result<Role, IdentityError>;
    /// The members of a tenant, by login.
    async fn list_agents(&self, tenant_id: TenantId) -> Result<Vec<Agent>, IdentityError>;
    /// The tenants the agent is a member of, with its roles and own permissions in each.
    async fn agent_memberships(&self, agent_id: AgentId) -> Result<Vec<Membership>, IdentityError>;
    async fn set_installation_admin(
        &self,
        agent_id: AgentId,
        installation_admin: bool,
        actor: &str,
    ) -> Result<(), IdentityError>;
    /// Keeps (or, with `None`, discards) a second factor being enrolled; the active one, if any,
    /// stays in force until [`IdentityStore::confirm_totp`].
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
    /// The absences of the tenant's members, by start.
    async fn list_absences(&self, tenant_id: TenantId) -> Result<Vec<Absence>, IdentityError>;
    async fn list_companies(&self, tenant_id: TenantId) -> Result<Vec<Company>, IdentityError>;
    /// The tenant's customer users, by login.
    async fn list_customers(&self, tenant_id: TenantId) -> Result<Vec<Customer>, IdentityError>;
    /// A tenant's audit log, newest first, `limit` entries older than `after`: the tenant's own
    /// entries, and those without a tenant (logins, tokens, passwords) by or about its members.
    async fn audit_page(
        &self,
        tenant_id: TenantId,
        after: Option<&AuditCursor>,
        limit: i64,
    ) -> Result<AuditPage, IdentityError>;
}

/// Identity on PostgreSQL or SQLite.
#[derive(Clone)]
pub struct SqlIdentityStore {
    db: Db,
    signal: OutboxSignal,
}

fn get<T>(row: &AnyRow, column: &str) -> Result<T, IdentityError>
where
    T: for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    row.try_get(column)
        .map_err(|e| IdentityError::Corrupt(format!("column {column}: {e}")))
}

fn flag(row: &AnyRow, column: &str) -> Result<bool, IdentityError> {
    Ok(get::<i64>(row, column)? != 0)
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

fn agent_from_row(row: &AnyRow) -> Result<Agent, IdentityError> {
    Ok(Agent {
        id: get(row, "id")?,
        login: Login::parse(&get::<String>(row, "login")?)?,
        name: get(row, "name")?,
        email: get(row, "email")?,
        source: Source::parse(&get::<String>(row, "source")?)?,
        active: flag(row, "active")?,
        totp_enabled: get::<Option<String>>(row, "totp_secret")?.is_some(),
        installation_admin: flag(row, "installation_admin")?,
        created_at: get(row, "created_at")?,
    })
}

fn customer_from_row(row: &AnyRow) -> Result<Customer, IdentityError> {
    Ok(Customer {
        id: get(row, "id")?,
        tenant_id: get(row, "tenant_id")?,
        login: Login::parse(&get::<String>(row, "login")?)?,
        name: get(row, "name")?,
        email: get(row, "email")?,
        phone: get(row, "phone")?,
        company_id: get(row, "company_id")?,
        company_tickets: flag(row, "company_tickets")?,
        source: Source::parse(&get::<String>(row, "source")?)?,
        language: get(row, "language")?,
        active: flag(row, "active")?,
    })
}

fn session_from_row(row: &AnyRow) -> Result<Session, IdentityError> {
    Ok(Session {
        id: get(row, "id")?,
        kind: PrincipalKind::parse(&get::<String>(row, "kind")?)?,
        principal_id: get(row, "principal_id")?,
        secret_hash: get(row, "secret_hash")?,
        created_at: get(row, "created_at")?,
        expires_at: get(row, "expires_at")?,
        revoked_at: get(row, "revoked_at")?,
    })
}

fn audit_from_row(r: &AnyRow) -> Result<AuditEntry, IdentityError> {
    let details: String = get(r, "details")?;
    Ok(AuditEntry {
        occurred_at: get(r, "occurred_at")?,
        tenant_id: get(r, "tenant_id")?,
        actor: get(r, "actor")?,
        action: get(r, "action")?,
        target: get(r, "target")?,
        outcome: get(r, "outcome")?,
        details: serde_json::from_str(&details)
            .map_err(|e| IdentityError::Corrupt(e.to_string()))?,
    })
}

fn company_from_row(r: &AnyRow) -> Result<Company, IdentityError> {
    Ok(Company {
        id: get(r, "id")?,
        tenant_id: get(r, "tenant_id")?,
        name: get(r, "name")?,
    })
}

fn absence_from_row(r: &AnyRow) -> Result<Absence, IdentityError> {
    Ok(Absence {
        id: get(r, "id")?,
        agent_id: get(r, "agent_id")?,
        substitute_id: get(r, "substitute_id")?,
        starts_at: get(r, "starts_at")?,
        ends_at: get(r, "ends_at")?,
    })
}

fn api_token_from_row(row: &AnyRow) -> Result<ApiToken, IdentityError> {
    let scopes: String = get(row, "scopes")?;
    Ok(ApiToken {
        id: get(row, "id")?,
        agent_id: get(row, "agent_id")?,
        name: get(row, "name")?,
        secret_hash: get(row, "secret_hash")?,
        scopes: scopes
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        created_at: get(row, "created_at")?,
        expires_at: get(row, "expires_at")?,
        revoked_at: get(row, "revoked_at")?,
    })
}

const AGENT_COLUMNS: &str =
    "id, login, name, email, source, active, totp_secret, installation_admin, created_at";
const CUSTOMER_COLUMNS: &str = "id, tenant_id, login, name, email, phone, company_id, company_tickets, source, language, active";

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
                            portable: include_str!("../migrations/0001_identity.sql"),
                            postgres: include_str!("../migrations/0001_identity.postgres.sql"),
                            sqlite: include_str!("../migrations/0001_identity.sqlite.sql"),
                        },
                        docket_store::MigrationSql {
                            version: 2,
                            description: "installation administrators, second factor enrolment, admin indexes",
                            portable: include_str!("../migrations/0002_admin.sql"),
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

    /// Sets one of an agent's flags (`column`, a fixed name) and audits it as `action`.
    async fn set_agent_flag(
        &self,
        agent_id: AgentId,
        column: &'static str,
        value: bool,
        action: &str,
        actor: &str,
    ) -> Result<(), IdentityError> {
        let mut tx = self.db.begin_write().await?;
        let changed = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE agents SET {column} = $1, updated_at = $2 WHERE id = $3"
        )))
        .bind(i64::from(value))
        .bind(now())
        .bind(agent_id)
        .execute(&mut *tx)
        .await?;
        if changed.rows_affected() != 1 {
            return Err(IdentityError::not_found("agent", agent_id));
        }
        Self::audit_change(
            &mut tx,
            None,
            actor,
            action,
            agent_id.to_string(),
            serde_json::json!({ column: value }),
        )
        .await?;
        self.commit(tx).await
    }

    async fn commit(&self, tx: WriteTx) -> Result<(), IdentityError> {
        tx.commit().await?;
        self.signal.committed();
        Ok(())
    }

    async fn audit_in(tx: &mut WriteTx, entry: &AuditEntry) -> Result<(), IdentityError> {
        sqlx::query(
            "INSERT INTO audit_log (id, occurred_at, tenant_id, actor, action, target, outcome, details) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(uuid_v7())
        .bind(entry.occurred_at)
        .bind(entry.tenant_id)
        .bind(&entry.actor)
        .bind(&entry.action)
        .bind(entry.target.as_deref())
        .bind(&entry.outcome)
        .bind(entry.details.to_string())
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Records a change of access rights in the audit log, within the change's transaction.
    async fn audit_change(
        tx: &mut WriteTx,
        tenant_id: Option<TenantId>,
        actor: &str,
        action: &str,
        target: String,
        details: serde_json::Value,
    ) -> Result<(), IdentityError> {
        let entry = AuditEntry {
            occurred_at: now(),
            tenant_id,
            actor: actor.to_owned(),
            action: action.to_owned(),
            target: Some(target),
            outcome: "ok".to_owned(),
            details,
        };
        Self::audit_in(tx, &entry).await
    }

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

    /// Refuses a company that is not the tenant's (NOT_FOUND, as for a company of nobody's).
    async fn check_company(
        tx: &mut WriteTx,
        tenant_id: TenantId,
        company_id: Option<CompanyId>,
    ) -> Result<(), IdentityError> {
        let Some(company) = company_id else {
            return Ok(());
        };
        let same_tenant: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM customer_companies WHERE id = $1 AND tenant_id = $2")
                .bind(company)
                .bind(tenant_id)
                .fetch_optional(&mut **tx)
                .await?;
        match same_tenant {
            Some(_) => Ok(()),
            None => Err(IdentityError::not_found("company", company)),
        }
    }

    /// Tells ticket core who the customer is: it files their tickets under their company and
    /// shows how to reach them.
    async fn announce_customer(tx: &mut WriteTx, customer: &Customer) -> Result<(), IdentityError> {
        let company_name: Option<String> = match customer.company_id {
            Some(company) => {
                sqlx::query_scalar("SELECT name FROM customer_companies WHERE id = $1")
                    .bind(company)
                    .fetch_optional(&mut **tx)
                    .await?
            }
            None => None,
        };
        Self::event(
            tx,
            "customer.changed",
            customer.tenant_id,
            ("customer", customer.id.to_string()),
            ev::CustomerChanged {
                customer_id: customer.id.to_string(),
                tenant_id: customer.tenant_id.to_string(),
                company_id: customer
                    .company_id
                    .map(|c| c.to_string())
                    .unwrap_or_default(),
                name: customer.name.clone(),
                email: customer.email.clone().unwrap_or_default(),
                phone: customer.phone.clone().unwrap_or_default(),
                company_name: company_name.unwrap_or_default(),
            }
            .encode_to_vec(),
        )
        .await
    }

    async fn tenant_of_group(
        tx: &mut WriteTx,
        group_id: GroupId,
    ) -> Result<TenantId, IdentityError> {
        sqlx::query_scalar::<_, TenantId>("SELECT tenant_id FROM groups WHERE id = $1")
            .bind(group_id)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or_else(|| IdentityError::not_found("group", group_id))
    }

    async fn tenant_of_role(tx: &mut WriteTx, role_id: RoleId) -> Result<TenantId, IdentityError> {
        sqlx::query_scalar::<_, TenantId>("SELECT tenant_id FROM roles WHERE id = $1")
            .bind(role_id)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or_else(|| IdentityError::not_found("role", role_id))
    }

    async fn require_agent(tx: &mut WriteTx, agent_id: AgentId) -> Result<(), IdentityError> {
        let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM agents WHERE id = $1")
            .bind(agent_id)
            .fetch_optional(&mut **tx)
            .await?;
        found
            .map(|_| ())
            .ok_or_else(|| IdentityError::not_found("agent", agent_id))
    }

    async fn require_membership(
        tx: &mut WriteTx,
        agent_id: AgentId,
        tenant_id: TenantId,
    ) -> Result<(), IdentityError> {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM agent_tenants WHERE agent_id = $1 AND tenant_id = $2",
        )
        .bind(agent_id)
        .bind(tenant_id)
        .fetch_optional(&mut **tx)
        .await?;
        found.map(|_| ()).ok_or_else(|| {
            IdentityError::invalid(format!(
                "agent {agent_id} is not a member of tenant {tenant_id}"
            ))
        })
    }

    async fn role_in(tx: &mut WriteTx, role_id: RoleId) -> Result<Role, IdentityError> {
        let row = sqlx::query("SELECT id, tenant_id, name, tenant_admin FROM roles WHERE id = $1")
            .bind(role_id)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or_else(|| IdentityError::not_found("role", role_id))?;
        let perms =
            sqlx::query("SELECT group_id, permissions FROM role_permissions WHERE role_id = $1")
                .bind(role_id)
                .fetch_all(&mut **tx)
                .await?;
        role_from_rows(&row, &perms)
    }

    async fn insert_group(
        tx: &mut WriteTx,
        tenant_id: TenantId,
        name: &str,
    ) -> Result<Group, IdentityError> {
        let group = Group {
            id: GroupId::new(),
            tenant_id,
            name: crate::domain::name("group name", name, 100)?,
        };
        sqlx::query("INSERT INTO groups (id, tenant_id, name, created_at) VALUES ($1, $2, $3, $4)")
            .bind(group.id)
            .bind(tenant_id)
            .bind(&group.name)
            .bind(now())
            .execute(&mut **tx)
            .await
            .map_err(exists_already(|| {
                format!("the tenant has a group named `{}` already", group.name)
            }))?;
        Ok(group)
    }

    async fn insert_role(
        tx: &mut WriteTx,
        tenant_id: TenantId,
        name: &str,
        tenant_admin: bool,
    ) -> Result<Role, IdentityError> {
        let role = Role {
            id: RoleId::new(),
            tenant_id,
            name: crate::domain::name("role name", name, 100)?,
            tenant_admin,
            permissions: BTreeMap::new(),
        };
        sqlx::query("INSERT INTO roles (id, tenant_id, name, tenant_admin, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(role.id)
            .bind(tenant_id)
            .bind(&role.name)
            .bind(i64::from(tenant_admin))
            .bind(now())
            .execute(&mut **tx)
            .await
            .map_err(exists_already(|| format!("the tenant has a role named `{}` already", role.name)))?;
        Ok(role)
    }

    async fn put_permissions(
        tx: &mut WriteTx,
        table: &'static str,
        owner_column: &'static str,
        owner: String,
        group_id: GroupId,
        perms: PermSet,
    ) -> Result<(), IdentityError> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE {owner_column} = $1 AND group_id = $2"
        )))
        .bind(&owner)
        .bind(group_id)
        .execute(&mut **tx)
        .await?;
        if !perms.is_empty() {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO {table} ({owner_column}, group_id, permissions) VALUES ($1, $2, $3)"
            )))
            .bind(&owner)
            .bind(group_id)
            .bind(format_permissions(perms))
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }
}

fn uuid_v7() -> String {
    // Ids of log rows: time-ordered like every other id.
    AbsenceId::new().to_string()
}

fn role_from_rows(row: &AnyRow, perms: &[AnyRow]) -> Result<Role, IdentityError> {
    let mut permissions = BTreeMap::new();
    for p in perms {
        permissions.insert(
            get::<GroupId>(p, "group_id")?,
            parse_permissions(&get::<String>(p, "permissions")?)?,
        );
    }
    Ok(Role {
        id: get(row, "id")?,
        tenant_id: get(row, "tenant_id")?,
        name: get(row, "name")?,
        tenant_admin: flag(row, "tenant_admin")?,
        permissions,
    })
}

#[async_trait]
impl IdentityStore for SqlIdentityStore {
    async fn create_tenant(&self, tenant: NewTenant, actor: &str) -> Result<Tenant, IdentityError> {
        let stored = Tenant {
            id: TenantId::new(),
            slug: tenant.slug,
            name: tenant.name,
            created_at: now(),
        };
        let mut tx = self.db.begin_write().await?;
        sqlx::query("INSERT INTO tenants (id, slug, name, created_at) VALUES ($1, $2, $3, $4)")
            .bind(stored.id)
            .bind(&stored.slug)
            .bind(&stored.name)
            .bind(stored.created_at)
            .execute(&mut *tx)
            .await
            .map_err(exists_already(|| {
                format!("a tenant with slug `{}` exists already", stored.slug)
            }))?;
        let mut groups = BTreeMap::new();
        let mut created_groups = Vec::with_capacity(DEFAULT_GROUPS.len());
        for name in DEFAULT_GROUPS {
            let g = Self::insert_group(&mut tx, stored.id, name).await?;
            groups.insert(name, g.id);
            created_groups.push(ev::GroupCreated {
                group_id: g.id.to_string(),
                tenant_id: stored.id.to_string(),
                name: g.name,
            });
        }
        for template in &ROLE_TEMPLATES {
            let role =
                Self::insert_role(&mut tx, stored.id, template.name, template.tenant_admin).await?;
            for (group, perms) in template.grants {
                let group_id = *groups
                    .get(group)
                    .ok_or_else(|| IdentityError::Corrupt(format!("template group {group}")))?;
                Self::put_permissions(
                    &mut tx,
                    "role_permissions",
                    "role_id",
                    role.id.to_string(),
                    group_id,
                    PermSet::of(perms),
                )
                .await?;
            }
        }
        let details = serde_json::json!({ "slug": stored.slug, "name": stored.name });
        Self::audit_change(
            &mut tx,
            Some(stored.id),
            actor,
            "tenant_created",
            stored.id.to_string(),
            details,
        )
        .await?;
        Self::event(
            &mut tx,
            "tenant.created",
            stored.id,
            ("tenant", stored.id.to_string()),
            ev::TenantCreated {
                tenant_id: stored.id.to_string(),
                slug: stored.slug.clone(),
                name: stored.name.clone(),
                groups: created_groups,
            }
            .encode_to_vec(),
        )
        .await?;
        self.commit(tx).await?;
        Ok(stored)
    }

    async fn list_tenants(&self) -> Result<Vec<Tenant>, IdentityError> {
        let rows = sqlx::query("SELECT id, slug, name, created_at FROM tenants ORDER BY slug")
            .fetch_all(self.db.pool())
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Tenant {
                    id: get(r, "id")?,
                    slug: get(r, "slug")?,
                    name: get(r, "name")?,
                    created_at: get(r, "created_at")?,
                })
            })
            .collect()
    }

    async fn get_tenant(&self, id: TenantId) -> Result<Tenant, IdentityError> {
        self.list_tenants()
            .await?
            .into_iter()
            .find(|t| t.id == id)
            .ok_or_else(|| IdentityError::not_found("tenant", id))
    }

    async fn create_group(
        &self,
        tenant_id: TenantId,
        name: &str,
        actor: &str,
    ) -> Result<Group, IdentityError> {
        let mut tx = self.db.begin_write().await?;
        let known: Option<i64> = sqlx::query_scalar("SELECT 1 FROM tenants WHERE id = $1")
            .bind(tenant_id)
            .fetch_optional(&mut *tx)
            .await?;
        if known.is_none() {
            return Err(IdentityError::not_found("tenant", tenant_id));
        }
        let group = Self::insert_group(&mut tx, tenant_id, name).await?;
        Self::audit_change(
            &mut tx,
            Some(tenant_id),
            actor,
            "group_created",
            group.id.to_string(),
            serde_json::json!({ "name": group.name }),
        )
        .await?;
        Self::event(
            &mut tx,
            "group.created",
            tenant_id,
            ("group", group.id.to_string()),
            ev::GroupCreated {
                group_id: group.id.to_string(),
                tenant_id: tenant_id.to_string(),
                name: group.name.clone(),
            }
            .encode_to_vec(),
        )
        .await?;
        self.commit(tx).await?;
        Ok(group)
    }

    async fn list_groups(&self, tenant_id: TenantId) -> Result<Vec<Group>, IdentityError> {
        let rows = sqlx::query(
            "SELECT id, tenant_id, name FROM groups WHERE tenant_id = $1 ORDER BY name",
        )
        .bind(tenant_id)
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Group {
                    id: get(r, "id")?,
                    tenant_id: get(r, "tenant_id")?,
                    name: get(r, "name")?,
                })
            })
            .collect()
    }

    async fn create_role(
        &self,
        tenant_id: TenantId,
        name: &str,
        tenant_admin: bool,
        actor: &str,
    ) -> Result<Role, IdentityError> {
        let mut tx = self.db.begin_write().await?;
        let known: Option<i64> = sqlx::query_scalar("SELECT 1 FROM tenants WHERE id = $1")
            .bind(tenant_id)
            .fetch_optional(&mut *tx)
            .await?;
        if known.is_none() {
            return Err(IdentityError::not_found("tenant", tenant_id));
        }
        let role = Self::insert_role(&mut tx, tenant_id, name, tenant_admin).await?;
        Self::audit_change(
            &mut tx,
            Some(tenant_id),
            actor,
            "role_created",
            role.id.to_string(),
            serde_json::json!({ "name": role.name, "tenant_admin": tenant_admin }),
        )
        .await?;
        self.commit(tx).await?;
        Ok(role)
    }

    async fn set_role_permissions(
        &self,
        role_id: RoleId,
        group_id: GroupId,
        perms: PermSet,
        actor: &str,
    ) -> Result<Role, IdentityError> {
        let mut tx = self.db.begin_write().await?;
        let role_tenant = Self::tenant_of_role(&mut tx, role_id).await?;
        if Self::tenant_of_group(&mut tx, group_id).await? != role_tenant {
            return Err(IdentityError::not_found("group", group_id));
        }
        Self::put_permissions(
            &mut tx,
            "role_permissions",
            "role_id",
            role_id.to_string(),
            group_id,
            perms,
        )
        .await?;
        Self::audit_change(
            &mut tx,
            Some(role_tenant),
            actor,
            "permission_changed",
            role_id.to_string(),
            serde_json::json!({ "role_id": role_id, "group_id": group_id, "permissions": perms }),
        )
        .await?;
        let role = Self::role_in(&mut tx, role_id).await?;
        self.commit(tx).await?;
        Ok(role)
    }

    async fn list_roles(&self, tenant_id: TenantId) -> Result<Vec<Role>, IdentityError> {
        let rows = sqlx::query("SELECT id, tenant_id, name, tenant_admin FROM roles WHERE tenant_id = $1 ORDER BY name")
            .bind(tenant_id)
            .fetch_all(self.db.pool())
            .await?;
        let perms = sqlx::query(
            "SELECT rp.role_id, rp.group_id, rp.permissions FROM role_permissions rp \
             JOIN roles r ON r.id = rp.role_id WHERE r.tenant_id = $1",
        )
        .bind(tenant_id)
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let id: RoleId = get(row, "id")?;
                let mine: Vec<AnyRow> = perms
                    .iter()
                    .filter(|p| get::<RoleId>(p, "role_id").is_ok_and(|r| r == id))
                    .cloned()
                    .collect();
                role_from_rows(row, &mine)
            })
            .collect()
    }

    async fn create_agent(
        &self,
        agent: NewAgent,
        source: Source,
        actor: &str,
    ) -> Result<Agent, IdentityError> {
        agent.check_source(source)?;
        let password_hash = agent
            .password
            .as_ref()
            .map(crate::password::hash)
            .transpose()?;
        let stored = Agent {
            id: AgentId::new(),
            login: agent.login,
            name: crate::domain::name("name", &agent.name, 200)?,
            email: agent.email,
            source,
            active: true,
            totp_enabled: false,
            installation_admin: false,
            created_at: now(),
        };
        let mut tx = self.db.begin_write().await?;
        sqlx::query(
            "INSERT INTO agents (id, login, name, email, source, password_hash, active, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $7)",
        )
        .bind(stored.id)
        .bind(stored.login.as_str())
        .bind(&stored.name)
        .bind(stored.email.as_deref())
        .bind(source.as_str())
        .bind(password_hash)
        .bind(stored.created_at)
        .execute(&mut *tx)
        .await
        .map_err(exists_already(|| format!("an agent with login `{}` exists already", stored.login.as_str())))?;
        Self::audit_change(
            &mut tx,
            None,
            actor,
            "agent_created",
            stored.id.to_string(),
            serde_json::json!({ "login": stored.login, "source": source }),
        )
        .await?;
        self.commit(tx).await?;
        Ok(stored)
    }

    async fn get_agent(&self, id: AgentId) -> Result<Agent, IdentityError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {AGENT_COLUMNS} FROM agents WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.db.pool())
        .await?
        .ok_or_else(|| IdentityError::not_found("agent", id))?;
        agent_from_row(&row)
    }

    async fn agent_credentials(
        &self,
        login: &Login,
    ) -> Result<Option<AgentCredentials>, IdentityError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {AGENT_COLUMNS}, password_hash, totp_last_step FROM agents WHERE login = $1"
        )))
        .bind(login.as_str())
        .fetch_optional(self.db.pool())
        .await?;
        row.map(|row| {
            Ok(AgentCredentials {
                agent: agent_from_row(&row)?,
                password_hash: get(&row, "password_hash")?,
                totp_secret: get(&row, "totp_secret")?,
                totp_last_step: get::<Option<i64>>(&row, "totp_last_step")?
                    .and_then(|s| u64::try_from(s).ok()),
            })
        })
        .transpose()
    }

    async fn add_agent_to_tenant(
        &self,
        agent_id: AgentId,
        tenant_id: TenantId,
        actor: &str,
    ) -> Result<(), IdentityError> {
        let mut tx = self.db.begin_write().await?;
        Self::require_agent(&mut tx, agent_id).await?;
        let known: Option<i64> = sqlx::query_scalar("SELECT 1 FROM tenants WHERE id = $1")
            .bind(tenant_id)
            .fetch_optional(&mut *tx)
            .await?;
        if known.is_none() {
            return Err(IdentityError::not_found("tenant", tenant_id));
        }
        sqlx::query("INSERT INTO agent_tenants (agent_id, tenant_id) VALUES ($1, $2) ON CONFLICT (agent_id, tenant_id) DO NOTHING")
            .bind(agent_id)
            .bind(tenant_id)
            .execute(&mut *tx)
            .await?;
        Self::audit_change(
            &mut tx,
            Some(tenant_id),
            actor,
            "permission_changed",
            agent_id.to_string(),
            serde_json::json!({ "member_of": tenant_id }),
        )
        .await?;
        self.commit(tx).await
    }

    async fn assign_role(
        &self,
        agent_id: AgentId,
        role_id: RoleId,
        actor: &str,
    ) -> Result<(), IdentityError> {
        let mut tx = self.db.begin_write().await?;
        Self::require_agent(&mut tx, agent_id).await?;
        let tenant = Self::tenant_of_role(&mut tx, role_id).await?;
        Self::require_membership(&mut tx, agent_id, tenant).await?;
        sqlx::query("INSERT INTO agent_roles (agent_id, role_id) VALUES ($1, $2) ON CONFLICT (agent_id, role_id) DO NOTHING")
            .bind(agent_id)
            .bind(role_id)
            .execute(&mut *tx)
            .await?;
        Self::audit_change(
            &mut tx,
            Some(tenant),
            actor,
            "permission_changed",
            agent_id.to_string(),
            serde_json::json!({ "role_assigned": role_id }),
        )
        .await?;
        self.commit(tx).await
    }

    async fn revoke_role(
        &self,
        agent_id: AgentId,
        role_id: RoleId,
        actor: &str,
    ) -> Result<(), IdentityError> {
        let mut tx = self.db.begin_write().await?;
        let tenant = Self::tenant_of_role(&mut tx, role_id).await?;
        sqlx::query("DELETE FROM agent_roles WHERE agent_id = $1 AND role_id = $2")
            .bind(agent_id)
            .bind(role_id)
            .execute(&mut *tx)
            .await?;
        Self::audit_change(
            &mut tx,
            Some(tenant),
            actor,
            "permission_changed",
            agent_id.to_string(),
            serde_json::json!({ "role_revoked": role_id }),
        )
        .await?;
        self.commit(tx).await
    }

    async fn set_agent_permissions(
        &self,
        agent_id: AgentId,
        group_id: GroupId,
        perms: PermSet,
        actor: &str,
    ) -> Result<(), IdentityError> {
        let mut tx = self.db.begin_write().await?;
        Self::require_agent(&mut tx, agent_id).await?;
        let tenant = Self::tenant_of_group(&mut tx, group_id).await?;
        Self::require_membership(&mut tx, agent_id, tenant).await?;
        Self::put_permissions(
            &mut tx,
            "agent_permissions",
            "agent_id",
            agent_id.to_string(),
            group_id,
            perms,
        )
        .await?;
        Self::audit_change(
            &mut tx,
            Some(tenant),
            actor,
            "permission_changed",
            agent_id.to_string(),
            serde_json::json!({ "group_id": group_id, "permissions": perms }),
        )
        .await?;
        self.commit(tx).await
    }

    async fn set_agent_password(
        &self,
        agent_id: AgentId,
        password_hash: &str,
        actor: &str,
    ) -> Result<(), IdentityError> {
        let mut tx = self.db.begin_write().await?;
        let changed = sqlx::query("UPDATE agents SET password_hash = $1, updated_at = $2 WHERE id = $3 AND source = 'local'")
            .bind(password_hash)
            .bind(now())
            .bind(agent_id)
            .execute(&mut *tx)
            .await?;
        if changed.rows_affected() != 1 {
            return Err(IdentityError::not_found("local agent", agent_id));
        }
        Self::audit_change(
            &mut tx,
            None,
            actor,
            "password_changed",
            agent_id.to_string(),
            serde_json::json!({}),
        )
        .await?;
        self.commit(tx).await
    }

    async fn set_agent_totp(
        &self,
        agent_id: AgentId,
        secret: Option<&str>,
        actor: &str,
    ) -> Result<(), IdentityError> {
        let mut tx = self.db.begin_write().await?;
        let changed = sqlx::query("UPDATE agents SET totp_secret = $1, totp_last_step = NULL, updated_at = $2 WHERE id = $3")
            .bind(secret)
            .bind(now())
            .bind(agent_id)
            .execute(&mut *tx)
            .await?;
        if changed.rows_affected() != 1 {
            return Err(IdentityError::not_found("agent", agent_id));
        }
        Self::audit_change(
            &mut tx,
            None,
            actor,
            "second_factor_changed",
            agent_id.to_string(),
            serde_json::json!({ "enabled": secret.is_some() }),
        )
        .await?;
        self.commit(tx).await
    }

    async fn use_totp_step(&self, agent_id: AgentId, step: u64) -> Result<bool, IdentityError> {
        let step = i64::try_from(step).map_err(|_| IdentityError::invalid("step out of range"))?;
        let mut tx = self.db.begin_write().await?;
        let changed = sqlx::query(
            "UPDATE agents SET totp_last_step = $1 WHERE id = $2 AND (totp_last_step IS NULL OR totp_last_step < $1)",
        )
        .bind(step)
        .bind(agent_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(changed.rows_affected() == 1)
    }

    async fn set_agent_active(
        &self,
        agent_id: AgentId,
        active: bool,
        actor: &str,
    ) -> Result<(), IdentityError> {
        self.set_agent_flag(agent_id, "active", active, "agent_activation", actor)
            .await
    }

    async fn agent_grants(
        &self,
        agent_id: AgentId,
        at: Micros,
    ) -> Result<AgentGrants, IdentityError> {
        let tenants: Vec<TenantId> =
            sqlx::query_scalar("SELECT tenant_id FROM agent_tenants WHERE agent_id = $1")
                .bind(agent_id)
                .fetch_all(self.db.pool())
                .await?;
        // Permissions through roles, and the agent's own.
        let rows: Vec<(Option<TenantId>, Option<GroupId>, Option<String>)> = sqlx::query_as(
            "SELECT g.tenant_id, rp.group_id, rp.permissions \
               FROM agent_roles ar JOIN roles r ON r.id = ar.role_id \
               LEFT JOIN role_permissions rp ON rp.role_id = r.id \
               LEFT JOIN groups g ON g.id = rp.group_id \
              WHERE ar.agent_id = $1 \
             UNION ALL \
             SELECT g.tenant_id, ap.group_id, ap.permissions \
               FROM agent_permissions ap JOIN groups g ON g.id = ap.group_id \
              WHERE ap.agent_id = $1",
        )
        .bind(agent_id)
        .fetch_all(self.db.pool())
        .await?;
        let mut permissions = Vec::with_capacity(rows.len());
        // A role without permissions joins to NULLs.
        for (tenant, group, perms) in rows {
            if let (Some(tenant), Some(group), Some(perms)) = (tenant, group, perms) {
                permissions.push((tenant, group, parse_permissions(&perms)?));
            }
        }
        let admin_of = sqlx::query_scalar::<_, TenantId>(
            "SELECT r.tenant_id FROM agent_roles ar JOIN roles r ON r.id = ar.role_id \
             WHERE ar.agent_id = $1 AND r.tenant_admin = 1",
        )
        .bind(agent_id)
        .fetch_all(self.db.pool())
        .await?;
        // Absent agents of a shared tenant whom this agent stands in for now.
        let standing_in_for = sqlx::query_as::<_, (AgentId, TenantId)>(
            "SELECT a.agent_id, at.tenant_id FROM agent_absences a \
               JOIN agent_tenants at ON at.agent_id = a.agent_id \
              WHERE a.substitute_id = $1 AND a.starts_at <= $2 AND a.ends_at > $2",
        )
        .bind(agent_id)
        .bind(at)
        .fetch_all(self.db.pool())
        .await?;
        Ok(AccessFacts {
            tenants,
            admin_of,
            permissions,
            standing_in_for,
        }
        .grants())
    }

    async fn add_absence(
        &self,
        agent_id: AgentId,
        substitute_id: AgentId,
        starts_at: Micros,
        ends_at: Micros,
        actor: &str,
    ) -> Result<Absence, IdentityError> {
        let absence = Absence::new(agent_id, substitute_id, starts_at, ends_at)?;
        let mut tx = self.db.begin_write().await?;
        Self::require_agent(&mut tx, agent_id).await?;
        Self::require_agent(&mut tx, substitute_id).await?;
        sqlx::query("INSERT INTO agent_absences (id, agent_id, substitute_id, starts_at, ends_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(absence.id)
            .bind(agent_id)
            .bind(substitute_id)
            .bind(starts_at)
            .bind(ends_at)
            .execute(&mut *tx)
            .await?;
        Self::audit_change(&mut tx, None, actor, "absence_set", agent_id.to_string(), serde_json::json!({ "substitute_id": substitute_id, "starts_at": starts_at, "ends_at": ends_at })).await?;
        self.commit(tx).await?;
        Ok(absence)
    }

    async fn create_company(
        &self,
        tenant_id: TenantId,
        name: &str,
        actor: &str,
    ) -> Result<Company, IdentityError> {
        let company = Company {
            id: CompanyId::new(),
            tenant_id,
            name: crate::domain::name("company name", name, 200)?,
        };
        let mut tx = self.db.begin_write().await?;
        let known: Option<i64> = sqlx::query_scalar("SELECT 1 FROM tenants WHERE id = $1")
            .bind(tenant_id)
            .fetch_optional(&mut *tx)
            .await?;
        if known.is_none() {
            return Err(IdentityError::not_found("tenant", tenant_id));
        }
        sqlx::query("INSERT INTO customer_companies (id, tenant_id, name, created_at) VALUES ($1, $2, $3, $4)")
            .bind(company.id)
            .bind(tenant_id)
            .bind(&company.name)
            .bind(now())
            .execute(&mut *tx)
            .await
            .map_err(exists_already(|| format!("the tenant has a company named `{}` already", company.name)))?;
        Self::audit_change(
            &mut tx,
            Some(tenant_id),
            actor,
            "company_created",
            company.id.to_string(),
            serde_json::json!({ "name": company.name }),
        )
        .await?;
        self.commit(tx).await?;
        Ok(company)
    }

    async fn create_customer(
        &self,
        c: NewCustomer,
        source: Source,
        actor: &str,
    ) -> Result<Customer, IdentityError> {
        let password_hash = c.password.as_ref().map(crate::password::hash).transpose()?;
        let mut tx = self.db.begin_write().await?;
        let known: Option<i64> = sqlx::query_scalar("SELECT 1 FROM tenants WHERE id = $1")
            .bind(c.tenant_id)
            .fetch_optional(&mut *tx)
            .await?;
        if known.is_none() {
            return Err(IdentityError::not_found("tenant", c.tenant_id));
        }
        Self::check_company(&mut tx, c.tenant_id, c.company_id).await?;
        let customer = Customer {
            id: CustomerId::new(),
            tenant_id: c.tenant_id,
            login: c.login,
            name: crate::domain::name("name", &c.name, 200)?,
            email: c.email,
            phone: c.phone,
            company_id: c.company_id,
            company_tickets: c.company_tickets,
            source,
            language: c.language,
            active: true,
        };
        let t = now();
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO customer_users ({CUSTOMER_COLUMNS}, password_hash, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, $11, $12, $12)"
        )))
        .bind(customer.id)
        .bind(customer.tenant_id)
        .bind(customer.login.as_str())
        .bind(&customer.name)
        .bind(customer.email.as_deref())
        .bind(customer.phone.as_deref())
        .bind(customer.company_id)
        .bind(i64::from(customer.company_tickets))
        .bind(source.as_str())
        .bind(customer.language.as_deref())
        .bind(password_hash)
        .bind(t)
        .execute(&mut *tx)
        .await
        .map_err(exists_already(|| format!("the tenant has a customer with login `{}` already", customer.login.as_str())))?;
        Self::audit_change(
            &mut tx,
            Some(customer.tenant_id),
            actor,
            "customer_created",
            customer.id.to_string(),
            serde_json::json!({ "login": customer.login }),
        )
        .await?;
        Self::announce_customer(&mut tx, &customer).await?;
        self.commit(tx).await?;
        Ok(customer)
    }

    async fn update_customer(
        &self,
        id: CustomerId,
        u: CustomerUpdate,
        actor: &str,
    ) -> Result<Customer, IdentityError> {
        let password_hash = u.password.as_ref().map(crate::password::hash).transpose()?;
        let mut tx = self.db.begin_write().await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CUSTOMER_COLUMNS} FROM customer_users WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| IdentityError::not_found("customer", id))?;
        let before = customer_from_row(&row)?;
        Self::check_company(&mut tx, before.tenant_id, u.company_id).await?;
        let customer = u.apply_to(&before)?;
        sqlx::query(
            "UPDATE customer_users SET name = $1, email = $2, phone = $3, company_id = $4, \
             company_tickets = $5, language = $6, active = $7, \
             password_hash = COALESCE($8, password_hash), updated_at = $9 WHERE id = $10",
        )
        .bind(&customer.name)
        .bind(customer.email.as_deref())
        .bind(customer.phone.as_deref())
        .bind(customer.company_id)
        .bind(i64::from(customer.company_tickets))
        .bind(customer.language.as_deref())
        .bind(i64::from(customer.active))
        .bind(password_hash)
        .bind(now())
        .bind(customer.id)
        .execute(&mut *tx)
        .await?;
        Self::audit_change(
            &mut tx,
            Some(customer.tenant_id),
            actor,
            "customer_changed",
            customer.id.to_string(),
            serde_json::json!({ "changed": before.changed_details(&customer, u.password.is_some()) }),
        )
        .await?;
        Self::announce_customer(&mut tx, &customer).await?;
        self.commit(tx).await?;
        Ok(customer)
    }

    async fn get_customer(&self, id: CustomerId) -> Result<Customer, IdentityError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CUSTOMER_COLUMNS} FROM customer_users WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.db.pool())
        .await?
        .ok_or_else(|| IdentityError::not_found("customer", id))?;
        customer_from_row(&row)
    }

    async fn customer_credentials(
        &self,
        tenant_id: TenantId,
        login: &Login,
    ) -> Result<Option<CustomerCredentials>, IdentityError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CUSTOMER_COLUMNS}, password_hash FROM customer_users WHERE tenant_id = $1 AND login = $2"
        )))
        .bind(tenant_id)
        .bind(login.as_str())
        .fetch_optional(self.db.pool())
        .await?;
        row.map(|row| {
            Ok(CustomerCredentials {
                customer: customer_from_row(&row)?,
                password_hash: get(&row, "password_hash")?,
            })
        })
        .transpose()
    }

    async fn record_login_failure(
        &self,
        key: &str,
        at: Micros,
    ) -> Result<Option<Micros>, IdentityError> {
        let mut tx = self.db.begin_write().await?;
        let row = sqlx::query("SELECT failures, window_started_at, locked_until FROM login_throttle WHERE login_key = $1")
            .bind(key)
            .fetch_optional(&mut *tx)
            .await?;
        let previous = row
            .map(|r| {
                Ok::<_, IdentityError>(ThrottleRecord {
                    failures: get(&r, "failures")?,
                    window_started_at: get(&r, "window_started_at")?,
                    locked_until: get(&r, "locked_until")?,
                })
            })
            .transpose()?;
        let Some(record) = Throttle::after_failure(previous.as_ref(), at) else {
            return Ok(None);
        };
        sqlx::query(
            "INSERT INTO login_throttle (login_key, failures, window_started_at, locked_until) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (login_key) DO UPDATE SET failures = $2, window_started_at = $3, locked_until = $4",
        )
        .bind(key)
        .bind(record.failures)
        .bind(record.window_started_at)
        .bind(record.locked_until)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(record.locked_until)
    }

    async fn locked_until(&self, key: &str, at: Micros) -> Result<Option<Micros>, IdentityError> {
        let until: Option<Option<i64>> =
            sqlx::query_scalar("SELECT locked_until FROM login_throttle WHERE login_key = $1")
                .bind(key)
                .fetch_optional(self.db.pool())
                .await?;
        Ok(Throttle::in_force(until.flatten(), at))
    }

    async fn clear_login_failures(&self, key: &str) -> Result<(), IdentityError> {
        let mut tx = self.db.begin_write().await?;
        sqlx::query("DELETE FROM login_throttle WHERE login_key = $1")
            .bind(key)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn create_session(&self, s: &Session) -> Result<(), IdentityError> {
        let mut tx = self.db.begin_write().await?;
        sqlx::query(
            "INSERT INTO sessions (id, kind, principal_id, secret_hash, created_at, last_seen_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $5, $6)",
        )
        .bind(&s.id)
        .bind(s.kind.as_str())
        .bind(&s.principal_id)
        .bind(&s.secret_hash)
        .bind(s.created_at)
        .bind(s.expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn get_session(&self, id: &str) -> Result<Option<Session>, IdentityError> {
        let row = sqlx::query("SELECT id, kind, principal_id, secret_hash, created_at, expires_at, revoked_at FROM sessions WHERE id = $1")
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?;
        row.as_ref().map(session_from_row).transpose()
    }

    async fn revoke_session(&self, id: &str, at: Micros) -> Result<(), IdentityError> {
        let mut tx = self.db.begin_write().await?;
        sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(at)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn create_api_token(&self, t: &ApiToken, actor: &str) -> Result<(), IdentityError> {
        let mut tx = self.db.begin_write().await?;
        Self::require_agent(&mut tx, t.agent_id).await?;
        sqlx::query(
            "INSERT INTO api_tokens (id, agent_id, name, secret_hash, scopes, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&t.id)
        .bind(t.agent_id)
        .bind(&t.name)
        .bind(&t.secret_hash)
        .bind(t.scopes.join(" "))
        .bind(t.created_at)
        .bind(t.expires_at)
        .execute(&mut *tx)
        .await?;
        Self::audit_change(&mut tx, None, actor, "token_issued", t.agent_id.to_string(), serde_json::json!({ "api_token": t.id, "name": t.name, "scopes": t.scopes, "expires_at": t.expires_at })).await?;
        self.commit(tx).await
    }

    async fn get_api_token(&self, id: &str) -> Result<Option<ApiToken>, IdentityError> {
        let row = sqlx::query("SELECT id, agent_id, name, secret_hash, scopes, created_at, expires_at, revoked_at FROM api_tokens WHERE id = $1")
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?;
        row.as_ref().map(api_token_from_row).transpose()
    }

    async fn list_api_tokens(&self, agent_id: AgentId) -> Result<Vec<ApiToken>, IdentityError> {
        let rows = sqlx::query("SELECT id, agent_id, name, secret_hash, scopes, created_at, expires_at, revoked_at FROM api_tokens WHERE agent_id = $1 ORDER BY created_at, id")
            .bind(agent_id)
            .fetch_all(self.db.pool())
            .await?;
        rows.iter().map(api_token_from_row).collect()
    }

    async fn revoke_api_token(
        &self,
        id: &str,
        at: Micros,
        actor: &str,
    ) -> Result<(), IdentityError> {
        let mut tx = self.db.begin_write().await?;
        let changed = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        )
        .bind(at)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if changed.rows_affected() != 1 {
            return Err(IdentityError::not_found("api token", id));
        }
        Self::audit_change(
            &mut tx,
            None,
            actor,
            "token_revoked",
            id.to_owned(),
            serde_json::json!({}),
        )
        .await?;
        self.commit(tx).await
    }

    async fn signing_keys(
        &self,
        at: Micros,
    ) -> Result<Vec<(String, String, Micros)>, IdentityError> {
        let rows = sqlx::query("SELECT kid, private_key, created_at FROM signing_keys WHERE retire_at > $1 ORDER BY created_at DESC, kid DESC")
            .bind(at)
            .fetch_all(self.db.pool())
            .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    get(r, "kid")?,
                    get(r, "private_key")?,
                    get(r, "created_at")?,
                ))
            })
            .collect()
    }

    async fn add_signing_key(
        &self,
        kid: &str,
        pkcs8_b64: &str,
        created_at: Micros,
        retire_at: Micros,
    ) -> Result<(), IdentityError> {
        let mut tx = self.db.begin_write().await?;
        sqlx::query("INSERT INTO signing_keys (kid, private_key, created_at, retire_at) VALUES ($1, $2, $3, $4)")
            .bind(kid)
            .bind(pkcs8_b64)
            .bind(created_at)
            .bind(retire_at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn audit(&self, entry: AuditEntry) -> Result<(), IdentityError> {
        let mut tx = self.db.begin_write().await?;
        Self::audit_in(&mut tx, &entry).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn audit_log(
        &self,
        tenant_id: Option<TenantId>,
        limit: i64,
    ) -> Result<Vec<AuditEntry>, IdentityError> {
        let rows = match tenant_id {
            Some(t) => sqlx::query("SELECT occurred_at, tenant_id, actor, action, target, outcome, details FROM audit_log WHERE tenant_id = $1 ORDER BY occurred_at DESC, id DESC LIMIT $2")
                .bind(t)
                .bind(limit)
                .fetch_all(self.db.pool())
                .await?,
            None => sqlx::query("SELECT occurred_at, tenant_id, actor, action, target, outcome, details FROM audit_log ORDER BY occurred_at DESC, id DESC LIMIT $1")
                .bind(limit)
                .fetch_all(self.db.pool())
                .await?,
        };
        rows.iter().map(audit_from_row).collect()
    }

    async fn get_group(&self, id: GroupId) -> Result<Group, IdentityError> {
        let row = sqlx::query("SELECT id, tenant_id, name FROM groups WHERE id = $1")
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?
            .ok_or_else(|| IdentityError::not_found("group", id))?;
        Ok(Group {
            id: get(&row, "id")?,
            tenant_id: get(&row, "tenant_id")?,
            name: get(&row, "name")?,
        })
    }

    async fn get_role(&self, id: RoleId) -> Result<Role, IdentityError> {
        let row = sqlx::query("SELECT id, tenant_id, name, tenant_admin FROM roles WHERE id = $1")
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?
            .ok_or_else(|| IdentityError::not_found("role", id))?;
        let perms =
            sqlx::query("SELECT group_id, permissions FROM role_permissions WHERE role_id = $1")
                .bind(id)
                .fetch_all(self.db.pool())
                .await?;
        role_from_rows(&row, &perms)
    }

    async fn list_agents(&self, tenant_id: TenantId) -> Result<Vec<Agent>, IdentityError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {AGENT_COLUMNS} FROM agents \
             WHERE id IN (SELECT agent_id FROM agent_tenants WHERE tenant_id = $1) ORDER BY login"
        )))
        .bind(tenant_id)
        .fetch_all(self.db.pool())
        .await?;
        rows.iter().map(agent_from_row).collect()
    }

    async fn agent_memberships(&self, agent_id: AgentId) -> Result<Vec<Membership>, IdentityError> {
        let tenants: Vec<TenantId> = sqlx::query_scalar(
            "SELECT tenant_id FROM agent_tenants WHERE agent_id = $1 ORDER BY tenant_id",
        )
        .bind(agent_id)
        .fetch_all(self.db.pool())
        .await?;
        let mut memberships: Vec<Membership> = tenants
            .into_iter()
            .map(|tenant_id| Membership {
                tenant_id,
                role_ids: Vec::new(),
                permissions: BTreeMap::new(),
            })
            .collect();
        let roles = sqlx::query(
            "SELECT r.tenant_id, ar.role_id FROM agent_roles ar JOIN roles r ON r.id = ar.role_id \
             WHERE ar.agent_id = $1 ORDER BY ar.role_id",
        )
        .bind(agent_id)
        .fetch_all(self.db.pool())
        .await?;
        for row in &roles {
            let tenant: TenantId = get(row, "tenant_id")?;
            if let Some(m) = memberships.iter_mut().find(|m| m.tenant_id == tenant) {
                m.role_ids.push(get(row, "role_id")?);
            }
        }
        let perms = sqlx::query(
            "SELECT g.tenant_id, ap.group_id, ap.permissions FROM agent_permissions ap \
             JOIN groups g ON g.id = ap.group_id WHERE ap.agent_id = $1",
        )
        .bind(agent_id)
        .fetch_all(self.db.pool())
        .await?;
        for row in &perms {
            let tenant: TenantId = get(row, "tenant_id")?;
            if let Some(m) = memberships.iter_mut().find(|m| m.tenant_id == tenant) {
                m.permissions.insert(
                    get(row, "group_id")?,
                    parse_permissions(&get::<String>(row, "permissions")?)?,
                );
            }
        }
        Ok(memberships)
    }

    async fn set_installation_admin(
        &self,
        agent_id: AgentId,
        installation_admin: bool,
        actor: &str,
    ) -> Result<(), IdentityError> {
        self.set_agent_flag(
            agent_id,
            "installation_admin",
            installation_admin,
            "permission_changed",
            actor,
        )
        .await
    }

    async fn set_pending_totp(
        &self,
        agent_id: AgentId,
        secret: Option<&str>,
    ) -> Result<(), IdentityError> {
        let mut tx = self.db.begin_write().await?;
        let changed = sqlx::query(
            "UPDATE agents SET totp_pending_secret = $1, updated_at = $2 WHERE id = $3",
        )
        .bind(secret)
        .bind(now())
        .bind(agent_id)
        .execute(&mut *tx)
        .await?;
        if changed.rows_affected() != 1 {
            return Err(IdentityError::not_found("agent", agent_id));
        }
        tx.commit().await?;
        Ok(())
    }

    async fn pending_totp(&self, agent_id: AgentId) -> Result<Option<String>, IdentityError> {
        let pending: Option<Option<String>> =
            sqlx::query_scalar("SELECT totp_pending_secret FROM agents WHERE id = $1")
                .bind(agent_id)
                .fetch_optional(self.db.pool())
                .await?;
        pending.ok_or_else(|| IdentityError::not_found("agent", agent_id))
    }

    async fn confirm_totp(
        &self,
        agent_id: AgentId,
        secret: &str,
        step: u64,
        actor: &str,
    ) -> Result<(), IdentityError> {
        let step = i64::try_from(step).map_err(|_| IdentityError::invalid("step out of range"))?;
        let mut tx = self.db.begin_write().await?;
        let changed = sqlx::query(
            "UPDATE agents SET totp_secret = totp_pending_secret, totp_pending_secret = NULL, \
             totp_last_step = $1, updated_at = $2 WHERE id = $3 AND totp_pending_secret = $4",
        )
        .bind(step)
        .bind(now())
        .bind(agent_id)
        .bind(secret)
        .execute(&mut *tx)
        .await?;
        if changed.rows_affected() != 1 {
            return Err(IdentityError::Conflict(
                "no second factor is being enrolled (or another enrolment started meanwhile); start again".into(),
            ));
        }
        Self::audit_change(
            &mut tx,
            None,
            actor,
            "second_factor_changed",
            agent_id.to_string(),
            serde_json::json!({ "enabled": true }),
        )
        .await?;
        self.commit(tx).await
    }

    async fn list_absences(&self, tenant_id: TenantId) -> Result<Vec<Absence>, IdentityError> {
        let rows = sqlx::query(
            "SELECT id, agent_id, substitute_id, starts_at, ends_at FROM agent_absences \
             WHERE agent_id IN (SELECT agent_id FROM agent_tenants WHERE tenant_id = $1) \
             ORDER BY starts_at, id",
        )
        .bind(tenant_id)
        .fetch_all(self.db.pool())
        .await?;
        rows.iter().map(absence_from_row).collect()
    }

    async fn list_companies(&self, tenant_id: TenantId) -> Result<Vec<Company>, IdentityError> {
        let rows = sqlx::query(
            "SELECT id, tenant_id, name FROM customer_companies WHERE tenant_id = $1 ORDER BY name, id",
        )
        .bind(tenant_id)
        .fetch_all(self.db.pool())
        .await?;
        rows.iter().map(company_from_row).collect()
    }

    async fn list_customers(&self, tenant_id: TenantId) -> Result<Vec<Customer>, IdentityError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CUSTOMER_COLUMNS} FROM customer_users WHERE tenant_id = $1 ORDER BY login"
        )))
        .bind(tenant_id)
        .fetch_all(self.db.pool())
        .await?;
        rows.iter().map(customer_from_row).collect()
    }

    async fn audit_page(
        &self,
        tenant_id: TenantId,
        after: Option<&AuditCursor>,
        limit: i64,
    ) -> Result<AuditPage, IdentityError> {
        let limit = AuditPage::entries_for(limit);
        // The first page starts after the end of time.
        let (before_at, before_id) = after.map_or((i64::MAX, ""), |c| (c.occurred_at, &c.id));
        let rows = sqlx::query(
            "SELECT id, occurred_at, tenant_id, actor, action, target, outcome, details FROM audit_log \
             WHERE (tenant_id = $1 OR (tenant_id IS NULL AND ( \
                    target IN (SELECT agent_id FROM agent_tenants WHERE tenant_id = $1) \
                    OR actor IN (SELECT a.login FROM agents a \
                                 JOIN agent_tenants at ON at.agent_id = a.id WHERE at.tenant_id = $1)))) \
               AND (occurred_at < $2 OR (occurred_at = $2 AND id < $3)) \
             ORDER BY occurred_at DESC, id DESC LIMIT $4",
        )
        .bind(tenant_id)
        .bind(before_at)
        .bind(before_id)
        .bind(limit + 1)
        .fetch_all(self.db.pool())
        .await?;
        let limit = usize::try_from(limit).unwrap_or(1000);
        let more = rows.len() > limit;
        let page = &rows[..rows.len().min(limit)];
        let next = match page.last() {
            Some(last) if more => Some(AuditCursor {
                occurred_at: get(last, "occurred_at")?,
                id: get(last, "id")?,
            }),
            _ => None,
        };
        Ok(AuditPage {
            entries: page.iter().map(audit_from_row).collect::<Result<_, _>>()?,
            next,
        })
    }
}
