//! Rows as the stores return them: each read into a `FromRow` struct of what the database holds
//! ([`docket_store::decode`]) and converted into its domain value. Booleans are stored as integers
//! (0 or 1), which `sqlx::Any` does not decode as `bool`: the structs hold them as `i64`, read
//! with [`docket_store::flag`].

use std::collections::BTreeMap;

use docket_store::{decode, flag};
use sqlx::any::AnyRow;

use crate::domain::*;
use crate::error::IdentityError;

/// A row that does not decode into its struct is corrupt stored data.
impl From<docket_store::CorruptRow> for IdentityError {
    fn from(e: docket_store::CorruptRow) -> Self {
        Self::Corrupt(e.to_string())
    }
}

/// A row of `agents` ([`AGENT_COLUMNS`]) as the database holds it.
#[derive(sqlx::FromRow)]
struct AgentRow {
    id: AgentId,
    login: String,
    name: String,
    email: Option<String>,
    source: String,
    active: i64,
    totp_secret: Option<String>,
    installation_admin: i64,
    created_at: i64,
}

impl TryFrom<AgentRow> for Agent {
    type Error = IdentityError;

    fn try_from(row: AgentRow) -> Result<Self, IdentityError> {
        Ok(Agent {
            id: row.id,
            login: Login::parse(&row.login)?,
            name: row.name,
            email: row.email,
            source: Source::parse(&row.source)?,
            active: flag(row.active),
            totp_enabled: row.totp_secret.is_some(),
            installation_admin: flag(row.installation_admin),
            created_at: row.created_at,
        })
    }
}

pub(super) fn agent_from_row(row: &AnyRow) -> Result<Agent, IdentityError> {
    decode::<AgentRow>(row)?.try_into()
}

/// A row of `customer_users` ([`CUSTOMER_COLUMNS`]) as the database holds it.
#[derive(sqlx::FromRow)]
struct CustomerRow {
    id: CustomerId,
    tenant_id: TenantId,
    login: String,
    name: String,
    email: Option<String>,
    phone: Option<String>,
    company_id: Option<CompanyId>,
    company_tickets: i64,
    source: String,
    language: Option<String>,
    active: i64,
}

impl TryFrom<CustomerRow> for Customer {
    type Error = IdentityError;

    fn try_from(row: CustomerRow) -> Result<Self, IdentityError> {
        Ok(Customer {
            id: row.id,
            tenant_id: row.tenant_id,
            login: Login::parse(&row.login)?,
            name: row.name,
            email: row.email,
            phone: row.phone,
            company_id: row.company_id,
            company_tickets: flag(row.company_tickets),
            source: Source::parse(&row.source)?,
            language: row.language,
            active: flag(row.active),
        })
    }
}

pub(super) fn customer_from_row(row: &AnyRow) -> Result<Customer, IdentityError> {
    decode::<CustomerRow>(row)?.try_into()
}

/// A row of `sessions` as the database holds it.
#[derive(sqlx::FromRow)]
struct SessionRow {
    id: String,
    kind: String,
    principal_id: String,
    secret_hash: String,
    created_at: i64,
    expires_at: i64,
    revoked_at: Option<i64>,
}

impl TryFrom<SessionRow> for Session {
    type Error = IdentityError;

    fn try_from(row: SessionRow) -> Result<Self, IdentityError> {
        Ok(Session {
            id: row.id,
            kind: PrincipalKind::parse(&row.kind)?,
            principal_id: row.principal_id,
            secret_hash: row.secret_hash,
            created_at: row.created_at,
            expires_at: row.expires_at,
            revoked_at: row.revoked_at,
        })
    }
}

pub(super) fn session_from_row(row: &AnyRow) -> Result<Session, IdentityError> {
    decode::<SessionRow>(row)?.try_into()
}

/// A row of `audit_log` as the database holds it.
#[derive(sqlx::FromRow)]
struct AuditRow {
    /// JSON.
    details: String,
    occurred_at: i64,
    tenant_id: Option<TenantId>,
    actor: String,
    action: String,
    target: Option<String>,
    outcome: String,
}

impl TryFrom<AuditRow> for AuditEntry {
    type Error = IdentityError;

    fn try_from(row: AuditRow) -> Result<Self, IdentityError> {
        Ok(AuditEntry {
            occurred_at: row.occurred_at,
            tenant_id: row.tenant_id,
            actor: row.actor,
            action: row.action,
            target: row.target,
            outcome: row.outcome,
            details: serde_json::from_str(&row.details)
                .map_err(|e| IdentityError::Corrupt(e.to_string()))?,
        })
    }
}

pub(super) fn audit_from_row(r: &AnyRow) -> Result<AuditEntry, IdentityError> {
    decode::<AuditRow>(r)?.try_into()
}

/// A row of `tenants` as the database holds it.
#[derive(sqlx::FromRow)]
struct TenantRow {
    id: TenantId,
    slug: String,
    name: String,
    created_at: i64,
}

impl From<TenantRow> for Tenant {
    fn from(row: TenantRow) -> Self {
        Tenant {
            id: row.id,
            slug: row.slug,
            name: row.name,
            created_at: row.created_at,
        }
    }
}

pub(super) fn tenant_from_row(r: &AnyRow) -> Result<Tenant, IdentityError> {
    Ok(decode::<TenantRow>(r)?.into())
}

/// A row of `groups` as the database holds it.
#[derive(sqlx::FromRow)]
struct GroupRow {
    id: GroupId,
    tenant_id: TenantId,
    name: String,
}

impl From<GroupRow> for Group {
    fn from(row: GroupRow) -> Self {
        Group {
            id: row.id,
            tenant_id: row.tenant_id,
            name: row.name,
        }
    }
}

pub(super) fn group_from_row(r: &AnyRow) -> Result<Group, IdentityError> {
    Ok(decode::<GroupRow>(r)?.into())
}

/// A row of `companies` as the database holds it.
#[derive(sqlx::FromRow)]
struct CompanyRow {
    id: CompanyId,
    tenant_id: TenantId,
    name: String,
}

impl From<CompanyRow> for Company {
    fn from(row: CompanyRow) -> Self {
        Company {
            id: row.id,
            tenant_id: row.tenant_id,
            name: row.name,
        }
    }
}

pub(super) fn company_from_row(r: &AnyRow) -> Result<Company, IdentityError> {
    Ok(decode::<CompanyRow>(r)?.into())
}

/// A row of `absences` as the database holds it.
#[derive(sqlx::FromRow)]
struct AbsenceRow {
    id: AbsenceId,
    agent_id: AgentId,
    substitute_id: AgentId,
    starts_at: i64,
    ends_at: i64,
}

impl From<AbsenceRow> for Absence {
    fn from(row: AbsenceRow) -> Self {
        Absence {
            id: row.id,
            agent_id: row.agent_id,
            substitute_id: row.substitute_id,
            starts_at: row.starts_at,
            ends_at: row.ends_at,
        }
    }
}

pub(super) fn absence_from_row(r: &AnyRow) -> Result<Absence, IdentityError> {
    Ok(decode::<AbsenceRow>(r)?.into())
}

/// A row of `api_tokens` as the database holds it.
#[derive(sqlx::FromRow)]
struct ApiTokenRow {
    /// Separated by spaces.
    scopes: String,
    id: String,
    agent_id: AgentId,
    name: String,
    secret_hash: String,
    created_at: i64,
    expires_at: i64,
    revoked_at: Option<i64>,
}

impl From<ApiTokenRow> for ApiToken {
    fn from(row: ApiTokenRow) -> Self {
        ApiToken {
            id: row.id,
            agent_id: row.agent_id,
            name: row.name,
            secret_hash: row.secret_hash,
            scopes: row
                .scopes
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            created_at: row.created_at,
            expires_at: row.expires_at,
            revoked_at: row.revoked_at,
        }
    }
}

pub(super) fn api_token_from_row(row: &AnyRow) -> Result<ApiToken, IdentityError> {
    Ok(decode::<ApiTokenRow>(row)?.into())
}

/// A row of `roles` as the database holds it; its permissions are rows of their own.
#[derive(sqlx::FromRow)]
struct RoleRow {
    id: RoleId,
    tenant_id: TenantId,
    name: String,
    tenant_admin: i64,
}

impl RoleRow {
    /// The role with its stored permissions per group.
    fn into_role<'a>(
        self,
        perms: impl IntoIterator<Item = (GroupId, &'a str)>,
    ) -> Result<Role, IdentityError> {
        let mut permissions = BTreeMap::new();
        for (group, stored) in perms {
            permissions.insert(group, parse_permissions(stored)?);
        }
        Ok(Role {
            id: self.id,
            tenant_id: self.tenant_id,
            name: self.name,
            tenant_admin: flag(self.tenant_admin),
            permissions,
        })
    }
}

/// A role from its row and its stored permissions per group, which `perms` gives for the role's
/// id.
pub(super) fn role_from_rows<'a, P>(
    row: &AnyRow,
    perms: impl FnOnce(RoleId) -> P,
) -> Result<Role, IdentityError>
where
    P: IntoIterator<Item = (GroupId, &'a str)>,
{
    let role = decode::<RoleRow>(row)?;
    let perms = perms(role.id);
    role.into_role(perms)
}

pub(super) const AGENT_COLUMNS: &str =
    "id, login, name, email, source, active, totp_secret, installation_admin, created_at";
pub(super) const CUSTOMER_COLUMNS: &str = "id, tenant_id, login, name, email, phone, company_id, company_tickets, source, language, active";

#[cfg(test)]
mod tests {
    use super::*;

    fn agent_row() -> AgentRow {
        AgentRow {
            id: AgentId::new(),
            login: "Ada".to_owned(),
            name: "Ada".to_owned(),
            email: None,
            source: "local".to_owned(),
            active: 1,
            totp_secret: None,
            installation_admin: 0,
            created_at: 1,
        }
    }

    fn corrupt<T: std::fmt::Debug>(result: Result<T, IdentityError>) -> String {
        match result {
            Err(IdentityError::Corrupt(message)) => message,
            other => panic!("expected Corrupt, got {other:?}"),
        }
    }

    #[test]
    fn an_agent_row_becomes_its_agent_with_0_1_flags_as_booleans() {
        let agent = Agent::try_from(agent_row()).unwrap();
        assert_eq!(agent.login.as_str(), "ada");
        assert_eq!(agent.source, Source::Local);
        assert!(agent.active);
        assert!(!agent.installation_admin);
        assert!(!agent.totp_enabled);
        let with_totp = AgentRow {
            totp_secret: Some("secret".to_owned()),
            active: 0,
            ..agent_row()
        };
        let agent = Agent::try_from(with_totp).unwrap();
        assert!(agent.totp_enabled);
        assert!(!agent.active);
    }

    #[test]
    fn an_agent_row_of_an_unknown_source_is_corrupt() {
        let row = AgentRow {
            source: "kerberos".to_owned(),
            ..agent_row()
        };
        assert!(corrupt(Agent::try_from(row)).contains("kerberos"));
    }

    #[test]
    fn an_audit_row_whose_details_are_not_json_is_corrupt() {
        let row = AuditRow {
            details: "{".to_owned(),
            occurred_at: 1,
            tenant_id: None,
            actor: "a".to_owned(),
            action: "login".to_owned(),
            target: None,
            outcome: "ok".to_owned(),
        };
        corrupt(AuditEntry::try_from(row));
    }

    #[test]
    fn a_role_row_reads_its_flag_and_its_permissions_or_is_corrupt() {
        let row = || RoleRow {
            id: RoleId::new(),
            tenant_id: TenantId::new(),
            name: "Agents".to_owned(),
            tenant_admin: 1,
        };
        let group = GroupId::new();
        let role = row().into_role([(group, "ro,note")]).unwrap();
        assert!(role.tenant_admin);
        assert_eq!(role.permissions.len(), 1);
        assert!(corrupt(row().into_role([(group, "ro,fly")])).contains("fly"));
    }

    #[test]
    fn api_token_scopes_are_separated_by_spaces() {
        let token = ApiToken::from(ApiTokenRow {
            scopes: "tickets:read  tickets:write".to_owned(),
            id: "t".to_owned(),
            agent_id: AgentId::new(),
            name: "ci".to_owned(),
            secret_hash: "h".to_owned(),
            created_at: 1,
            expires_at: 2,
            revoked_at: None,
        });
        assert_eq!(token.scopes, ["tickets:read", "tickets:write"]);
    }

    #[tokio::test]
    async fn a_column_that_does_not_decode_is_corrupt_naming_it() {
        let db = docket_store::Db::connect("sqlite::memory:", docket_store::PoolSize::max(1))
            .await
            .unwrap();
        let row = sqlx::query("SELECT $1 AS id, $2 AS tenant_id, 7 AS name")
            .bind(GroupId::new())
            .bind(TenantId::new())
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert!(corrupt(group_from_row(&row)).starts_with("column name: "));
    }
}
