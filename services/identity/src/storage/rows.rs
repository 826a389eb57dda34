//! Rows as the stores return them, mapped to domain values. Booleans are stored as integers
//! (0 or 1), which `sqlx::Any` does not decode as `bool`; hence [`flag`].

use std::collections::BTreeMap;

use docket_store::Row;
use sqlx::any::AnyRow;

use crate::domain::*;
use crate::error::IdentityError;

pub(super) fn get<T>(row: &AnyRow, column: &str) -> Result<T, IdentityError>
where
    T: for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    row.try_get(column)
        .map_err(|e| IdentityError::Corrupt(format!("column {column}: {e}")))
}

pub(super) fn flag(row: &AnyRow, column: &str) -> Result<bool, IdentityError> {
    Ok(get::<i64>(row, column)? != 0)
}

pub(super) fn agent_from_row(row: &AnyRow) -> Result<Agent, IdentityError> {
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

pub(super) fn customer_from_row(row: &AnyRow) -> Result<Customer, IdentityError> {
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

pub(super) fn session_from_row(row: &AnyRow) -> Result<Session, IdentityError> {
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

pub(super) fn audit_from_row(r: &AnyRow) -> Result<AuditEntry, IdentityError> {
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

pub(super) fn tenant_from_row(r: &AnyRow) -> Result<Tenant, IdentityError> {
    Ok(Tenant {
        id: get(r, "id")?,
        slug: get(r, "slug")?,
        name: get(r, "name")?,
        created_at: get(r, "created_at")?,
    })
}

pub(super) fn group_from_row(r: &AnyRow) -> Result<Group, IdentityError> {
    Ok(Group {
        id: get(r, "id")?,
        tenant_id: get(r, "tenant_id")?,
        name: get(r, "name")?,
    })
}

pub(super) fn company_from_row(r: &AnyRow) -> Result<Company, IdentityError> {
    Ok(Company {
        id: get(r, "id")?,
        tenant_id: get(r, "tenant_id")?,
        name: get(r, "name")?,
    })
}

pub(super) fn absence_from_row(r: &AnyRow) -> Result<Absence, IdentityError> {
    Ok(Absence {
        id: get(r, "id")?,
        agent_id: get(r, "agent_id")?,
        substitute_id: get(r, "substitute_id")?,
        starts_at: get(r, "starts_at")?,
        ends_at: get(r, "ends_at")?,
    })
}

pub(super) fn api_token_from_row(row: &AnyRow) -> Result<ApiToken, IdentityError> {
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

/// A role from its row and its stored permissions per group.
pub(super) fn role_from_rows<'a>(
    row: &AnyRow,
    perms: impl IntoIterator<Item = (GroupId, &'a str)>,
) -> Result<Role, IdentityError> {
    let mut permissions = BTreeMap::new();
    for (group, stored) in perms {
        permissions.insert(group, parse_permissions(stored)?);
    }
    Ok(Role {
        id: get(row, "id")?,
        tenant_id: get(row, "tenant_id")?,
        name: get(row, "name")?,
        tenant_admin: flag(row, "tenant_admin")?,
        permissions,
    })
}

pub(super) const AGENT_COLUMNS: &str =
    "id, login, name, email, source, active, totp_secret, installation_admin, created_at";
pub(super) const CUSTOMER_COLUMNS: &str = "id, tenant_id, login, name, email, phone, company_id, company_tickets, source, language, active";
