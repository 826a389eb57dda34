//! Identity's values: tenants, groups, roles, agents, customers; parsed once, valid afterwards.

use std::collections::BTreeMap;

use docket_auth::{PermSet, Permission};
use docket_platform::config::Secret;
use docket_platform::typed_id;
use serde::Serialize;

use crate::error::IdentityError;

typed_id!(pub TenantId, "tenant");
typed_id!(pub GroupId, "group");
typed_id!(pub RoleId, "role");
typed_id!(pub AgentId, "agent");
typed_id!(pub CustomerId, "customer");
typed_id!(pub CompanyId, "company");
typed_id!(pub AbsenceId, "absence");

/// Microseconds since the Unix epoch.
pub type Micros = i64;

/// A login name: trimmed, lowercase (logins are case-insensitive, as in LDAP and AD).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Login(String);

impl Login {
    pub fn parse(s: &str) -> Result<Self, IdentityError> {
        let s = s.trim().to_lowercase();
        let valid = !s.is_empty()
            && s.chars().count() <= 200
            && !s.chars().any(|c| c.is_control() || c.is_whitespace());
        if valid {
            Ok(Self(s))
        } else {
            Err(IdentityError::invalid(
                "a login is 1 to 200 characters without spaces or control characters",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new password, checked against the policy. Never printed.
#[derive(Clone)]
pub struct NewPassword(Secret);

impl NewPassword {
    pub const MIN_CHARS: usize = 10;
    pub const MAX_BYTES: usize = 1024;

    pub fn parse(s: &str) -> Result<Self, IdentityError> {
        if s.chars().count() < Self::MIN_CHARS {
            return Err(IdentityError::invalid(format!(
                "a password needs at least {} characters",
                Self::MIN_CHARS
            )));
        }
        if s.len() > Self::MAX_BYTES {
            return Err(IdentityError::invalid("a password is at most 1024 bytes"));
        }
        Ok(Self(Secret::new(s)))
    }

    pub fn expose(&self) -> &str {
        self.0.expose()
    }
}

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(***)")
    }
}

/// Where an account's password is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Local,
    Ldap,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Ldap => "ldap",
        }
    }

    pub fn parse(s: &str) -> Result<Self, IdentityError> {
        match s {
            "local" => Ok(Self::Local),
            "ldap" => Ok(Self::Ldap),
            other => Err(IdentityError::Corrupt(format!(
                "unknown account source `{other}`"
            ))),
        }
    }
}

/// Checks a required, bounded name and returns it trimmed.
pub fn name(field: &str, value: &str, max_chars: usize) -> Result<String, IdentityError> {
    let v = value.trim();
    if v.is_empty() || v.chars().count() > max_chars || v.chars().any(char::is_control) {
        return Err(IdentityError::invalid(format!(
            "{field} must be 1 to {max_chars} characters without control characters"
        )));
    }
    Ok(v.to_owned())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tenant {
    pub id: TenantId,
    pub slug: String,
    pub name: String,
    pub created_at: Micros,
}

#[derive(Debug, Clone)]
pub struct NewTenant {
    pub slug: String,
    pub name: String,
}

impl NewTenant {
    pub fn parse(slug: &str, display_name: &str) -> Result<Self, IdentityError> {
        let slug = slug.trim();
        let valid = !slug.is_empty()
            && slug.len() <= 63
            && slug
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !slug.starts_with('-');
        if !valid {
            return Err(IdentityError::invalid(
                "a tenant slug is 1 to 63 lowercase letters, digits or dashes",
            ));
        }
        Ok(Self {
            slug: slug.to_owned(),
            name: name("tenant name", display_name, 200)?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Group {
    pub id: GroupId,
    pub tenant_id: TenantId,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Role {
    pub id: RoleId,
    pub tenant_id: TenantId,
    pub name: String,
    /// Members administer the tenant.
    pub tenant_admin: bool,
    pub permissions: BTreeMap<GroupId, PermSet>,
}

/// The groups every new tenant starts with (as in Znuny: `users` holds the queues, `admin` the
/// administration).
pub const DEFAULT_GROUPS: [&str; 2] = ["users", "admin"];

/// A role template: name, tenant administration, permissions per default group.
pub struct RoleTemplate {
    pub name: &'static str,
    pub tenant_admin: bool,
    pub grants: &'static [(&'static str, &'static [Permission])],
}

/// The built-in roles of a new tenant.
pub const ROLE_TEMPLATES: [RoleTemplate; 4] = [
    RoleTemplate {
        name: "Administrator",
        tenant_admin: true,
        grants: &[("users", &[Permission::Rw]), ("admin", &[Permission::Rw])],
    },
    RoleTemplate {
        name: "1st level (help desk)",
        tenant_admin: false,
        grants: &[(
            "users",
            &[
                Permission::Ro,
                Permission::Create,
                Permission::MoveInto,
                Permission::Note,
                Permission::Owner,
                Permission::Priority,
            ],
        )],
    },
    RoleTemplate {
        name: "2nd level",
        tenant_admin: false,
        grants: &[("users", &[Permission::Rw])],
    },
    RoleTemplate {
        name: "Team member",
        tenant_admin: false,
        grants: &[("users", &[Permission::Ro, Permission::Note])],
    },
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Agent {
    pub id: AgentId,
    pub login: Login,
    pub name: String,
    pub email: Option<String>,
    pub source: Source,
    pub active: bool,
    pub totp_enabled: bool,
    /// Administers the installation: creates tenants, administers every tenant.
    pub installation_admin: bool,
    pub created_at: Micros,
}

/// An agent's place in one tenant: its roles there and its own permissions on the tenant's groups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Membership {
    pub tenant_id: TenantId,
    pub role_ids: Vec<RoleId>,
    pub permissions: BTreeMap<GroupId, PermSet>,
}

#[derive(Debug, Clone)]
pub struct NewAgent {
    pub login: Login,
    pub name: String,
    pub email: Option<String>,
    /// Local accounts have a password; LDAP accounts none.
    pub password: Option<NewPassword>,
}

/// What login needs of an agent: the account and how to check it.
#[derive(Debug, Clone)]
pub struct AgentCredentials {
    pub agent: Agent,
    pub password_hash: Option<String>,
    pub totp_secret: Option<String>,
    pub totp_last_step: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Company {
    pub id: CompanyId,
    pub tenant_id: TenantId,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Customer {
    pub id: CustomerId,
    pub tenant_id: TenantId,
    pub login: Login,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company_id: Option<CompanyId>,
    /// Sees the whole company's tickets.
    pub company_tickets: bool,
    pub source: Source,
    pub language: Option<String>,
    pub active: bool,
}

#[derive(Debug, Clone)]
pub struct NewCustomer {
    pub tenant_id: TenantId,
    pub login: Login,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company_id: Option<CompanyId>,
    pub company_tickets: bool,
    pub password: Option<NewPassword>,
    pub language: Option<String>,
}

/// A customer's details as they are to be: everything but the login, the tenant and the
/// source; a password only when it changes.
#[derive(Debug, Clone)]
pub struct CustomerUpdate {
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company_id: Option<CompanyId>,
    pub company_tickets: bool,
    pub language: Option<String>,
    pub active: bool,
    pub password: Option<NewPassword>,
}

#[derive(Debug, Clone)]
pub struct CustomerCredentials {
    pub customer: Customer,
    pub password_hash: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Absence {
    pub id: AbsenceId,
    pub agent_id: AgentId,
    pub substitute_id: AgentId,
    pub starts_at: Micros,
    pub ends_at: Micros,
}

/// Who a session or token belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalKind {
    Agent,
    Customer,
}

impl PrincipalKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Agent => "agent",
            Self::Customer => "customer",
        }
    }

    pub fn parse(s: &str) -> Result<Self, IdentityError> {
        match s {
            "agent" => Ok(Self::Agent),
            "customer" => Ok(Self::Customer),
            other => Err(IdentityError::Corrupt(format!(
                "unknown principal kind `{other}`"
            ))),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: String,
    pub kind: PrincipalKind,
    pub principal_id: String,
    pub secret_hash: String,
    pub created_at: Micros,
    pub expires_at: Micros,
    pub revoked_at: Option<Micros>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiToken {
    pub id: String,
    pub agent_id: AgentId,
    pub name: String,
    #[serde(skip)]
    pub secret_hash: String,
    pub scopes: Vec<String>,
    pub created_at: Micros,
    pub expires_at: Micros,
    pub revoked_at: Option<Micros>,
}

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    pub occurred_at: Micros,
    pub tenant_id: Option<TenantId>,
    pub actor: String,
    /// `login`, `login_failed`, `lockout`, `permission_changed`, `token_issued`, …
    pub action: String,
    pub target: Option<String>,
    /// `ok` or `denied`.
    pub outcome: String,
    pub details: serde_json::Value,
}

/// Where a page of the audit log ends: the next page holds the entries older than it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditCursor {
    pub occurred_at: Micros,
    pub id: String,
}

impl AuditCursor {
    /// The opaque page token a client sends back.
    pub fn encode(&self) -> String {
        format!("{}.{}", self.occurred_at, self.id)
    }

    pub fn parse(token: &str) -> Result<Self, IdentityError> {
        let bad = || IdentityError::invalid("page_token is not one this API handed out");
        let (at, id) = token.trim().split_once('.').ok_or_else(bad)?;
        let occurred_at = at.parse::<Micros>().map_err(|_| bad())?;
        let valid_id = !id.is_empty()
            && id.len() <= 64
            && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
        if !valid_id {
            return Err(bad());
        }
        Ok(Self {
            occurred_at,
            id: id.to_owned(),
        })
    }
}

/// One page of the audit log, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// Set when older entries follow.
    pub next: Option<AuditCursor>,
}

/// Checks an optional free-text field (email, phone, language): trimmed, empty is `None`.
pub fn optional_text(
    field: &str,
    value: &str,
    max_chars: usize,
) -> Result<Option<String>, IdentityError> {
    let v = value.trim();
    if v.is_empty() {
        return Ok(None);
    }
    if v.chars().count() > max_chars || v.chars().any(char::is_control) {
        return Err(IdentityError::invalid(format!(
            "{field} must be at most {max_chars} characters without control characters"
        )));
    }
    Ok(Some(v.to_owned()))
}

/// Checks an optional email address: something@something, no spaces.
pub fn optional_email(value: &str) -> Result<Option<String>, IdentityError> {
    let Some(v) = optional_text("email", value, 254)? else {
        return Ok(None);
    };
    let valid = v.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty() && !domain.is_empty() && !domain.contains('@')
    }) && !v.contains(char::is_whitespace);
    if valid {
        Ok(Some(v))
    } else {
        Err(IdentityError::invalid(format!(
            "`{v}` is not an email address"
        )))
    }
}

/// Parses permission names as a client sends them (`ro`, `rw`, …).
pub fn permissions_from_names(names: &[String]) -> Result<PermSet, IdentityError> {
    let mut set = PermSet::NONE;
    for name in names {
        set.insert(
            name.trim()
                .parse()
                .map_err(IdentityError::InvalidArgument)?,
        );
    }
    Ok(set)
}

/// Parses a comma-separated permission list as stored.
pub fn parse_permissions(stored: &str) -> Result<PermSet, IdentityError> {
    let mut set = PermSet::NONE;
    for name in stored.split(',').filter(|s| !s.is_empty()) {
        set.insert(name.parse().map_err(IdentityError::Corrupt)?);
    }
    Ok(set)
}

/// The stored form of a permission set.
pub fn format_permissions(set: PermSet) -> String {
    set.iter()
        .map(Permission::as_str)
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logins_are_case_insensitive_and_bounded() {
        assert_eq!(Login::parse("  Jane.Doe ").unwrap().as_str(), "jane.doe");
        for bad in ["", "a b", "x\u{0}", &"x".repeat(201)] {
            assert!(Login::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn passwords_follow_the_policy_and_never_print() {
        assert!(NewPassword::parse("short").is_err());
        let p = NewPassword::parse("long enough pass").unwrap();
        assert_eq!(format!("{p:?}"), "NewPassword(***)");
        assert!(NewPassword::parse(&"x".repeat(1025)).is_err());
    }

    #[test]
    fn permissions_round_trip_through_storage() {
        let set = PermSet::of(&[Permission::Ro, Permission::Owner]);
        assert_eq!(parse_permissions(&format_permissions(set)).unwrap(), set);
        assert!(parse_permissions("ro,sudo").is_err());
        assert_eq!(parse_permissions("").unwrap(), PermSet::NONE);
    }

    #[test]
    fn audit_cursors_round_trip_and_refuse_garbage() {
        let c = AuditCursor {
            occurred_at: 1_700_000_000_000_000,
            id: AbsenceId::new().to_string(),
        };
        assert_eq!(AuditCursor::parse(&c.encode()).unwrap(), c);
        for bad in ["", "x", "12", "12.", "a.b", "12.x y", "12.';--"] {
            assert!(AuditCursor::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn optional_fields_and_permission_names() {
        assert_eq!(optional_email(" ").unwrap(), None);
        assert_eq!(
            optional_email(" jane@uni.example ").unwrap().as_deref(),
            Some("jane@uni.example")
        );
        for bad in ["jane", "@uni", "jane@", "ja ne@uni", "a@b@c"] {
            assert!(optional_email(bad).is_err(), "{bad:?}");
        }
        assert!(optional_text("phone", &"1".repeat(41), 40).is_err());
        let names = vec!["ro".to_owned(), " note ".to_owned()];
        assert_eq!(
            permissions_from_names(&names).unwrap(),
            PermSet::of(&[Permission::Ro, Permission::Note])
        );
        let err = permissions_from_names(&["sudo".to_owned()]).unwrap_err();
        assert!(
            err.to_string().contains("`sudo` is not a permission"),
            "{err}"
        );
        assert_eq!(permissions_from_names(&[]).unwrap(), PermSet::NONE);
    }

    #[test]
    fn templates_only_grant_default_groups() {
        for t in &ROLE_TEMPLATES {
            for (group, _) in t.grants {
                assert!(
                    DEFAULT_GROUPS.contains(group),
                    "{} grants on {group}",
                    t.name
                );
            }
        }
    }
}
