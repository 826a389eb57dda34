//! Identity's values: tenants, groups, roles, agents, customers; parsed once, valid afterwards.
//!
//! The rules about them live here too, as pure functions the store and the edges call: the login
//! throttle, how grants merge, what a customer update changes, when an absence is valid.

use std::collections::BTreeMap;

use docket_auth::{AgentGrants, PermSet, Permission, TenantGrants};
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

impl NewAgent {
    /// A local agent logs in with a password we keep; a directory's agent needs none of ours.
    pub fn check_source(&self, source: Source) -> Result<(), IdentityError> {
        if source == Source::Local && self.password.is_none() {
            return Err(IdentityError::invalid("a local agent needs a password"));
        }
        Ok(())
    }
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

impl CustomerUpdate {
    /// The customer as it is to be: the login, the tenant and the source stay as they were.
    pub fn apply_to(&self, before: &Customer) -> Result<Customer, IdentityError> {
        Ok(Customer {
            name: name("name", &self.name, 200)?,
            email: self.email.clone(),
            phone: self.phone.clone(),
            company_id: self.company_id,
            company_tickets: self.company_tickets,
            language: self.language.clone(),
            active: self.active,
            ..before.clone()
        })
    }
}

impl Customer {
    /// Seeing the whole company's tickets needs a company.
    pub fn check_company_tickets(
        company_id: Option<CompanyId>,
        company_tickets: bool,
    ) -> Result<(), IdentityError> {
        if company_tickets && company_id.is_none() {
            return Err(IdentityError::invalid(
                "company_tickets needs a company: set company_id as well",
            ));
        }
        Ok(())
    }

    /// Whether the customer sees the company's tickets once in `company_id`: as `requested`, or
    /// as before; leaving the company ends it, unless asked for (and then refused).
    pub fn company_tickets_with(
        &self,
        company_id: Option<CompanyId>,
        requested: Option<bool>,
    ) -> Result<bool, IdentityError> {
        let company_tickets = requested.unwrap_or(self.company_tickets && company_id.is_some());
        Self::check_company_tickets(company_id, company_tickets)?;
        Ok(company_tickets)
    }

    /// A password is ours to change only for a local customer; the directory keeps the others'.
    pub fn check_password_change(&self) -> Result<(), IdentityError> {
        if self.source != Source::Local {
            return Err(IdentityError::invalid(
                "the customer signs in through the directory: change the password there",
            ));
        }
        Ok(())
    }

    /// The names of the details that differ in `after` (and `password` when it changed): what
    /// the audit log records of a change, never the values, as it outlives personal data.
    pub fn changed_details(&self, after: &Customer, password: bool) -> Vec<&'static str> {
        [
            ("name", self.name != after.name),
            ("email", self.email != after.email),
            ("phone", self.phone != after.phone),
            ("company_id", self.company_id != after.company_id),
            (
                "company_tickets",
                self.company_tickets != after.company_tickets,
            ),
            ("language", self.language != after.language),
            ("active", self.active != after.active),
            ("password", password),
        ]
        .into_iter()
        .filter_map(|(name, changed)| changed.then_some(name))
        .collect()
    }
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

impl Absence {
    /// A new absence: it ends after it starts, and nobody stands in for themselves.
    pub fn new(
        agent_id: AgentId,
        substitute_id: AgentId,
        starts_at: Micros,
        ends_at: Micros,
    ) -> Result<Self, IdentityError> {
        if ends_at <= starts_at {
            return Err(IdentityError::invalid(
                "an absence must end after it starts",
            ));
        }
        if agent_id == substitute_id {
            return Err(IdentityError::invalid(
                "an agent cannot substitute themselves",
            ));
        }
        Ok(Self {
            id: AbsenceId::new(),
            agent_id,
            substitute_id,
            starts_at,
            ends_at,
        })
    }
}

/// What an agent's access is made of at one moment, as the store finds it; [`Self::grants`]
/// merges it into what the agent may do.
#[derive(Debug, Clone, Default)]
pub struct AccessFacts {
    /// The tenants the agent is a member of.
    pub tenants: Vec<TenantId>,
    /// The tenants in which one of its roles administers the tenant.
    pub admin_of: Vec<TenantId>,
    /// Permissions on groups, through its roles and its own: one entry per grant.
    pub permissions: Vec<(TenantId, GroupId, PermSet)>,
    /// The absent agents it stands in for now, each with a tenant the absent agent belongs to.
    pub standing_in_for: Vec<(AgentId, TenantId)>,
}

impl AccessFacts {
    /// What the agent may do, per tenant. Everything counts only in the tenants it is a member
    /// of (a role or grant elsewhere is ignored); permissions on one group add up.
    pub fn grants(&self) -> AgentGrants {
        let mut grants = AgentGrants::default();
        for t in &self.tenants {
            grants
                .tenants
                .insert(t.to_string(), TenantGrants::default());
        }
        for tenant in &self.admin_of {
            if let Some(t) = grants.tenants.get_mut(&tenant.to_string()) {
                t.admin = true;
            }
        }
        for (tenant, group, perms) in &self.permissions {
            if let Some(t) = grants.tenants.get_mut(&tenant.to_string()) {
                let entry = t.groups.entry(group.to_string()).or_default();
                *entry = entry.union(*perms);
            }
        }
        for (absent, tenant) in &self.standing_in_for {
            if let Some(t) = grants.tenants.get_mut(&tenant.to_string())
                && !t.substitute_for.contains(&absent.to_string())
            {
                t.substitute_for.push(absent.to_string());
            }
        }
        grants
    }
}

/// How many failed logins within [`Throttle::WINDOW`] lock an account, and for how long.
pub struct Throttle;

impl Throttle {
    pub const MAX_FAILURES: i64 = 5;
    pub const WINDOW: Micros = 15 * 60 * 1_000_000;
    pub const LOCKOUT: Micros = 15 * 60 * 1_000_000;

    /// The end of a lock that is still in force at `at`.
    pub fn in_force(locked_until: Option<Micros>, at: Micros) -> Option<Micros> {
        locked_until.filter(|until| *until > at)
    }

    /// The throttle's record of a login key after a failure at `at`, or `None` while a lockout
    /// is in force: failures during it neither extend nor lift it. Failures count within a
    /// window that starts at the first; the one that locks starts a fresh, empty window.
    pub fn after_failure(previous: Option<&ThrottleRecord>, at: Micros) -> Option<ThrottleRecord> {
        if previous.is_some_and(|r| Self::in_force(r.locked_until, at).is_some()) {
            return None;
        }
        let (failures, window_started_at) = match previous {
            Some(r) if at - r.window_started_at < Self::WINDOW => {
                (r.failures + 1, r.window_started_at)
            }
            _ => (1, at),
        };
        Some(if failures >= Self::MAX_FAILURES {
            ThrottleRecord {
                failures: 0,
                window_started_at: at,
                locked_until: Some(at + Self::LOCKOUT),
            }
        } else {
            ThrottleRecord {
                failures,
                window_started_at,
                locked_until: None,
            }
        })
    }
}

/// The failed logins of one login key, as the throttle keeps them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleRecord {
    pub failures: i64,
    pub window_started_at: Micros,
    pub locked_until: Option<Micros>,
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

impl AuditPage {
    /// The most entries one page holds, whatever a caller asks for.
    pub const MAX_ENTRIES: i64 = 1000;

    /// The number of entries a page asked for with `limit` holds: at least one, at most
    /// [`Self::MAX_ENTRIES`].
    pub fn entries_for(limit: i64) -> i64 {
        limit.clamp(1, Self::MAX_ENTRIES)
    }
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

    const MINUTE: Micros = 60 * 1_000_000;

    #[test]
    fn the_fifth_failure_within_the_window_locks() {
        let t0 = 1_700_000_000_000_000;
        let mut record = None;
        for i in 0..Throttle::MAX_FAILURES - 1 {
            record = Throttle::after_failure(record.as_ref(), t0 + i * MINUTE);
            let r = record.unwrap();
            assert_eq!(
                (r.failures, r.window_started_at, r.locked_until),
                (i + 1, t0, None)
            );
        }
        let fifth = t0 + Throttle::WINDOW - 1;
        let locked = Throttle::after_failure(record.as_ref(), fifth).unwrap();
        assert_eq!(
            locked,
            ThrottleRecord {
                failures: 0,
                window_started_at: fifth,
                locked_until: Some(fifth + Throttle::LOCKOUT),
            }
        );
        // During the lockout nothing changes; at its end the count starts again.
        let until = fifth + Throttle::LOCKOUT;
        assert_eq!(Throttle::after_failure(Some(&locked), until - 1), None);
        assert_eq!(
            Throttle::in_force(locked.locked_until, until - 1),
            Some(until)
        );
        assert_eq!(Throttle::in_force(locked.locked_until, until), None);
        let after = Throttle::after_failure(Some(&locked), until).unwrap();
        assert_eq!((after.failures, after.locked_until), (1, None));
    }

    #[test]
    fn failures_outside_the_window_start_a_new_one() {
        let t0 = 1_700_000_000_000_000;
        let first = Throttle::after_failure(None, t0).unwrap();
        let late = Throttle::after_failure(Some(&first), t0 + Throttle::WINDOW).unwrap();
        assert_eq!(
            late,
            ThrottleRecord {
                failures: 1,
                window_started_at: t0 + Throttle::WINDOW,
                locked_until: None,
            }
        );
    }

    fn customer() -> Customer {
        Customer {
            id: CustomerId::new(),
            tenant_id: TenantId::new(),
            login: Login::parse("jane").unwrap(),
            name: "Jane".into(),
            email: None,
            phone: Some("123".into()),
            company_id: None,
            company_tickets: false,
            source: Source::Local,
            language: None,
            active: true,
        }
    }

    #[test]
    fn a_customer_update_keeps_who_the_customer_is_and_names_what_changed() {
        let before = customer();
        let update = CustomerUpdate {
            name: "  Jane Doe ".into(),
            email: Some("jane@uni.example".into()),
            phone: Some("123".into()),
            company_id: None,
            company_tickets: false,
            language: None,
            active: false,
            password: None,
        };
        let after = update.apply_to(&before).unwrap();
        assert_eq!((after.id, after.tenant_id), (before.id, before.tenant_id));
        assert_eq!((&after.login, after.source), (&before.login, before.source));
        assert_eq!(after.name, "Jane Doe");
        assert_eq!(
            before.changed_details(&after, true),
            ["name", "email", "active", "password"]
        );
        assert!(before.changed_details(&before, false).is_empty());
        let nameless = CustomerUpdate {
            name: " ".into(),
            ..update
        };
        assert!(nameless.apply_to(&before).is_err());
    }

    #[test]
    fn company_tickets_need_a_company() {
        let company = Some(CompanyId::new());
        assert!(Customer::check_company_tickets(None, true).is_err());
        assert!(Customer::check_company_tickets(None, false).is_ok());
        assert!(Customer::check_company_tickets(company, true).is_ok());
        let seeing = Customer {
            company_id: company,
            company_tickets: true,
            ..customer()
        };
        // Unchanged while in a company; leaving it ends it; asking for it without one fails.
        assert!(seeing.company_tickets_with(company, None).unwrap());
        assert!(!seeing.company_tickets_with(None, None).unwrap());
        assert!(seeing.company_tickets_with(None, Some(true)).is_err());
        assert!(!seeing.company_tickets_with(company, Some(false)).unwrap());
    }

    #[test]
    fn only_local_customers_change_their_password_here() {
        assert!(customer().check_password_change().is_ok());
        let ldap = Customer {
            source: Source::Ldap,
            ..customer()
        };
        assert!(ldap.check_password_change().is_err());
    }

    #[test]
    fn local_agents_need_a_password() {
        let agent = NewAgent {
            login: Login::parse("jane").unwrap(),
            name: "Jane".into(),
            email: None,
            password: None,
        };
        assert!(agent.check_source(Source::Local).is_err());
        assert!(agent.check_source(Source::Ldap).is_ok());
        let with_password = NewAgent {
            password: Some(NewPassword::parse("long enough pass").unwrap()),
            ..agent
        };
        assert!(with_password.check_source(Source::Local).is_ok());
    }

    #[test]
    fn absences_end_after_they_start_and_need_someone_else() {
        let (a, b) = (AgentId::new(), AgentId::new());
        let absence = Absence::new(a, b, 10, 20).unwrap();
        assert_eq!((absence.agent_id, absence.substitute_id), (a, b));
        assert!(Absence::new(a, b, 20, 20).is_err());
        assert!(Absence::new(a, a, 10, 20).is_err());
    }

    #[test]
    fn grants_merge_within_the_agents_tenants_only() {
        let (mine, other) = (TenantId::new(), TenantId::new());
        let (group, foreign_group) = (GroupId::new(), GroupId::new());
        let absent = AgentId::new();
        let facts = AccessFacts {
            tenants: vec![mine],
            admin_of: vec![mine, other],
            permissions: vec![
                (mine, group, PermSet::of(&[Permission::Ro])),
                (mine, group, PermSet::of(&[Permission::Note])),
                (other, foreign_group, PermSet::of(&[Permission::Rw])),
            ],
            standing_in_for: vec![(absent, mine), (absent, mine), (AgentId::new(), other)],
        };
        let grants = facts.grants();
        assert_eq!(grants.tenants.len(), 1);
        let t = &grants.tenants[&mine.to_string()];
        assert!(t.admin);
        assert_eq!(
            t.groups[&group.to_string()],
            PermSet::of(&[Permission::Ro, Permission::Note])
        );
        assert_eq!(t.groups.len(), 1);
        assert_eq!(t.substitute_for, [absent.to_string()]);
    }

    #[test]
    fn audit_pages_hold_one_to_a_thousand_entries() {
        assert_eq!(AuditPage::entries_for(0), 1);
        assert_eq!(AuditPage::entries_for(50), 50);
        assert_eq!(AuditPage::entries_for(i64::MAX), AuditPage::MAX_ENTRIES);
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
